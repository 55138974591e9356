"""The invite rate limiters (``rc_invites.per_room``, ``per_user``, ``per_issuer``), the
only limiters that consult ``get_ratelimit_override_for_user`` in Synapse 1.163
(CALLBACKS.md §5). Same leaky-bucket arithmetic as Synapse's ``Ratelimiter``, including
its division by zero when a module override has ``per_second=0`` and room left."""

from __future__ import annotations

from typing import Any, Dict, Hashable, Mapping, Optional, Tuple

from synapse_modhost.errors import LimitExceededError
from synapse_modhost.types import Requester

__all__ = ["InviteRatelimiters", "Ratelimiter"]

_DEFAULTS: Dict[str, Tuple[float, int]] = {
    "rc_invites.per_room": (0.3, 10),
    "rc_invites.per_user": (0.003, 5),
    "rc_invites.per_issuer": (0.3, 10),
}


class Ratelimiter:
    """A leaky bucket per key; ``name`` is the limiter name modules see."""

    def __init__(self, clock: Any, callbacks: Any, name: str, per_second: float, burst_count: int) -> None:
        self._clock = clock
        self._callbacks = callbacks
        self.name = name
        self.rate_hz = per_second
        self.burst_count = burst_count
        #: key -> (action count, time start, rate)
        self._actions: Dict[Hashable, Tuple[float, float, float]] = {}

    async def ratelimit(
        self,
        requester: Optional[Requester],
        key: Optional[Hashable] = None,
        *,
        update: bool = True,
        n_actions: int = 1,
        pause: Optional[float] = 0.5,
    ) -> None:
        """Raise ``LimitExceededError`` (429, ``retry_after_ms``) unless allowed."""
        if key is None:
            if requester is None:
                raise ValueError("Must supply at least one of `requester` or `key`")
            key = requester.user_id
        rate_hz, burst_count = self.rate_hz, self.burst_count
        if requester is not None:
            override = await self._callbacks.get_ratelimit_override_for_user(requester.user_id, self.name)
            if override:
                rate_hz, burst_count = override.per_second, override.burst_count
        now = float(self._clock.seconds())
        action_count, time_start, _ = self._actions.get(key, (0, now, rate_hz))
        performed = action_count - (now - time_start) * rate_hz
        if performed < 0:
            performed, action_count, time_start = 0, 0, now
        allowed = performed <= burst_count - n_actions
        if allowed:
            action_count += n_actions
            if update:
                if time_start + action_count / rate_hz <= now:
                    self._actions.pop(key, None)
                else:
                    self._actions[key] = (action_count, time_start, rate_hz)
        if allowed:
            return
        if rate_hz > 0:
            time_allowed = max(time_start + (action_count - burst_count + 1) / rate_hz, now)
        else:
            time_allowed = -1
        raise LimitExceededError(
            limiter_name=self.name, retry_after_ms=int(1000 * (time_allowed - now)), pause=pause
        )


class InviteRatelimiters:
    """The three invite limiters, configured from ``rc_invites``."""

    def __init__(self, clock: Any, callbacks: Any, rc_invites: Mapping[str, Any]) -> None:
        def make(name: str) -> Ratelimiter:
            per_second, burst = _DEFAULTS[name]
            section = rc_invites.get(name.split(".", 1)[1]) if isinstance(rc_invites, Mapping) else None
            if isinstance(section, Mapping):
                per_second = float(section.get("per_second", per_second))
                burst = int(section.get("burst_count", burst))
            return Ratelimiter(clock, callbacks, name, per_second, burst)

        self.per_room = make("rc_invites.per_room")
        self.per_user = make("rc_invites.per_user")
        self.per_issuer = make("rc_invites.per_issuer")

    async def ratelimit_invite(self, requester: Optional[Requester], room_id: Optional[str], invitee: str) -> None:
        """Synapse's ``ratelimit_invite``: per room, per recipient, per issuer."""
        if room_id:
            await self.per_room.ratelimit(requester, room_id)
        await self.per_user.ratelimit(requester, invitee)
        if requester is not None:
            await self.per_issuer.ratelimit(requester)

    async def ratelimit_multiple_invites(
        self, requester: Optional[Requester], room_id: Optional[str], n_invites: int, update: bool = True
    ) -> None:
        await self.per_room.ratelimit(requester, room_id, update=update, n_actions=n_invites)
