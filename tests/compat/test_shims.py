"""Host-side pieces served under Synapse names: storage transaction, logcontext shims,
constants and the extra ``synapse.types`` helpers."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any, List

from twisted.trial.unittest import SynchronousTestCase

from synapse_modhost.compat import constants
from synapse_modhost.compat.logcontext import (
    SENTINEL_CONTEXT,
    LoggingContext,
    LoggingContextFilter,
    PreserveLoggingContext,
    current_context,
    nested_logging_context,
)
from synapse_modhost.compat.types_extra import (
    get_domain_from_id,
    get_localpart_from_id,
    is_compliant_user_id_localpart,
    map_username_to_mxid_localpart,
)
from synapse_modhost.errors import SynapseError
from synapse_modhost.storage import LoggingTransaction


class LoggingTransactionTests(SynchronousTestCase):
    """``LoggingTransaction`` over an sqlite3 cursor."""

    def setUp(self) -> None:
        self.conn = sqlite3.connect(":memory:")
        self.addCleanup(self.conn.close)
        self.after: List[Any] = []
        self.on_exc: List[Any] = []
        self.txn = LoggingTransaction(
            txn=self.conn.cursor(),
            name="test",
            database_engine=None,
            after_callbacks=self.after,
            exception_callbacks=self.on_exc,
        )

    def test_execute_and_fetch(self) -> None:
        """execute/executemany/fetchone/fetchall/iteration/rowcount/description proxy the cursor."""
        txn = self.txn
        txn.execute("CREATE TABLE users (name TEXT, admin INT)")
        txn.executemany("INSERT INTO users VALUES (?, ?)", [("a", 1), ("b", 0)])
        self.assertEqual(txn.rowcount, 2)
        txn.execute("SELECT name FROM users WHERE admin = ?", (1,))
        self.assertEqual(txn.description[0][0], "name")
        self.assertEqual(txn.fetchone(), ("a",))
        self.assertIsNone(txn.fetchone())
        txn.execute("SELECT name FROM users ORDER BY name")
        self.assertEqual(list(txn), [("a",), ("b",)])
        txn.execute("SELECT name FROM users ORDER BY name")
        self.assertEqual(txn.fetchall(), [("a",), ("b",)])

    def test_sql_logged(self) -> None:
        """Statements are logged at DEBUG on synapse.storage.SQL, on one line."""
        with self.assertLogs("synapse.storage.SQL", logging.DEBUG) as logs:
            self.txn.execute("SELECT\n  1")
        self.assertIn("[SQL] {test} SELECT 1", logs.output[0])

    def test_param_style_conversion(self) -> None:
        """The engine's convert_param_style is applied to the SQL."""

        class Engine:
            def convert_param_style(self, sql: str) -> str:
                return sql.replace("%s", "?")

        txn = LoggingTransaction(txn=self.conn.cursor(), name="t", database_engine=Engine())
        txn.execute("SELECT %s", (5,))
        self.assertEqual(txn.fetchone(), (5,))

    def test_callbacks_stored(self) -> None:
        """call_after/call_on_exception store (callback, args, kwargs) entries."""

        def cb(*a: Any, **k: Any) -> None:
            pass

        self.txn.call_after(cb, 1, x=2)
        self.txn.call_on_exception(cb, 3)
        self.assertEqual(self.after, [(cb, (1,), {"x": 2})])
        self.assertEqual(self.on_exc, [(cb, (3,), {})])

    def test_callbacks_not_allowed(self) -> None:
        """Without a callback list, call_after fails an assertion (as on Synapse)."""
        txn = LoggingTransaction(txn=self.conn.cursor(), name="t")
        with self.assertRaises(AssertionError):
            txn.call_after(print)


class LogContextTests(SynchronousTestCase):
    """The logcontext stand-ins."""

    def test_context_manager(self) -> None:
        """Entering a LoggingContext makes it current; leaving restores the sentinel."""
        self.assertIs(current_context(), SENTINEL_CONTEXT)
        self.assertFalse(SENTINEL_CONTEXT)
        with LoggingContext("outer") as ctx:
            self.assertIs(current_context(), ctx)
            with PreserveLoggingContext():
                self.assertIs(current_context(), SENTINEL_CONTEXT)
            self.assertEqual(str(nested_logging_context("x")), "outer-x")
        self.assertIs(current_context(), SENTINEL_CONTEXT)

    def test_filter(self) -> None:
        """LoggingContextFilter accepts ``request=""`` and adds ``request`` to records."""
        f = LoggingContextFilter(request="")
        record = logging.LogRecord("n", logging.INFO, "p", 1, "m", None, None)
        self.assertTrue(f.filter(record))
        self.assertEqual(record.request, "")  # type: ignore[attr-defined]


class TypesExtraTests(SynchronousTestCase):
    """The extra synapse.types helpers (values observed on Synapse 1.163.2)."""

    def test_id_parts(self) -> None:
        """get_domain_from_id/get_localpart_from_id split at the first colon."""
        self.assertEqual(get_domain_from_id("@a:b:c"), "b:c")
        self.assertEqual(get_localpart_from_id("@a:b:c"), "a")
        with self.assertRaises(SynapseError) as cm:
            get_domain_from_id("@ab")
        self.assertEqual(cm.exception.msg, "Invalid ID: '@ab'")

    def test_map_username(self) -> None:
        """map_username_to_mxid_localpart escapes as Synapse does."""
        cases = {
            "Alice": ("alice", "=5falice"),
            "_bob": ("=5fbob", "=5f_bob"),
            "a=b": ("a=3db", "a=3db"),
            "h\u00e9llo": ("h=c3=a9llo", "h=c3=a9llo"),
            "A_B c": ("a_b=20c", "=5fa___b=20c"),
        }
        for name, (insensitive, sensitive) in cases.items():
            self.assertEqual(map_username_to_mxid_localpart(name), insensitive)
            self.assertEqual(map_username_to_mxid_localpart(name, case_sensitive=True), sensitive)

    def test_compliant_localpart(self) -> None:
        """Compliant localparts are non-empty printable ASCII."""
        self.assertTrue(is_compliant_user_id_localpart("Alice"))
        self.assertFalse(is_compliant_user_id_localpart(""))
        self.assertFalse(is_compliant_user_id_localpart("a b"))


class ConstantsTests(SynchronousTestCase):
    """A sample of synapse.api.constants values."""

    def test_values(self) -> None:
        """Event types, memberships, presets and account data types have Synapse's values."""
        self.assertEqual(constants.EventTypes.Member, "m.room.member")
        self.assertEqual(constants.Membership.LIST, {"invite", "join", "knock", "leave", "ban"})
        self.assertEqual(constants.RoomCreationPreset.TRUSTED_PRIVATE_CHAT, "trusted_private_chat")
        self.assertEqual(constants.AccountDataTypes.DIRECT, "m.direct")
        self.assertEqual(constants.PresenceState.BUSY, "org.matrix.msc3026.busy")
        self.assertEqual(constants.LoginType.REGISTRATION_TOKEN, "m.login.registration_token")
