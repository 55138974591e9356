"""``POST /_synapse/admin/v1/account_validity/validity``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Tuple

from synapse_modhost.homeserver.rest._base import admin_patterns
from synapse_modhost.web import parse_json_object_from_request

if TYPE_CHECKING:
    from synapse_modhost.homeserver._hs import HomeServer

__all__ = ["register_servlets"]


def register_servlets(hs: "HomeServer", http_server: Any) -> None:
    async def validity(request: Any) -> Tuple[int, Dict[str, Any]]:
        await hs.auth.get_admin_by_req(request)
        user_id = None
        if not hs.callbacks.account_validity.has("on_legacy_admin_request"):
            user_id = parse_json_object_from_request(request).get("user_id")
        expiration_ts = await hs.account_validity.admin_request(request, user_id)
        return 200, {"expiration_ts": expiration_ts}

    http_server.register_paths(
        "POST", admin_patterns("/account_validity/validity$"), validity, "AccountValidityRenewServlet"
    )
