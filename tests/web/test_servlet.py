"""synapse.http.servlet parsing helpers: values, error codes and exact texts."""

from __future__ import annotations

import enum
import io
from typing import Any, Callable, Dict, List, Optional

from twisted.trial.unittest import SynchronousTestCase

from synapse_modhost.errors import SynapseError
from synapse_modhost.web import (
    assert_params_in_dict,
    parse_boolean,
    parse_boolean_from_args,
    parse_bytes_from_args,
    parse_enum,
    parse_integer,
    parse_integer_from_args,
    parse_json,
    parse_json_object_from_request,
    parse_json_value_from_request,
    parse_string,
    parse_string_from_args,
    parse_strings_from_args,
)


class _FakeRequest:
    """Just what the helpers read: args, content, method and uri."""

    def __init__(
        self, args: Optional[Dict[bytes, List[bytes]]] = None, body: Optional[bytes] = b""
    ):
        self.args = args or {}
        self.content = io.BytesIO(body) if body is not None else None
        self.method = b"POST"
        self.uri = b"/x?access_token=secret"


class _Unreadable:
    def read(self) -> bytes:
        raise OSError("gone")


class _ErrorAssertions(SynchronousTestCase):
    def assertSynapseError(self, fn: Callable[[], Any], code: int, errcode: str, msg: str) -> None:
        with self.assertRaises(SynapseError) as cm:
            fn()
        e = cm.exception
        self.assertEqual((e.code, e.errcode, e.msg), (code, errcode, msg))


class JsonBodyTests(_ErrorAssertions):
    def test_object(self) -> None:
        """A JSON object body is returned as a dict."""
        self.assertEqual(
            parse_json_object_from_request(_FakeRequest(body=b'{"a": [1]}')), {"a": [1]}
        )  # type: ignore[arg-type]

    def test_not_json(self) -> None:
        """Invalid JSON or non-UTF-8 gives 400 M_NOT_JSON 'Content not JSON.'."""
        for body in (b"{", b"\xff\xfe", b""):
            self.assertSynapseError(
                lambda body=body: parse_json_object_from_request(_FakeRequest(body=body)),  # type: ignore[arg-type,misc]
                400,
                "M_NOT_JSON",
                "Content not JSON.",
            )

    def test_nan_and_infinity_rejected(self) -> None:
        """NaN, Infinity and -Infinity are not accepted as JSON."""
        for body in (b'{"a": NaN}', b"Infinity", b"[-Infinity]"):
            self.assertSynapseError(
                lambda body=body: parse_json_value_from_request(_FakeRequest(body=body)),  # type: ignore[arg-type,misc]
                400,
                "M_NOT_JSON",
                "Content not JSON.",
            )

    def test_not_an_object(self) -> None:
        """A JSON value that is not an object gives 400 M_BAD_JSON 'Content must be a JSON object.'."""
        self.assertSynapseError(
            lambda: parse_json_object_from_request(_FakeRequest(body=b"[1]")),  # type: ignore[arg-type]
            400,
            "M_BAD_JSON",
            "Content must be a JSON object.",
        )

    def test_unreadable(self) -> None:
        """An unreadable body gives 400 M_UNKNOWN 'Error reading JSON content.'."""
        req = _FakeRequest()
        req.content = _Unreadable()  # type: ignore[assignment]
        self.assertSynapseError(
            lambda: parse_json_object_from_request(req),  # type: ignore[arg-type]
            400,
            "M_UNKNOWN",
            "Error reading JSON content.",
        )
        no_content = _FakeRequest(body=None)
        self.assertSynapseError(
            lambda: parse_json_value_from_request(no_content),  # type: ignore[arg-type]
            400,
            "M_UNKNOWN",
            "Error reading JSON content.",
        )

    def test_empty_body_allowed(self) -> None:
        """With allow_empty_body an empty body is {} (object) or None (value)."""
        self.assertEqual(parse_json_object_from_request(_FakeRequest(), allow_empty_body=True), {})  # type: ignore[arg-type]
        self.assertIsNone(parse_json_value_from_request(_FakeRequest(), allow_empty_body=True))  # type: ignore[arg-type]

    def test_value(self) -> None:
        """parse_json_value_from_request returns any JSON value."""
        self.assertEqual(parse_json_value_from_request(_FakeRequest(body=b'"s"')), "s")  # type: ignore[arg-type]


class IntegerTests(_ErrorAssertions):
    def test_values(self) -> None:
        """Integers parse; absent gives the default."""
        args = {b"n": [b"12"], b"neg": [b"-3"]}
        self.assertEqual(parse_integer_from_args(args, "n"), 12)
        self.assertEqual(parse_integer_from_args(args, "missing", default=5), 5)
        self.assertEqual(parse_integer_from_args(args, "neg", negative=True), -3)
        self.assertEqual(parse_integer(_FakeRequest(args), "n"), 12)  # type: ignore[arg-type]

    def test_errors(self) -> None:
        """Missing-required, non-integer and negative values give Synapse's 400 errors."""
        args = {b"bad": [b"x"], b"neg": [b"-1"]}
        self.assertSynapseError(
            lambda: parse_integer_from_args(args, "n", required=True),
            400,
            "M_MISSING_PARAM",
            "Missing required integer query parameter n",
        )
        self.assertSynapseError(
            lambda: parse_integer_from_args(args, "bad"),
            400,
            "M_INVALID_PARAM",
            "Query parameter bad must be an integer",
        )
        self.assertSynapseError(
            lambda: parse_integer_from_args(args, "neg"),
            400,
            "M_INVALID_PARAM",
            "Query parameter neg must be a positive integer.",
        )


class BooleanTests(_ErrorAssertions):
    def test_values(self) -> None:
        """'true'/'false' parse; absent gives the default."""
        args = {b"t": [b"true"], b"f": [b"false"]}
        self.assertIs(parse_boolean_from_args(args, "t"), True)
        self.assertIs(parse_boolean_from_args(args, "f"), False)
        self.assertIs(parse_boolean_from_args(args, "x", default=True), True)
        self.assertIs(parse_boolean(_FakeRequest(args), "t"), True)  # type: ignore[arg-type]

    def test_errors(self) -> None:
        """Other values and missing-required give Synapse's 400 errors."""
        self.assertSynapseError(
            lambda: parse_boolean_from_args({b"b": [b"1"]}, "b"),
            400,
            "M_INVALID_PARAM",
            "Boolean query parameter 'b' must be one of ['true', 'false']",
        )
        self.assertSynapseError(
            lambda: parse_boolean_from_args({}, "b", required=True),
            400,
            "M_MISSING_PARAM",
            "Missing boolean query parameter 'b'",
        )


class StringTests(_ErrorAssertions):
    def test_values(self) -> None:
        """Strings decode; the first value is used; lists return every value."""
        args = {b"s": [b"one", b"two"], b"u": ["é".encode()]}
        self.assertEqual(parse_string_from_args(args, "s"), "one")
        self.assertEqual(parse_strings_from_args(args, "s"), ["one", "two"])
        self.assertEqual(parse_string_from_args(args, "u", encoding="utf-8"), "é")
        self.assertEqual(parse_string_from_args(args, "x", default="d"), "d")
        self.assertIsNone(parse_string_from_args(args, "x"))
        self.assertEqual(
            parse_string(_FakeRequest({b"s": [b"one"]}), "s", allowed_values=["one"]), "one"
        )  # type: ignore[arg-type]
        self.assertEqual(parse_bytes_from_args(args, "s"), b"one")
        self.assertEqual(parse_bytes_from_args(args, "x", default=b"d"), b"d")

    def test_errors(self) -> None:
        """Missing-required, bad encoding and disallowed values give Synapse's 400 errors."""
        args = {b"u": ["é".encode()], b"s": [b"three"]}
        self.assertSynapseError(
            lambda: parse_string_from_args(args, "x", required=True),
            400,
            "M_MISSING_PARAM",
            "Missing string query parameter 'x'",
        )
        self.assertSynapseError(
            lambda: parse_string_from_args(args, "u"),
            400,
            "M_UNKNOWN",
            "Query parameter 'u' must be ascii",
        )
        self.assertSynapseError(
            lambda: parse_string_from_args(args, "s", allowed_values=["one", "two"]),
            400,
            "M_INVALID_PARAM",
            "Query parameter 's' must be one of ['one', 'two']",
        )
        self.assertSynapseError(
            lambda: parse_bytes_from_args(args, "x", required=True),
            400,
            "M_MISSING_PARAM",
            "Missing string query parameter x",
        )


class OtherHelperTests(_ErrorAssertions):
    def test_parse_json_query(self) -> None:
        """parse_json decodes a URL-quoted JSON query value; bad JSON is 400 M_NOT_JSON."""
        req = _FakeRequest({b"filter": [b"%7B%22a%22%3A1%7D"], b"bad": [b"{"]})
        self.assertEqual(parse_json(req, "filter"), {"a": 1})  # type: ignore[arg-type]
        self.assertSynapseError(
            lambda: parse_json(req, "bad"),  # type: ignore[arg-type]
            400,
            "M_NOT_JSON",
            "Query parameter bad must be a valid JSON object",
        )

    def test_parse_enum(self) -> None:
        """parse_enum maps to members and rejects other values."""

        class Dir(enum.Enum):
            F = "f"
            B = "b"

        req = _FakeRequest({b"dir": [b"b"], b"bad": [b"x"]})
        self.assertIs(parse_enum(req, "dir", Dir), Dir.B)  # type: ignore[arg-type]
        self.assertIs(parse_enum(req, "none", Dir, default=Dir.F), Dir.F)  # type: ignore[arg-type]
        self.assertSynapseError(
            lambda: parse_enum(req, "bad", Dir),  # type: ignore[arg-type]
            400,
            "M_INVALID_PARAM",
            "Query parameter 'bad' must be one of ['f', 'b']",
        )

    def test_assert_params_in_dict(self) -> None:
        """Every absent key is listed in one 400 M_MISSING_PARAM."""
        assert_params_in_dict({"a": 1}, ["a"])
        self.assertSynapseError(
            lambda: assert_params_in_dict({"a": 1}, ["a", "b", "c"]),
            400,
            "M_MISSING_PARAM",
            "Missing params: ['b', 'c']",
        )
