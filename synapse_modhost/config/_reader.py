"""Reading homeserver.yaml files into a :class:`HomeServerConfig`."""

from __future__ import annotations

import os
from typing import Any, Dict, FrozenSet, Iterable, List, Mapping, Sequence, Tuple

from synapse_modhost.config import (
    _database,
    _email,
    _logging,
    _media,
    _modules,
    _registration,
    _server,
)
from synapse_modhost.config._errors import ConfigError
from synapse_modhost.config._model import HomeServerConfig

__all__ = ["USED_KEYS", "find_config_files", "load_yaml_file", "parse_config_dict", "read_config"]

#: every top-level key the host reads; the others end up in ``unused_keys``
USED_KEYS: FrozenSet[str] = (
    _server.KEYS
    | _database.KEYS
    | _media.KEYS
    | _registration.KEYS
    | _logging.KEYS
    | _email.KEYS
    | _modules.KEYS
)


def find_config_files(paths: Iterable[str], notes: List[str]) -> List[str]:
    """Expand ``paths`` as Synapse expands ``-c`` options.

    A directory stands for the ``*.yaml`` files directly in it, in sorted order; other
    entries of the directory are skipped with a note. Anything else is taken as a file.
    """
    files: List[str] = []
    for path in paths:
        if not os.path.isdir(path):
            files.append(path)
            continue
        found: List[str] = []
        for entry in os.listdir(path):
            entry_path = os.path.join(path, entry)
            if not os.path.isfile(entry_path):
                notes.append(f"Found subdirectory in config directory: {entry_path!r}. IGNORING.")
            elif not entry.endswith(".yaml"):
                notes.append(
                    f"Found file in config directory that does not end in '.yaml': {entry_path!r}. IGNORING."
                )
            else:
                found.append(entry_path)
        files.extend(sorted(found))
    return files


def load_yaml_file(
    path: str, what: str = "config file", config_path: Sequence[str] | None = None
) -> Any:
    """The YAML value in ``path``; ConfigError naming the file for OS and YAML errors.

    ``what`` names the file in messages; ``config_path`` is the errors' path.
    """
    from synapse_modhost._lean_imports import import_yaml

    import_yaml()  # PyYAML, without the import-time work the host never uses
    import yaml

    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ConfigError(f"Unable to read {what} {path!r}: {e.strerror or e}", config_path) from None

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(data, Loader=loader)
    except yaml.MarkedYAMLError as e:
        where = ""
        if e.problem_mark is not None:
            mark = e.problem_mark
            where = f", line {mark.line + 1}, column {mark.column + 1}"
        msg = f"Invalid YAML in {what} {path!r}{where}: {e.problem or e}"
        if e.context:
            msg += f" ({e.context}"
            if e.context_mark is not None:
                start = e.context_mark
                msg += f" that starts at line {start.line + 1}, column {start.column + 1}"
            msg += ")"
        raise ConfigError(msg, config_path) from None
    except yaml.YAMLError as e:
        raise ConfigError(f"Invalid YAML in {what} {path!r}: {e}", config_path) from None


def read_config(paths: Sequence[str]) -> HomeServerConfig:
    """Read and merge ``paths`` (files, or directories of ``*.yaml``), then parse.

    Later files win per top-level key, as with Synapse's several ``-c`` options. An empty
    file adds nothing; a file whose top level is not a mapping is a ConfigError.
    """
    notes: List[str] = []
    files = find_config_files(paths, notes)
    if not files:
        raise ConfigError("Must supply a config file.")
    merged: Dict[str, Any] = {}
    for path in files:
        value = load_yaml_file(path)
        if value is None:
            notes.append(f"Config file {path!r} is empty. IGNORING.")
            continue
        if not isinstance(value, dict):
            raise ConfigError(
                f"Config file {path!r} does not parse into a key-value map (its top level is {_yaml_kind(value)})"
            )
        merged.update(value)
    return _parse(merged, tuple(os.path.abspath(p) for p in files), notes)


def parse_config_dict(raw: Mapping[str, Any], config_files: Sequence[str] = ()) -> HomeServerConfig:
    """Parse an in-memory homeserver.yaml mapping (for tests and the test kit)."""
    if not isinstance(raw, Mapping):
        raise ConfigError("The configuration must be a mapping of keys to values")
    return _parse(dict(raw), tuple(config_files), [])


def _parse(
    raw: Dict[str, Any], config_files: Tuple[str, ...], notes: List[str]
) -> HomeServerConfig:
    server = _server.read_server_config(raw, notes)
    return HomeServerConfig(
        server=server,
        database=_database.read_database_config(raw),
        media=_media.read_media_config(raw),
        registration=_registration.read_registration_config(raw),
        logging=_logging.read_logging_config(raw),
        email=_email.read_email_config(raw),
        modules=_modules.read_modules(raw),
        raw=raw,
        unused_keys=tuple(str(k) for k in raw if k not in USED_KEYS),
        config_files=config_files,
        legacy_modules=_modules.read_legacy_modules(raw),
        notes=tuple(notes),
    )


def _yaml_kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    return f"a {type(value).__name__}"
