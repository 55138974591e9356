"""The test kit for module authors: the real host in memory, for trial and pytest.

    from synapse_modhost.testing import ModuleHostTestCase

    class MyModuleTests(ModuleHostTestCase):
        modules = [{"module": "my_module.MyModule", "config": {}}]

        def test_resource(self):
            channel = self.make_request("GET", "/_synapse/client/my_module/hello")
            self.assertEqual(channel.code, 200)

Under pytest the same is available as fixtures (``modhost`` and friends): see
``synapse_modhost.testing.pytest_plugin`` and docs/testing.md.
"""

from synapse_modhost._http2 import disable_http2_server

disable_http2_server()  # before twisted.web loads: the in-memory site never speaks HTTP/2

from synapse_modhost.testing._case import (  # noqa: E402
    DEFAULT_CONFIG,
    ModuleHostTestCase,
    deep_merge,
    default_config,
    override_config,
)
from synapse_modhost.testing._channel import FakeChannel, make_request  # noqa: E402
from synapse_modhost.testing._factories import make_event, make_requester, make_state_map  # noqa: E402
from synapse_modhost.testing._harness import HostHarness, RequestFailed  # noqa: E402
from synapse_modhost.testing._http_stub import HttpClientStub, StubbedRequest  # noqa: E402

__all__ = [
    "DEFAULT_CONFIG",
    "FakeChannel",
    "HostHarness",
    "HttpClientStub",
    "ModuleHostTestCase",
    "RequestFailed",
    "StubbedRequest",
    "deep_merge",
    "default_config",
    "make_event",
    "make_request",
    "make_requester",
    "make_state_map",
    "override_config",
]
