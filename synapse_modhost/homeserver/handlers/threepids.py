"""Third-party identifiers (email addresses, phone numbers) of accounts (TRIGGERS.md §5).

Adding a 3PID stores it, then runs ``on_add_user_third_party_identifier`` and (deprecated)
``on_threepid_bind``; removing one runs ``on_remove_user_third_party_identifier``, even
when the user did not have it, as Synapse does.

The stand-in's simplified validation (Synapse mails a token and waits for the link to be
followed): when ``email`` is configured, ``requestToken`` creates a session that is
validated at once, and ``/account/3pid/add`` (or the deprecated ``/account/3pid``) adds
the 3PID of that ``sid``/``client_secret``. As an extension, a request that names no
known session but carries ``medium`` and ``address`` next to ``sid``/``client_secret``
adds that 3PID directly. No identity server is contacted: unbinding reports
``"no-support"`` and forgets the binding.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional

from synapse_modhost._codes import Codes
from synapse_modhost.errors import SynapseError
from synapse_modhost.homeserver.handlers.auth import LoginError
from synapse_modhost.homeserver.handlers.login import canonicalise_email, random_string
from synapse_modhost.types import JsonDict

if TYPE_CHECKING:
    from synapse_modhost.homeserver._hs import HomeServer

__all__ = ["ThreepidHandler", "validate_email"]

logger = logging.getLogger(__name__)

MAX_EMAIL_ADDRESS_LENGTH = 500

#: the 403 texts for a denied 3PID, by (endpoint kind, medium)
DENIED_TEXTS = {
    ("register", "email"): "Your email domain is not authorized to register on this server",
    ("register", "msisdn"): "Phone numbers are not authorized to register on this server",
    ("account", "email"): "Your email domain is not authorized on this server",
    ("account", "msisdn"): "Account phone numbers are not authorized on this server",
}


def validate_email(address: str) -> str:
    """The canonical address, or ``ValueError("Unable to parse email address")``."""
    address = canonicalise_email(address)
    if len(address) < 3 or len(address) > MAX_EMAIL_ADDRESS_LENGTH:
        raise ValueError("Unable to parse email address")
    return address


class ThreepidHandler:
    """Binding, unbinding and validating third-party identifiers."""

    def __init__(self, hs: "HomeServer") -> None:
        self.hs = hs
        self.store = hs.user_store
        self._rules = hs.callbacks.third_party_rules

    def _now(self) -> int:
        return self.hs.time_msec()

    async def add_threepid(self, user_id: str, medium: str, address: str, validated_at: int) -> None:
        """Bind a 3PID to the account, then the module notifications."""
        if medium not in ("email", "msisdn"):
            raise SynapseError(400, "'%s' is not a valid value for 'medium'" % (medium,),
                               Codes.INVALID_PARAM)  # fmt: skip
        if medium == "email":
            try:
                address = canonicalise_email(address)
            except ValueError as e:
                raise SynapseError(400, str(e)) from None
        await self.store.add_threepid(user_id, medium, address, validated_at, self._now())
        await self._rules.on_add_user_third_party_identifier(user_id, medium, address)
        await self._rules.on_threepid_bind(user_id, medium, address)

    async def delete_local_threepid(self, user_id: str, medium: str, address: str) -> None:
        """Unbind a 3PID locally, then ``on_remove_user_third_party_identifier``."""
        if medium == "email":
            try:
                address = canonicalise_email(address)
            except ValueError as e:
                raise SynapseError(400, str(e)) from None
        await self.store.remove_threepid(user_id, medium, address)
        await self._rules.on_remove_user_third_party_identifier(user_id, medium, address)

    async def try_unbind_threepid(
        self, user_id: str, medium: str, address: str, id_server: Optional[str] = None
    ) -> bool:
        """Synapse asks the identity servers the 3PID was bound on; the stand-in forgets
        the bindings and reports that unbinding is not supported (``False``)."""
        await self.store.remove_bound_threepids(user_id, medium, address)
        return False

    async def get_threepids(self, user_id: str) -> List[JsonDict]:
        """``[{"medium", "address", "validated_at", "added_at"}]`` in the order added."""
        return [
            {"medium": t.medium, "address": t.address, "validated_at": t.validated_at,
             "added_at": t.added_at}
            for t in await self.store.get_threepids(user_id)
        ]  # fmt: skip

    async def check_3pid_allowed(self, medium: str, address: str, registration: bool = False) -> bool:
        """``is_3pid_allowed`` callbacks, then the ``allowed_local_3pids`` config."""
        providers = self.hs.callbacks.password_auth_provider
        if not await providers.is_3pid_allowed(medium, address, registration):
            return False
        constraints = self.hs.config.raw.get("allowed_local_3pids") or []
        if not constraints:
            return True
        return any(
            medium == c.get("medium") and re.match(c.get("pattern", ""), address)
            for c in constraints
        )

    async def request_email_token(
        self, kind: str, client_secret: str, email: str, send_attempt: int
    ) -> JsonDict:
        """``POST /{register,account/3pid}/email/requestToken`` once the body is valid
        (``kind`` is ``"register"`` or ``"account"``): the 3PID checks, then ``{"sid"}``."""
        if not await self.check_3pid_allowed("email", email, registration=kind == "register"):
            raise SynapseError(403, DENIED_TEXTS[(kind, "email")], Codes.THREEPID_DENIED)
        if await self.store.get_user_id_by_threepid("email", email) is not None:
            raise SynapseError(400, "Email is already in use", Codes.THREEPID_IN_USE)
        sid = random_string(16)
        await self.store.create_threepid_session(
            sid, client_secret, "email", email, validated_at=self._now()
        )
        return {"sid": sid}

    async def request_msisdn_registration_token(self, msisdn: str) -> JsonDict:
        """``POST /register/msisdn/requestToken``: the 3PID checks run; then, as Synapse
        without an ``account_threepid_delegates.msisdn``, 400."""
        if not await self.check_3pid_allowed("msisdn", msisdn, registration=True):
            raise SynapseError(403, DENIED_TEXTS[("register", "msisdn")], Codes.THREEPID_DENIED)
        if await self.store.get_user_id_by_threepid("msisdn", msisdn) is not None:
            raise SynapseError(400, "Phone number is already in use", Codes.THREEPID_IN_USE)
        raise SynapseError(400, "Registration by phone number is not supported on this homeserver")

    async def validate_threepid_session(
        self, client_secret: str, sid: str, extra: Optional[Mapping[str, Any]] = None
    ) -> Optional[Dict[str, Any]]:
        """``{"medium", "address", "validated_at"}`` of a validated session, else ``None``.

        ``extra``: the request's fields; with no such session, a ``medium`` and an
        ``address`` there stand for a session validated now (the stand-in's extension).
        """
        found = await self.store.get_threepid_session(client_secret, sid)
        if found is not None and found[2] is not None:
            return {"medium": found[0], "address": found[1], "validated_at": found[2]}
        if found is None and extra is not None:
            medium, address = extra.get("medium"), extra.get("address")
            if isinstance(medium, str) and isinstance(address, str):
                return {"medium": medium, "address": address, "validated_at": self._now()}
        return None

    async def check_email_identity(self, authdict: JsonDict) -> JsonDict:
        """The ``m.login.email.identity`` UIA stage: the validated 3PID of the session."""
        if "threepid_creds" not in authdict:
            raise LoginError(400, "Missing threepid_creds", Codes.MISSING_PARAM)
        creds = authdict["threepid_creds"]
        threepid = await self.validate_threepid_session(creds["client_secret"], creds["sid"])
        if not threepid:
            raise LoginError(401, "Unable to get validated threepid", Codes.UNAUTHORIZED)
        if threepid["medium"] != "email":
            raise LoginError(
                401,
                "Expecting threepid of type 'email', got '%s'" % (threepid["medium"],),
                Codes.UNAUTHORIZED,
            )
        threepid["threepid_creds"] = creds
        return threepid

    async def add_from_session(self, user_id: str, client_secret: str, sid: str,
                               extra: Optional[Mapping[str, Any]] = None) -> None:  # fmt: skip
        """``/account/3pid/add``: bind the session's 3PID, or 400
        ``M_THREEPID_AUTH_FAILED`` "No validated 3pid session found"."""
        session = await self.validate_threepid_session(client_secret, sid, extra)
        if not session:
            raise SynapseError(400, "No validated 3pid session found", Codes.THREEPID_AUTH_FAILED)
        await self.add_threepid(user_id, session["medium"], session["address"],
                                session["validated_at"])  # fmt: skip

    async def store_remote_association(
        self, user_id: str, medium: str, address: str, id_server: str
    ) -> None:
        """``ModuleApi.store_remote_3pid_association``: remember the binding."""
        await self.store.add_bound_threepid(user_id, medium, address, id_server)
