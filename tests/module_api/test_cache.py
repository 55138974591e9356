"""The ``@cached`` decorator."""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase

from synapse_modhost.module_api import CachedFunction, cached


class Store:
    def __init__(self) -> None:
        self.calls: List[Tuple[Any, ...]] = []
        self.pending: Dict[Any, defer.Deferred[Any]] = {}

    @cached()
    async def one(self, key: str) -> str:
        self.calls.append(("one", key))
        return "v-" + key

    @cached()
    def sync_two(self, a: str, b: int = 5) -> Tuple[str, int]:
        self.calls.append(("two", a, b))
        return (a, b)

    @cached(num_args=1)
    async def first_only(self, a: str, b: str) -> str:
        self.calls.append(("first", a, b))
        return a + b

    @cached(uncached_args=["verbose"])
    async def skip_verbose(self, a: str, verbose: bool = False) -> str:
        self.calls.append(("skip", a, verbose))
        return a

    @cached()
    def slow(self, key: str) -> defer.Deferred[Any]:
        self.calls.append(("slow", key))
        d: defer.Deferred[Any] = defer.Deferred()
        self.pending[key] = d
        return d

    @cached(max_entries=2)
    async def small(self, key: int) -> int:
        self.calls.append(("small", key))
        return key

    @cached()
    async def no_args(self) -> int:
        self.calls.append(("no_args",))
        return 1


class CachedTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.store = Store()

    def test_second_call_is_served_from_cache(self) -> None:
        """The same argument computes once; a different one computes again."""
        self.assertEqual(self.successResultOf(self.store.one("a")), "v-a")
        self.assertEqual(self.successResultOf(self.store.one("a")), "v-a")
        self.assertEqual(self.successResultOf(self.store.one(key="a")), "v-a")
        self.successResultOf(self.store.one("b"))
        self.assertEqual(self.store.calls, [("one", "a"), ("one", "b")])

    def test_sync_method_returns_deferred(self) -> None:
        """A sync cached method still returns a Deferred, keyed including defaults."""
        d = self.store.sync_two("x")
        self.assertIsInstance(d, defer.Deferred)
        self.assertEqual(self.successResultOf(d), ("x", 5))
        self.successResultOf(self.store.sync_two("x", 5))
        self.successResultOf(self.store.sync_two("x", b=5))
        self.successResultOf(self.store.sync_two("x", 6))
        self.assertEqual(self.store.calls, [("two", "x", 5), ("two", "x", 6)])

    def test_invalidate_takes_a_tuple(self) -> None:
        """invalidate((key,)) drops one entry; other entries stay."""
        self.successResultOf(self.store.one("a"))
        self.successResultOf(self.store.one("b"))
        self.store.one.invalidate(("a",))
        self.successResultOf(self.store.one("a"))
        self.successResultOf(self.store.one("b"))
        self.assertEqual(self.store.calls, [("one", "a"), ("one", "b"), ("one", "a")])

    def test_invalidate_multi_arg(self) -> None:
        """For several key args invalidate takes the full tuple."""
        self.successResultOf(self.store.sync_two("x", 1))
        self.store.sync_two.invalidate(("x", 1))
        self.successResultOf(self.store.sync_two("x", 1))
        self.assertEqual(len(self.store.calls), 2)

    def test_invalidate_all(self) -> None:
        """invalidate_all empties the cache."""
        self.successResultOf(self.store.one("a"))
        self.successResultOf(self.store.one("b"))
        self.store.one.invalidate_all()
        self.successResultOf(self.store.one("a"))
        self.successResultOf(self.store.one("b"))
        self.assertEqual(len(self.store.calls), 4)

    def test_prefill(self) -> None:
        """prefill((key,), value) answers without calling the method."""
        self.store.one.prefill(("z",), "preset")
        self.assertEqual(self.successResultOf(self.store.one("z")), "preset")
        self.assertEqual(self.store.calls, [])

    def test_num_args(self) -> None:
        """num_args=1 keys on the first argument only."""
        self.assertEqual(self.successResultOf(self.store.first_only("a", "1")), "a1")
        self.assertEqual(self.successResultOf(self.store.first_only("a", "2")), "a1")
        self.assertEqual(len(self.store.calls), 1)
        self.assertEqual(self.store.first_only.num_args, 1)

    def test_uncached_args(self) -> None:
        """uncached_args are left out of the key."""
        self.successResultOf(self.store.skip_verbose("a", verbose=True))
        self.successResultOf(self.store.skip_verbose("a", False))
        self.assertEqual(self.store.calls, [("skip", "a", True)])

    def test_no_args(self) -> None:
        """A method with no key args caches one value; invalidate(()) clears it."""
        self.successResultOf(self.store.no_args())
        self.successResultOf(self.store.no_args())
        self.store.no_args.invalidate(())
        self.successResultOf(self.store.no_args())
        self.assertEqual(len(self.store.calls), 2)

    def test_concurrent_calls_share_one_computation(self) -> None:
        """Calls while a computation is pending wait for it instead of starting another."""
        d1 = self.store.slow("k")
        d2 = self.store.slow("k")
        self.assertNoResult(d1)
        self.assertNoResult(d2)
        self.assertEqual(self.store.calls, [("slow", "k")])
        self.store.pending["k"].callback("result")
        self.assertEqual(self.successResultOf(d1), "result")
        self.assertEqual(self.successResultOf(d2), "result")
        self.assertEqual(self.successResultOf(self.store.slow("k")), "result")
        self.assertEqual(len(self.store.calls), 1)

    def test_failures_are_not_cached(self) -> None:
        """A failure reaches every waiter and the next call computes again."""
        d1 = self.store.slow("k")
        d2 = self.store.slow("k")
        self.store.pending["k"].errback(RuntimeError("down"))
        self.failureResultOf(d1, RuntimeError)
        self.failureResultOf(d2, RuntimeError)
        d3 = self.store.slow("k")
        self.assertNoResult(d3)
        self.assertEqual(len(self.store.calls), 2)
        self.store.pending["k"].callback("ok")
        self.assertEqual(self.successResultOf(d3), "ok")

    def test_sync_exception_is_a_failed_deferred(self) -> None:
        """A raising async method gives a failed Deferred and is retried next time."""

        class Failing:
            attempts = 0

            @cached()
            async def get(self, k: int) -> int:
                Failing.attempts += 1
                raise KeyError(k)

        obj = Failing()
        self.failureResultOf(obj.get(1), KeyError)
        self.failureResultOf(obj.get(1), KeyError)
        self.assertEqual(Failing.attempts, 2)

    def test_invalidate_during_computation_discards_result(self) -> None:
        """A result whose key was invalidated while pending is returned but not stored."""
        d1 = self.store.slow("k")
        self.store.slow.invalidate(("k",))
        self.store.pending["k"].callback("stale")
        self.assertEqual(self.successResultOf(d1), "stale")
        d2 = self.store.slow("k")
        self.assertNoResult(d2)
        self.assertEqual(len(self.store.calls), 2)

    def test_cancelling_one_waiter_keeps_the_others(self) -> None:
        """Cancelling one caller's Deferred does not affect the other caller."""
        d1 = self.store.slow("k")
        d2 = self.store.slow("k")
        d1.cancel()
        self.failureResultOf(d1, defer.CancelledError)
        self.store.pending["k"].callback("v")
        self.assertEqual(self.successResultOf(d2), "v")

    def test_lru_eviction(self) -> None:
        """Beyond max_entries the least recently used entry is evicted."""
        for k in (1, 2):
            self.successResultOf(self.store.small(k))
        self.successResultOf(self.store.small(1))  # 1 is now most recent
        self.successResultOf(self.store.small(3))  # evicts 2
        self.assertEqual(len(self.store.small.cache), 2)
        self.successResultOf(self.store.small(1))
        self.successResultOf(self.store.small(2))
        self.assertEqual(
            [c[1] for c in self.store.calls], [1, 2, 3, 2], "1 should have stayed cached"
        )

    def test_per_instance_caches(self) -> None:
        """Each instance has its own cache, stored on the instance."""
        other = Store()
        self.successResultOf(self.store.one("a"))
        self.successResultOf(other.one("a"))
        self.assertEqual(len(self.store.calls), 1)
        self.assertEqual(len(other.calls), 1)
        self.assertIs(self.store.one, self.store.one)
        self.assertIn("one", vars(self.store))

    def test_bound_form_metadata(self) -> None:
        """The bound function keeps the method's name and module (used for registration)."""
        bound = self.store.one
        self.assertEqual(bound.__name__, "one")
        self.assertEqual(bound.__module__, __name__)
        self.assertTrue(callable(bound.invalidate_all))
        self.assertEqual(Store.one.__name__, "one")

    def test_unhashable_argument(self) -> None:
        """An unhashable key argument raises TypeError at call time."""
        with self.assertRaises(TypeError):
            self.store.one(["list"])  # type: ignore[arg-type]

    def test_decorator_argument_errors(self) -> None:
        """num_args with uncached_args, keyword-only args and too many num_args are refused."""
        with self.assertRaises(ValueError):

            @cached(num_args=1, uncached_args=["b"])
            def f(self: Any, a: int, b: int) -> None:
                pass

        with self.assertRaises(ValueError):

            @cached()
            def g(self: Any, a: int, *, b: int) -> None:
                pass

        with self.assertRaises(Exception) as cm:

            @cached(num_args=3)
            def h(self: Any, a: int) -> None:
                pass

        self.assertIn("Not enough explicit positional arguments", str(cm.exception))

    def test_cached_function_type_is_generic(self) -> None:
        """CachedFunction can be subscripted in annotations."""
        self.assertIsNotNone(CachedFunction[Any])
