"""Small typed readers shared by the section parsers; each raises ConfigError at a path."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Tuple

from synapse_modhost.config._errors import ConfigError

Path = Tuple[str, ...]

#: messages used by the readers below
EXPECTED_MAPPING = "expected a mapping"
EXPECTED_LIST = "expected a list"
EXPECTED_STRING = "expected a string"
EXPECTED_BOOLEAN = "expected a boolean"
EXPECTED_INTEGER = "expected an integer"
EXPECTED_STRING_LIST = "expected a list of strings"


def expect_mapping(value: Any, path: Path, *, allow_none: bool = True) -> Dict[Any, Any]:
    """``value`` as a dict (``None`` → ``{}`` when allowed), else ConfigError."""
    if value is None and allow_none:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(EXPECTED_MAPPING, path)
    return dict(value)


def expect_list(value: Any, path: Path, *, allow_none: bool = True) -> List[Any]:
    """``value`` as a list (``None`` → ``[]`` when allowed), else ConfigError."""
    if value is None and allow_none:
        return []
    if not isinstance(value, list):
        raise ConfigError(EXPECTED_LIST, path)
    return value


def expect_str(value: Any, path: Path, *, allow_none: bool = False) -> str | None:
    """``value`` if it is a string (or ``None`` when allowed), else ConfigError."""
    if value is None and allow_none:
        return None
    if not isinstance(value, str):
        raise ConfigError(EXPECTED_STRING, path)
    return value


def expect_bool(value: Any, path: Path, default: bool = False) -> bool:
    """A YAML boolean (``None`` → ``default``), else ConfigError."""
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ConfigError(EXPECTED_BOOLEAN, path)
    return value


def expect_str_list(value: Any, path: Path) -> List[str]:
    """A list whose items are all strings (``None`` → ``[]``), else ConfigError."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(EXPECTED_STRING_LIST, path)
    return list(value)


_TRUE = frozenset(("y", "yes", "t", "true", "on", "1"))
_FALSE = frozenset(("n", "no", "f", "false", "off", "0"))


def strtobool(value: str) -> bool:
    """Synapse's truth words: y/yes/t/true/on/1 and n/no/f/false/off/0, any case."""
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"invalid truth value {lowered!r}")


def loose_bool(value: Any, path: Path) -> bool:
    """A boolean read as Synapse reads ``enable_registration``: ``strtobool(str(v))``.

    So ``true``, ``"yes"``, ``1`` and ``"off"`` all work; anything else (including an
    empty value, which Synapse reads as ``"None"``) is ``ConfigError("expected a
    boolean")`` at ``path`` caused by ``invalid truth value '<word>'``.
    """
    try:
        return strtobool(str(value))
    except ValueError as e:
        raise ConfigError(EXPECTED_BOOLEAN, path) from e
