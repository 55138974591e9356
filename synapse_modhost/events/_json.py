"""Read-only JSON containers for event content, and canonical JSON for hashing.

Synapse 1.163's Rust events hand out ``content`` as an immutable ``JsonObject``: item
assignment raises ``TypeError`` and nested values come back as fresh ``dict``/``list``
copies. That object has no ``.copy()``, cannot be ``copy.deepcopy``-ed and is not
``json.dumps``-able, which breaks modules written for older Synapse versions.

``FrozenDict`` keeps Synapse's guarantees (no mutation of the stored event through it,
``TypeError`` on assignment, fresh copies of nested values) and is *more* compatible: it
is a real ``dict`` subclass, so ``isinstance(content, dict)``, ``json.dumps(content)``,
``dict(content)``, ``content.copy()`` and ``copy.deepcopy(content)`` all work; the copies
are plain, mutable, deep copies.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Iterable, List, NoReturn, Tuple

__all__ = ["FrozenDict", "FrozenList", "canonical_json", "freeze", "thaw"]


def _immutable(obj: object, what: str = "item assignment") -> NoReturn:
    raise TypeError("'%s' object does not support %s" % (type(obj).__name__, what))


#: immutable JSON scalars: returned as they are (checked first, by exact type)
_SCALARS = frozenset({str, int, float, bool, type(None)})


def freeze(value: Any) -> Any:
    """A deep, read-only copy of a JSON value (dicts and lists become frozen subclasses)."""
    if type(value) in _SCALARS:
        return value
    if isinstance(value, dict):
        return FrozenDict._make({k: freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return FrozenList._make([freeze(v) for v in value])
    return value


def thaw(value: Any) -> Any:
    """A deep, plain, mutable copy of a JSON value (frozen containers included)."""
    if type(value) in _SCALARS:
        return value
    if isinstance(value, dict):
        return {k: thaw(v) for k, v in dict.items(value)}
    if isinstance(value, (list, tuple)):
        return [thaw(v) for v in value]
    return value


class FrozenDict(Dict[str, Any]):
    """A read-only ``dict``: reads return plain copies, writes raise ``TypeError``."""

    __slots__ = ()

    @classmethod
    def _make(cls, items: Dict[str, Any]) -> "FrozenDict":
        new = cls()
        dict.update(new, items)
        return new

    # -- reads hand out copies, so nothing reaches the stored values
    def __getitem__(self, key: str) -> Any:
        return thaw(dict.__getitem__(self, key))

    def get(self, key: str, default: Any = None) -> Any:
        if dict.__contains__(self, key):
            return thaw(dict.__getitem__(self, key))
        return default

    def values(self) -> List[Any]:  # type: ignore[override]
        return [thaw(v) for v in dict.values(self)]

    def items(self) -> List[Tuple[str, Any]]:  # type: ignore[override]
        return [(k, thaw(v)) for k, v in dict.items(self)]

    def copy(self) -> Dict[str, Any]:
        """A plain, mutable, deep copy."""
        return thaw(self)

    def __copy__(self) -> Dict[str, Any]:
        return self.copy()

    def __deepcopy__(self, memo: Dict[int, Any]) -> Dict[str, Any]:
        return self.copy()

    def __reduce__(self) -> Tuple[Any, ...]:
        return (dict, (self.copy(),))

    def __or__(self, other: Any) -> Any:
        if not isinstance(other, dict):
            return NotImplemented
        return {**self.copy(), **other}

    def __ror__(self, other: Any) -> Any:
        if not isinstance(other, dict):
            return NotImplemented
        return {**thaw(other), **self.copy()}

    # -- writes are refused, as on Synapse's JsonObject
    def __setitem__(self, key: str, value: Any) -> NoReturn:
        _immutable(self)

    def __delitem__(self, key: str) -> NoReturn:
        _immutable(self, "item deletion")

    def __ior__(self, other: Any) -> NoReturn:
        _immutable(self)

    def clear(self) -> NoReturn:
        _immutable(self, "item deletion")

    def pop(self, *args: Any) -> NoReturn:
        _immutable(self, "item deletion")

    def popitem(self) -> NoReturn:
        _immutable(self, "item deletion")

    def setdefault(self, *args: Any) -> NoReturn:
        _immutable(self)

    def update(self, *args: Any, **kwargs: Any) -> NoReturn:
        _immutable(self)


class FrozenList(List[Any]):
    """A read-only ``list`` nested inside a ``FrozenDict``; writes raise ``TypeError``."""

    __slots__ = ()

    @classmethod
    def _make(cls, items: Iterable[Any]) -> "FrozenList":
        new = cls()
        list.extend(new, items)
        return new

    def copy(self) -> List[Any]:
        """A plain, mutable, deep copy."""
        return thaw(self)

    def __copy__(self) -> List[Any]:
        return self.copy()

    def __deepcopy__(self, memo: Dict[int, Any]) -> List[Any]:
        return self.copy()

    def __reduce__(self) -> Tuple[Any, ...]:
        return (list, (self.copy(),))

    def __setitem__(self, *args: Any) -> NoReturn:
        _immutable(self)

    def __delitem__(self, *args: Any) -> NoReturn:
        _immutable(self, "item deletion")

    def __iadd__(self, other: Any) -> NoReturn:  # type: ignore[misc]
        _immutable(self)

    def __imul__(self, other: Any) -> NoReturn:  # type: ignore[misc]
        _immutable(self)

    def append(self, *args: Any) -> NoReturn:
        _immutable(self)

    def extend(self, *args: Any) -> NoReturn:
        _immutable(self)

    def insert(self, *args: Any) -> NoReturn:
        _immutable(self)

    def pop(self, *args: Any) -> NoReturn:
        _immutable(self, "item deletion")

    def remove(self, *args: Any) -> NoReturn:
        _immutable(self, "item deletion")

    def clear(self) -> NoReturn:
        _immutable(self, "item deletion")

    def sort(self, *args: Any, **kwargs: Any) -> NoReturn:
        _immutable(self)

    def reverse(self) -> NoReturn:
        _immutable(self)


# one encoder for every call (``json.dumps`` with options builds a new one each time)
_canonical_encode = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False
).encode


def canonical_json(value: Any) -> bytes:
    """Matrix canonical JSON: sorted keys, no whitespace, raw UTF-8, no NaN/Infinity."""
    return _canonical_encode(value).encode("utf-8")
