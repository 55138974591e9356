"""A user's presence, as presence-router callbacks see it."""

from __future__ import annotations

from typing import Any, Dict, Optional

import attr

__all__ = ["UserPresenceState"]


@attr.s(auto_attribs=True, frozen=True, slots=True)
class UserPresenceState:
    """A user's presence, as presence-router callbacks see it."""

    user_id: str
    state: str
    last_active_ts: int = 0
    last_federation_update_ts: int = 0
    last_user_sync_ts: int = 0
    status_msg: Optional[str] = None
    currently_active: bool = False

    def as_dict(self) -> Dict[str, Any]:
        return attr.asdict(self)

    def copy_and_replace(self, **kwargs: Any) -> "UserPresenceState":
        return attr.evolve(self, **kwargs)

    @classmethod
    def default(cls, user_id: str) -> "UserPresenceState":
        return cls(user_id=user_id, state="offline")
