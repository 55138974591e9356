"""Room shutdown and purge (admin ``DELETE /_synapse/admin/v{1,2}/rooms/{roomId}``,
``ModuleApi.delete_room``), as Synapse's ``RoomShutdownHandler`` and
``PaginationHandler`` (TRIGGERS.md §7).

``shutdown_room``: ``check_can_shutdown_room(requester or None, room)`` (403 "Shutdown
of this room is forbidden") → optional block → every local member leaves (as
themselves) and forgets the room → optionally a new room (``new_room_user_id``) they are
joined to, with the aliases moved there. ``purge_room`` then deletes the room.

The v2 form and ``delete_room`` run as background tasks, as on Synapse; their status is
kept in memory (``GET …/delete_status``) and lost on restart.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Dict, List, Optional

import attr
from twisted.internet import defer

from synapse_modhost._codes import Codes
from synapse_modhost.errors import SynapseError
from synapse_modhost.homeserver.handlers._builder import random_string
from synapse_modhost.types import RoomID, create_requester

if TYPE_CHECKING:
    from synapse_modhost.homeserver._hs import HomeServer

__all__ = ["DeleteTask", "RoomShutdownHandler", "get_shutdown_handler"]

logger = logging.getLogger(__name__)

JsonDict = Dict[str, Any]

DEFAULT_MESSAGE = (
    "Sharing illegal content on this server is not permitted and rooms in violation will be blocked."
)
DEFAULT_ROOM_NAME = "Content Violation Notification"


def get_shutdown_handler(hs: "HomeServer") -> "RoomShutdownHandler":
    """The host's one ``RoomShutdownHandler`` (built on first use)."""
    handler = hs.__dict__.get("_room_shutdown_handler")
    if handler is None:
        handler = hs.__dict__["_room_shutdown_handler"] = RoomShutdownHandler(hs)
    return handler


@attr.s(slots=True, auto_attribs=True)
class DeleteTask:
    """A background shutdown-and-purge (``delete_id``)."""

    delete_id: str
    room_id: str
    status: str = "scheduled"
    result: Optional[JsonDict] = None
    error: Optional[str] = None

    def response(self) -> JsonDict:
        return {
            "delete_id": self.delete_id,
            "room_id": self.room_id,
            "status": self.status,
            "shutdown_room": self.result,
        }


class RoomShutdownHandler:
    def __init__(self, hs: "HomeServer") -> None:
        self.hs = hs
        self.store = hs.event_store
        self._tasks: Dict[str, DeleteTask] = {}

    async def shutdown_room(self, room_id: str, params: JsonDict) -> JsonDict:
        """Make every local user leave; ``{kicked_users, failed_to_kick_users,
        local_aliases, new_room_id}``."""
        requester_user_id: Optional[str] = params.get("requester_user_id")
        new_room_user_id: Optional[str] = params.get("new_room_user_id")
        if not RoomID.is_valid(room_id):
            raise SynapseError(400, "%s is not a legal room ID" % (room_id,))
        third_party = self.hs.callbacks.third_party_rules
        if not await third_party.check_can_shutdown_room(requester_user_id, room_id):
            raise SynapseError(403, "Shutdown of this room is forbidden", Codes.FORBIDDEN)
        result: JsonDict = {
            "kicked_users": [],
            "failed_to_kick_users": [],
            "local_aliases": [],
            "new_room_id": None,
        }
        room_exists = await self.store.rooms.get_room(room_id) is not None
        # Synapse blocks the room before refusing a remote new_room_user_id; refusing first
        # leaves nothing written by a request that fails.
        if room_exists and new_room_user_id is not None and not self.hs.is_mine_id(new_room_user_id):
            raise SynapseError(400, "User must be our own: %s" % (new_room_user_id,))
        if params.get("block"):
            if requester_user_id is None:
                raise ValueError("shutdown_room: block=True not allowed when requester_user_id is None.")
            await self.store.rooms.block_room(room_id, requester_user_id)
        if not room_exists:
            return result
        new_room_id: Optional[str] = None
        if new_room_user_id is not None:
            creator = create_requester(new_room_user_id, authenticated_entity=requester_user_id)
            new_room_id, _, _ = await self.hs.rooms.create_room(
                creator,
                {
                    "preset": "public_chat",
                    "name": params.get("new_room_name") or DEFAULT_ROOM_NAME,
                    "power_level_content_override": {"users_default": -10},
                },
                ratelimit=False,
            )
            result["new_room_id"] = new_room_id
        membership = self.hs.membership
        for user_id, current in await self.store.get_local_users_related_to_room(room_id):
            if current not in ("join", "invite", "knock"):
                continue
            try:
                target = create_requester(user_id, authenticated_entity=requester_user_id)
                await membership.update_membership(target, user_id, room_id, "leave", content={}, ratelimit=False)
                await self.store.forget(user_id, room_id)
                if new_room_id is not None and current == "join":
                    await membership.update_membership(
                        target, user_id, new_room_id, "join", content={}, ratelimit=False
                    )
                result["kicked_users"].append(user_id)
            except Exception:
                logger.exception("Failed to leave old room and join new room for %r", user_id)
                result["failed_to_kick_users"].append(user_id)
        if new_room_user_id is not None and new_room_id is not None:
            creator = create_requester(new_room_user_id, authenticated_entity=requester_user_id)
            await self.hs.events.create_and_send_nonmember_event(
                creator,
                {"type": "m.room.message",
                 "content": {"body": params.get("message") or DEFAULT_MESSAGE, "msgtype": "m.text"},
                 "room_id": new_room_id, "sender": new_room_user_id},
                ratelimit=False,
            )  # fmt: skip
            result["local_aliases"] = list(await self.store.rooms.get_aliases_for_room(room_id))
            await self.store.rooms.update_aliases_for_room(room_id, new_room_id, requester_user_id)
        return result

    async def purge_room(self, room_id: str, force: bool = False) -> None:
        """Delete the room's events, state and aliases (400 while local users are joined,
        unless ``force``)."""
        state = await self.store.get_current_state(room_id)
        joined = any(
            t == "m.room.member" and self.hs.is_mine_id(k) and e.content.get("membership") == "join"
            for (t, k), e in state.items()
        )
        if joined and not force:
            raise SynapseError(400, "Users are still joined to this room")
        await self.store.rooms.purge_room(room_id)

    # ------------------------------------------------------------------ background tasks

    def start_shutdown_and_purge_room(self, room_id: str, params: JsonDict) -> str:
        """Schedule shutdown + purge; the ``delete_id`` (16 random letters)."""
        if any(t.room_id == room_id and t.status in ("scheduled", "active") for t in self._tasks.values()):
            raise SynapseError(400, "Purge already in progress for %s" % (room_id,))
        new_room_user_id = params.get("new_room_user_id")
        if new_room_user_id is not None and not self.hs.is_mine_id(new_room_user_id):
            raise SynapseError(400, "User must be our own: %s" % (new_room_user_id,))
        task = DeleteTask(random_string(16), room_id)
        self._tasks[task.delete_id] = task
        d = defer.ensureDeferred(self._run(task, params))
        d.addErrback(lambda f: logger.error("room deletion %s failed: %s", task.delete_id, f.value))
        return task.delete_id

    async def _run(self, task: DeleteTask, params: JsonDict) -> None:
        task.status = "active"
        try:
            task.result = await self.shutdown_room(task.room_id, params)
            if params.get("purge", True):
                await self.purge_room(task.room_id, force=bool(params.get("force_purge")))
        except Exception as e:
            task.status = "failed"
            task.error = str(e)
            raise
        task.status = "complete"

    def get_delete_tasks_by_room(self, room_id: str) -> List[DeleteTask]:
        return [t for t in self._tasks.values() if t.room_id == room_id]

    def get_delete_task(self, delete_id: str) -> Optional[DeleteTask]:
        return self._tasks.get(delete_id)
