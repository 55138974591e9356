"""The ``listeners`` list."""

from __future__ import annotations

from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from synapse_modhost.config import ListenerConfig
from synapse_modhost.config._listeners import DIRECT_TCP_ERROR
from tests.config._support import ConfigAssertions, minimal, parse


def http(**keys: Any) -> dict:
    listener = {"port": 8008, "type": "http"}
    listener.update(keys)
    return listener


class ListenerTests(SynchronousTestCase, ConfigAssertions):
    """Listener parsing, defaults and errors."""

    def one(self, **keys: Any) -> ListenerConfig:
        return parse(listeners=[http(**keys)]).server.listeners[0]

    def test_defaults(self) -> None:
        """Synapse's defaults: both wildcard addresses, no TLS, no x_forwarded, tag = port."""
        listener = self.one()
        self.assertEqual(listener.bind_addresses, ("::", "0.0.0.0"))
        self.assertEqual((listener.tls, listener.x_forwarded, listener.tag), (False, False, "8008"))
        self.assertEqual((listener.resources, listener.additional_resources), ((), ()))
        self.assertEqual(listener.config_path, ("listeners", "<item 0>"))

    def test_full(self) -> None:
        """Every key is read."""
        listener = self.one(
            bind_addresses=["127.0.0.1"],
            bind_address="::1",
            x_forwarded=True,
            tag="main",
            resources=[{"names": ["client", "federation"], "compress": True}, {"names": ["media"]}],
        )
        self.assertEqual(listener.bind_addresses, ("127.0.0.1", "::1"))
        self.assertEqual((listener.x_forwarded, listener.tag), (True, "main"))
        self.assertEqual(
            [(r.names, r.compress) for r in listener.resources],
            [(("client", "federation"), True), (("media",), False)],
        )

    def test_additional_resources(self) -> None:
        """additional_resources entries carry Synapse's loader path (site tag, <path>)."""
        listener = self.one(
            additional_resources={"/_custom/x": {"module": "pkg.Handler", "config": {"k": 1}}}
        )
        (extra,) = listener.additional_resources
        self.assertEqual(
            (extra.path, extra.module, extra.config), ("/_custom/x", "pkg.Handler", {"k": 1})
        )
        self.assertEqual(
            extra.config_path, ("listeners", "8008", "additional_resources", "</_custom/x>")
        )

    def test_additional_resource_bad_module(self) -> None:
        """An additional resource without a dotted module path is refused at its path."""
        self.assertConfigError(
            minimal(listeners=[http(tag="t", additional_resources={"/x": {"module": "nodot"}})]),
            ("listeners", "t", "additional_resources", "</x>", "module"),
            "module path 'nodot' must be of the form package.module.ClassName",
        )

    def test_metrics_listener(self) -> None:
        """A metrics listener is kept (not served) and defaults to 0.0.0.0."""
        server = parse(listeners=[{"port": 9000, "type": "metrics"}, http()]).server
        self.assertEqual(server.listeners[0].bind_addresses, ("0.0.0.0",))
        self.assertEqual([lc.type for lc in server.http_listeners], ["http"])

    def test_not_a_list(self) -> None:
        """listeners must be a list (Synapse's message)."""
        self.assertConfigError(minimal(listeners={"port": 8008}), ("listeners",), "Expected a list")

    def test_item_not_mapping(self) -> None:
        """A listener that is not a mapping is refused at its item."""
        self.assertConfigError(
            minimal(listeners=[http(), 8008]), ("listeners", "<item 1>"), "Expected a dictionary"
        )

    def test_port_not_int(self) -> None:
        """A non-integer port gives Synapse's message at the port."""
        self.assertConfigError(
            minimal(listeners=[http(port="eighty")]),
            ("listeners", "<item 0>", "port"),
            "Listener configuration is lacking a valid 'port' option",
        )

    def test_port_missing_or_out_of_range(self) -> None:
        """A missing, boolean or out-of-range port is refused the same way."""
        for listener in ({"type": "http"}, http(port=True), http(port=70000)):
            self.assertConfigError(
                minimal(listeners=[listener]),
                ("listeners", "<item 0>", "port"),
                "Listener configuration is lacking a valid 'port' option",
            )

    def test_type_missing(self) -> None:
        """A listener without a type is refused at type."""
        self.assertConfigError(
            minimal(listeners=[{"port": 8008}]),
            ("listeners", "<item 0>", "type"),
            "Listener configuration is lacking a valid 'type' option",
        )

    def test_type_unknown(self) -> None:
        """An unknown type lists the known ones."""
        self.assertConfigError(
            minimal(listeners=[http(type="websocket")]),
            ("listeners", "<item 0>", "type"),
            "Unknown listener type 'websocket': expected one of 'http', 'manhole', 'metrics'",
        )

    def test_type_replication(self) -> None:
        """type: replication gives Synapse's direct-TCP message."""
        self.assertConfigError(
            minimal(listeners=[http(type="replication")]),
            ("listeners", "<item 0>", "type"),
            DIRECT_TCP_ERROR,
        )

    def test_unix_socket(self) -> None:
        """UNIX-socket listeners are refused at path."""
        self.assertConfigError(
            minimal(listeners=[{"path": "/run/hs.sock", "type": "http"}]),
            ("listeners", "<item 0>", "path"),
            "UNIX socket listeners ('path') are not supported by synapse-modhost; use 'port'",
        )

    def test_bind_addresses_not_strings(self) -> None:
        """bind_addresses must be a list of strings."""
        self.assertConfigError(
            minimal(listeners=[http(bind_addresses="127.0.0.1")]),
            ("listeners", "<item 0>", "bind_addresses"),
            "expected a list of strings",
        )

    def test_tls_not_bool(self) -> None:
        """tls must be a boolean."""
        self.assertConfigError(
            minimal(listeners=[http(tls="false")]),
            ("listeners", "<item 0>", "tls"),
            "expected a boolean",
        )

    def test_unknown_resource_name(self) -> None:
        """An unknown resource name gives Synapse's message, the name in the cause."""
        e = self.assertConfigError(
            minimal(listeners=[http(resources=[{"names": ["client", "webclient"]}])]),
            ("listeners", "<item 0>", "resources", "<item 0>", "names"),
            "Unknown listener resource",
        )
        self.assertIn("'webclient' is not one of", str(e.__cause__))

    def test_resource_unknown_option(self) -> None:
        """A resource item with an unknown key is refused (Synapse crashes on it)."""
        self.assertConfigError(
            minimal(listeners=[http(resources=[{"names": ["client"], "compresss": True}])]),
            ("listeners", "<item 0>", "resources", "<item 0>", "compresss"),
            "Unknown option 'compresss' in a listener resource",
        )

    def test_compress_not_bool(self) -> None:
        """compress must be a boolean."""
        self.assertConfigError(
            minimal(listeners=[http(resources=[{"names": ["client"], "compress": "yes"}])]),
            ("listeners", "<item 0>", "resources", "<item 0>", "compress"),
            "expected a boolean",
        )
