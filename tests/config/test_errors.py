"""ConfigError and its printer."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from synapse_modhost.config import ConfigError, config_error_text, format_config_error, item_path


class FormatConfigErrorTests(SynchronousTestCase):
    """The printed layout matches Synapse's ``format_config_error``."""

    def test_path_and_message(self) -> None:
        """A path is dot-joined after 'at' and the message is indented two spaces."""
        e = ConfigError("expected a string", ("listeners", item_path(0), "port"))
        self.assertEqual(
            "".join(format_config_error(e)),
            "Error in configuration at 'listeners.<item 0>.port':\n  expected a string",
        )

    def test_no_path(self) -> None:
        """Without a path the 'at' part is left out."""
        self.assertEqual(
            config_error_text(ConfigError("Must supply a config file.")),
            "Error in configuration:\n  Must supply a config file.\n",
        )

    def test_empty_path_is_no_path(self) -> None:
        """An empty path prints like no path."""
        self.assertEqual(config_error_text(ConfigError("x", ())), "Error in configuration:\n  x\n")

    def test_causes_are_indented(self) -> None:
        """Each cause follows a colon, two more spaces in per level."""
        inner = ValueError("deepest")
        middle = Exception("bad value for foo")
        middle.__cause__ = inner
        e = ConfigError(
            "Failed to parse config for module 'labmod.ParseFailing'",
            ("modules", "<item 1>", "config", "foo", "bar"),
        )
        e.__cause__ = middle
        self.assertEqual(
            config_error_text(e),
            "Error in configuration at 'modules.<item 1>.config.foo.bar':\n"
            "  Failed to parse config for module 'labmod.ParseFailing':\n"
            "    bad value for foo:\n"
            "      deepest\n",
        )

    def test_other_exception(self) -> None:
        """A non-ConfigError prints its text in the same shape."""
        self.assertEqual(
            config_error_text(ValueError("not a ConfigError")),
            "Error in configuration:\n  not a ConfigError\n",
        )

    def test_error_fields(self) -> None:
        """ConfigError keeps msg, a tuple path, str() as the message and a readable repr."""
        e = ConfigError("m", ["a", "b"])
        self.assertEqual((e.msg, e.path, str(e)), ("m", ("a", "b"), "m"))
        self.assertEqual(repr(e), "ConfigError('m', path=('a', 'b'))")
        self.assertEqual(item_path(3), "<item 3>")
