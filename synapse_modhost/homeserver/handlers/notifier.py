"""The notifier: stream positions, sync tokens and long-poll wake-ups.

Three streams are served: room events (the event store's stream ordering), presence (an
in-memory counter) and account data (the account data store's stream id). A
:class:`StreamToken` holds one position per stream; its text form keeps Synapse's
14-field layout, ``s<events>_<presence>_0_0_<account_data>_0_0_0_0_0_0_0_0_0``, with the
fields the stand-in does not serve (typing, receipts, to-device, ...) always ``0``.
Tokens Synapse would accept parse here too: missing trailing fields count as ``0`` and the
room part may be ``s<stream>`` or ``t<topological>-<stream>`` (only the stream is used).

A long-poll (``/sync`` with ``timeout``) waits with :meth:`Notifier.wait_for_events`: it
fires ``True`` as soon as something relevant to the user happens after the given token
(an event in one of their rooms, a membership event about them, their account data, a
presence change they can see) and ``False`` when the timeout passes on the injected
clock. Cancelling the Deferred (the client went away) removes the listener and its timer.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any, Dict, Iterable, Optional, Set

import attr
from twisted.internet import defer

if TYPE_CHECKING:
    from synapse_modhost.homeserver._hs import HomeServer

__all__ = ["Notifier", "StreamToken"]

logger = logging.getLogger(__name__)

_FIELDS = 14
_ROOM_KEY = re.compile(r"^(?:s(\d+)|t(\d+)-(\d+))$")


@attr.s(frozen=True, slots=True, auto_attribs=True)
class StreamToken:
    """A position in each stream the stand-in serves.

    ``topological`` only changes how the room part is written (``t<topo>-<room>``, the
    form Synapse uses in ``/messages`` tokens); it is never compared.
    """

    room: int = 0
    presence: int = 0
    account_data: int = 0
    topological: Optional[int] = attr.ib(default=None, eq=False)

    @classmethod
    def parse(cls, string: str) -> "StreamToken":
        """The token ``string`` stands for; ``ValueError`` if it is not one."""
        keys = string.split("_")
        if len(keys) > _FIELDS:
            raise ValueError("too many fields in stream token %r" % (string,))
        keys.extend(["0"] * (_FIELDS - len(keys)))
        m = _ROOM_KEY.match(keys[0])
        if m is None:
            raise ValueError("bad room key in stream token %r" % (string,))
        if m.group(1) is not None:
            room, topo = int(m.group(1)), None
        else:
            room, topo = int(m.group(3)), int(m.group(2))
        others = [int(k) for k in keys[1:]]
        if any(v < 0 for v in others):
            raise ValueError("negative position in stream token %r" % (string,))
        return cls(room=room, presence=others[0], account_data=others[3], topological=topo)

    def to_string(self) -> str:
        room = (
            "s%d" % self.room
            if self.topological is None
            else "t%d-%d" % (self.topological, self.room)
        )
        fields = [room, str(self.presence), "0", "0", str(self.account_data)]
        fields.extend(["0"] * (_FIELDS - len(fields)))
        return "_".join(fields)

    def copy_and_replace_room(self, room: int, topological: Optional[int] = None) -> "StreamToken":
        return attr.evolve(self, room=room, topological=topological)

    def is_after(self, other: "StreamToken") -> bool:
        """Whether any position is past ``other``'s."""
        return (
            self.room > other.room
            or self.presence > other.presence
            or self.account_data > other.account_data
        )


class _Listener:
    """One waiting long-poll."""

    __slots__ = ("deferred", "timer", "user_id", "room_ids")

    def __init__(self, user_id: str, room_ids: Set[str]) -> None:
        self.user_id = user_id
        self.room_ids = room_ids
        self.deferred: "Optional[defer.Deferred[bool]]" = None
        self.timer: Any = None


class Notifier:
    """Stream positions and the long-polls waiting on them."""

    def __init__(self, hs: "HomeServer") -> None:
        self._hs = hs
        self._clock = hs.reactor
        self._room_pos: Optional[int] = None
        # The store's position when first read: what happened before is not in _room_last.
        self._start_room_pos: Optional[int] = None
        self._account_data_pos: Optional[int] = None
        self._presence_pos = 0
        # The latest position, since start-up, of what each room / user saw.
        self._room_last: Dict[str, int] = {}
        self._room_presence_last: Dict[str, int] = {}
        self._user_member_last: Dict[str, int] = {}
        self._user_account_data_last: Dict[str, int] = {}
        self._user_presence_last: Dict[str, int] = {}
        self._by_user: Dict[str, Set[_Listener]] = {}
        self._by_room: Dict[str, Set[_Listener]] = {}

    # ------------------------------------------------------------------ positions

    async def get_current_token(self) -> StreamToken:
        """The current position of every stream (read from the stores once, then kept
        up to date by the ``on_new_*`` calls)."""
        if self._room_pos is None:
            store = self._hs.event_store
            ready = getattr(store, "ready", None)
            if ready is not None:
                await ready()
            room_pos = int(await _maybe_await(store.get_current_stream_position()) or 0)
            self._start_room_pos = room_pos
            self._room_pos = max(room_pos, self._room_pos or 0)
        if self._account_data_pos is None:
            ad_pos = await self._hs.account_data_store.get_max_stream_id()
            self._account_data_pos = max(int(ad_pos), self._account_data_pos or 0)
        return StreamToken(self._room_pos, self._presence_pos, self._account_data_pos)

    def room_changed_since(self, room_id: str, position: int) -> bool:
        """Whether ``room_id`` may have events after ``position`` (``True`` when the
        position predates what this notifier has seen)."""
        if self._start_room_pos is None or position < self._start_room_pos:
            return True
        return self._room_last.get(room_id, 0) > position

    def next_presence_position(self) -> int:
        """Allocate the next presence stream position."""
        self._presence_pos += 1
        return self._presence_pos

    # ------------------------------------------------------------------ notifications

    def on_new_room_event(self, event: Any, stream_ordering: Optional[int] = None) -> None:
        """A new event was persisted at ``stream_ordering`` (default: the event's): wake
        the room's listeners (and, for a membership event, its target's, who may not be
        in the room yet)."""
        if stream_ordering is None:
            stream_ordering = event.internal_metadata.stream_ordering
            if stream_ordering is None:
                logger.warning("Event %s has no stream ordering; not notifying", event.event_id)
                return
        self._room_pos = max(self._room_pos or 0, stream_ordering)
        room_id = event.room_id
        self._room_last[room_id] = stream_ordering
        to_wake: Set[_Listener] = set(self._by_room.get(room_id, ()))
        if event.type == "m.room.member" and event.get_state_key() is not None:
            target = event.state_key
            self._user_member_last[target] = stream_ordering
            to_wake.update(self._by_user.get(target, ()))
        self._wake(to_wake)

    def on_new_account_data(self, user_id: str, stream_id: int) -> None:
        """``user_id``'s account data was written at ``stream_id``."""
        self._account_data_pos = max(self._account_data_pos or 0, stream_id)
        self._user_account_data_last[user_id] = stream_id
        self._wake(set(self._by_user.get(user_id, ())))

    def on_new_presence(
        self, stream_id: int, users: Iterable[str] = (), rooms: Iterable[str] = ()
    ) -> None:
        """A presence change at ``stream_id`` that ``users`` and members of ``rooms``
        may see."""
        to_wake: Set[_Listener] = set()
        for user_id in users:
            self._user_presence_last[user_id] = stream_id
            to_wake.update(self._by_user.get(user_id, ()))
        for room_id in rooms:
            self._room_presence_last[room_id] = stream_id
            to_wake.update(self._by_room.get(room_id, ()))
        self._wake(to_wake)

    # ------------------------------------------------------------------ waiting

    def wait_for_events(
        self,
        user_id: str,
        since_token: StreamToken,
        timeout_ms: int,
        room_ids: Optional[Iterable[str]] = None,
    ) -> "defer.Deferred[bool]":
        """Fires ``True`` once something relevant to ``user_id`` (in ``room_ids``, the
        rooms they are in) happened after ``since_token``, at once if it already has;
        ``False`` after ``timeout_ms`` of the clock otherwise."""
        rooms = set(room_ids or ())
        if self._has_changed(user_id, since_token, rooms):
            return defer.succeed(True)
        if timeout_ms <= 0:
            return defer.succeed(False)
        listener = _Listener(user_id, rooms)

        def cancel(_: "defer.Deferred[bool]") -> None:
            self._remove(listener)

        d: "defer.Deferred[bool]" = defer.Deferred(canceller=cancel)
        listener.deferred = d
        listener.timer = self._clock.callLater(timeout_ms / 1000.0, self._fire, listener, False)
        self._by_user.setdefault(user_id, set()).add(listener)
        for room_id in rooms:
            self._by_room.setdefault(room_id, set()).add(listener)
        return d

    def count_listeners(self) -> int:
        """How many long-polls are waiting (for tests and debugging)."""
        return sum(len(v) for v in self._by_user.values())

    def _has_changed(self, user_id: str, since: StreamToken, rooms: Set[str]) -> bool:
        if self._user_member_last.get(user_id, 0) > since.room:
            return True
        if self._user_account_data_last.get(user_id, 0) > since.account_data:
            return True
        if self._user_presence_last.get(user_id, 0) > since.presence:
            return True
        for room_id in rooms:
            if self._room_last.get(room_id, 0) > since.room:
                return True
            if self._room_presence_last.get(room_id, 0) > since.presence:
                return True
        return False

    def _wake(self, listeners: Set[_Listener]) -> None:
        for listener in listeners:
            self._fire(listener, True)

    def _fire(self, listener: _Listener, changed: bool) -> None:
        d = listener.deferred
        self._remove(listener)
        if d is not None and not d.called:
            d.callback(changed)

    def _remove(self, listener: _Listener) -> None:
        timer = listener.timer
        listener.timer = None
        if timer is not None and timer.active():
            timer.cancel()
        _discard(self._by_user, listener.user_id, listener)
        for room_id in listener.room_ids:
            _discard(self._by_room, room_id, listener)


def _discard(index: Dict[str, Set[_Listener]], key: str, listener: _Listener) -> None:
    listeners = index.get(key)
    if listeners is not None:
        listeners.discard(listener)
        if not listeners:
            del index[key]


async def _maybe_await(value: Any) -> Any:
    if isinstance(value, defer.Deferred) or hasattr(value, "__await__"):
        return await value
    return value
