"""``@cached``: Synapse's memoising method decorator, as modules use it.

Behaviour reproduced from ``synapse.util.caches.descriptors.cached`` (1.163):

* it decorates methods; the cache key is built from the arguments after ``self`` (the
  first ``num_args`` of them, default all named ones, minus ``uncached_args``), taking
  keyword arguments and defaults into account. With a single key argument the key is
  the value itself, otherwise a tuple;
* each instance gets its own cache, created on first attribute access and stored in the
  instance ``__dict__`` under the method name;
* calling always returns a Deferred (sync methods included); concurrent calls for the
  same key share one computation; a failure is not cached; an unhashable argument raises
  ``TypeError`` at call time;
* the bound form has ``invalidate(keys: tuple)``, ``invalidate_all()``,
  ``prefill(keys: tuple, value)``, ``cache`` and ``num_args``; ``invalidate``/``prefill``
  always take a tuple (even for a single key argument);
* invalidating a key whose computation is in flight means its result is not stored;
* the cache holds at most ``max_entries`` results, evicting the least recently used.

Synapse additionally requires the instance to have ``server_name`` and ``clock``
attributes (for metrics); the host does not.
"""

from __future__ import annotations

import functools
import inspect
import weakref
from collections import OrderedDict
from typing import (
    Any,
    Callable,
    Collection,
    Dict,
    Generic,
    List,
    Mapping,
    Sequence,
    Tuple,
    TypeVar,
    cast,
)

from twisted.internet import defer
from twisted.python.failure import Failure

__all__ = ["CachedFunction", "CachedFunctionRegistry", "cached", "cached_function_registry"]

F = TypeVar("F", bound=Callable[..., Any])


class CachedFunction(Generic[F]):
    """The type of a ``@cached`` method once bound to an instance (for annotations)."""

    invalidate: Callable[[Tuple[Any, ...]], None]
    invalidate_all: Callable[[], None]
    prefill: Callable[[Tuple[Any, ...], Any], None]
    cache: Any = None
    num_args: Any = None

    __name__: str

    __call__: F


_MISSING = object()


class _Entry:
    """A computation in flight: one underlying Deferred, any number of observers."""

    def __init__(self) -> None:
        self.observers: List[defer.Deferred[Any]] = []
        self.done = False
        self.result: Any = None

    def observe(self) -> defer.Deferred[Any]:
        if self.done:
            if isinstance(self.result, Failure):
                return defer.fail(self.result)
            return defer.succeed(self.result)
        d: defer.Deferred[Any] = defer.Deferred()
        self.observers.append(d)
        return d

    def fire(self, result: Any) -> None:
        self.done = True
        self.result = result
        observers, self.observers = self.observers, []
        for d in observers:
            if d.called:  # cancelled by its caller
                continue
            if isinstance(result, Failure):
                d.errback(result)
            else:
                d.callback(result)


class DeferredLruCache:
    """Results by key (least recently used evicted beyond ``max_entries``) plus the
    computations in flight."""

    def __init__(self, name: str, max_entries: int) -> None:
        self.name = name
        self.max_entries = max_entries
        self._results: OrderedDict[Any, Any] = OrderedDict()
        self._pending: Dict[Any, _Entry] = {}

    def __len__(self) -> int:
        return len(self._results)

    def __contains__(self, key: Any) -> bool:
        return key in self._results

    def get(self, key: Any) -> defer.Deferred[Any]:
        """The cached or in-flight result for ``key``; ``KeyError`` if neither."""
        entry = self._pending.get(key)
        if entry is not None:
            return entry.observe()
        value = self._results.get(key, _MISSING)
        if value is _MISSING:
            raise KeyError(key)
        self._results.move_to_end(key)
        return defer.succeed(value)

    def set(self, key: Any, computation: defer.Deferred[Any]) -> defer.Deferred[Any]:
        """Track ``computation`` for ``key``; its success is stored unless invalidated first."""
        entry = _Entry()
        self._pending[key] = entry
        observer = entry.observe()

        def done(result: Any) -> None:
            if self._pending.get(key) is entry:
                del self._pending[key]
                if not isinstance(result, Failure):
                    self._store(key, result)
            entry.fire(result)

        computation.addBoth(done)
        return observer

    def _store(self, key: Any, value: Any) -> None:
        self._results[key] = value
        self._results.move_to_end(key)
        while len(self._results) > self.max_entries:
            self._results.popitem(last=False)

    def prefill(self, key: Any, value: Any) -> None:
        self._store(key, value)
        self._pending.pop(key, None)

    def invalidate(self, key: Any) -> None:
        self._results.pop(key, None)
        self._pending.pop(key, None)

    def invalidate_all(self) -> None:
        self._results.clear()
        self._pending.clear()


def _key_builder(
    names: Sequence[str], include: Sequence[bool], defaults: Mapping[str, Any]
) -> Callable[[Sequence[Any], Mapping[str, Any]], Any]:
    def values(args: Sequence[Any], kwargs: Mapping[str, Any]) -> List[Any]:
        out = []
        pos = 0
        for name, inc in zip(names, include, strict=True):
            if name in kwargs:
                value = kwargs[name]
            elif pos < len(args):
                value = args[pos]
                pos += 1
            else:
                value = defaults[name]
            if inc:
                out.append(value)
        return out

    if len(names) == 1 and include[0]:
        return lambda args, kwargs: values(args, kwargs)[0]
    return lambda args, kwargs: tuple(values(args, kwargs))


class _CachedDescriptor:
    """What ``@cached(...)`` turns a method into."""

    def __init__(
        self,
        orig: Callable[..., Any],
        *,
        max_entries: int,
        num_args: int | None,
        uncached_args: Collection[str] | None,
    ) -> None:
        self.orig = orig
        self.name: str = orig.__name__
        self.max_entries = max_entries
        spec = inspect.getfullargspec(orig)
        if spec.kwonlyargs:
            raise ValueError("@cached does not support keyword-only arguments.")
        if num_args is not None and uncached_args is not None:
            raise ValueError("Cannot provide both num_args and uncached_args")
        all_args = spec.args
        if num_args is None:
            num_args = len(all_args) - 1
        if len(all_args) < num_args + 1:
            raise Exception(
                f"Not enough explicit positional arguments to key off for {orig.__name__!r}: "
                f"got {len(all_args)} args, but wanted {num_args}. (@cached cannot key off "
                "*args or **kwargs)"
            )
        self.num_args = num_args
        self.arg_names = all_args[1 : num_args + 1]
        include = [uncached_args is None or n not in uncached_args for n in self.arg_names]
        defaults: Dict[str, Any] = {}
        if spec.defaults:
            defaults = dict(zip(all_args[-len(spec.defaults) :], spec.defaults, strict=True))
        self._get_key = _key_builder(self.arg_names, include, defaults)
        functools.update_wrapper(self, orig)  # type: ignore[arg-type]

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        cache = DeferredLruCache(self.name, self.max_entries)
        get_key = self._get_key
        orig = self.orig

        @functools.wraps(orig)
        def wrapped(*args: Any, **kwargs: Any) -> defer.Deferred[Any]:
            kwargs.pop("on_invalidate", None)
            key = get_key(args, kwargs)
            try:
                return cache.get(key)
            except KeyError:
                pass
            return cache.set(key, _call(orig, obj, *args, **kwargs))

        bound = cast(Any, wrapped)
        if self.num_args == 1:
            bound.invalidate = lambda key: cache.invalidate(key[0])
            bound.prefill = lambda key, value: cache.prefill(key[0], value)
        else:
            bound.invalidate = cache.invalidate
            bound.prefill = cache.prefill
        bound.invalidate_all = cache.invalidate_all
        bound.cache = cache
        bound.num_args = self.num_args
        obj.__dict__[self.name] = bound
        return bound


def _call(f: Callable[..., Any], *args: Any, **kwargs: Any) -> defer.Deferred[Any]:
    try:
        result = f(*args, **kwargs)
    except Exception:
        return defer.fail(Failure())
    if isinstance(result, defer.Deferred):
        return result
    if inspect.iscoroutine(result):
        return defer.ensureDeferred(result)
    if inspect.isawaitable(result):

        async def wait() -> Any:
            return await result

        return defer.ensureDeferred(wait())
    return defer.succeed(result)


def cached(
    *,
    max_entries: int = 1000,
    num_args: int | None = None,
    uncached_args: Collection[str] | None = None,
) -> Callable[[F], CachedFunction[F]]:
    """Memoise a method (sync or async); see the module docstring for the semantics.

    ``num_args`` and ``uncached_args`` cannot be combined (``ValueError``).
    """

    def decorator(orig: F) -> CachedFunction[F]:
        return cast(
            CachedFunction[F],
            _CachedDescriptor(
                orig, max_entries=max_entries, num_args=num_args, uncached_args=uncached_args
            ),
        )

    return decorator


class CachedFunctionRegistry:
    """Cached functions registered with ``ModuleApi.register_cached_function``, by
    ``"<module>.<name>"`` (the name Synapse uses for cross-worker invalidation)."""

    def __init__(self) -> None:
        self._functions: Dict[str, Any] = {}

    @staticmethod
    def name_of(cached_func: Any) -> str:
        return f"{cached_func.__module__}.{cached_func.__name__}"

    def register(self, cached_func: Any) -> str:
        """Record ``cached_func`` (a later registration of the same name replaces it)."""
        name = self.name_of(cached_func)
        self._functions[name] = cached_func
        return name

    def get(self, name: str) -> Any:
        return self._functions.get(name)

    def names(self) -> List[str]:
        return sorted(self._functions)

    def invalidate(self, name: str, keys: Tuple[Any, ...]) -> bool:
        """Invalidate ``keys`` in the function registered as ``name``; ``False`` if none."""
        func = self._functions.get(name)
        if func is None:
            return False
        func.invalidate(keys)
        return True


_registries: weakref.WeakKeyDictionary[Any, CachedFunctionRegistry] = weakref.WeakKeyDictionary()


def cached_function_registry(host: Any) -> CachedFunctionRegistry:
    """The host's registry: its ``cached_functions`` attribute if it has one, else one kept
    here for as long as the host lives."""
    registry = getattr(host, "cached_functions", None)
    if isinstance(registry, CachedFunctionRegistry):
        return registry
    registry = _registries.get(host)
    if registry is None:
        registry = _registries[host] = CachedFunctionRegistry()
    return registry
