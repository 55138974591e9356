"""Rewrites message bodies through a censoring web service before they are stored.

Config::

    endpoint: http://127.0.0.1:8008/_synapse/client/event_censorer/censor
    banned_words: [darn]

``check_event_allowed`` posts each ``m.room.message`` event to ``endpoint`` with
``api.http_client.post_json_get_json`` and stores the content it answers with. The module
serves such a service itself at ``/_synapse/client/event_censorer/censor`` (replacing each
banned word with asterisks), so the example needs nothing else running.
"""

from typing import Any, Dict, List, Optional, Tuple

from synapse.http.server import DirectServeJsonResource
from synapse.http.servlet import parse_json_object_from_request
from synapse.http.site import SynapseRequest
from synapse.module_api import EventBase, ModuleApi
from synapse.types import StateMap


class CensorResource(DirectServeJsonResource):
    """``POST`` an event dict, get back its content with banned words masked."""

    def __init__(self, banned_words: List[str]):
        super().__init__()
        self.banned_words = banned_words

    async def _async_render_POST(self, request: SynapseRequest) -> Tuple[int, Dict[str, Any]]:
        event = parse_json_object_from_request(request)
        content = dict(event.get("content") or {})
        body = content.get("body")
        if isinstance(body, str):
            for word in self.banned_words:
                body = body.replace(word, "*" * len(word))
            content["body"] = body
        return 200, content


class EventCensorer:
    def __init__(self, config: Dict[str, Any], api: ModuleApi):
        self.api = api
        self.endpoint: str = config.get(
            "endpoint", api.public_baseurl + "_synapse/client/event_censorer/censor"
        )
        api.register_third_party_rules_callbacks(check_event_allowed=self.check_event_allowed)
        api.register_web_resource(
            path="/_synapse/client/event_censorer/censor",
            resource=CensorResource(list(config.get("banned_words") or [])),
        )

    async def check_event_allowed(
        self, event: EventBase, state_events: StateMap[EventBase]
    ) -> Tuple[bool, Optional[Dict[str, Any]]]:
        if event.type != "m.room.message":
            return True, None
        event_dict = event.get_dict()
        new_content = await self.api.http_client.post_json_get_json(
            uri=self.endpoint, post_json=event_dict
        )
        event_dict["content"] = new_content
        return True, event_dict
