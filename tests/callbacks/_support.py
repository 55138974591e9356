"""Shared scaffolding for the callback-category tests.

``CategoryTestCase`` gives each test a fresh category on its own dispatcher and clock and
runs the category's coroutines to a result; ``returning``, ``recording`` and ``raising``
make the async callbacks the tests register.
"""

from __future__ import annotations

from typing import Any, Callable, Coroutine, Generic, List, Optional, Protocol, Tuple, Type, TypeVar

from twisted.internet import defer
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from synapse_modhost.callbacks._dispatch import Dispatcher

#: the parent of every category's logger, which also sees the dispatcher's "is not async" warning
ALL_LOGS = "synapse_modhost.callbacks"

AsyncCallback = Callable[..., Coroutine[Any, Any, Any]]


def _note(log: Optional[List[Any]], label: str, args: Tuple[Any, ...]) -> None:
    if log is not None:
        log.append((label, args))


def returning(value: Any, log: Optional[List[Any]] = None, label: str = "") -> AsyncCallback:
    """An async callback returning ``value``; with ``log``, it first appends ``(label, args)``."""

    async def cb(*args: Any) -> Any:
        _note(log, label, args)
        return value

    return cb


def recording(value: Any, calls: List[Any]) -> AsyncCallback:
    """An async callback returning ``value`` that first appends its ``args`` to ``calls``."""

    async def cb(*args: Any) -> Any:
        calls.append(args)
        return value

    return cb


def raising(exc: BaseException, log: Optional[List[Any]] = None, label: str = "") -> AsyncCallback:
    """An async callback raising ``exc``; with ``log``, it first appends ``(label, args)``."""

    async def cb(*args: Any) -> Any:
        _note(log, label, args)
        raise exc

    return cb


class _Category(Protocol):
    @property
    def register_callbacks(self) -> Callable[..., None]: ...


C = TypeVar("C", bound=_Category)


class CategoryTestCase(SynchronousTestCase, Generic[C]):
    """Each test starts with a new, empty ``category_class`` at ``self.cat``."""

    #: the category under test, called with a ``Dispatcher`` and ``make``'s keywords
    category_class: Callable[..., C]

    def setUp(self) -> None:
        self.cat = self.make()

    def make(self, **kwargs: Any) -> C:
        """A new, empty category on its own dispatcher and clock."""
        return self.category_class(Dispatcher(MemoryReactorClock()), **kwargs)

    def reg(self, **kw: Any) -> None:
        """Register ``kw`` on ``self.cat`` as the module ``test.module``."""
        self.cat.register_callbacks("test.module", **kw)

    def run_ok(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """The result of ``coro``, which must have finished successfully."""
        return self.successResultOf(defer.ensureDeferred(coro))

    def run_fail(self, coro: Coroutine[Any, Any, Any], *types: Type[BaseException]) -> Any:
        """The failure of ``coro``, which must have failed with one of ``types``."""
        return self.failureResultOf(defer.ensureDeferred(coro), *types)
