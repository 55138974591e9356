"""``DatabasePool``'s Synapse-named helpers (inline engine)."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from synapse_modhost.errors import SynapseError
from synapse_modhost.storage import (
    DatabaseClosedError,
    DatabasePool,
    LoggingTransaction,
    StoreError,
)

from ._helpers import open_inline


def _create(txn: LoggingTransaction) -> None:
    txn.execute("CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT, n INTEGER DEFAULT 0)")


class DatabasePoolTests(SynchronousTestCase):
    """The simple_* helpers and execute, as handlers and modules call them."""

    def setUp(self) -> None:
        self.pool = DatabasePool(open_inline(self))
        self.successResultOf(self.pool.runInteraction("create", _create))

    def test_insert_and_select_one(self) -> None:
        """simple_insert writes a row that simple_select_one returns as a tuple of retcols."""
        self.successResultOf(self.pool.simple_insert("kv", {"k": "a", "v": "1"}))
        row = self.successResultOf(self.pool.simple_select_one("kv", {"k": "a"}, ("v", "n")))
        self.assertEqual(row, ("1", 0))

    def test_select_one_missing(self) -> None:
        """A missing row is None with allow_none, else StoreError 404 'No row found (<table>)'."""
        d = self.pool.simple_select_one("kv", {"k": "x"}, ("v",), allow_none=True)
        self.assertIsNone(self.successResultOf(d))
        failure = self.failureResultOf(
            self.pool.simple_select_one("kv", {"k": "x"}, ("v",)), StoreError
        )
        self.assertIsInstance(failure.value, SynapseError)
        self.assertEqual((failure.value.code, failure.value.msg), (404, "No row found (kv)"))

    def test_onecol_helpers(self) -> None:
        """simple_select_one_onecol and simple_select_onecol return bare values."""
        self.successResultOf(
            self.pool.simple_insert_many("kv", ("k", "v"), [("a", "1"), ("b", "1")])
        )
        self.assertEqual(
            self.successResultOf(self.pool.simple_select_one_onecol("kv", {"k": "b"}, "v")), "1"
        )
        keys = self.successResultOf(self.pool.simple_select_onecol("kv", {"v": "1"}, "k"))
        self.assertEqual(sorted(keys), ["a", "b"])

    def test_upsert(self) -> None:
        """simple_upsert inserts, then updates the row with the same key."""
        self.successResultOf(self.pool.simple_upsert("kv", {"k": "a"}, {"v": "1"}, {"n": 5}))
        self.successResultOf(self.pool.simple_upsert("kv", {"k": "a"}, {"v": "2"}, {"n": 9}))
        rows = self.successResultOf(self.pool.simple_select_list("kv", None, ("k", "v", "n")))
        self.assertEqual(rows, [("a", "2", 5)])

    def test_update_and_delete_counts(self) -> None:
        """simple_update and simple_delete report the rows they touched."""
        self.successResultOf(
            self.pool.simple_insert_many("kv", ("k", "v"), [("a", "1"), ("b", "1")])
        )
        self.assertEqual(
            self.successResultOf(self.pool.simple_update("kv", {"v": "1"}, {"v": "2"})), 2
        )
        self.assertEqual(self.successResultOf(self.pool.simple_delete("kv", {"k": "a"})), 1)
        self.assertEqual(
            self.successResultOf(self.pool.execute("c", "SELECT COUNT(*) FROM kv")), [(1,)]
        )

    def test_update_one_requires_one_row(self) -> None:
        """simple_update_one fails with 404 for no row and 500 (rolled back) for several."""
        self.successResultOf(
            self.pool.simple_insert_many("kv", ("k", "v"), [("a", "1"), ("b", "1")])
        )
        f = self.failureResultOf(
            self.pool.simple_update_one("kv", {"k": "z"}, {"v": "3"}), StoreError
        )
        self.assertEqual(f.value.code, 404)
        f = self.failureResultOf(
            self.pool.simple_update_one("kv", {"v": "1"}, {"v": "3"}), StoreError
        )
        self.assertEqual(f.value.code, 500)
        self.assertEqual(
            self.successResultOf(self.pool.simple_select_onecol("kv", {"v": "3"}, "k")), []
        )

    def test_identifiers_checked(self) -> None:
        """Table and column names that are not plain identifiers are refused."""
        self.failureResultOf(self.pool.simple_insert("kv; DROP TABLE kv", {"k": "a"}), ValueError)
        self.failureResultOf(
            self.pool.simple_select_list("kv", {"k = k OR 1": 1}, ("k",)), ValueError
        )
        self.failureResultOf(self.pool.simple_delete("kv", {}), ValueError)

    def test_no_engine(self) -> None:
        """A pool without an engine fails every interaction with DatabaseClosedError."""
        self.failureResultOf(DatabasePool().runInteraction("x", _create), DatabaseClosedError)
