"""``POST /user_directory/search`` (TRIGGERS.md §4), with Synapse's body handling: ``limit``
defaults to 10 and is clamped to 0..50, ``search_term`` is required. A ``limit`` ``int()``
rejects or a ``search_term`` that is not a string is 400 ``M_BAD_JSON`` (Synapse answers
500)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Tuple

from synapse_modhost._codes import Codes
from synapse_modhost.errors import SynapseError
from synapse_modhost.homeserver.rest._base import client_patterns
from synapse_modhost.web import parse_json_object_from_request

if TYPE_CHECKING:
    from synapse_modhost.homeserver._hs import HomeServer

__all__ = ["register_servlets"]


def register_servlets(hs: "HomeServer", http_server: Any) -> None:
    """The user directory search endpoint."""

    async def on_search(request: Any) -> Tuple[int, Dict[str, Any]]:
        requester = await hs.auth.get_user_by_req(request, allow_guest=False)
        body = parse_json_object_from_request(request)
        try:
            limit = max(min(int(body.get("limit", 10)), 50), 0)
        except (TypeError, ValueError, OverflowError):
            raise SynapseError(400, "`limit` must be an integer", Codes.BAD_JSON) from None
        try:
            search_term = body["search_term"]
        except KeyError:
            raise SynapseError(400, "`search_term` is required field") from None
        if not isinstance(search_term, str):
            raise SynapseError(400, "`search_term` must be a string", Codes.BAD_JSON)
        results = await hs.user_directory.search_users(
            requester.user.to_string(), search_term, limit
        )
        return 200, results

    http_server.register_paths(
        "POST",
        client_patterns("/user_directory/search$"),
        on_search,
        "UserDirectorySearchRestServlet",
    )
