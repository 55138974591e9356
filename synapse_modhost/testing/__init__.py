"""The test kit for module authors: the real host in memory, for trial and pytest.

    from synapse_modhost.testing import ModuleHostTestCase

    class MyModuleTests(ModuleHostTestCase):
        modules = [{"module": "my_module.MyModule", "config": {}}]

        def test_resource(self):
            channel = self.make_request("GET", "/_synapse/client/my_module/hello")
            self.assertEqual(channel.code, 200)
"""

from synapse_modhost.testing._case import DEFAULT_CONFIG, ModuleHostTestCase, default_config
from synapse_modhost.testing._channel import FakeChannel, make_request

__all__ = [
    "DEFAULT_CONFIG",
    "FakeChannel",
    "ModuleHostTestCase",
    "default_config",
    "make_request",
]
