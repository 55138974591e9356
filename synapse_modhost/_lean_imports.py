"""Import-time work of third-party packages that the host never uses, skipped at start-up.

Three imports on the start-up path spend a share of it on a result nothing reads:

* **Twisted's global reactor** (``twisted.internet.posixbase``) imports
  ``twisted.internet.ssl`` as a fallback for ``listenSSL``/``connectSSL``, used only when
  ``twisted.protocols.tls`` cannot be imported. Both need pyOpenSSL, so when the fallback
  would be needed it cannot be imported either: it is never taken. The import brings in
  ``service_identity``, ``idna`` and more of ``cryptography``: about 70 M instructions,
  6 % of the host's start-up. :func:`import_global_reactor` imports the reactor with
  ``twisted.internet.ssl`` held back, then lets it be imported normally, so the HTTP
  client, ``listenSSL``, ``connectSSL`` and ``startTLS`` work exactly as before.
* **PyYAML** compiles ``yaml.reader.Reader.NON_PRINTABLE`` when it is imported: a
  negated character class over all of Unicode, about 57 M instructions, 5 % of the host's
  start-up (yaml/pyyaml#124). Only PyYAML's pure-Python reader uses it; the host parses
  with libyaml's ``CSafeLoader``. :func:`import_yaml` hands PyYAML, through the ``re``
  module's cache, the same character set spelled as what it contains, which compiles in
  a twelfth of the time. It matches exactly the same characters (a test checks every
  code point), so the pure-Python loader, where libyaml is missing, behaves as before;
  only the pattern's ``.pattern`` text differs.
* **Twisted's ``twisted.python.win32``**, imported by ``twisted.python.filepath`` on every
  platform, tries ``from ctypes import WinError``. Outside Windows ``ctypes`` has no
  ``WinError``, so the import fails and Twisted uses its fallback, but only after loading
  ``ctypes`` and its shared libraries: about 5 ms of wall time.
  :func:`import_twisted_win32` imports it with ``ctypes`` held back, which gives the same
  fallback without loading anything.

Each falls back to the plain import when the packages change so that the shortcut no
longer applies.
"""

from __future__ import annotations

import os
import re
import sys
from types import ModuleType
from typing import Any, Dict, List, Tuple

__all__ = ["import_global_reactor", "import_twisted_win32", "import_without", "import_yaml"]

#: the module Twisted's reactor imports only as a fallback it never takes
_REACTOR_SSL_FALLBACK = "twisted.internet.ssl"


def import_without(name: str, held_back: str) -> ModuleType:
    """Import ``name`` while ``held_back`` cannot be imported; then let it be imported again.

    For a module that imports ``held_back`` only inside ``try: ... except ImportError``.
    If ``held_back`` or ``name`` is imported already, this is a plain import of ``name``.
    If ``name`` turns out to need ``held_back`` (a later version of the package), every
    module the attempt imported is forgotten, since some may hold the failed import's
    result, and ``name`` is imported plainly. An ImportError with another cause is
    raised as it is, without a second attempt.

    Call it only while no other thread imports: the block is visible to the whole process.
    """
    if held_back in sys.modules or name in sys.modules:
        return _import(name)
    before = set(sys.modules)
    sys.modules[held_back] = None  # type: ignore[assignment]  # the documented way to block
    try:
        return _import(name)
    except ImportError as e:
        if e.name != held_back:
            raise
    finally:
        if sys.modules.get(held_back, False) is None:
            del sys.modules[held_back]
    for imported in set(sys.modules) - before:
        del sys.modules[imported]
    return _import(name)


def _import(name: str) -> ModuleType:
    __import__(name)
    return sys.modules[name]


def import_global_reactor() -> Any:
    """Twisted's global reactor (installing the default one if none is), imported without
    the ``twisted.internet.ssl`` fallback it never uses.

    The fallback is unused only when ``twisted.protocols.tls`` imports, so that is
    imported first; without it, the reactor is imported plainly.
    """
    try:
        import twisted.protocols.tls  # noqa: F401  # what the reactor uses for TLS
    except ImportError:
        return _import("twisted.internet.reactor")
    return import_without("twisted.internet.reactor", _REACTOR_SSL_FALLBACK)


def import_twisted_win32() -> None:
    """Import ``twisted.python.win32`` without ``ctypes`` outside Windows, where the only
    name it asks of ``ctypes`` (``WinError``) does not exist. Call before Twisted's
    ``filepath`` is imported; afterwards ``ctypes`` imports as usual."""
    if os.name != "nt":
        import_without("twisted.python.win32", "ctypes")


#: ``yaml.reader.Reader.NON_PRINTABLE``'s pattern, exactly as PyYAML spells it
YAML_NON_PRINTABLE = "[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010ffff]"

#: the code points that pattern matches, listed rather than excluded
YAML_NON_PRINTABLE_LISTED = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]"


def import_yaml() -> ModuleType:
    """PyYAML, imported without compiling its pure-Python reader's largest pattern.

    The ``re`` module keeps compiled patterns in a cache keyed by the pattern text and
    flags. An entry for PyYAML's text, holding the equivalent listed pattern, is in that
    cache only while ``yaml`` imports. Where ``re`` keeps no such cache (another Python),
    this is a plain import.
    """
    if sys.modules.get("yaml") is not None:
        return sys.modules["yaml"]
    caches: List[Dict[Tuple[Any, ...], Any]] = [
        c for c in (getattr(re, "_cache", None), getattr(re, "_cache2", None)) if isinstance(c, dict)
    ]
    key = (str, YAML_NON_PRINTABLE, 0)
    listed = re.compile(YAML_NON_PRINTABLE_LISTED)
    if caches:
        caches[0][key] = listed  # re's _compile looks here (3.12+ also copies it to _cache2)
    try:
        import yaml
    finally:
        for cache in caches:
            if cache.get(key) is listed:
                del cache[key]
    return yaml
