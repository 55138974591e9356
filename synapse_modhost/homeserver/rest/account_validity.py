"""``GET /account_validity/renew`` and ``POST /account_validity/send_mail``."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any, Dict, Tuple

from synapse_modhost.homeserver.rest._base import client_patterns
from synapse_modhost.web import parse_string, respond_with_html

if TYPE_CHECKING:
    from synapse_modhost.homeserver._hs import HomeServer

__all__ = ["register_servlets"]

_PAGE = (
    "<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>%s</title></head>"
    "<body><p>%s</p></body></html>"
)


def register_servlets(hs: "HomeServer", http_server: Any) -> None:
    async def renew(request: Any) -> None:
        token = parse_string(request, "token", required=True)
        assert token is not None
        valid, stale, expiration_ts = await hs.account_validity.renew_account(token)
        if valid:
            code, text = 200, "Your account has been renewed (valid until %d)." % expiration_ts
        elif stale:
            code, text = 200, "Your account was already renewed (valid until %d)." % expiration_ts
        else:
            code, text = 404, "This renewal link is invalid or has expired."
        respond_with_html(request, code, _PAGE % ("Account renewal", html.escape(text)))

    async def send_mail(request: Any) -> Tuple[int, Dict[str, Any]]:
        requester = await hs.auth.get_user_by_req(request, allow_expired=True)
        await hs.account_validity.send_renewal_email_to_user(requester.user_id)
        return 200, {}

    http_server.register_paths(
        "GET", client_patterns("/account_validity/renew$"), renew, "AccountValidityRenewServlet"
    )
    http_server.register_paths(
        "POST",
        client_patterns("/account_validity/send_mail$"),
        send_mail,
        "AccountValiditySendMailServlet",
    )
