"""Import-time work of third-party packages that the host never uses, skipped at start-up.

Four imports on the start-up path spend a share of it on a result nothing reads:

* **Twisted's global reactor** (``twisted.internet.posixbase``) imports
  ``twisted.internet.ssl`` as a fallback for ``listenSSL``/``connectSSL``, used only when
  ``twisted.protocols.tls`` cannot be imported. Both need pyOpenSSL, so when the fallback
  would be needed it cannot be imported either: it is never taken. The import brings in
  ``service_identity``, ``idna`` and more of ``cryptography``: about 70 M instructions.
  :func:`import_global_reactor` imports the reactor with
  ``twisted.internet.ssl`` held back, then lets it be imported normally, so the HTTP
  client, ``listenSSL``, ``connectSSL`` and ``startTLS`` work exactly as before.
* **PyYAML** compiles ``yaml.reader.Reader.NON_PRINTABLE`` when it is imported: a
  negated character class over all of Unicode, about 57 M instructions or 6 ms
  (yaml/pyyaml#124). Only PyYAML's pure-Python reader uses it; the host parses
  with libyaml's ``CSafeLoader``. :func:`import_yaml` hands PyYAML, through the ``re``
  module's cache, the same character set spelled as what it contains, which compiles in
  a twelfth of the time. It matches exactly the same characters (a test checks every
  code point), so the pure-Python loader, where libyaml is missing, behaves as before;
  only the pattern's ``.pattern`` text differs.
* **cryptography** (imported by pyOpenSSL, which Twisted's TLS support imports with the
  reactor) compiles, in ``x509.name``, the pattern of an RFC 4514 attribute value, whose
  class of every non-ASCII character alone costs about 85 M instructions or 9 ms to
  compile. It is used only to parse a distinguished name from text
  (``Name.from_rfc4514_string``), which the host never does. :func:`import_global_reactor`
  hands it, in the same way as PyYAML, the same pattern with that class spelled as
  "not ASCII", which compiles in a twentieth of the time and matches the same strings.
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
from typing import Any, Dict, List, Mapping, Tuple

__all__ = [
    "import_global_reactor",
    "import_twisted_win32",
    "import_with_patterns",
    "import_without",
    "import_yaml",
]

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


def import_with_patterns(name: str, equivalents: Mapping[Tuple[str, int], str]) -> ModuleType:
    """Import ``name`` while compiling, for each ``(pattern, flags)`` of ``equivalents``,
    the equivalent pattern given instead.

    The ``re`` module keeps compiled patterns in a cache keyed by the pattern text and
    flags. An entry for each original text, holding the compiled equivalent, is in that
    cache only while ``name`` imports (replacing any entry the original text had, which
    costs only a recompile later); an entry the import did not use is simply removed.
    Where ``re`` keeps no such cache (another Python), this is a plain import. If ``name``
    is imported already, it is returned as it is.
    """
    if sys.modules.get(name) is not None:
        return sys.modules[name]
    caches: List[Dict[Tuple[Any, ...], Any]] = [
        c for c in (getattr(re, "_cache", None), getattr(re, "_cache2", None)) if isinstance(c, dict)
    ]
    if not caches:
        return _import(name)
    seeded = {(str, text, flags): re.compile(equivalent, flags)
              for (text, flags), equivalent in equivalents.items()}
    for cache in caches:  # 3.12+ looks in _cache2 first, then in _cache
        cache.update(seeded)
    try:
        return _import(name)
    finally:
        for cache in caches:
            for key, compiled in seeded.items():
                if cache.get(key) is compiled:
                    cache.pop(key, None)


#: cryptography's class of every non-ASCII character, as ``x509.name`` spells it, and the same
#: class spelled as what it leaves out
X509_NON_ASCII = "[\\x80-%s]" % chr(sys.maxunicode)
X509_NON_ASCII_NEGATED = r"[^\x00-\x7f]"


def x509_rfc4514_string(non_ascii: str) -> str:
    """The text of cryptography's ``x509.name._RFC4514NameParser._STRING_RE`` (an RFC 4514
    attribute value), built as cryptography builds it, with ``non_ascii`` as its
    class of non-ASCII characters (:data:`X509_NON_ASCII` gives cryptography's text)."""
    special = r"[\\ #=\"\+,;<>]"
    pair = r"\\(%s|[\da-zA-Z]{2})" % special
    lead = r"[\x01-\x1f\x21\x24-\x2A\x2D-\x3A\x3D\x3F-\x5B\x5D-\x7F]|" + non_ascii
    string = r"[\x01-\x21\x23-\x2A\x2D-\x3A\x3D\x3F-\x5B\x5D-\x7F]|" + non_ascii
    trail = r"[\x01-\x1F\x21\x23-\x2A\x2D-\x3A\x3D\x3F-\x5B\x5D-\x7F]|" + non_ascii
    return (
        "\n        (\n"
        f"            ({lead}|{pair})\n"
        "            (\n"
        f"                ({string}|{pair})*\n"
        f"                ({trail}|{pair})\n"
        "            )?\n"
        "        )?\n"
        "        "
    )


def import_global_reactor() -> Any:
    """Twisted's global reactor (installing the default one if none is), imported without
    the ``twisted.internet.ssl`` fallback it never uses, and without compiling
    cryptography's RFC 4514 pattern.

    The fallback is unused only when ``twisted.protocols.tls`` imports, so that is
    imported first; without it, the reactor is imported plainly.
    """
    try:
        # what the reactor uses for TLS; it imports pyOpenSSL, and so cryptography.x509
        import_with_patterns("twisted.protocols.tls", {
            (x509_rfc4514_string(X509_NON_ASCII), re.VERBOSE.value):
                x509_rfc4514_string(X509_NON_ASCII_NEGATED),
        })
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
    """PyYAML, imported without compiling its pure-Python reader's largest pattern: while
    it imports, that pattern compiles as :data:`YAML_NON_PRINTABLE_LISTED`."""
    return import_with_patterns("yaml", {(YAML_NON_PRINTABLE, 0): YAML_NON_PRINTABLE_LISTED})
