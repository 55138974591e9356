"""The smallest module with a web resource: ``GET /_synapse/client/my_super_module/say_hello``.

``?name=Ada`` → ``{"hello": "Ada"}``; without a name it greets the configured default.
"""

import json
from typing import Any, Dict

from synapse.module_api import ModuleApi
from twisted.web.resource import Resource
from twisted.web.server import Request


class SayHelloResource(Resource):
    def __init__(self, default_name: str):
        super().__init__()
        self.default_name = default_name

    def render_GET(self, request: Request) -> bytes:
        names = request.args.get(b"name")
        name = names[0].decode("utf-8", "replace") if names else self.default_name
        request.setHeader(b"Content-Type", b"application/json")
        return json.dumps({"hello": name}).encode()


class SayHello:
    def __init__(self, config: Dict[str, Any], api: ModuleApi):
        api.register_web_resource(
            path="/_synapse/client/my_super_module/say_hello",
            resource=SayHelloResource(config.get("default_name", "world")),
        )
