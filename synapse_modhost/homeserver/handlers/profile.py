"""Profiles: display name, avatar URL and custom fields (TRIGGERS.md §3 and §6).

A change is stored, then ``on_profile_update(user_id, ProfileInfo, by_admin, False)``
runs, then (display name and avatar only) a new join event goes into every room the
user is in, in the background, as Synapse's scheduled task does; a failing room is
logged. The per-room update is the membership handler's
``update_profile_in_joined_rooms(requester, user_id)``; it is skipped while that handler
does not exist yet. Avatar size/type limits (``max_avatar_size``,
``allowed_avatar_mimetypes``) are not applied.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any, Optional

from twisted.internet import defer

from synapse_modhost._codes import Codes
from synapse_modhost.errors import AuthError, SynapseError
from synapse_modhost.storage import ProfileTooLargeError
from synapse_modhost.types import JsonDict, ProfileInfo, Requester, UserID, create_requester

if TYPE_CHECKING:
    from synapse_modhost.homeserver._hs import HomeServer

__all__ = ["ProfileHandler", "check_field_name"]

logger = logging.getLogger(__name__)

MAX_DISPLAYNAME_LEN = 256
MAX_AVATAR_URL_LEN = 1000
MAX_CUSTOM_FIELD_LEN = 255
_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_.-]{0,254}$")


def check_field_name(field_name: str) -> None:
    """Synapse's checks on a profile field name in a path."""
    if not field_name:
        raise SynapseError(400, "Field name too short", Codes.INVALID_PARAM)
    if len(field_name.encode("utf-8")) > MAX_CUSTOM_FIELD_LEN:
        raise SynapseError(400, "Field name too long", Codes.KEY_TOO_LARGE)
    if not _FIELD_NAME.match(field_name):
        raise SynapseError(
            400,
            "Field name does not follow Common Namespaced Identifier Grammar",
            Codes.INVALID_PARAM,
        )


def _not_found() -> SynapseError:
    return SynapseError(404, "Profile was not found", Codes.NOT_FOUND)


class ProfileHandler:
    """Reads and changes profiles."""

    def __init__(self, hs: "HomeServer") -> None:
        self.hs = hs
        self.store = hs.user_store
        self._rules = hs.callbacks.third_party_rules

    def _check_mine(self, user: UserID) -> None:
        if user.domain != self.hs.server_name:
            raise SynapseError(400, "User is not hosted on this homeserver")

    # ------------------------------------------------------------------ reading

    async def get_profileinfo(self, user_id: str) -> ProfileInfo:
        """``ProfileInfo(avatar_url, display_name)``; both ``None`` without a profile row."""
        profile = await self.store.get_profile(user_id)
        if profile is None:
            return ProfileInfo(avatar_url=None, display_name=None)
        return ProfileInfo(avatar_url=profile.avatar_url, display_name=profile.displayname)

    async def get_profile(self, user_id: str) -> JsonDict:
        """``GET /profile/{userId}`` for a local user (set fields only)."""
        user = UserID.from_string(user_id)
        if user.domain != self.hs.server_name:
            # the stand-in does not federate
            raise SynapseError(502, "Failed to fetch profile")
        full = await self.store.get_full_profile(user_id)
        if full is None:
            raise SynapseError(404, "No row found (profiles)")
        if full.displayname is None and full.avatar_url is None and not full.fields:
            raise _not_found()
        ret: JsonDict = {}
        if full.displayname is not None:
            ret["displayname"] = full.displayname
        if full.avatar_url is not None:
            ret["avatar_url"] = full.avatar_url
        ret.update(full.fields)
        return ret

    async def get_field(self, user_id: str, field_name: str) -> JsonDict:
        """``GET /profile/{userId}/{field}``: ``{}`` for an unset display name or avatar,
        404 for an unset custom field."""
        user = UserID.from_string(user_id)
        if user.domain != self.hs.server_name:
            raise SynapseError(502, "Failed to fetch profile")
        full = await self.store.get_full_profile(user_id)
        if full is None:
            raise _not_found()
        if field_name in ("displayname", "avatar_url"):
            value = full.displayname if field_name == "displayname" else full.avatar_url
            return {} if value is None else {field_name: value}
        if field_name not in full.fields:
            raise _not_found()
        return {field_name: full.fields[field_name]}

    # ------------------------------------------------------------------ changing

    async def set_field(
        self,
        target_user: UserID,
        requester: Requester,
        field_name: str,
        new_value: Any,
        by_admin: bool = False,
        propagate: bool = True,
    ) -> None:
        """Set any field (``PUT /profile/{userId}/{field}``, the admin API, ModuleApi)."""
        if field_name in ("displayname", "avatar_url"):
            if not isinstance(new_value, str):
                raise SynapseError(400, "'%s' must be a string" % field_name, Codes.INVALID_PARAM)
            if field_name == "displayname":
                await self.set_displayname(target_user, requester, new_value, by_admin, propagate)
            else:
                await self.set_avatar_url(target_user, requester, new_value, by_admin, propagate)
            return
        self._check_mine(target_user)
        if not by_admin and target_user != requester.user:
            raise AuthError(403, "Cannot set another user's profile")
        user_id = target_user.to_string()
        if await self.store.get_user(user_id) is None:
            raise SynapseError(404, "User not found", Codes.NOT_FOUND)
        await self._store_field(user_id, field_name, new_value)
        await self._notify(user_id, by_admin)

    async def set_displayname(
        self, target_user: UserID, requester: Requester, new_displayname: str,
        by_admin: bool = False, propagate: bool = True,
    ) -> None:  # fmt: skip
        await self._set_standard(
            "displayname", "display name", target_user, requester,
            new_displayname, by_admin, propagate,
        )  # fmt: skip

    async def set_avatar_url(
        self, target_user: UserID, requester: Requester, new_avatar_url: str,
        by_admin: bool = False, propagate: bool = True,
    ) -> None:  # fmt: skip
        await self._set_standard(
            "avatar_url", "avatar", target_user, requester,
            new_avatar_url, by_admin, propagate,
        )  # fmt: skip

    async def _set_standard(
        self, field: str, what: str, target_user: UserID, requester: Requester,
        value: str, by_admin: bool, propagate: bool,
    ) -> None:  # fmt: skip
        self._check_mine(target_user)
        if not by_admin and target_user != requester.user:
            raise AuthError(400, "Cannot set another user's %s" % field)
        user_id = target_user.to_string()
        enabled = (
            self.hs.auth.settings.enable_set_displayname
            if field == "displayname"
            else self.hs.auth.settings.enable_set_avatar_url
        )
        if not by_admin and not enabled:
            current = await self.get_profileinfo(user_id)
            if current.display_name if field == "displayname" else current.avatar_url:
                raise SynapseError(403, "Changing %s is disabled on this server" % what,
                                   Codes.FORBIDDEN)  # fmt: skip
        to_set = checked_profile_value(field, value)
        if by_admin:
            requester = create_requester(
                target_user, authenticated_entity=requester.authenticated_entity
            )
        await self._store_field(user_id, field, to_set)
        await self._notify(user_id, by_admin)
        if propagate:
            self._update_join_states(requester, target_user)

    async def _store_field(self, user_id: str, field: str, value: Any) -> None:
        try:
            await self.store.set_profile_field(user_id, field, value)
        except ProfileTooLargeError:
            raise SynapseError(400, "Profile too large", Codes.PROFILE_TOO_LARGE) from None

    async def _notify(self, user_id: str, by_admin: bool, deactivation: bool = False) -> None:
        profile = await self.get_profileinfo(user_id)
        await self._rules.on_profile_update(user_id, profile, by_admin, deactivation)

    async def delete_field(
        self, target_user: UserID, requester: Requester, field_name: str, by_admin: bool = False
    ) -> None:
        """``DELETE /profile/{userId}/{field}`` (display name and avatar: set to "")."""
        if field_name in ("displayname", "avatar_url"):
            await self.set_field(target_user, requester, field_name, "", by_admin)
            return
        self._check_mine(target_user)
        if not by_admin and target_user != requester.user:
            raise AuthError(400, "Cannot set another user's profile")
        user_id = target_user.to_string()
        await self.store.delete_profile_field(user_id, field_name)
        await self._notify(user_id, by_admin)

    async def delete_profile_upon_deactivation(
        self, target_user: UserID, requester: Requester, by_admin: bool = False
    ) -> None:
        """Erasure: drop the whole profile, then ``on_profile_update(..., deactivation=True)``."""
        self._check_mine(target_user)
        if not by_admin and target_user != requester.user:
            raise AuthError(400, "Cannot remove another user's profile")
        user_id = target_user.to_string()
        await self.store.delete_profile(user_id)
        await self._rules.on_profile_update(
            user_id, ProfileInfo(avatar_url=None, display_name=None), by_admin, True
        )

    # ------------------------------------------------------------------ rooms

    def _update_join_states(self, requester: Requester, target_user: UserID) -> None:
        """Send the new profile into the user's rooms in the background."""
        if requester.shadow_banned:
            return
        try:
            update = self.hs.membership.update_profile_in_joined_rooms
        except (ImportError, AttributeError):
            logger.debug("No membership handler: profile not sent into rooms")
            return
        room_requester = create_requester(
            target_user, authenticated_entity=requester.authenticated_entity
        )
        d = defer.ensureDeferred(update(room_requester, target_user.to_string()))
        d.addErrback(lambda f: logger.warning("Failed to update join events: %s", f.value))


def checked_profile_value(field: str, value: Any) -> Optional[str]:
    """The refusals for a ``displayname`` or ``avatar_url`` value (type, length); the
    value to store (``None`` for an empty one, a display name stripped)."""
    if not isinstance(value, str):
        raise SynapseError(400, "'%s' must be a string" % field, Codes.INVALID_PARAM)
    max_len = MAX_DISPLAYNAME_LEN if field == "displayname" else MAX_AVATAR_URL_LEN
    if len(value) > max_len:
        label = "Displayname" if field == "displayname" else "Avatar URL"
        raise SynapseError(400, "%s is too long (max %i)" % (label, max_len))
    if value == "":
        return None
    return value.strip() if field == "displayname" else value
