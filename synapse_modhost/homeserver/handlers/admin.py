"""The user admin API's logic: user details, the user list, creating and changing users
(``PUT /_synapse/admin/v2/users/{userId}``) and setting passwords (TRIGGERS.md §7).

A PUT that creates a user runs the registration callbacks, then the 3PID callbacks, then
``on_profile_update(by_admin=True)`` for an ``avatar_url``. A PUT that changes one runs,
in Synapse's order: display name, 3PIDs (removed, then added), external ids, avatar,
admin flag, password (``logout_devices``: ``on_logged_out`` per token), deactivation or
reactivation, locking, user type.

Every check that can refuse the request (the body's shape, the display name, each new
3PID's medium and email address, external ids in use, the avatar URL, the profile size,
self-demotion, password changes being disabled) runs before the first write, with the
status, errcode and text Synapse answers when it fails later, so a refused PUT changes
nothing. Only a module's ``check_can_deactivate_user`` still refuses after the earlier
changes (as on Synapse).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Set, Tuple

import attr

from synapse_modhost._codes import Codes
from synapse_modhost.errors import SynapseError
from synapse_modhost.homeserver.handlers._event_validation import _schema_type_error
from synapse_modhost.homeserver.handlers.login import canonicalise_email
from synapse_modhost.homeserver.handlers.profile import checked_profile_value
from synapse_modhost.storage import ExternalIdReuseError, FullProfile, ProfileTooLargeError
from synapse_modhost.storage._profiles import _check_profile_size
from synapse_modhost.types import JsonDict, Requester, UserID
from synapse_modhost.web import assert_params_in_dict

if TYPE_CHECKING:
    from synapse_modhost.homeserver._hs import HomeServer

__all__ = ["AdminHandler"]


def _check_bool(body: JsonDict, key: str, message: str, errcode: str = Codes.UNKNOWN) -> bool:
    value = body.get(key, False)
    if not isinstance(value, bool):
        raise SynapseError(400, message, errcode)
    return value


class AdminHandler:
    """What the user admin servlets do."""

    def __init__(self, hs: "HomeServer") -> None:
        self.hs = hs
        self.store = hs.user_store

    async def get_user(self, user_id: str) -> Optional[JsonDict]:
        """The admin API's user object, or ``None`` for an unknown user."""
        user = await self.store.get_user(user_id)
        if user is None:
            return None
        profile = await self.hs.profile.get_profileinfo(user_id)
        external_ids = await self.store.get_external_ids_by_user(user_id)
        return {
            "name": user_id,
            "admin": user.is_admin,
            "deactivated": user.deactivated,
            "locked": user.locked,
            "shadow_banned": user.shadow_banned,
            "creation_ts": user.creation_ts,
            "appservice_id": user.appservice_id,
            "consent_server_notice_sent": user.consent_server_notice_sent,
            "consent_version": user.consent_version,
            "consent_ts": user.consent_ts,
            "user_type": user.user_type,
            "is_guest": user.is_guest,
            "suspended": user.suspended,
            "displayname": profile.display_name,
            "avatar_url": profile.avatar_url,
            "threepids": await self.hs.threepids.get_threepids(user_id),
            "external_ids": [{"auth_provider": p, "external_id": e} for p, e in external_ids],
            "erased": user.erased,
            # as Synapse: stored IPs only (the pending batch is written every 5 seconds)
            "last_seen_ts": await self.store.get_last_seen(user_id),
        }

    async def list_users(self, start: int, limit: int, **filters: Any) -> JsonDict:
        """``GET /_synapse/admin/v2/users``."""
        users, total = await self.store.list_users(start, limit, **filters)
        ret: JsonDict = {"users": [attr.asdict(u) for u in users], "total": total}
        if start + limit < total:
            ret["next_token"] = str(start + len(users))
        return ret

    async def set_password(
        self, user_id: str, password_hash: str, logout_devices: bool,
        requester: Optional[Requester] = None,
    ) -> None:  # fmt: skip
        """Store a new password hash; with ``logout_devices`` delete every device and
        token of the user but the requester's own."""
        settings = self.hs.auth.settings
        if not (settings.password_enabled_for_reauth and settings.password_localdb_enabled):
            raise SynapseError(403, "Password change disabled", Codes.FORBIDDEN)
        if not await self.store.set_password_hash(user_id, password_hash):
            raise SynapseError(404, "Unknown user", Codes.NOT_FOUND)
        if logout_devices:
            login = self.hs.login
            except_device = requester.device_id if requester else None
            except_token = requester.access_token_id if requester else None
            await login.delete_all_devices_for_user(user_id, except_device)
            await login.delete_access_tokens_for_user(user_id, except_token)

    async def put_user(
        self, requester: Requester, target: UserID, body: JsonDict
    ) -> Tuple[int, JsonDict]:
        """``PUT /_synapse/admin/v2/users/{userId}``: 201 and the new user, or 200 and
        the changed one."""
        if target.domain != self.hs.server_name:
            raise SynapseError(400, "This endpoint can only be used with local users")
        user_id = target.to_string()
        user = await self.get_user(user_id)
        threepids = body.get("threepids")
        if threepids is not None:
            for threepid in _objects(threepids, "threepids"):
                assert_params_in_dict(threepid, ["medium", "address"])
                if isinstance(threepid["medium"], (list, dict)):
                    raise _schema_type_error("medium", threepid["medium"], "string")
                _check_string(threepid, "address")
        external_ids = body.get("external_ids")
        if external_ids is not None:
            for external_id in _objects(external_ids, "external_ids"):
                assert_params_in_dict(external_id, ["auth_provider", "external_id"])
                _check_string(external_id, "auth_provider")
                _check_string(external_id, "external_id")
        user_type = body.get("user_type", None)
        if user_type is not None and user_type not in self.hs.auth.settings.all_user_types:
            raise SynapseError(400, "Invalid user type")
        set_admin_to = _check_bool(body, "admin", "Param 'admin' must be a boolean, if given",
                                   Codes.BAD_JSON)  # fmt: skip
        password = body.get("password", None)
        if password is not None and (not isinstance(password, str) or len(password) > 512):
            raise SynapseError(400, "Invalid password")
        logout_devices = body.get("logout_devices", True)
        if not isinstance(logout_devices, bool):
            raise SynapseError(400, "'logout_devices' parameter is not of type boolean")
        deactivate = _check_bool(body, "deactivated", "'deactivated' parameter is not of type boolean")
        lock = _check_bool(body, "locked", "'locked' parameter is not of type boolean")
        if deactivate and lock:
            raise SynapseError(400, "An user can't be deactivated and locked")
        new_ids = [(e["auth_provider"], e["external_id"]) for e in external_ids or ()]
        new_threepids: Set[Tuple[str, str]] = {(t["medium"], t["address"]) for t in threepids or ()}
        if user is None:
            await self._check_new_user(target, body, new_threepids, new_ids, external_ids)
            return 201, await self._create(requester, target, body, password, set_admin_to,
                                           user_type, new_threepids, new_ids, external_ids)  # fmt: skip
        await self._check_changes(requester, target, body, user, new_threepids, new_ids, external_ids,
                                  set_admin_to, password)  # fmt: skip
        profile = self.hs.profile
        if "displayname" in body:
            await profile.set_field(target, requester, "displayname", body["displayname"], True)
        if threepids is not None:
            await self._replace_threepids(user_id, new_threepids)
        if external_ids is not None:
            try:
                await self.store.replace_user_external_ids(user_id, new_ids)
            except ExternalIdReuseError:
                raise SynapseError(409, "External id is already in use.") from None
        if "avatar_url" in body:
            await profile.set_field(target, requester, "avatar_url", body["avatar_url"], True)
        if "admin" in body and set_admin_to != user["admin"]:
            if target == requester.user and not set_admin_to:
                raise SynapseError(400, "You may not demote yourself.")
            await self.store.set_admin(user_id, set_admin_to)
        if password is not None:
            password_hash = await self.hs.auth.hasher.hash(password)
            await self.set_password(user_id, password_hash, logout_devices, requester)
        if "deactivated" in body:
            if deactivate and not user["deactivated"]:
                await self.hs.deactivation.deactivate_account(user_id, False, requester, by_admin=True)
            elif not deactivate and user["deactivated"]:
                await self.hs.deactivation.activate_account(user_id)
        if "locked" in body and lock != user["locked"]:
            await self.store.set_locked(user_id, lock)
        if "user_type" in body:
            await self.store.set_user_type(user_id, user_type)
        updated = await self.get_user(user_id)
        assert updated is not None
        return 200, updated

    # ------------------------------------------------------------------ checks before writing

    async def _check_changes(
        self, requester: Requester, target: UserID, body: JsonDict, user: JsonDict,
        threepids: Set[Tuple[str, str]], external_ids: List[Tuple[str, str]],
        external_ids_given: Any, set_admin_to: bool, password: Optional[str],
    ) -> None:  # fmt: skip
        """What changing an existing user would refuse, in the order Synapse meets it."""
        user_id = target.to_string()
        full = None
        if "displayname" in body or "avatar_url" in body:
            full = await self.store.get_full_profile(user_id)
        row = _profile_row(full)
        if "displayname" in body:
            displayname = checked_profile_value("displayname", body["displayname"])
            _check_profile_fits(row, "displayname", displayname)
            row = (displayname, row[1], row[2])
        if threepids:
            current = {(t.medium, t.address) for t in await self.store.get_threepids(user_id)}
            _check_threepids(threepids - current)
        if external_ids_given is not None:
            await self._check_external_ids(user_id, external_ids)
        if "avatar_url" in body:
            avatar_url = checked_profile_value("avatar_url", body["avatar_url"])
            _check_profile_fits(row, "avatar_url", avatar_url)
        if "admin" in body and set_admin_to != user["admin"]:
            if target == requester.user and not set_admin_to:
                raise SynapseError(400, "You may not demote yourself.")
        if password is not None:
            settings = self.hs.auth.settings
            if not (settings.password_enabled_for_reauth and settings.password_localdb_enabled):
                raise SynapseError(403, "Password change disabled", Codes.FORBIDDEN)

    async def _check_new_user(
        self, target: UserID, body: JsonDict, threepids: Set[Tuple[str, str]],
        external_ids: List[Tuple[str, str]], external_ids_given: Any,
    ) -> None:  # fmt: skip
        """What creating a user would refuse after the account was registered."""
        _check_threepids(threepids)
        if external_ids_given is not None:
            await self._check_external_ids(target.to_string(), external_ids)
        avatar_url = body.get("avatar_url")
        if isinstance(avatar_url, str):
            value = checked_profile_value("avatar_url", avatar_url)
            displayname = body.get("displayname", None)
            if displayname is None:
                displayname = target.localpart
            stored = displayname if isinstance(displayname, str) and displayname else None
            _check_profile_fits((stored, None, None), "avatar_url", value)

    async def _check_external_ids(self, user_id: str, pairs: List[Tuple[str, str]]) -> None:
        """409 when an id is given twice or belongs to another user."""
        if len(set(pairs)) != len(pairs):
            raise SynapseError(409, "External id is already in use.")
        for provider, external_id in pairs:
            owner = await self.store.get_user_by_external_id(provider, external_id)
            if owner is not None and owner != user_id:
                raise SynapseError(409, "External id is already in use.")

    # ------------------------------------------------------------------ writes

    async def _replace_threepids(self, user_id: str, wanted: Set[Tuple[str, str]]) -> None:
        current = {(t.medium, t.address) for t in await self.store.get_threepids(user_id)}
        threepids = self.hs.threepids
        for medium, address in _ordered(current - wanted):
            await threepids.try_unbind_threepid(user_id, medium, address)
            await threepids.delete_local_threepid(user_id, medium, address)
        now = self.hs.time_msec()
        for medium, address in _ordered(wanted - current):
            await threepids.add_threepid(user_id, medium, address, now)

    async def _create(
        self, requester: Requester, target: UserID, body: JsonDict, password: Optional[str],
        admin: bool, user_type: Optional[str], threepids: Set[Tuple[str, str]],
        external_ids: List[Tuple[str, str]], external_ids_given: Any,
    ) -> JsonDict:  # fmt: skip
        password_hash = None
        if password is not None:
            password_hash = await self.hs.auth.hasher.hash(password)
        user_id = await self.hs.registration.register_user(
            localpart=target.localpart, password_hash=password_hash, admin=admin,
            default_display_name=body.get("displayname", None), user_type=user_type,
            by_admin=True,
        )  # fmt: skip
        now = self.hs.time_msec()
        for medium, address in _ordered(threepids):
            await self.hs.threepids.add_threepid(user_id, medium, address, now)
        if external_ids_given is not None:
            try:
                for provider, external_id in external_ids:
                    await self.store.record_user_external_id(provider, external_id, user_id)
            except ExternalIdReuseError:
                raise SynapseError(409, "External id is already in use.") from None
        if "avatar_url" in body and isinstance(body["avatar_url"], str):
            await self.hs.profile.set_field(target, requester, "avatar_url", body["avatar_url"], True)
        created = await self.get_user(user_id)
        assert created is not None
        return created


def _objects(value: Any, key: str) -> List[Dict[str, Any]]:
    """400 ``M_BAD_JSON`` unless ``value`` is a list of JSON objects (Synapse: 500)."""
    if not isinstance(value, list):
        raise _schema_type_error(key, value, "array")
    for entry in value:
        if not isinstance(entry, dict):
            raise _schema_type_error(key, entry, "object")
    return value


def _check_string(entry: JsonDict, key: str) -> None:
    if not isinstance(entry[key], str):
        raise _schema_type_error(key, entry[key], "string")


def _check_threepids(added: Set[Tuple[str, str]]) -> None:
    """The ThreepidHandler's refusals for each 3PID to add, in the order they are added."""
    for medium, address in _ordered(added):
        if medium not in ("email", "msisdn"):
            raise SynapseError(400, "'%s' is not a valid value for 'medium'" % (medium,),
                               Codes.INVALID_PARAM)  # fmt: skip
        if medium == "email":
            try:
                canonicalise_email(address)
            except ValueError as e:
                raise SynapseError(400, str(e)) from None


def _profile_row(full: Optional[FullProfile]) -> Tuple[Any, Any, Any]:
    """A profile as the store's size check reads it: (display name, avatar URL, custom
    fields as JSON)."""
    if full is None:
        return (None, None, None)
    return (full.displayname, full.avatar_url, json.dumps(full.fields) if full.fields else None)


def _check_profile_fits(row: Tuple[Any, Any, Any], field: str, value: Optional[str]) -> None:
    """The store's "Profile too large" for setting ``field`` on the profile ``row``."""
    try:
        _check_profile_size(row, field, value)
    except ProfileTooLargeError:
        raise SynapseError(400, "Profile too large", Codes.PROFILE_TOO_LARGE) from None


def _ordered(pairs: Set[Tuple[str, str]]) -> List[Tuple[str, str]]:
    """Synapse iterates a set here (no stable order); the stand-in sorts."""
    return sorted(pairs)

