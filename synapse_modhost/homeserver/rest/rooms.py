"""Room servlets: ``/createRoom``, sending events, state, reading events, ``/joined_rooms``
(membership servlets are in ``_room_membership.py``). Paths and parsing as Synapse's
``rest/client/room.py``: each ``…/{txnId}`` PUT is idempotent per device."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Dict, Optional, Tuple

from synapse_modhost._codes import Codes
from synapse_modhost.errors import ShadowBanError, SynapseError
from synapse_modhost.homeserver.handlers._builder import random_string
from synapse_modhost.homeserver.handlers._txn_cache import HttpTransactionCache
from synapse_modhost.homeserver.handlers.state import get_state_handler
from synapse_modhost.homeserver.rest import _room_membership
from synapse_modhost.homeserver.rest._base import client_patterns
from synapse_modhost.types import Requester, UserID
from synapse_modhost.web._servlet import parse_json_object_from_request, parse_string

if TYPE_CHECKING:
    from synapse_modhost.homeserver._hs import HomeServer

__all__ = ["fake_event_id", "register_servlets", "register_txn_handler", "register_txn_path"]

JsonDict = Dict[str, Any]
Response = Tuple[int, Any]


def fake_event_id() -> str:
    """What a shadow-banned sender is told (Synapse's ``generate_fake_event_id``)."""
    return "$" + random_string(43)


def register_txn_path(http_server: Any, regex: str, on_post: Any, on_put: Any, name: str) -> None:
    """``POST <regex>`` and ``PUT <regex>/{txn_id}`` (Synapse's ``register_txn_path``)."""
    http_server.register_paths("POST", client_patterns(regex + "$", v1=True), on_post, name)
    http_server.register_paths(
        "PUT", client_patterns(regex + "/(?P<txn_id>[^/]*)$", v1=True), on_put, name
    )


def _path(request: Any) -> str:
    return request.path.decode("utf-8")


def register_txn_handler(
    http_server: Any,
    hs: "HomeServer",
    txns: HttpTransactionCache,
    regex: str,
    handler: Callable[..., Awaitable[Response]],
    name: str,
    *,
    allow_guest: bool = False,
) -> None:
    """:func:`register_txn_path` for ``handler(request, requester, **path_groups, txn_id=…)``:
    the POST runs it with ``txn_id=None``, the PUT once per transaction (by path and
    requester)."""
    auth = hs.auth

    async def on_post(request: Any, **groups: str) -> Response:
        requester = await auth.get_user_by_req(request, allow_guest=allow_guest)
        return await handler(request, requester, txn_id=None, **groups)

    async def on_put(request: Any, txn_id: str, **groups: str) -> Response:
        requester = await auth.get_user_by_req(request, allow_guest=allow_guest)
        execute = functools.partial(handler, request, requester, txn_id=txn_id, **groups)
        return await txns.fetch_or_execute(_path(request), requester, execute)

    register_txn_path(http_server, regex, on_post, on_put, name)


def suspended_hint(hs: "HomeServer", request: Any) -> Optional[bool]:
    """Whether the request's user is suspended, from the token cache the request was
    just authenticated with (``None`` when it is not there: the handler reads it)."""
    from synapse_modhost.homeserver.handlers.auth import get_access_token_from_request

    try:
        info = hs.user_store.token_cache.get(get_access_token_from_request(request))
    except Exception:
        return None
    return None if info is None else bool(info.suspended)


def register_servlets(hs: "HomeServer", http_server: Any) -> None:
    """Register the room servlets (and load the event store's stream position now)."""
    hs.event_store  # noqa: B018 - starts reading the stream position at start-up
    txns = HttpTransactionCache(hs.reactor)
    auth = hs.auth
    state_handler = get_state_handler(hs)

    # ------------------------------------------------------------------ createRoom

    async def create_room(request: Any, requester: Requester) -> Response:
        config = parse_json_object_from_request(request)
        room_id, _, _ = await hs.rooms.create_room(requester, config)
        return 200, {"room_id": room_id}

    async def on_create_post(request: Any) -> Response:
        requester = await auth.get_user_by_req(request)
        return await create_room(request, requester)

    async def on_create_put(request: Any, txn_id: str) -> Response:
        requester = await auth.get_user_by_req(request)
        return await txns.fetch_or_execute(_path(request), requester, create_room, request, requester)

    register_txn_path(http_server, "/createRoom", on_create_post, on_create_put, "RoomCreateRestServlet")

    # ------------------------------------------------------------------ send

    async def send(
        request: Any, requester: Requester, room_id: str, event_type: str, txn_id: Optional[str]
    ) -> Response:
        content = parse_json_object_from_request(request)
        event_dict: JsonDict = {
            "type": event_type,
            "content": content,
            "room_id": room_id,
            "sender": requester.user_id,
        }
        try:
            event = await hs.events.create_and_send_nonmember_event(
                requester, event_dict, txn_id=txn_id, suspended=suspended_hint(hs, request)
            )
            event_id = event.event_id
        except ShadowBanError:
            event_id = fake_event_id()
        return 200, {"event_id": event_id}

    register_txn_handler(
        http_server,
        hs,
        txns,
        "/rooms/(?P<room_id>[^/]*)/send/(?P<event_type>[^/]*)",
        send,
        "RoomSendEventRestServlet",
        allow_guest=True,
    )

    # ------------------------------------------------------------------ state

    async def on_state_get(request: Any, room_id: str, event_type: str, state_key: str = "") -> Response:
        requester = await auth.get_user_by_req(request, allow_guest=True)
        fmt = parse_string(request, "format", default="content", allowed_values=["content", "event"])
        event = await state_handler.get_room_data(requester, room_id, event_type, state_key)
        if event is None:
            raise SynapseError(404, "Event not found.", Codes.NOT_FOUND)
        if fmt == "event":
            from synapse_modhost.events.utils import format_event_for_client_v2
            from synapse_modhost.homeserver.handlers._serialize import serialize_events_for_client

            serialized = await serialize_events_for_client(
                hs, [event], requester, event_format=format_event_for_client_v2
            )
            return 200, serialized[0]
        return 200, event.content.copy()

    async def on_state_put(request: Any, room_id: str, event_type: str, state_key: str = "") -> Response:
        requester = await auth.get_user_by_req(request, allow_guest=True)
        content = parse_json_object_from_request(request)
        if not await auth.is_server_admin(requester):
            spam = await hs.callbacks.spam_checker.user_may_send_state_event(
                requester.user_id, room_id, event_type, state_key, content
            )
            from synapse_modhost.types import NOT_SPAM

            if spam != NOT_SPAM:
                raise hs.callbacks.spam_checker.denial_error("user_may_send_state_event", spam)
        try:
            if event_type == "m.room.member":
                membership = content.get("membership")
                if not isinstance(membership, str):
                    raise SynapseError(400, "Invalid membership (must be a string)")
                target = UserID.from_string(state_key).to_string()
                event_id, _ = await hs.membership.update_membership(
                    requester, target, room_id, membership, content=content
                )
            else:
                event = await hs.events.create_and_send_nonmember_event(
                    requester,
                    {"type": event_type, "content": content, "room_id": room_id,
                     "sender": requester.user_id, "state_key": state_key},
                )  # fmt: skip
                event_id = event.event_id
        except ShadowBanError:
            event_id = fake_event_id()
        return 200, {"event_id": event_id}

    with_key = "/rooms/(?P<room_id>[^/]*)/state/(?P<event_type>[^/]*)/(?P<state_key>[^/]*)$"
    no_key = "/rooms/(?P<room_id>[^/]*)/state/(?P<event_type>[^/]*)$"
    name = "RoomStateEventRestServlet"
    http_server.register_paths("GET", client_patterns(with_key, v1=True), on_state_get, name)
    http_server.register_paths("PUT", client_patterns(with_key, v1=True), on_state_put, name)
    http_server.register_paths("GET", client_patterns(no_key, v1=True), on_state_get, name)
    http_server.register_paths("PUT", client_patterns(no_key, v1=True), on_state_put, name)

    async def on_room_state(request: Any, room_id: str) -> Response:
        requester = await auth.get_user_by_req(request, allow_guest=True)
        return 200, await state_handler.get_state_events(requester, room_id)

    http_server.register_paths(
        "GET", client_patterns("/rooms/(?P<room_id>[^/]*)/state$", v1=True), on_room_state,
        "RoomStateRestServlet",
    )  # fmt: skip

    # ------------------------------------------------------------------ events

    async def on_event(request: Any, room_id: str, event_id: str) -> Response:
        requester = await auth.get_user_by_req(request, allow_guest=True)
        return 200, await state_handler.get_event_for_client(requester, room_id, event_id)

    http_server.register_paths(
        "GET",
        client_patterns("/rooms/(?P<room_id>[^/]*)/event/(?P<event_id>[^/]*)$", v1=True),
        on_event,
        "RoomEventServlet",
    )

    async def redact(
        request: Any, requester: Requester, room_id: str, event_id: str, txn_id: Optional[str]
    ) -> Response:
        content = parse_json_object_from_request(request)
        await _check_suspended_redaction(hs, requester, event_id)
        room_version = await hs.event_store.get_room_version(room_id)
        if room_version is None:
            raise SynapseError(404, "Could not find room_version for %s" % (room_id,), Codes.NOT_FOUND)
        new_rules = room_version.updated_redaction_rules
        if new_rules:
            if "redacts" in content and content["redacts"] != event_id:
                raise SynapseError(
                    400,
                    "Cannot provide a redacts value incoherent with the event_id of the URL parameter",
                    Codes.INVALID_PARAM,
                )
            content["redacts"] = event_id
        try:
            event = None
            if txn_id:
                event = await hs.events.get_event_from_transaction(requester, txn_id, room_id)
            if event is None:
                event_dict: JsonDict = {
                    "type": "m.room.redaction",
                    "content": content,
                    "room_id": room_id,
                    "sender": requester.user_id,
                }
                if not new_rules:
                    event_dict["redacts"] = event_id
                event = await hs.events.create_and_send_nonmember_event(requester, event_dict, txn_id=txn_id)
            new_id = event.event_id
        except ShadowBanError:
            new_id = fake_event_id()
        return 200, {"event_id": new_id}

    register_txn_handler(
        http_server,
        hs,
        txns,
        "/rooms/(?P<room_id>[^/]*)/redact/(?P<event_id>[^/]*)",
        redact,
        "RoomRedactEventRestServlet",
    )

    async def on_joined_rooms(request: Any) -> Response:
        requester = await auth.get_user_by_req(request, allow_guest=True)
        return 200, {"joined_rooms": await hs.event_store.get_rooms_for_user(requester.user_id)}

    http_server.register_paths(
        "GET", client_patterns("/joined_rooms$", v1=True), on_joined_rooms, "JoinedRoomsRestServlet"
    )

    async def on_aliases(request: Any, room_id: str) -> Response:
        requester = await auth.get_user_by_req(request)
        return 200, {"aliases": await hs.directory.get_aliases_for_room(requester, room_id)}

    import re

    alias_patterns = [
        re.compile(r"^/_matrix/client/unstable/org\.matrix\.msc2432/rooms/(?P<room_id>[^/]*)/aliases$")
    ] + client_patterns("/rooms/(?P<room_id>[^/]*)/aliases$", unstable=False)
    http_server.register_paths("GET", alias_patterns, on_aliases, "RoomAliasListServlet")

    _room_membership.register_servlets(hs, http_server, txns)


async def _check_suspended_redaction(hs: "HomeServer", requester: Requester, event_id: str) -> None:
    user = await hs.user_store.get_user(requester.user_id)
    if user is None or not user.suspended:
        return
    event = await hs.event_store.get_event(event_id)
    if event is not None and event.sender != requester.user_id:
        raise SynapseError(
            403,
            "You can only redact your own events while account is suspended.",
            Codes.USER_ACCOUNT_SUSPENDED,
        )
