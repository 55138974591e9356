"""Start-up skips third-party import-time work it never uses, and changes no behaviour."""

from __future__ import annotations

import ast
import io
import os
import re
import sys
from typing import List

from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SkipTest, SynchronousTestCase

from synapse_modhost import _lean_imports
from synapse_modhost._lean_imports import (
    X509_NON_ASCII,
    X509_NON_ASCII_NEGATED,
    YAML_NON_PRINTABLE,
    YAML_NON_PRINTABLE_LISTED,
    import_with_patterns,
    import_without,
    x509_rfc4514_string,
)
from tests.helpers.configs import write_say_hello_config
from tests.helpers.fresh_process import run_cli_until_listening, run_python


class ImportWithoutTests(SynchronousTestCase):
    """``import_without`` holds one module back during one import, and only then."""

    def setUp(self) -> None:
        self.directory = os.path.abspath(self.mktemp())
        os.makedirs(self.directory)
        self.files = {
            "lean_held": "VALUE = 1\n",
            "lean_optional": "try:\n    import lean_held\nexcept ImportError:\n    lean_held = None\n",
            "lean_needs": "import lean_held\n",
            "lean_optional_dependency": "try:\n    import lean_held\nexcept ImportError:\n    lean_held = None\n",
            "lean_needs_after_optional": "import lean_optional_dependency\nimport lean_held\n",
            "lean_counter": "runs = 0\n",
            "lean_missing_other": "import lean_counter\nlean_counter.runs += 1\nimport lean_nowhere_to_be_found\n",
        }
        for name, text in self.files.items():
            with open(os.path.join(self.directory, name + ".py"), "w") as f:
                f.write(text)
        sys.path.insert(0, self.directory)
        self.addCleanup(sys.path.remove, self.directory)
        self.addCleanup(self._forget)

    def _forget(self) -> None:
        for name in self.files:
            sys.modules.pop(name, None)

    def test_optional_import_is_skipped_then_allowed(self) -> None:
        """A module importing the held-back one under try/except gets None; afterwards it imports."""
        module = import_without("lean_optional", "lean_held")
        self.assertIsNone(module.lean_held)
        self.assertNotIn("lean_held", sys.modules)
        import lean_held  # type: ignore[import-not-found]

        self.assertEqual(lean_held.VALUE, 1)

    def test_required_import_falls_back(self) -> None:
        """A module that needs the held-back one is imported normally, with nothing left blocked."""
        module = import_without("lean_needs", "lean_held")
        self.assertEqual(module.lean_held.VALUE, 1)
        self.assertIs(sys.modules["lean_held"], module.lean_held)

    def test_fallback_forgets_modules_that_saw_the_block(self) -> None:
        """When the target needs the held-back module, a dependency that took its ImportError
        fallback during the attempt is imported again and sees the real module."""
        module = import_without("lean_needs_after_optional", "lean_held")
        self.assertEqual(module.lean_optional_dependency.lean_held.VALUE, 1)
        self.assertIs(sys.modules["lean_optional_dependency"], module.lean_optional_dependency)

    def test_other_import_error_is_raised_without_a_second_attempt(self) -> None:
        """An ImportError of another module is raised as it is, and the target runs once."""
        with self.assertRaises(ImportError) as caught:
            import_without("lean_missing_other", "lean_held")
        self.assertEqual(caught.exception.name, "lean_nowhere_to_be_found")
        self.assertEqual(sys.modules["lean_counter"].runs, 1)
        self.assertNotIn("lean_held", sys.modules)

    def test_already_imported_is_not_held_back(self) -> None:
        """A module already imported is left in place: the import is a plain one."""
        import lean_held

        module = import_without("lean_optional", "lean_held")
        self.assertIs(module.lean_held, lean_held)

    def test_failure_of_the_target_is_raised(self) -> None:
        """A target that fails for another reason raises, and leaves the held-back module importable."""
        with open(os.path.join(self.directory, "lean_broken.py"), "w") as f:
            f.write("import lean_held\nraise ImportError('broken on purpose')\n")
        self.files["lean_broken"] = ""
        with self.assertRaises(ImportError) as caught:
            import_without("lean_broken", "lean_held")
        self.assertIn("broken on purpose", str(caught.exception))
        self.assertIsNotNone(sys.modules.get("lean_held"))


class GlobalReactorTests(SynchronousTestCase):
    """The global reactor imports without ``twisted.internet.ssl`` and loses no TLS ability."""

    def test_reactor_keeps_tls(self) -> None:
        """In a new process: no ssl module after the import, yet listenSSL, startTLS and the ssl module work."""
        lines = run_python(self, """
            import sys
            from synapse_modhost._lean_imports import import_global_reactor
            reactor = import_global_reactor()
            print("ssl imported:", "twisted.internet.ssl" in sys.modules)
            from twisted.internet import interfaces, posixbase, tcp
            print("IReactorSSL:", interfaces.IReactorSSL.providedBy(reactor))
            print("TLS via memory BIO:", posixbase.tls is not None)
            print("startTLS:", interfaces.ITLSTransport.implementedBy(tcp.Server))
            from twisted.internet import ssl
            print("ssl module:", ssl.__name__)
        """)
        self.assertEqual(lines, ["ssl imported: False", "IReactorSSL: True", "TLS via memory BIO: True",
                                 "startTLS: True", "ssl module: twisted.internet.ssl"])

    def test_tls_round_trip_after_lean_import(self) -> None:
        """In a new process: a TLS server and client on the lean-imported reactor exchange bytes."""
        lines = run_python(self, """
            import datetime
            from synapse_modhost._lean_imports import import_global_reactor
            reactor = import_global_reactor()
            from cryptography import x509
            from cryptography.hazmat.primitives import hashes
            from cryptography.hazmat.primitives.asymmetric import ec
            from cryptography.x509.oid import NameOID
            from twisted.internet import protocol, ssl
            key = ec.generate_private_key(ec.SECP256R1())
            name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
            now = datetime.datetime.now(datetime.timezone.utc)
            cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                    .public_key(key.public_key()).serial_number(1)
                    .not_valid_before(now - datetime.timedelta(days=1))
                    .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
            from OpenSSL import crypto
            options = ssl.CertificateOptions(privateKey=crypto.PKey.from_cryptography_key(key),
                                             certificate=crypto.X509.from_cryptography(cert))
            got = []
            class Echo(protocol.Protocol):
                def dataReceived(self, data):
                    self.transport.write(data)
            class Client(protocol.Protocol):
                def connectionMade(self):
                    self.transport.write(b"over tls")
                def dataReceived(self, data):
                    got.append(data)
                    reactor.stop()
            port = reactor.listenSSL(0, protocol.Factory.forProtocol(Echo), options, interface="127.0.0.1")
            reactor.connectSSL("127.0.0.1", port.getHost().port, protocol.ClientFactory.forProtocol(Client),
                               ssl.CertificateOptions())
            reactor.callLater(20, reactor.stop)
            reactor.run()
            print(b"".join(got).decode())
        """)
        self.assertEqual(lines, ["over tls"])

    def test_command_line_uses_the_lean_import(self) -> None:
        """run() without a reactor takes the global one from import_global_reactor."""
        from synapse_modhost.cli import run

        directory = os.path.abspath(self.mktemp())
        path = os.path.join(directory, "homeserver.yaml")
        self.assertEqual(run(["--generate-config", "-H", "lean.example", "-c", path], out=io.StringIO(),
                             err=io.StringIO()), 0)
        reactor = MemoryReactorClock()
        calls: List[str] = []

        def fake_import() -> MemoryReactorClock:
            calls.append("import_global_reactor")
            return reactor

        self.patch(_lean_imports, "import_global_reactor", fake_import)
        self._decoy_global_reactor()
        self.addCleanup(__import__("gc").unfreeze)
        err = io.StringIO()
        self.assertEqual(run(["-c", path], err=err, setup_logs=False), 0, err.getvalue())
        self.assertEqual(calls, ["import_global_reactor"])
        self.assertTrue(reactor.hasRun)

    def _decoy_global_reactor(self) -> None:
        """A plain ``from twisted.internet import reactor`` gets an in-memory reactor for this
        test, so code that skips the lean import fails the test instead of running forever."""
        import twisted.internet

        decoy = MemoryReactorClock()
        missing = object()
        saved_attribute = twisted.internet.__dict__.get("reactor", missing)
        saved_module = sys.modules.get("twisted.internet.reactor", missing)
        twisted.internet.reactor = decoy  # type: ignore[attr-defined]
        sys.modules["twisted.internet.reactor"] = decoy  # type: ignore[assignment]

        def restore() -> None:
            if saved_attribute is missing:
                del twisted.internet.reactor  # type: ignore[attr-defined]
            else:
                twisted.internet.reactor = saved_attribute  # type: ignore[attr-defined]
            if saved_module is missing:
                del sys.modules["twisted.internet.reactor"]
            else:
                sys.modules["twisted.internet.reactor"] = saved_module  # type: ignore[assignment]

        self.addCleanup(restore)


class TwistedWin32Tests(SynchronousTestCase):
    """``twisted.python.win32`` imports without ctypes outside Windows, with the same result."""

    def test_same_fallback_without_ctypes(self) -> None:
        """In a new process: no ctypes after the import, the error formatter falls back as it
        would with ctypes, and ctypes imports afterwards."""
        if os.name == "nt":
            raise SkipTest("ctypes has WinError on Windows, so it is imported there")
        lines = run_python(self, """
            import errno, os, sys
            from synapse_modhost._lean_imports import import_twisted_win32
            import_twisted_win32()
            print("ctypes imported:", "ctypes" in sys.modules)
            from twisted.python import filepath, win32
            print(win32.formatError(errno.ENOENT) == os.strerror(errno.ENOENT))
            import ctypes
            print("WinError:", hasattr(ctypes, "WinError"))
        """)
        self.assertEqual(lines, ["ctypes imported: False", "True", "WinError: False"])


class ImportWithPatternsTests(SynchronousTestCase):
    """``import_with_patterns`` swaps in equivalent patterns for one import, and only then."""

    def setUp(self) -> None:
        self.directory = os.path.abspath(self.mktemp())
        os.makedirs(self.directory)
        self.names = ["lean_patterned", "lean_patterned_broken"]
        with open(os.path.join(self.directory, "lean_patterned.py"), "w") as f:
            f.write("import re\nVOWEL = re.compile('[aeiou]+lean-original', re.IGNORECASE)\n")
        with open(os.path.join(self.directory, "lean_patterned_broken.py"), "w") as f:
            f.write("import re\nVOWEL = re.compile('[aeiou]+lean-original', re.IGNORECASE)\n"
                    "raise ImportError('broken on purpose')\n")
        sys.path.insert(0, self.directory)
        self.addCleanup(sys.path.remove, self.directory)
        self.addCleanup(lambda: [sys.modules.pop(name, None) for name in self.names])
        self.equivalents = {("[aeiou]+lean-original", re.IGNORECASE.value): "(?:a|e|i|o|u)+lean-original"}
        re.purge()  # each test starts without these texts in re's cache

    def _swapped_entries(self) -> List[str]:
        """Texts that re's cache maps to a pattern compiled from another text."""
        caches = [getattr(re, "_cache", {}), getattr(re, "_cache2", {})]
        return [key[1] for cache in caches for key, compiled in cache.items()
                if "lean-original" in str(key[1]) and compiled.pattern != key[1]]

    def test_import_compiles_the_equivalent_and_leaves_no_entry(self) -> None:
        """The module gets the equivalent pattern with the flags asked for; re's cache keeps no entry."""
        module = import_with_patterns("lean_patterned", self.equivalents)
        self.assertEqual(module.VOWEL.pattern, "(?:a|e|i|o|u)+lean-original")
        self.assertTrue(module.VOWEL.flags & re.IGNORECASE)
        self.assertEqual(self._swapped_entries(), [])

    def test_original_compiled_before_still_gets_the_equivalent(self) -> None:
        """With the original text compiled (and cached) before, the module still gets the equivalent."""
        re.compile("[aeiou]+lean-original", re.IGNORECASE)
        module = import_with_patterns("lean_patterned", self.equivalents)
        self.assertEqual(module.VOWEL.pattern, "(?:a|e|i|o|u)+lean-original")
        self.assertEqual(self._swapped_entries(), [])

    def test_unused_equivalent_is_removed(self) -> None:
        """An equivalent for a pattern the module never compiles leaves no swapped entry behind."""
        import_with_patterns("lean_patterned", {("lean-original-unused", 0): "lean-original-other"})
        self.assertEqual(self._swapped_entries(), [])
        self.assertEqual(sys.modules["lean_patterned"].VOWEL.pattern, "[aeiou]+lean-original")

    def test_already_imported_module_is_returned(self) -> None:
        """A module imported already is returned as it is, and re's cache is not touched."""
        module = __import__("lean_patterned")
        caches = [getattr(re, "_cache", {}), getattr(re, "_cache2", {})]
        before = [dict(cache) for cache in caches]
        self.assertIs(import_with_patterns("lean_patterned", self.equivalents), module)
        self.assertEqual([dict(cache) for cache in caches], before)
        self.assertEqual(module.VOWEL.pattern, "[aeiou]+lean-original")

    def test_failing_import_raises_and_leaves_no_entry(self) -> None:
        """An ImportError from the module is raised, and the equivalent leaves re's cache."""
        with self.assertRaises(ImportError) as caught:
            import_with_patterns("lean_patterned_broken", self.equivalents)
        self.assertIn("broken on purpose", str(caught.exception))
        self.assertEqual(self._swapped_entries(), [])


class CryptographyPatternTests(SynchronousTestCase):
    """cryptography's RFC 4514 pattern compiles in its cheap spelling and matches the same strings."""

    def test_pattern_text_is_cryptographys(self) -> None:
        """In a new process, cryptography imported plainly compiles exactly the text built here."""
        lines = run_python(self, """
            import cryptography
            from cryptography.x509 import name
            from synapse_modhost._lean_imports import X509_NON_ASCII, x509_rfc4514_string
            parser = getattr(name, "_RFC4514NameParser", None)
            pattern = getattr(parser, "_STRING_RE", None)
            print(getattr(pattern, "pattern", None) == x509_rfc4514_string(X509_NON_ASCII))
            print(cryptography.__version__)
        """)
        if lines[0] != "True":
            # Only start-up time depends on it, and that is measured by bench/, not here.
            raise SkipTest("cryptography %s builds another RFC 4514 pattern, so the start-up "
                           "shortcut no longer applies: update x509_rfc4514_string" % lines[1])
        self.assertEqual(lines[0], "True")

    def test_only_the_non_ascii_class_differs(self) -> None:
        """The cheap text is cryptography's with its non-ASCII class, and only that, respelled."""
        original = x509_rfc4514_string(X509_NON_ASCII)
        self.assertEqual(original.count(X509_NON_ASCII), 3)
        self.assertEqual(original.replace(X509_NON_ASCII, X509_NON_ASCII_NEGATED),
                         x509_rfc4514_string(X509_NON_ASCII_NEGATED))

    def test_negated_class_matches_the_same_code_points(self) -> None:
        """Over every Unicode code point, "not ASCII" matches exactly what cryptography's range matches."""
        every = "".join(map(chr, range(sys.maxunicode + 1)))
        ranged = re.compile(X509_NON_ASCII).findall(every)
        self.assertEqual(ranged, re.compile(X509_NON_ASCII_NEGATED).findall(every))
        self.assertEqual(len(ranged), sys.maxunicode + 1 - 0x80)

    def test_lean_reactor_import_parses_names_as_before(self) -> None:
        """In a new process: after import_global_reactor, cryptography holds no costly pattern, re's
        cache keeps no entry, and RFC 4514 names with non-ASCII text and escapes parse as before."""
        lines = run_python(self, """
            import re
            from synapse_modhost._lean_imports import (
                X509_NON_ASCII, import_global_reactor, x509_rfc4514_string)
            import_global_reactor()
            from cryptography import x509
            from cryptography.x509.name import _RFC4514NameParser
            print(_RFC4514NameParser._STRING_RE.pattern != x509_rfc4514_string(X509_NON_ASCII))
            caches = [getattr(re, "_cache", {}), getattr(re, "_cache2", {})]
            print(any(key[1] == x509_rfc4514_string(X509_NON_ASCII) for cache in caches for key in cache))
            name = x509.Name.from_rfc4514_string("CN=Zo\u00eb \U0001F600,O=\u4f8b\\\\2C Inc,L=\\\\#Berlin")
            print(ascii([(a.oid.dotted_string, a.value) for a in name]))
            try:
                x509.Name.from_rfc4514_string("CN= leading space")
            except ValueError:
                print("ValueError")
        """)
        self.assertEqual(lines, [
            "True", "False",
            ascii([("2.5.4.7", "#Berlin"), ("2.5.4.10", "\u4f8b, Inc"), ("2.5.4.3", "Zo\u00eb \U0001F600")]),
            "ValueError",
        ])


class YamlImportTests(SynchronousTestCase):
    """PyYAML imports without compiling its pure-Python reader's pattern, and reads as before."""

    def test_pattern_text_is_pyyamls(self) -> None:
        """The pattern text matches the one in the installed yaml/reader.py, so the cache entry is used."""
        import yaml.reader

        with open(yaml.reader.__file__, encoding="utf-8") as f:
            tree = ast.parse(f.read())
        texts = [
            node.value.args[0].value
            for node in ast.walk(tree)
            if isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "NON_PRINTABLE" for t in node.targets)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.args[0], ast.Constant)
        ]
        if texts != [YAML_NON_PRINTABLE]:
            # Only start-up time depends on it, and that is measured by bench/, not here.
            raise SkipTest("PyYAML %s spells NON_PRINTABLE otherwise (%r), so the start-up "
                           "shortcut no longer applies: update YAML_NON_PRINTABLE" % (yaml.__version__, texts))
        self.assertEqual(texts, [YAML_NON_PRINTABLE])

    def test_listed_pattern_matches_the_same_code_points(self) -> None:
        """Over every Unicode code point, the listed pattern matches exactly what PyYAML's matches."""
        every = "".join(map(chr, range(sys.maxunicode + 1)))
        original = re.compile(YAML_NON_PRINTABLE)
        listed = re.compile(YAML_NON_PRINTABLE_LISTED)
        self.assertEqual(original.findall(every), listed.findall(every))
        self.assertEqual(len(listed.findall(every)), 2111)

    def test_fresh_import_uses_listed_pattern_and_leaves_no_cache_entry(self) -> None:
        """In a new process: PyYAML holds the listed pattern, re's cache keeps no entry, and the
        pure-Python loader still rejects a non-printable character."""
        lines = run_python(self, """
            import re
            from synapse_modhost._lean_imports import YAML_NON_PRINTABLE, import_yaml
            yaml = import_yaml()
            print(yaml.reader.Reader.NON_PRINTABLE.pattern == YAML_NON_PRINTABLE)
            caches = [getattr(re, "_cache", {}), getattr(re, "_cache2", {})]
            print(any(key[1] == YAML_NON_PRINTABLE for cache in caches for key in cache))
            print(yaml.load("a: b\\n", Loader=yaml.SafeLoader))
            try:
                yaml.load("a: \\x07\\n", Loader=yaml.SafeLoader)
            except yaml.reader.ReaderError as e:
                print("ReaderError", hex(e.character))
        """)
        self.assertEqual(lines, ["False", "False", "{'a': 'b'}", "ReaderError 0x7"])

    def test_already_imported_yaml_is_returned(self) -> None:
        """With yaml imported already, import_yaml returns that module and leaves re's cache alone."""
        import yaml

        caches = [getattr(re, "_cache", {}), getattr(re, "_cache2", {})]
        before = [dict(cache) for cache in caches]
        self.assertIs(_lean_imports.import_yaml(), yaml)
        self.assertEqual([dict(cache) for cache in caches], before)

    def test_blocked_yaml_raises(self) -> None:
        """With ``sys.modules["yaml"]`` set to None (import blocked), import_yaml raises ImportError."""
        import yaml

        sys.modules["yaml"] = None  # type: ignore[assignment]
        self.addCleanup(sys.modules.__setitem__, "yaml", yaml)
        with self.assertRaises(ImportError):
            _lean_imports.import_yaml()



class CommandLineStartTests(SynchronousTestCase):
    """``synapse-modhost -c`` takes all four shortcuts on its way to listening."""

    def test_host_start_skips_the_unused_work(self) -> None:
        """In a new process, ``synapse-modhost -c`` up to its listening compiles neither PyYAML's
        nor cryptography's costly pattern, and imports neither twisted.internet.ssl nor ctypes."""
        path = write_say_hello_config(os.path.abspath(self.mktemp()))
        lines = run_cli_until_listening(self, path, """
            from synapse_modhost._lean_imports import (
                X509_NON_ASCII, YAML_NON_PRINTABLE, x509_rfc4514_string)
            yaml = sys.modules["yaml"]
            x509_name = sys.modules.get("cryptography.x509.name")
            parser = getattr(x509_name, "_RFC4514NameParser", None)
            x509_text = getattr(getattr(parser, "_STRING_RE", None), "pattern", None)
            print(yaml.reader.Reader.NON_PRINTABLE.pattern == YAML_NON_PRINTABLE,
                  x509_text == x509_rfc4514_string(X509_NON_ASCII),
                  "twisted.internet.ssl" in sys.modules, "ctypes" in sys.modules)
        """)
        self.assertEqual(lines, ["False False False False"])
