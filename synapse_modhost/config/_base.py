"""``Config``: the helpers Synapse modules call on ``synapse.config._base.Config``.

Modules use these as static or class methods (``Config.parse_size("10M")``,
``Config.parse_duration("1h")``, ``Config.read_file(path, "my_option")``); the host's own
section parsers use the same functions, so a size means the same thing everywhere.
"""

from __future__ import annotations

import errno
import os
from typing import Any, Iterable, Union

from synapse_modhost.config._errors import ConfigError

__all__ = ["Config", "parse_duration", "parse_size", "path_exists", "read_file"]

_SIZE_UNITS = {"K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}

_SECOND = 1000
_DAY = 24 * 60 * 60 * _SECOND
_DURATION_UNITS = {
    "s": _SECOND,
    "m": 60 * _SECOND,
    "h": 60 * 60 * _SECOND,
    "d": _DAY,
    "w": 7 * _DAY,
    "y": 365 * _DAY,
}


def parse_size(value: Union[str, int]) -> int:
    """A number of bytes from an int (as is) or a string with an optional unit.

    The unit is one upper-case letter: ``K``, ``M``, ``G`` or ``T``, powers of 1024
    (``"50M"`` is 52428800). The number is read with ``int()``, so ``"1.5M"`` and
    ``"50m"`` are rejected. ``bool`` is not an int here.

    Raises ``TypeError("Bad byte size <repr>")`` for anything but an int or a string, and
    ``ValueError`` for a string that is not a number with an optional unit.
    """
    if type(value) is int:
        return value
    if isinstance(value, str):
        if not value:
            # Synapse fails here with an IndexError; a ValueError is what callers catch.
            raise ValueError("Bad byte size ''")
        multiplier = _SIZE_UNITS.get(value[-1])
        if multiplier is None:
            return int(value)
        return int(value[:-1]) * multiplier
    raise TypeError(f"Bad byte size {value!r}")


def parse_duration(value: Union[str, int]) -> int:
    """Milliseconds from an int (as is) or a string with an optional unit.

    Units: ``s``, ``m`` (minutes), ``h``, ``d``, ``w``, ``y`` (365 days); no unit means
    milliseconds. ``bool`` is not an int here.

    Raises ``TypeError`` for anything but an int or a string, or for a string ending in a
    character that is neither a digit nor a unit; ``ValueError`` when the number part is
    not an integer (``"1.5h"``).
    """
    if type(value) is int:
        return value
    if isinstance(value, str):
        if not value:
            # Synapse fails here with an IndexError; a ValueError is what callers catch.
            raise ValueError("Bad duration ''")
        suffix = value[-1]
        multiplier = _DURATION_UNITS.get(suffix)
        if multiplier is not None:
            return int(value[:-1]) * multiplier
        if suffix.isdigit():
            return int(value)
        raise TypeError(
            f"Bad duration suffix {value} (expected no suffix or one of these suffixes: {_DURATION_UNITS.keys()})"
        )
    raise TypeError(f"Bad duration type {value!r} (expected int or string duration)")


def path_exists(file_path: str) -> bool:
    """Whether ``file_path`` exists; errors other than "not found" propagate."""
    try:
        os.stat(file_path)
        return True
    except OSError as e:
        if e.errno != errno.ENOENT:
            raise
        return False


def read_file(file_path: Any, config_path: Iterable[str]) -> str:
    """The text of ``file_path``; a ConfigError at ``config_path`` when it cannot be read.

    Messages: ``"<repr> is not a string"`` when ``file_path`` is not a string, else
    ``"Error accessing file '<path>'"`` caused by the OS error.
    """
    path = tuple(config_path)
    if not isinstance(file_path, str):
        raise ConfigError(f"{file_path!r} is not a string", path)
    try:
        with open(file_path, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"Error accessing file {file_path!r}", path) from e


class Config:
    """The base of Synapse's config sections, for modules that use its helpers.

    Only the helpers are provided: ``parse_size``, ``parse_duration``, ``abspath``,
    ``path_exists``, ``check_file``, ``ensure_directory`` and ``read_file``. A module may
    also subclass it; ``root`` is whatever it was constructed with.
    """

    section: str = ""

    def __init__(self, root_config: Any = None) -> None:
        self.root = root_config

    parse_size = staticmethod(parse_size)
    parse_duration = staticmethod(parse_duration)

    @staticmethod
    def abspath(file_path: str | None) -> str | None:
        """``os.path.abspath`` of a non-empty path; ``None`` and ``""`` unchanged."""
        return os.path.abspath(file_path) if file_path else file_path

    @classmethod
    def path_exists(cls, file_path: str) -> bool:
        """Whether ``file_path`` exists (see :func:`path_exists`)."""
        return path_exists(file_path)

    @classmethod
    def check_file(cls, file_path: str | None, config_name: str) -> str:
        """The absolute path of an existing file, else a ConfigError naming the option."""
        if file_path is None:
            raise ConfigError(f"Missing config for {config_name}.")
        try:
            os.stat(file_path)
        except OSError as e:
            raise ConfigError(
                f"Error accessing file '{file_path}' (config for {config_name}): {e.strerror}"
            ) from e
        return os.path.abspath(file_path)

    @classmethod
    def ensure_directory(cls, dir_path: str) -> str:
        """Create ``dir_path`` if needed and return it made absolute."""
        abs_path = os.path.abspath(dir_path)
        os.makedirs(abs_path, exist_ok=True)
        if not os.path.isdir(abs_path):
            raise ConfigError(f"{abs_path} is not a directory")
        return abs_path

    @classmethod
    def read_file(cls, file_path: Any, config_name: str) -> str:
        """The text of ``file_path``; errors name ``config_name`` as the config path."""
        return read_file(file_path, (config_name,))
