"""Password auth provider callbacks (``register_password_auth_provider_callbacks``, 1.46)."""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, ClassVar, Dict, List, Tuple

from twisted.internet import defer

from synapse_modhost.callbacks._dispatch import CallbackRef, Dispatcher, delay_cancellation
from synapse_modhost.callbacks._registry import CallbackCategory
from synapse_modhost.config._errors import ConfigError
from synapse_modhost.errors import SynapseError
from synapse_modhost.types import JsonDict, LoginResponse

__all__ = ["PasswordAuthProviderCallbacks", "PostLoginCallback"]

logger = logging.getLogger(__name__)

#: the optional second element of an auth checker's result
PostLoginCallback = Callable[[LoginResponse], Awaitable[None]]
AuthResult = Tuple[str, PostLoginCallback | None] | None

_WRONG_TYPE = (
    "Wrong type returned by module API callback %s: %s, expected tuple[str, Callable | None] | None"
)


class PasswordAuthProviderCallbacks(CallbackCategory):
    """Callbacks that authenticate logins and shape registrations.

    Registration: when OAuth delegation is enabled every registration (even an empty
    one) raises ``ConfigError``. ``auth_checkers`` maps ``(login_type, fields)`` to a
    checker; a field name that is not a ``str`` raises ``RuntimeError`` (callbacks earlier
    in the same call stay registered, as in Synapse). ``_supported_login_types[type]`` is
    overwritten by each registration of the type (last fields win, first position kept)
    while checkers accumulate; Synapse's "conflicting fields" check only fires when the
    login type is itself one of the previously registered field names.

    ``check_auth(username, login_type, login_dict)`` -> ``(user_id, post_login|None)|None``
        Combination: the checkers registered for ``login_type`` run in order; the first
        result that is a 2-tuple ``(str, callable|None)`` is returned; ``None`` -> next.
        Failure policy: any other shape is logged as a warning and skipped; an exception
        is logged as a warning and skipped. Cancellation is delayed, then re-raised.
        A login type without checkers gives ``None``.

    ``check_3pid_auth(medium, address, password)`` -> same as ``check_auth``, same rules.

    ``on_logged_out(user_id, device_id, access_token)``
        Combination: all run, in order (plain await). Failure policy: logged, next.

    ``get_username_for_registration(uia_results, params)`` -> ``str|None`` and
    ``get_displayname_for_registration(uia_results, params)`` -> ``str|None``
        Combination: the first ``str`` wins; other non-``None`` results are logged as a
        warning and ignored. Failure policy: an exception is logged and becomes
        ``SynapseError(500, "Internal Server Error")``. Cancellation re-raised.

    ``is_3pid_allowed(medium, address, registration)`` -> ``bool``
        Combination: the first ``False`` (identity) denies; ``True`` -> next; a non-bool
        is logged as a warning and ignored; all allow (or none registered) -> ``True``.
        Failure policy: an exception is logged and becomes
        ``SynapseError(500, "Internal Server Error")``. Cancellation re-raised.
    """

    category: ClassVar[str] = "password_auth_provider"

    def __init__(self, dispatcher: Dispatcher, *, auth_delegation_enabled: bool = False) -> None:
        super().__init__(dispatcher)
        self._auth_delegation_enabled = auth_delegation_enabled
        #: login type -> the fields it requires, in first-registration order
        self._supported_login_types: Dict[str, Tuple[str, ...]] = {}
        #: login type -> its auth checkers, in registration order
        self._auth_checkers: Dict[str, List[CallbackRef]] = {}

    def register_callbacks(
        self,
        module: str,
        *,
        check_3pid_auth: Callable[..., Any] | None = None,
        on_logged_out: Callable[..., Any] | None = None,
        auth_checkers: Dict[Tuple[str, Tuple[str, ...]], Callable[..., Any]] | None = None,
        is_3pid_allowed: Callable[..., Any] | None = None,
        get_username_for_registration: Callable[..., Any] | None = None,
        get_displayname_for_registration: Callable[..., Any] | None = None,
    ) -> None:
        """Register ``module``'s password auth provider callbacks."""
        if self._auth_delegation_enabled:
            raise ConfigError(
                "Cannot use password auth provider callbacks when OAuth delegation is enabled"
            )

        self._add(module, "check_3pid_auth", check_3pid_auth)
        self._add(module, "on_logged_out", on_logged_out)

        if auth_checkers is not None:
            for (login_type, fields), checker in auth_checkers.items():
                for field in fields:
                    if not isinstance(field, str):
                        raise RuntimeError(
                            f"A module tried to register support for login type: {login_type}"
                            f" with parameters {fields} but all parameter names must be strings"
                        )
                # Synapse looks the login type up among the *fields* already registered
                # for it, so this check is nearly always bypassed and the latest fields
                # replace the earlier ones.
                if login_type not in self._supported_login_types.get(login_type, ()):
                    self._supported_login_types[login_type] = fields
                else:
                    current = self._supported_login_types.get(login_type)
                    if current != fields:
                        raise RuntimeError(
                            f"A module tried to register support for login type: {login_type}"
                            f" with parameters {fields} but another module had already"
                            f" registered support for that type with parameters {current}"
                        )
                self._add(module, "auth_checkers", checker)
                if checker is not None:
                    ref = self._callbacks["auth_checkers"][-1]
                    self._auth_checkers.setdefault(login_type, []).append(ref)

        self._add(module, "get_username_for_registration", get_username_for_registration)
        self._add(module, "get_displayname_for_registration", get_displayname_for_registration)
        self._add(module, "is_3pid_allowed", is_3pid_allowed)

    def get_supported_login_types(self) -> Dict[str, Tuple[str, ...]]:
        """Login type -> required fields, for every type an auth checker was registered for.

        In the order the types were first registered (``GET /login`` lists them so).
        """
        return dict(self._supported_login_types)

    def auth_checkers_for(self, login_type: str) -> List[CallbackRef]:
        """The auth checkers registered for ``login_type``, in order."""
        return list(self._auth_checkers.get(login_type, ()))

    async def _first_valid_auth(self, refs: List[CallbackRef], *args: Any) -> AuthResult:
        for ref in refs:
            try:
                result = await delay_cancellation(self._dispatcher.call(ref, *args))
            except defer.CancelledError:
                raise
            except Exception as e:
                logger.warning("Failed to run module API callback %s: %s", ref, e)
                continue

            if result is None:
                continue
            if not isinstance(result, tuple) or len(result) != 2:
                logger.warning(_WRONG_TYPE, ref, result)
                continue
            user_id, post_login = result
            if not isinstance(user_id, str):
                logger.warning(_WRONG_TYPE, ref, result)
                continue
            if post_login is not None and not callable(post_login):
                logger.warning(_WRONG_TYPE, ref, result)
                continue
            return result
        return None

    async def check_auth(self, username: str, login_type: str, login_dict: JsonDict) -> AuthResult:
        """Run ``login_type``'s auth checkers; the first valid ``(user_id, post_login)``."""
        return await self._first_valid_auth(
            self.auth_checkers_for(login_type), username, login_type, login_dict
        )

    async def check_3pid_auth(self, medium: str, address: str, password: str) -> AuthResult:
        """Run the ``check_3pid_auth`` callbacks; the first valid ``(user_id, post_login)``."""
        return await self._first_valid_auth(
            self.callbacks("check_3pid_auth"), medium, address, password
        )

    async def on_logged_out(self, user_id: str, device_id: str | None, access_token: str) -> None:
        """Tell every ``on_logged_out`` callback that an access token was deleted."""
        for ref in self.callbacks("on_logged_out"):
            try:
                await self._dispatcher.call(ref, user_id, device_id, access_token)
            except Exception as e:
                logger.warning("Failed to run module API callback %s: %s", ref, e)

    async def _first_str(self, name: str, uia_results: JsonDict, params: JsonDict) -> str | None:
        for ref in self.callbacks(name):
            try:
                res = await delay_cancellation(self._dispatcher.call(ref, uia_results, params))
            except defer.CancelledError:
                raise
            except Exception as e:
                logger.error("Module raised an exception in %s: %s", name, e)
                raise SynapseError(code=500, msg="Internal Server Error") from e
            if isinstance(res, str):
                return res
            if res is not None:
                logger.warning(
                    "Ignoring non-string value returned by %s callback %s: %s", name, ref, res
                )
        return None

    async def get_username_for_registration(
        self, uia_results: JsonDict, params: JsonDict
    ) -> str | None:
        """The localpart a module picks for a new account, or ``None``."""
        return await self._first_str("get_username_for_registration", uia_results, params)

    async def get_displayname_for_registration(
        self, uia_results: JsonDict, params: JsonDict
    ) -> str | None:
        """The display name a module picks for a new account, or ``None``."""
        return await self._first_str("get_displayname_for_registration", uia_results, params)

    async def is_3pid_allowed(self, medium: str, address: str, registration: bool) -> bool:
        """Whether the 3PID may be bound (``False`` from any callback denies)."""
        for ref in self.callbacks("is_3pid_allowed"):
            try:
                res = await delay_cancellation(
                    self._dispatcher.call(ref, medium, address, registration)
                )
            except defer.CancelledError:
                raise
            except Exception as e:
                logger.exception("Module raised an exception in is_3pid_allowed: %s", e)
                raise SynapseError(code=500, msg="Internal Server Error") from e
            if res is False:
                return False
            if not isinstance(res, bool):
                # Synapse's text says "non-string" here too
                logger.warning(
                    "Ignoring non-string value returned by is_3pid_allowed callback %s: %s",
                    ref,
                    res,
                )
        return True
