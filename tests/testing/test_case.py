"""The test kit's base case: a started host in memory with in-memory HTTP."""

from __future__ import annotations

from synapse_modhost.testing import ModuleHostTestCase


class SayHelloKitTests(ModuleHostTestCase):
    """A sample module's resource through the kit."""

    modules = [{"module": "sample_modules.say_hello.SayHello", "config": {"default_name": "kit"}}]

    def test_resource_answers(self) -> None:
        """GET on the module's path answers 200 with its JSON."""
        channel = self.make_request("GET", "/_synapse/client/my_super_module/say_hello")
        self.assertEqual(channel.code, 200)
        self.assertEqual(channel.json_body, {"hello": "kit"})

    def test_unknown_client_path(self) -> None:
        """An unknown Client-Server path answers 404 M_UNRECOGNIZED."""
        channel = self.make_request("GET", "/_matrix/client/v3/nothing")
        self.assertEqual(channel.code, 404)
        self.assertEqual(channel.json_body["errcode"], "M_UNRECOGNIZED")

    def test_versions(self) -> None:
        """/_matrix/client/versions lists spec versions."""
        channel = self.make_request("GET", "/_matrix/client/versions")
        self.assertEqual(channel.code, 200)
        self.assertIn("v1.1", channel.json_body["versions"])



class UserHelperTests(ModuleHostTestCase):
    """The kit's user helpers give working credentials."""

    def test_register_and_login(self) -> None:
        """register_user then login gives a token the host accepts."""
        user_id = self.register_user("alice")
        self.assertEqual(user_id, "@alice:test.local")
        token = self.login("alice")
        requester = self.get_success(self.host.hs.auth.get_user_by_access_token(token))
        self.assertEqual(requester.user_id, user_id)


class ChannelTests(ModuleHostTestCase):
    """The in-memory channel parses every response shape."""

    def test_head_has_no_body(self) -> None:
        """A HEAD response is complete without a body."""
        channel = self.make_request("HEAD", "/_matrix/client/versions")
        self.assertEqual(channel.code, 200)
        self.assertEqual(channel.result_body, b"")

    def test_options_204(self) -> None:
        """OPTIONS on any path answers 204 with CORS headers and no body."""
        channel = self.make_request("OPTIONS", "/_synapse/client/anything")
        self.assertEqual(channel.code, 204)
        self.assertEqual(channel.headers["access-control-allow-origin"], ["*"])
