"""ConfigError and the printer that shows it the way Synapse does."""

from __future__ import annotations

from typing import Iterable, Iterator, List, Sequence

__all__ = ["ConfigError", "config_error_text", "format_config_error", "item_path"]


class ConfigError(Exception):
    """A bad configuration value, with the YAML path that holds it.

    ``path`` is a sequence of keys; list positions are written ``<item N>``, as Synapse
    writes them, so ``("listeners", "<item 0>", "port")`` prints as
    ``listeners.<item 0>.port``.
    """

    def __init__(self, msg: str, path: Iterable[str] | None = None):
        super().__init__(msg)
        self.msg = msg
        self.path: Sequence[str] | None = tuple(path) if path is not None else None

    def __repr__(self) -> str:
        return f"ConfigError({self.msg!r}, path={self.path!r})"


def item_path(index: int) -> str:
    """The path element for list position ``index``: ``<item N>``."""
    return f"<item {index}>"


def format_config_error(e: BaseException) -> Iterator[str]:
    """Yield the fragments describing ``e``, in Synapse's layout.

    ``Error in configuration at 'a.b':`` then a newline and the message indented two
    spaces; each ``__cause__`` follows after ``:`` and a newline, indented two more spaces
    per level. No trailing newline: callers write one (Synapse writes ``"\\n"`` before and
    after). For example::

        Error in configuration at 'modules.<item 1>.config.foo':
          Failed to parse config for module 'labmod.ParseFailing':
            bad value for foo
    """
    yield "Error in configuration"
    if isinstance(e, ConfigError) and e.path:
        yield " at '{}'".format(".".join(e.path))
    msg = e.msg if isinstance(e, ConfigError) else str(e)
    yield f":\n  {msg}"
    indent = 1
    cause = e.__cause__
    while cause is not None:
        indent += 1
        yield ":\n{}{}".format("  " * indent, str(cause) or type(cause).__name__)
        cause = cause.__cause__


def config_error_text(e: BaseException) -> str:
    """``format_config_error`` joined into one string, ending with a newline."""
    parts: List[str] = list(format_config_error(e))
    parts.append("\n")
    return "".join(parts)
