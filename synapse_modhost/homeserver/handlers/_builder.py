"""Building local events: the PDU's fields, content hash, signature and event ID.

Event IDs are the room version's (``$opaque:server`` for versions 1 and 2, reference
hashes from version 3; the create event of a version-12 room names the room); content
hashes are real. Signatures are placeholders of the right shape
(``{server: {"ed25519:<key id>": <unpadded base64>}}``), not verifiable ed25519
signatures: the stand-in does not federate, and an ed25519 signature per event (which
also releases and retakes the GIL) costs a fifth of the budget of a message send.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import secrets
import string
from typing import Any, Dict, List, Mapping, Optional, Tuple

from synapse_modhost.events import Event, RoomVersion
from synapse_modhost.events._json import canonical_json
from synapse_modhost.events._redaction import (
    _KEPT_TOP_LEVEL,
    _KEPT_TOP_LEVEL_BEFORE_V11,
    _kept_content,
)
from synapse_modhost.events._room_versions import EventFormatVersions

__all__ = ["EventSigner", "build_event", "random_string", "redacted_json"]

logger = logging.getLogger(__name__)

_LETTERS = string.ascii_letters


def random_string(length: int) -> str:
    """Random ASCII letters (Synapse's ``random_string``)."""
    return "".join(secrets.choice(_LETTERS) for _ in range(length))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).rstrip(b"=").decode("ascii")


class EventSigner:
    """Gives events the ``signatures`` of ``server_name``: a keyed SHA-512 digest of what
    a real signature covers, 64 bytes as an ed25519 signature is. The key ID is the one
    of the Synapse key file ``signing_key_path`` names, when readable."""

    def __init__(self, server_name: str, key_path: Optional[str] = None) -> None:
        self.server_name = server_name
        self.key_id = "ed25519:auto"
        self._secret = os.urandom(32)
        if key_path:
            self._read_key_id(key_path)

    def _read_key_id(self, path: str) -> None:
        try:
            with open(path, encoding="utf-8") as f:
                first = f.readline().split()
            if len(first) >= 2 and first[0] == "ed25519":
                self.key_id = "ed25519:" + first[1]
        except OSError as e:
            logger.info("Could not read %s (%s); events use the key ID ed25519:auto", path, e)

    def sign(self, redacted_json: bytes) -> Dict[str, Dict[str, str]]:
        """The ``signatures`` of a PDU, given :func:`redacted_json` of it."""
        digest = hashlib.sha512(self._secret + redacted_json).digest()
        return {self.server_name: {self.key_id: _b64(digest)}}


def redacted_json(room_version: RoomVersion, pdu: Mapping[str, Any]) -> bytes:
    """The canonical JSON of the redacted PDU without ``signatures`` and ``unsigned``:
    what is signed, and (room versions 3+) what the event ID hashes.

    The events package's redaction algorithm (``prune_event_dict``) without its deep
    copies: the result is only serialised, never kept.
    """
    kept = _KEPT_TOP_LEVEL
    if not room_version.updated_redaction_rules:
        kept = kept | _KEPT_TOP_LEVEL_BEFORE_V11
    redacted = {k: v for k, v in pdu.items() if k in kept and k != "signatures"}
    content = pdu.get("content")
    redacted["content"] = (
        _kept_content(room_version, pdu.get("type"), content) if isinstance(content, dict) else {}
    )
    return canonical_json(redacted)


def content_hash(pdu: Mapping[str, Any]) -> str:
    """``hashes.sha256``: over the PDU without ``unsigned``, ``signatures``, ``hashes``."""
    hashed = {
        k: v
        for k, v in pdu.items()
        if k not in ("unsigned", "signatures", "hashes", "age_ts", "outlier", "destinations")
    }
    return _b64(hashlib.sha256(canonical_json(hashed)).digest())


def build_event(
    room_version: RoomVersion,
    event_dict: Mapping[str, Any],
    *,
    prev_event_ids: List[str],
    auth_event_ids: List[str],
    depth: int,
    now_ms: int,
    signer: EventSigner,
    internal_metadata: Optional[Mapping[str, Any]] = None,
) -> Tuple[Event, Dict[str, Any]]:
    """A signed, hashed event from a client-style dict (``type``, ``sender``, ``content``,
    ``room_id``, and ``state_key``/``redacts``/``origin_server_ts`` when present), and its
    PDU as the plain dict it was built from (never changed afterwards)."""
    v1_format = room_version.event_format == EventFormatVersions.ROOM_V1_V2
    is_create = event_dict["type"] == "m.room.create" and event_dict.get("state_key") == ""
    if room_version.msc4291_room_ids_as_hashes and not is_create:
        create_id = "$" + str(event_dict["room_id"])[1:]
        auth_event_ids = [e for e in auth_event_ids if e != create_id]
    pdu: Dict[str, Any] = {
        "auth_events": _refs(auth_event_ids, v1_format),
        "prev_events": _refs(prev_event_ids, v1_format),
        "type": event_dict["type"],
        "sender": event_dict["sender"],
        "content": dict(event_dict.get("content") or {}),
        "depth": depth,
        "origin_server_ts": event_dict.get("origin_server_ts") or now_ms,
    }
    if not (room_version.msc4291_room_ids_as_hashes and is_create):
        pdu["room_id"] = event_dict["room_id"]
    if event_dict.get("state_key") is not None:
        pdu["state_key"] = event_dict["state_key"]
    if event_dict.get("redacts") is not None and not room_version.updated_redaction_rules:
        pdu["redacts"] = event_dict["redacts"]
    if v1_format:
        pdu["event_id"] = "$%s:%s" % (random_string(18), signer.server_name)
    pdu["hashes"] = {"sha256": content_hash(pdu)}
    signed = redacted_json(room_version, pdu)
    pdu["signatures"] = signer.sign(signed)
    unsigned = dict(event_dict.get("unsigned") or {})
    age = unsigned.pop("age", 0)
    unsigned.setdefault("age_ts", now_ms - (age if isinstance(age, int) else 0))
    pdu["unsigned"] = unsigned
    event = Event(pdu, room_version, internal_metadata)
    if not v1_format:
        # The reference hash is over the same bytes as the signature: spare recomputing it.
        digest = hashlib.sha256(signed).digest()
        if room_version.event_format == EventFormatVersions.ROOM_V3:
            encoded = base64.b64encode(digest)
        else:
            encoded = base64.urlsafe_b64encode(digest)
        event._event_id = "$" + encoded.rstrip(b"=").decode("ascii")
    return event, pdu


def _refs(event_ids: List[str], v1_format: bool) -> List[Any]:
    if v1_format:
        return [[e, {}] for e in event_ids]
    return list(event_ids)


def max_depth(depths: List[Tuple[str, int]]) -> int:
    return max((d for _, d in depths), default=0)
