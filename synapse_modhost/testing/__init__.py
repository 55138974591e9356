"""The test kit for module authors: the real host in memory, for trial and pytest.

    from synapse_modhost.testing import ModuleHostTestCase

    class MyModuleTests(ModuleHostTestCase):
        modules = [{"module": "my_module.MyModule", "config": {}}]

        def test_resource(self):
            channel = self.make_request("GET", "/_synapse/client/my_module/hello")
            self.assertEqual(channel.code, 200)

Under pytest the same is available as fixtures (``modhost`` and friends): see
``synapse_modhost.testing.pytest_plugin`` and docs/testing.md.

The names below load on first use: pytest imports this package for its plugin in every
run of an environment where synapse-modhost is installed, and that must stay cheap.

Loading them pauses the cyclic garbage collector, then freezes what the process holds
(``gc.freeze()``, as Synapse does once it has started): the host's modules, Twisted's
and the test runner's are there for the whole run, and leaving them to the collector
costs a test process more than its first test does (every full collection, and the one
at interpreter exit, walks them all). A suite that needs the collector to consider
objects created before the kit loaded can call ``gc.unfreeze()``.

Importing this package also lets a test file import its module before any host exists:
the first ``import synapse…`` that nothing else answers (no matrix-synapse installed)
installs the host's ``synapse.*`` names, as building a host does.
"""

from __future__ import annotations

import gc
import importlib
import sys
from typing import TYPE_CHECKING, Any, Dict, Optional, Sequence

if TYPE_CHECKING:
    from synapse_modhost.testing._case import (  # noqa: F401
        DEFAULT_CONFIG,
        ModuleHostTestCase,
        deep_merge,
        default_config,
        override_config,
    )
    from synapse_modhost.testing._channel import FakeChannel, make_request  # noqa: F401
    from synapse_modhost.testing._factories import (  # noqa: F401
        make_event,
        make_requester,
        make_state_map,
    )
    from synapse_modhost.testing._harness import HostHarness, RequestFailed  # noqa: F401
    from synapse_modhost.testing._http_stub import HttpClientStub, StubbedRequest  # noqa: F401

_EXPORTS: Dict[str, str] = {
    "DEFAULT_CONFIG": "_case",
    "ModuleHostTestCase": "_case",
    "deep_merge": "_case",
    "default_config": "_case",
    "override_config": "_case",
    "FakeChannel": "_channel",
    "make_request": "_channel",
    "make_event": "_factories",
    "make_requester": "_factories",
    "make_state_map": "_factories",
    "HostHarness": "_harness",
    "RequestFailed": "_harness",
    "HttpClientStub": "_http_stub",
    "StubbedRequest": "_http_stub",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError("module %r has no attribute %r" % (__name__, name))
    enabled = gc.isenabled()
    gc.disable()
    try:
        value = getattr(importlib.import_module("synapse_modhost.testing." + module), name)
    finally:
        if enabled:
            gc.enable()
    gc.freeze()
    globals()[name] = value
    return value


def __dir__() -> Any:
    return sorted(set(globals()) | set(_EXPORTS))


class _SynapseNamesOnFirstImport:
    """Last on ``sys.meta_path``: the first ``synapse`` import no other finder answered
    installs the host's ``synapse.*`` names (``synapse_modhost.compat``) and is answered
    by them. With matrix-synapse installed, the path finder answers first and this never
    runs."""

    def find_spec(
        self, fullname: str, path: Optional[Sequence[str]] = None, target: Any = None
    ) -> Any:
        if fullname != "synapse" and not fullname.startswith("synapse."):
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        from synapse_modhost import compat

        compat.install()
        return sys.meta_path[0].find_spec(fullname, path, target)


if not any(isinstance(f, _SynapseNamesOnFirstImport) for f in sys.meta_path):
    sys.meta_path.append(_SynapseNamesOnFirstImport())
