"""The server section: server_name, public_baseurl, web client, templates, workers."""

from __future__ import annotations

import os

from twisted.trial.unittest import SynchronousTestCase

from tests.config._support import ConfigAssertions, minimal, parse


class ServerNameTests(SynchronousTestCase, ConfigAssertions):
    """``server_name`` is checked as Synapse checks it."""

    def test_valid_names(self) -> None:
        """Hostnames, ports and bracketed IPv6 literals are accepted."""
        for name in ("example.com", "localhost:8448", "[::1]", "[::1]:8448", "1.2.3.4"):
            self.assertEqual(parse(server_name=name).server.server_name, name)

    def test_invalid_format(self) -> None:
        """A name with a bad character gives Synapse's message at server_name."""
        self.assertConfigError(
            {"server_name": "exa mple.com"},
            ("server_name",),
            "Server name 'exa mple.com' has an invalid format",
        )

    def test_invalid_port(self) -> None:
        """A non-numeric port is an invalid server name."""
        self.assertConfigError(
            {"server_name": "example.com:http"},
            ("server_name",),
            "Invalid server name 'example.com:http'",
        )

    def test_bad_ipv6(self) -> None:
        """A bracketed literal that is not IPv6 says so."""
        self.assertConfigError(
            {"server_name": "[nope]"},
            ("server_name",),
            "Server name '[nope]' is not a valid IPv6 address",
        )

    def test_not_a_string(self) -> None:
        """A non-string server_name is refused at its path."""
        self.assertConfigError({"server_name": 12}, ("server_name",), "Must be a string")


class PublicBaseurlTests(SynchronousTestCase, ConfigAssertions):
    """``public_baseurl``."""

    def test_trailing_slash_added(self) -> None:
        """A slash is appended when missing, and the client well-known is served."""
        server = parse(public_baseurl="http://127.0.0.1:8008").server
        self.assertEqual(server.public_baseurl, "http://127.0.0.1:8008/")
        self.assertTrue(server.serve_client_wellknown)

    def test_bad_scheme(self) -> None:
        """Only http and https are allowed."""
        self.assertConfigError(
            minimal(public_baseurl="ftp://x/"),
            ("public_baseurl",),
            "Invalid scheme 'ftp': only https and http are supported",
        )

    def test_query(self) -> None:
        """A query or fragment is refused."""
        self.assertConfigError(
            minimal(public_baseurl="https://x/?a=b"),
            ("public_baseurl",),
            "public_baseurl cannot contain query parameters or a #-fragment",
        )

    def test_not_a_string(self) -> None:
        """A non-string is refused."""
        self.assertConfigError(minimal(public_baseurl=5), ("public_baseurl",), "Must be a string")


class OtherServerKeyTests(SynchronousTestCase, ConfigAssertions):
    """web_client_location, pid_file, templates and worker keys."""

    def test_web_client_location(self) -> None:
        """An HTTP(S) URL is kept; anything else gives Synapse's message."""
        self.assertEqual(
            parse(web_client_location="https://app.element.io").server.web_client_location,
            "https://app.element.io",
        )
        self.assertConfigError(
            minimal(web_client_location="/static"),
            ("web_client_location",),
            "web_client_location must point to a HTTP(S) URL.",
        )

    def test_pid_file_absolute(self) -> None:
        """pid_file is made absolute."""
        self.assertEqual(parse(pid_file="hs.pid").server.pid_file, os.path.abspath("hs.pid"))

    def test_custom_template_directory(self) -> None:
        """templates.custom_template_directory is read; a top-level one is unused, as in Synapse."""
        config = parse(
            templates={"custom_template_directory": "/t"}, custom_template_directory="/x"
        )
        self.assertEqual(config.server.custom_template_directory, "/t")
        self.assertIn("custom_template_directory", config.unused_keys)

    def test_templates_not_mapping(self) -> None:
        """templates must be a mapping."""
        self.assertConfigError(
            minimal(templates=["x"]), ("templates",), "The 'templates' section must be a dictionary"
        )

    def test_template_directory_not_string(self) -> None:
        """custom_template_directory must be a string."""
        self.assertConfigError(
            minimal(templates={"custom_template_directory": 3}),
            ("templates", "custom_template_directory"),
            "'custom_template_directory' must be a string",
        )

    def test_worker_keys(self) -> None:
        """worker_name defaults to worker_app; background tasks follow run_background_tasks_on."""
        server = parse(worker_app="synapse.app.generic_worker").server
        self.assertEqual(
            (server.worker_app, server.worker_name), ("synapse.app.generic_worker",) * 2
        )
        self.assertFalse(server.run_background_tasks)
        server = parse(worker_name="w1", run_background_tasks_on="w1").server
        self.assertTrue(server.run_background_tasks)
        server = parse(worker_app="synapse.app.homeserver", run_background_tasks_on="w1").server
        self.assertEqual((server.worker_app, server.run_background_tasks), (None, False))
