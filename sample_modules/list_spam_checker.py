"""A spam checker that rejects messages from listed users and tells who is listed.

Config::

    evil_users: ["@mallory:example.com"]

Serves ``GET /_synapse/client/list_spam_checker/is_evil?user=@x:y`` →
``{"evil": true|false}``.
"""

import json
from typing import Any, Dict, List, Union

from synapse.module_api import NOT_SPAM, EventBase, ModuleApi
from synapse.module_api.errors import Codes
from twisted.web.resource import Resource
from twisted.web.server import Request


class IsEvilResource(Resource):
    """Answers whether the ``user`` query parameter names a listed user."""

    isLeaf = True

    def __init__(self, evil_users: List[str]):
        super().__init__()
        self.evil_users = evil_users

    def render_GET(self, request: Request) -> bytes:
        users = request.args.get(b"user") or [b""]
        user = users[0].decode("utf-8", "replace")
        request.setHeader(b"Content-Type", b"application/json")
        return json.dumps({"evil": user in self.evil_users}).encode()


class ListSpamChecker:
    def __init__(self, config: Dict[str, Any], api: ModuleApi):
        self.api = api
        self.evil_users: List[str] = list(config.get("evil_users") or [])
        api.register_spam_checker_callbacks(check_event_for_spam=self.check_event_for_spam)
        api.register_web_resource(
            path="/_synapse/client/list_spam_checker/is_evil",
            resource=IsEvilResource(self.evil_users),
        )

    async def check_event_for_spam(self, event: EventBase) -> Union[str, Codes]:
        if event.sender in self.evil_users:
            return Codes.FORBIDDEN
        return NOT_SPAM
