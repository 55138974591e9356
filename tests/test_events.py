"""The event object modules receive (MODULEAPI.md §4.1), its IDs and its client format."""

from __future__ import annotations

import copy
import datetime
import json
import pickle
from typing import Any, Dict, Optional

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from synapse_modhost.errors import SynapseError
from synapse_modhost.events import Event, EventBase, make_event_from_dict, make_event_from_json
from synapse_modhost.events._room_versions import KNOWN_ROOM_VERSIONS, RoomVersions
from synapse_modhost.events.utils import (
    format_event_for_client_v1,
    format_event_for_client_v2,
    format_event_for_client_v2_without_room_id,
    prune_event,
    serialize_event,
)
from synapse_modhost.types import create_requester


def pdu(**overrides: Any) -> Dict[str, Any]:
    """A valid room-v10 PDU (a message) with ``overrides`` applied."""
    d: Dict[str, Any] = {
        "type": "m.room.message",
        "room_id": "!r:test",
        "sender": "@a:test",
        "content": {"body": "x", "nested": {"list": [1, {"k": "v"}]}},
        "depth": 1,
        "origin_server_ts": 1,
        "prev_events": [],
        "auth_events": [],
        "hashes": {},
        "signatures": {},
    }
    d.update(overrides)
    return d


def member(membership: Optional[str] = "join", version: str = "10", **kw: Any) -> Event:
    content = {} if membership is None else {"membership": membership}
    return make_event_from_dict(
        pdu(type="m.room.member", state_key="@bob:test", content=content, **kw), version
    )


class PropertyTests(SynchronousTestCase):
    """Read-only properties."""

    def test_basic_properties(self) -> None:
        """type, sender, user_id, room_id, depth, origin_server_ts come from the PDU."""
        e = make_event_from_dict(pdu(depth=7, origin_server_ts=99), "10")
        self.assertEqual(
            (e.type, e.sender, e.user_id, e.room_id, e.depth, e.origin_server_ts),
            ("m.room.message", "@a:test", "@a:test", "!r:test", 7, 99),
        )

    def test_properties_read_only(self) -> None:
        """Assigning a property or a new attribute raises AttributeError."""
        e = make_event_from_dict(pdu(), "10")
        with self.assertRaises(AttributeError):
            e.sender = "@x:test"  # type: ignore[misc]
        with self.assertRaises(AttributeError):
            e.something = 1  # type: ignore[attr-defined]

    def test_state_key_on_non_state_event(self) -> None:
        """``state_key`` raises AttributeError on a non-state event; get_state_key() is None."""
        e = make_event_from_dict(pdu(), "10")
        with self.assertRaises(AttributeError):
            e.state_key  # noqa: B018
        self.assertIsNone(e.get_state_key())
        self.assertFalse(e.is_state())

    def test_state_key_on_state_event(self) -> None:
        """A state event has ``state_key`` (also the empty string) and is_state()."""
        e = make_event_from_dict(pdu(type="m.room.topic", state_key=""), "10")
        self.assertEqual(e.state_key, "")
        self.assertEqual(e.get_state_key(), "")
        self.assertTrue(e.is_state())

    def test_membership(self) -> None:
        """``membership`` reads content; KeyError('membership') when absent."""
        self.assertEqual(member("invite").membership, "invite")
        with self.assertRaises(KeyError) as cm:
            member(None).membership  # noqa: B018
        self.assertEqual(cm.exception.args, ("membership",))

    def test_redacts(self) -> None:
        """``redacts`` is None normally; top-level before v11, from content from v11."""
        self.assertIsNone(make_event_from_dict(pdu(), "10").redacts)
        red = pdu(type="m.room.redaction", redacts="$top", content={"redacts": "$c"})
        self.assertEqual(make_event_from_dict(red, "10").redacts, "$top")
        self.assertEqual(make_event_from_dict(red, "11").redacts, "$c")

    def test_room_version_and_format(self) -> None:
        """``room_version.identifier`` and ``format_version`` follow the room version."""
        e = make_event_from_dict(pdu(), "10")
        self.assertEqual(e.room_version.identifier, "10")
        self.assertEqual(e.room_version, RoomVersions.V10)
        self.assertEqual(e.format_version, 3)
        self.assertEqual(make_event_from_dict(pdu(room_id="!r"), "12").format_version, 4)

    def test_hashes_and_signatures(self) -> None:
        """``hashes`` is a fresh dict copy; ``signatures`` is a Signatures object."""
        e = make_event_from_dict(pdu(hashes={"sha256": "h"}, signatures={"s": {"k": "v"}}), "10")
        e.hashes["sha256"] = "changed"
        self.assertEqual(e.hashes, {"sha256": "h"})
        self.assertEqual(e.signatures.get_signature("s", "k"), "v")
        self.assertIn("s", e.signatures)
        self.assertEqual(e.signatures.as_dict(), {"s": {"k": "v"}})

    def test_rejected_reason(self) -> None:
        """``rejected_reason`` is what the event was built with."""
        e = make_event_from_dict(pdu(), "10", rejected_reason="auth_error")
        self.assertEqual(e.rejected_reason, "auth_error")
        self.assertIsNone(make_event_from_dict(pdu(), "10").rejected_reason)

    def test_internal_metadata(self) -> None:
        """Internal metadata: persisted fields from the dict, outlier/stream_ordering settable."""
        e = make_event_from_dict(pdu(), "10", {"txn_id": "T", "token_id": 3, "outlier": True})
        meta = e.internal_metadata
        self.assertEqual((meta.txn_id, meta.token_id), ("T", 3))
        self.assertFalse(meta.is_outlier())  # not read from the dict, as on Synapse
        meta.outlier = True
        meta.stream_ordering = 12
        self.assertTrue(meta.is_outlier())
        self.assertEqual(meta.stream_ordering, 12)
        with self.assertRaises(AttributeError):
            meta.device_id  # noqa: B018
        self.assertEqual(meta.get_dict(), {"txn_id": "T", "token_id": 3})

    def test_eventbase_alias(self) -> None:
        """``EventBase`` is the event class (for isinstance checks)."""
        self.assertIs(EventBase, Event)
        self.assertIsInstance(make_event_from_dict(pdu(), "10"), EventBase)


class ContentTests(SynchronousTestCase):
    """``content``: read-only for the event, copyable for modules."""

    def setUp(self) -> None:
        self.event = make_event_from_dict(pdu(), "10")

    def test_item_assignment_raises(self) -> None:
        """``event.content["x"] = 1`` raises TypeError, as on Synapse."""
        with self.assertRaises(TypeError):
            self.event.content["x"] = 1
        with self.assertRaises(TypeError):
            self.event.content.update({"x": 1})
        with self.assertRaises(TypeError):
            del self.event.content["body"]

    def test_nested_values_are_copies(self) -> None:
        """Mutating a nested value read from content does not change the event."""
        nested = self.event.content["nested"]
        nested["list"].append(2)
        nested["new"] = True
        self.assertEqual(self.event.content["nested"], {"list": [1, {"k": "v"}]})

    def test_copy_is_deep_and_mutable(self) -> None:
        """``content.copy()`` is a plain mutable dict; changing it leaves the event alone."""
        c = self.event.content.copy()
        self.assertIs(type(c), dict)
        c["body"] = "changed"
        c["nested"]["list"][1]["k"] = "changed"
        self.assertEqual(self.event.content["body"], "x")
        self.assertEqual(self.event.content["nested"]["list"][1], {"k": "v"})

    def test_deepcopy(self) -> None:
        """``copy.deepcopy(content)`` works (Synapse's JsonObject cannot) and is independent."""
        c = copy.deepcopy(self.event.content)
        c["nested"]["list"].append(3)
        self.assertEqual(c["nested"]["list"], [1, {"k": "v"}, 3])
        self.assertEqual(self.event.content["nested"]["list"], [1, {"k": "v"}])

    def test_dict_compatibility(self) -> None:
        """content is a dict: equality, json.dumps, dict(), pickle all work."""
        content = self.event.content
        expected = {"body": "x", "nested": {"list": [1, {"k": "v"}]}}
        self.assertIsInstance(content, dict)
        self.assertEqual(content, expected)
        self.assertEqual(json.loads(json.dumps(content)), expected)
        self.assertEqual(pickle.loads(pickle.dumps(content)), expected)
        self.assertEqual(dict(content), expected)

    def test_shallow_dict_copy_cannot_reach_stored_values(self) -> None:
        """Even ``dict(content)`` gives nested values that refuse mutation."""
        shallow = dict(self.event.content)
        with self.assertRaises(TypeError):
            shallow["nested"]["new"] = 1
        shallow["nested"]["list"].append(5)
        self.assertEqual(self.event.content["nested"], {"list": [1, {"k": "v"}]})

    def test_source_dict_not_shared(self) -> None:
        """Changing the dict the event was built from does not change the event."""
        d = pdu()
        e = make_event_from_dict(d, "10")
        d["content"]["body"] = "changed"
        self.assertEqual(e.content["body"], "x")


class UnsignedTests(SynchronousTestCase):
    """``unsigned`` keeps only known keys."""

    def test_unknown_keys_dropped(self) -> None:
        """Unknown unsigned keys are dropped at construction; known ones kept."""
        e = make_event_from_dict(
            pdu(unsigned={"age_ts": 5, "foo": 1, "replaces_state": "$r"}), "10"
        )
        self.assertEqual(e.unsigned.for_event(), {"age_ts": 5, "replaces_state": "$r"})
        self.assertEqual(e.get_dict()["unsigned"], {"age_ts": 5, "replaces_state": "$r"})

    def test_getitem_missing(self) -> None:
        """``unsigned["x"]`` raises KeyError; ``.get`` returns the default; ``in`` works."""
        e = make_event_from_dict(pdu(unsigned={"age_ts": 5}), "10")
        with self.assertRaises(KeyError):
            e.unsigned["foo"]
        self.assertIsNone(e.unsigned.get("foo"))
        self.assertEqual(e.unsigned["age_ts"], 5)
        self.assertIn("age_ts", e.unsigned)

    def test_set_known_key_only(self) -> None:
        """Known keys can be set; unknown ones raise KeyError."""
        e = make_event_from_dict(pdu(), "10")
        e.unsigned["prev_content"] = {"a": 1}
        self.assertEqual(e.unsigned["prev_content"], {"a": 1})
        with self.assertRaises(KeyError):
            e.unsigned["transaction_id"] = "t"


class MappingTests(SynchronousTestCase):
    """Mapping-style access to the top-level PDU keys."""

    def test_getitem_get_contains(self) -> None:
        """``event["type"]``, ``event.get("membership")`` (None), ``"content" in event``."""
        e = make_event_from_dict(pdu(), "10")
        self.assertEqual(e["type"], "m.room.message")
        self.assertIsNone(e.get("membership"))
        self.assertEqual(e.get("missing", 5), 5)
        self.assertIn("content", e)
        self.assertNotIn("event_id", e)
        with self.assertRaises(KeyError):
            e["missing"]

    def test_keys_items(self) -> None:
        """``keys()``/``items()`` list the PDU's keys and values (as get_dict())."""
        e = make_event_from_dict(pdu(), "10")
        self.assertEqual(sorted(e.keys()), sorted(e.get_dict()))
        self.assertEqual(dict(e.items()), e.get_dict())


class GetDictTests(SynchronousTestCase):
    """``get_dict()`` is the PDU, not the client format."""

    def test_pdu_keys(self) -> None:
        """get_dict() has the PDU keys and no event_id/age/user_id for v3+ rooms."""
        d = make_event_from_dict(pdu(unsigned={"age_ts": 3}), "10").get_dict()
        self.assertEqual(
            set(d),
            {"signatures", "unsigned", "auth_events", "prev_events", "room_id", "content",
             "depth", "hashes", "origin_server_ts", "sender", "type"},
        )  # fmt: skip
        self.assertNotIn("age", d["unsigned"])

    def test_event_id_only_in_v1_v2(self) -> None:
        """``event_id`` is in get_dict() for room versions 1 and 2 only."""
        refs = {"prev_events": [["$p:test", {}]], "auth_events": [["$a:test", {"sha256": "x"}]]}
        v1 = make_event_from_dict(pdu(event_id="$e:test", **refs), "1")
        self.assertEqual(v1.get_dict()["event_id"], "$e:test")
        self.assertEqual(v1.event_id, "$e:test")
        self.assertEqual(v1.prev_event_ids(), ["$p:test"])
        self.assertEqual(v1.auth_event_ids(), ["$a:test"])
        v3 = make_event_from_dict(pdu(event_id="$ignored:test"), "3")
        self.assertNotIn("event_id", v3.get_dict())
        self.assertNotEqual(v3.event_id, "$ignored:test")

    def test_v12_create_has_no_room_id(self) -> None:
        """A room-v12 create event has no room_id in get_dict(); room_id derives from its ID."""
        create = pdu(type="m.room.create", state_key="", content={"room_version": "12", "x": 1},
                     hashes={"sha256": "abc"}, signatures={"test": {"k": "s"}},
                     unsigned={"age_ts": 3})  # fmt: skip
        del create["room_id"]
        e = make_event_from_dict(create, "12")
        self.assertEqual(e.event_id, "$WYNgXSaWZq7JO7s8cAJvsoSEfQpeN9NARYsjcsYpsF4")
        self.assertEqual(e.room_id, "!WYNgXSaWZq7JO7s8cAJvsoSEfQpeN9NARYsjcsYpsF4")
        self.assertNotIn("room_id", e.get_dict())

    def test_v12_auth_events_include_create(self) -> None:
        """From room v12, auth_event_ids() adds the create event derived from the room ID."""
        e = make_event_from_dict(pdu(room_id="!abc", auth_events=["$x"]), "12")
        self.assertEqual(e.auth_event_ids(), ["$x", "$abc"])
        self.assertEqual(e.get_dict()["auth_events"], ["$x"])

    def test_get_pdu_json_age(self) -> None:
        """get_pdu_json(now) replaces unsigned.age_ts with age; without now it is kept."""
        e = make_event_from_dict(pdu(unsigned={"age_ts": 5}), "10")
        self.assertEqual(e.get_pdu_json(100)["unsigned"], {"age": 95})
        self.assertEqual(e.get_pdu_json()["unsigned"], {"age_ts": 5})

    def test_get_dict_is_a_copy(self) -> None:
        """Mutating get_dict()'s result does not change the event."""
        e = make_event_from_dict(pdu(), "10")
        d = e.get_dict()
        d["content"]["body"] = "changed"
        self.assertEqual(e.content["body"], "x")


class EventIdTests(SynchronousTestCase):
    """Event IDs are reference hashes from room v3 (values observed on Synapse 1.163.2)."""

    def _member(self, version: str) -> Event:
        return make_event_from_dict(
            pdu(type="m.room.member", state_key="@a:test",
                content={"membership": "join", "displayname": "A"},
                prev_events=["$x"], auth_events=["$y"], hashes={"sha256": "h"}),
            version,
        )  # fmt: skip

    def test_v3_standard_base64(self) -> None:
        """Room v3 uses standard base64."""
        self.assertEqual(self._member("3").event_id, "$Ze/V4PpX/3XQRj4gIMt153q79zTvnYUUMWFKY+Keu5c")

    def test_v4_plus_urlsafe(self) -> None:
        """Room v4 and later use URL-safe base64 (same hash here: redaction keeps the same keys)."""
        for version in ("4", "10", "11", "12"):
            self.assertEqual(
                self._member(version).event_id, "$Ze_V4PpX_3XQRj4gIMt153q79zTvnYUUMWFKY-Keu5c"
            )

    def test_content_outside_redaction_ignored(self) -> None:
        """Content that redaction removes does not change the ID."""
        a = make_event_from_dict(pdu(content={"body": "x", "membership": "join"}), "10")
        b = make_event_from_dict(pdu(content={"body": "x"}), "10")
        self.assertEqual(a.event_id, "$vdB32uT9_GujdRwSBy9zQhNEikSzyCbp4Kpkx5mGs3c")
        self.assertEqual(a.event_id, b.event_id)


class IdentityAndReprTests(SynchronousTestCase):
    """Equality, hashing, deep_copy and repr."""

    def test_identity_equality(self) -> None:
        """Equality is identity: a deep copy is not equal; events are hashable."""
        e = make_event_from_dict(pdu(), "10")
        c = e.deep_copy()
        self.assertEqual(e, e)
        self.assertNotEqual(e, c)
        self.assertEqual(len({e, c}), 2)
        self.assertEqual(c.event_id, e.event_id)

    def test_deep_copy_independent(self) -> None:
        """deep_copy() copies unsigned and internal metadata independently."""
        e = make_event_from_dict(pdu(unsigned={"age_ts": 1}), "10", {"txn_id": "T"})
        e.internal_metadata.outlier = True
        c = e.deep_copy()
        c.unsigned["age_ts"] = 2
        c.internal_metadata.txn_id = "U"
        self.assertEqual(e.unsigned["age_ts"], 1)
        self.assertEqual(e.internal_metadata.txn_id, "T")
        self.assertTrue(c.internal_metadata.is_outlier())

    def test_repr_member(self) -> None:
        """Member events show state_key and membership."""
        e = member("join")
        self.assertEqual(
            repr(e),
            "<Event event_id=%s, type=m.room.member, state_key=@bob:test, membership=join>"
            % (e.event_id,),
        )

    def test_repr_non_state_and_rejected(self) -> None:
        """Non-state events show only id and type; rejected ones are flagged first."""
        e = make_event_from_dict(pdu(), "10")
        self.assertEqual(repr(e), "<Event event_id=%s, type=m.room.message>" % (e.event_id,))
        r = make_event_from_dict(pdu(type="m.room.topic", state_key=""), "10", None, "auth_error")
        self.assertEqual(
            repr(r),
            "<Event REJECTED=auth_error, event_id=%s, type=m.room.topic, state_key=>"
            % (r.event_id,),
        )

    def test_sticky_duration(self) -> None:
        """sticky_duration() reads msc4354_sticky.duration_ms, else None."""
        self.assertIsNone(make_event_from_dict(pdu(), "12").sticky_duration())
        e = make_event_from_dict(pdu(msc4354_sticky={"duration_ms": 5000}), "12")
        self.assertEqual(e.sticky_duration(), datetime.timedelta(seconds=5))


class ConstructionTests(SynchronousTestCase):
    """Building events."""

    def test_invalid_pdu(self) -> None:
        """A malformed PDU gives SynapseError(400, "Invalid event JSON", M_BAD_JSON)."""
        for bad in (pdu(depth="1"), pdu(content=[]), {"type": "x"}, pdu(prev_events=[1])):
            with self.assertRaises(SynapseError) as cm:
                make_event_from_dict(bad, "10")
            self.assertEqual(cm.exception.code, 400)
            self.assertEqual(cm.exception.error_dict(None)["errcode"], "M_BAD_JSON")

    def test_missing_room_id_allowed_only_for_v12_create(self) -> None:
        """room_id may be absent only on a room-v12 create event."""
        d = pdu(type="m.room.create", state_key="")
        del d["room_id"]
        make_event_from_dict(d, "12")
        with self.assertRaises(SynapseError):
            make_event_from_dict(d, "11")

    def test_from_json(self) -> None:
        """Events can be built from the stored JSON text."""
        e = make_event_from_json(json.dumps(pdu()), "10")
        self.assertEqual(e.content["body"], "x")
        self.assertEqual(Event(json.dumps(pdu()).encode(), "10").type, "m.room.message")

    def test_known_room_versions(self) -> None:
        """Room versions 1 to 12 are known, by identifier."""
        self.assertEqual(sorted(KNOWN_ROOM_VERSIONS, key=int), [str(i) for i in range(1, 13)])


class ClientFormatTests(SynchronousTestCase):
    """The client format (values match Synapse 1.163.2's serializer)."""

    def test_format_v2_drops_federation_keys(self) -> None:
        """format_event_for_client_v2 removes auth/prev events, hashes, signatures, depth, origin."""
        d = format_event_for_client_v2(make_event_from_dict(pdu(origin="o"), "10").get_dict())
        self.assertEqual(
            set(d), {"unsigned", "room_id", "content", "origin_server_ts", "sender", "type"}
        )

    def test_format_v1_adds_user_id_and_hoists(self) -> None:
        """The v1 format adds user_id and copies some unsigned keys to the top level."""
        d = format_event_for_client_v1(
            {"sender": "@a:t", "unsigned": {"age": 3, "prev_sender": "x"}}
        )
        self.assertEqual(d, {"sender": "@a:t", "user_id": "@a:t", "age": 3,
                             "unsigned": {"age": 3, "prev_sender": "x"}})  # fmt: skip

    def test_format_without_room_id(self) -> None:
        """format_event_for_client_v2_without_room_id also drops room_id."""
        d = format_event_for_client_v2_without_room_id({"room_id": "!r", "depth": 1, "type": "t"})
        self.assertEqual(d, {"type": "t"})

    def test_serialize_event(self) -> None:
        """serialize_event: event_id, unsigned.age from the clock, transaction_id for the sender."""
        e = make_event_from_dict(
            pdu(unsigned={"age_ts": 4, "prev_content": {"m": 1}}),
            "10",
            {"txn_id": "T1", "token_id": 5},
        )
        clock = Clock()
        clock.advance(1)
        out = serialize_event(e, clock, requester=create_requester("@a:test", access_token_id=5))
        self.assertEqual(
            out,
            {"content": {"body": "x", "nested": {"list": [1, {"k": "v"}]}},
             "event_id": e.event_id, "origin_server_ts": 1, "room_id": "!r:test",
             "sender": "@a:test", "type": "m.room.message",
             "unsigned": {"age": 996, "prev_content": {"m": 1}, "transaction_id": "T1"}},
        )  # fmt: skip
        self.assertEqual(list(out), sorted(out))

    def test_serialize_other_requester_no_txn_id(self) -> None:
        """Another user, or another token and device, does not see transaction_id."""
        e = make_event_from_dict(pdu(), "10", {"txn_id": "T1", "token_id": 5})
        other = serialize_event(e, 0, requester=create_requester("@b:test", access_token_id=5))
        self.assertNotIn("transaction_id", other["unsigned"])
        token = serialize_event(e, 0, requester=create_requester("@a:test", access_token_id=6))
        self.assertNotIn("transaction_id", token["unsigned"])

    def test_serialize_additions_do_not_override(self) -> None:
        """Module unsigned additions are added but never replace server keys."""
        e = make_event_from_dict(pdu(unsigned={"age_ts": 3}), "12")
        out = serialize_event(e, 10, unsigned_additions={"zz": 1, "age": 99})
        self.assertEqual(out["unsigned"], {"age": 7, "zz": 1})

    def test_serialize_redaction_both_places(self) -> None:
        """A redaction's target appears both top-level and in content."""
        e = make_event_from_dict(pdu(type="m.room.redaction", content={}, redacts="$x"), "10")
        out = serialize_event(e, 0)
        self.assertEqual((out["redacts"], out["content"]["redacts"]), ("$x", "$x"))

    def test_prune_event(self) -> None:
        """prune_event keeps the ID, strips content per redaction rules, marks redacted."""
        e = make_event_from_dict(
            pdu(type="m.room.member", state_key="@a:test",
                content={"membership": "join", "displayname": "x"},
                unsigned={"age_ts": 4, "prev_content": {"a": 1}, "replaces_state": "$r"}),
            "10",
        )  # fmt: skip
        p = prune_event(e)
        self.assertEqual(p.event_id, e.event_id)
        self.assertEqual(p.content, {"membership": "join"})
        self.assertEqual(p.unsigned.for_event(), {"age_ts": 4, "replaces_state": "$r"})
        self.assertTrue(p.internal_metadata.is_redacted())
