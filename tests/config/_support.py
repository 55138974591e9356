"""Shared helpers for the config tests."""

from __future__ import annotations

import os
from typing import Any, Dict, Optional, Sequence

import yaml

from synapse_modhost.config import ConfigError, HomeServerConfig, parse_config_dict


def minimal(**overrides: Any) -> Dict[str, Any]:
    """The smallest valid config, with top-level keys replaced by ``overrides``."""
    raw: Dict[str, Any] = {"server_name": "test.local"}
    raw.update(overrides)
    return raw


def parse(**overrides: Any) -> HomeServerConfig:
    """Parse :func:`minimal` with ``overrides``."""
    return parse_config_dict(minimal(**overrides))


def write(directory: str, name: str, data: Any) -> str:
    """Write ``data`` (text as is, anything else as YAML) to ``directory/name``."""
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, name)
    with open(path, "w", encoding="utf-8") as f:
        if isinstance(data, str):
            f.write(data)
        else:
            yaml.safe_dump(data, f)
    return path


class ConfigAssertions:
    """``assertConfigError`` for ``SynchronousTestCase`` subclasses."""

    def assertConfigError(
        self,
        raw: Dict[str, Any],
        path: Optional[Sequence[str]],
        msg: str,
    ) -> ConfigError:
        """Parsing ``raw`` fails with exactly ``msg`` at exactly ``path``."""
        try:
            parse_config_dict(raw)
        except ConfigError as e:
            self.assertEqual(  # type: ignore[attr-defined]
                (e.path, e.msg), (tuple(path) if path is not None else None, msg)
            )
            return e
        raise self.failureException("no ConfigError for %r" % (raw,))  # type: ignore[attr-defined]
