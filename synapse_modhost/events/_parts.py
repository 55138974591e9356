"""The pieces of an event: ``signatures``, ``unsigned`` and ``internal_metadata``.

Shaped as Synapse 1.163's Rust ``Signatures``, ``Unsigned`` and
``EventInternalMetadata``.
"""

from __future__ import annotations

from typing import Any, Dict, Iterator, Mapping, Optional, Tuple

from synapse_modhost.events._json import thaw

__all__ = ["EventInternalMetadata", "Signatures", "Unsigned"]


class Signatures:
    """``{server_name: {key_id: signature}}``, read through a small mapping-like API."""

    __slots__ = ("_sigs",)

    def __init__(self, signatures: Optional[Mapping[str, Mapping[str, str]]] = None) -> None:
        self._sigs: Dict[str, Dict[str, str]] = {
            server: dict(keys) for server, keys in (signatures or {}).items()
        }

    def get_signature(self, server_name: str, key_id: str) -> Optional[str]:
        return self._sigs.get(server_name, {}).get(key_id)

    def __getitem__(self, server_name: str) -> Mapping[str, str]:
        return dict(self._sigs[server_name])

    def __contains__(self, server_name: object) -> bool:
        return server_name in self._sigs

    def __len__(self) -> int:
        return len(self._sigs)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._sigs))

    def add_signature(self, server_name: str, key_id: str, signature: str) -> None:
        self._sigs.setdefault(server_name, {})[key_id] = signature

    def update(self, signatures: Mapping[str, Mapping[str, str]]) -> None:
        """Replace the signatures of each server named in ``signatures``."""
        for server, keys in signatures.items():
            self._sigs[server] = dict(keys)

    def as_dict(self) -> Dict[str, Dict[str, str]]:
        """A plain copy."""
        return {server: dict(keys) for server, keys in self._sigs.items()}

    def __repr__(self) -> str:
        return "Signatures(%r)" % (self._sigs,)


#: ``unsigned`` keys an event keeps; anything else is dropped at construction.
UNSIGNED_KEYS: Tuple[str, ...] = (
    "age_ts",
    "replaces_state",
    "invite_room_state",
    "knock_room_state",
    "prev_content",
    "prev_sender",
)
#: The ones written to the database (the rest are recomputed when an event is loaded).
PERSISTED_UNSIGNED_KEYS: Tuple[str, ...] = (
    "age_ts",
    "replaces_state",
    "invite_room_state",
    "knock_room_state",
)


class Unsigned:
    """An event's ``unsigned`` data: only the keys Synapse knows are kept.

    ``unsigned["x"]`` raises ``KeyError`` for unset or unknown keys; ``get()``,
    ``for_event()`` and ``for_persistence()`` return copies. Known keys can be set.
    """

    __slots__ = ("_data",)

    def __init__(self, unsigned: Optional[Mapping[str, Any]] = None) -> None:
        src = unsigned or {}
        self._data: Dict[str, Any] = {k: thaw(src[k]) for k in UNSIGNED_KEYS if k in src}

    @staticmethod
    def _no_key(key: Any) -> KeyError:
        return KeyError("Unsigned has no key %r" % (key,))

    def __getitem__(self, key: str) -> Any:
        if key not in self._data:
            raise self._no_key(key)
        return thaw(self._data[key])

    def __setitem__(self, key: str, value: Any) -> None:
        if key not in UNSIGNED_KEYS:
            raise self._no_key(key)
        self._data[key] = thaw(value)

    def __delitem__(self, key: str) -> None:
        if key not in self._data:
            raise self._no_key(key)
        del self._data[key]

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def get(self, key: str, default: Any = None) -> Any:
        return thaw(self._data[key]) if key in self._data else default

    def for_event(self) -> Dict[str, Any]:
        """Every set key, as a plain dict (what ``get_dict()`` shows)."""
        return {k: thaw(self._data[k]) for k in UNSIGNED_KEYS if k in self._data}

    def for_persistence(self) -> Dict[str, Any]:
        """The keys that are stored with the event."""
        return {k: thaw(self._data[k]) for k in PERSISTED_UNSIGNED_KEYS if k in self._data}

    def _copy(self) -> "Unsigned":
        return Unsigned(self._data)

    def __repr__(self) -> str:
        return "<Unsigned %r>" % (self.for_event(),)


# name -> type accepted; these live in the internal-metadata dict stored with the event.
_PERSISTED_FIELDS: Dict[str, type] = {
    "out_of_band_membership": bool,
    "send_on_behalf_of": str,
    "recheck_redaction": bool,
    "soft_failed": bool,
    "proactively_send": bool,
    "redacted": bool,
    "policy_server_spammy": bool,
    "spam_checker_spammy": bool,
    "txn_id": str,
    "delay_id": str,
    "token_id": int,
    "device_id": str,
    "calculated_auth_event_ids": list,
}
# Read as False when unset (the others raise AttributeError when unset, as on Synapse).
_FALSE_WHEN_UNSET = frozenset({"policy_server_spammy", "spam_checker_spammy"})
# Kept in memory only: never read from nor written to the dict.
_DYNAMIC_FIELDS: Tuple[str, ...] = ("outlier", "stream_ordering", "instance_name", "redacted_by")


class EventInternalMetadata:
    """Server-side facts about an event that are not part of the event itself.

    ``outlier``, ``stream_ordering``, ``instance_name`` and ``redacted_by`` are in-memory
    attributes (``outlier`` is *not* read from the dict, as on Synapse); the others are
    kept in the dict returned by ``get_dict()`` and raise ``AttributeError`` until set.
    """

    __slots__ = ("_data", "outlier", "stream_ordering", "instance_name", "redacted_by")

    outlier: bool
    stream_ordering: Optional[int]
    instance_name: Optional[str]
    redacted_by: Optional[str]

    def __init__(self, internal_metadata_dict: Optional[Mapping[str, Any]] = None) -> None:
        data: Dict[str, Any] = {}
        for key, value in (internal_metadata_dict or {}).items():
            expected = _PERSISTED_FIELDS.get(key)
            if expected is None:
                continue
            if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
                raise TypeError(
                    "internal metadata %r must be %s, got %r" % (key, expected.__name__, value)
                )
            data[key] = thaw(value)
        object.__setattr__(self, "_data", data)
        object.__setattr__(self, "outlier", False)
        object.__setattr__(self, "stream_ordering", None)
        object.__setattr__(self, "instance_name", None)
        object.__setattr__(self, "redacted_by", None)

    def __getattr__(self, name: str) -> Any:
        # Only called for names not found normally, i.e. the persisted fields.
        if name in _PERSISTED_FIELDS:
            data = object.__getattribute__(self, "_data")
            if name in data:
                return thaw(data[name])
            if name in _FALSE_WHEN_UNSET:
                return False
        raise AttributeError("'EventInternalMetadata' has no attribute '%s'" % (name,))

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _DYNAMIC_FIELDS:
            object.__setattr__(self, name, value)
        elif name in _PERSISTED_FIELDS:
            self._data[name] = thaw(value)
        else:
            raise AttributeError("'EventInternalMetadata' object has no attribute '%s'" % (name,))

    def __delattr__(self, name: str) -> None:
        if name in _PERSISTED_FIELDS and name in self._data:
            del self._data[name]
        else:
            raise AttributeError(name)

    def get_dict(self) -> Dict[str, Any]:
        """The persisted fields that are set."""
        return {k: thaw(self._data[k]) for k in _PERSISTED_FIELDS if k in self._data}

    def copy(self) -> "EventInternalMetadata":
        new = EventInternalMetadata(self._data)
        for name in _DYNAMIC_FIELDS:
            object.__setattr__(new, name, getattr(self, name))
        return new

    def is_outlier(self) -> bool:
        return bool(self.outlier)

    def is_out_of_band_membership(self) -> bool:
        return bool(self._data.get("out_of_band_membership", False))

    def get_send_on_behalf_of(self) -> Optional[str]:
        return self._data.get("send_on_behalf_of")

    def need_to_check_redaction(self) -> bool:
        return bool(self._data.get("recheck_redaction", False))

    def is_soft_failed(self) -> bool:
        return bool(self._data.get("soft_failed", False))

    def should_proactively_send(self) -> bool:
        return bool(self._data.get("proactively_send", True))

    def is_redacted(self) -> bool:
        return bool(self._data.get("redacted", False))

    def is_notifiable(self) -> bool:
        return not self.outlier or self.is_out_of_band_membership()

    def __repr__(self) -> str:
        return "<EventInternalMetadata %r outlier=%r stream_ordering=%r>" % (
            self.get_dict(),
            self.outlier,
            self.stream_ordering,
        )
