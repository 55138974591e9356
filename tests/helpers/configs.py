"""Writing throwaway configs and module files for tests."""

from __future__ import annotations

import os
import socket
import sys
import textwrap
from typing import Any, Dict, List, Optional

import yaml

BASE: Dict[str, Any] = {
    "server_name": "test.local",
    "listeners": [
        {
            "port": 0,
            "bind_addresses": ["127.0.0.1"],
            "type": "http",
            "resources": [{"names": ["client"]}],
        }
    ],
    "database": {"name": "sqlite3", "args": {"database": ":memory:"}},
}


def config_dict(**overrides: Any) -> Dict[str, Any]:
    """A minimal valid config with top-level keys replaced by ``overrides``."""
    d = {k: (list(v) if isinstance(v, list) else v) for k, v in BASE.items()}
    d.update(overrides)
    return d


class TempModules:
    """A temp directory on ``sys.path`` holding module files a test writes."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        os.makedirs(directory, exist_ok=True)
        self.names: List[str] = []
        sys.path.insert(0, directory)

    def write(self, name: str, source: str) -> str:
        """Write ``<name>.py``; returns its module name."""
        with open(os.path.join(self.directory, name + ".py"), "w") as f:
            f.write(textwrap.dedent(source))
        self.names.append(name)
        sys.modules.pop(name, None)
        return name

    def config_file(self, data: Any, name: str = "homeserver.yaml") -> str:
        path = os.path.join(self.directory, name)
        with open(path, "w") as f:
            if isinstance(data, str):
                f.write(data)
            else:
                yaml.safe_dump(data, f)
        return path

    def cleanup(self) -> None:
        if self.directory in sys.path:
            sys.path.remove(self.directory)
        for name in self.names:
            sys.modules.pop(name, None)


def modules_entry(module: str, config: Optional[Any] = None) -> Dict[str, Any]:
    entry: Dict[str, Any] = {"module": module}
    if config is not None:
        entry["config"] = config
    return entry


def write_say_hello_config(directory: str) -> str:
    """Write, in a new ``directory``, a homeserver.yaml for a real process: SayHello on a free
    loopback port, an in-memory database. Returns the file's path."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    os.makedirs(directory)
    path = os.path.join(directory, "homeserver.yaml")
    with open(path, "w") as f:
        f.write(
            "server_name: test.local\n"
            "listeners: [{port: %d, bind_addresses: ['127.0.0.1'], type: http,"
            " resources: [{names: [client]}]}]\n"
            "database: {name: sqlite3, args: {database: ':memory:'}}\n"
            "modules: [{module: sample_modules.say_hello.SayHello}]\n" % port
        )
    return path
