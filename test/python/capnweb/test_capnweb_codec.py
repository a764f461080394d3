"""The expression encoding, kind by kind, against the forms protocol.md gives."""

import datetime
import math

import capnweb
import pytest
from capnweb import codec
from capnweb.errors import RpcError, RpcRangeError, RpcTypeError

UTC = datetime.UTC


@pytest.mark.parametrize(
    "value, wire",
    [
        (None, None),
        (True, True),
        ("s", "s"),
        (1.5, 1.5),
        (42, 42),
        (2**53 - 1, 2**53 - 1),
        (2**53, ["bigint", "9007199254740992"]),
        (-(2**70), ["bigint", "-1180591620717411303424"]),
        (capnweb.BigInt(5), ["bigint", "5"]),
        (math.inf, ["inf"]),
        (-math.inf, ["-inf"]),
        (capnweb.undefined, ["undefined"]),
        ([1, "a"], [[1, "a"]]),
        ((1, 2), [[1, 2]]),
        ([], [[]]),
        ([[1]], [[[[1]]]]),
        ({"key": ["abc", [0]]}, {"key": [["abc", [[0]]]]}),
        (b"\x00\x01\x02\xfa\xff", ["bytes", "AAEC+v8"]),
        (bytearray(b"hi"), ["bytes", "aGk"]),
        (b"", ["bytes", ""]),
        (datetime.datetime(2025, 6, 8, 0, 22, 50, 815000, tzinfo=UTC), ["date", 1749342170815]),
        (datetime.datetime(1970, 1, 1), ["date", 0]),
        (TypeError("bad"), ["error", "TypeError", "bad"]),
        (ValueError("v"), ["error", "RangeError", "v"]),
        (RuntimeError("r"), ["error", "Error", "r"]),
        (RpcError("m", "SyntaxError"), ["error", "SyntaxError", "m"]),
    ],
)
def test_encode(value, wire):
    assert codec.encode(value) == wire


def test_nan_encodes_and_decodes():
    assert codec.encode(math.nan) == ["nan"]
    assert math.isnan(codec.decode(["nan"]))


@pytest.mark.parametrize(
    "wire, value",
    [
        ([["just", "an", "array"]], ["just", "an", "array"]),
        (
            {"key": [["abc", ["date", 1757214689123], [[0]]]]},
            {"key": ["abc", datetime.datetime(2025, 9, 7, 3, 11, 29, 123000, tzinfo=UTC), [0]]},
        ),
        (["undefined"], None),
        (["inf"], math.inf),
        (["-inf"], -math.inf),
        (["bigint", "123456789012345678901234567890"], 123456789012345678901234567890),
        (["bytes", "AAEC+v8"], b"\x00\x01\x02\xfa\xff"),
        (["bytes", "AAEC+v8=", "Uint8Array"], b"\x00\x01\x02\xfa\xff"),
        (["date", None], None),
        ({"a": {"b": [[1, ["undefined"]]]}}, {"a": {"b": [1, None]}}),
    ],
)
def test_decode(wire, value):
    assert codec.decode(wire) == value


def test_decoded_kinds_keep_their_meaning():
    assert type(codec.decode(["bigint", "5"])) is capnweb.BigInt
    error = codec.decode(["error", "TypeError", "boom", "stack here"])
    assert isinstance(error, RpcTypeError) and isinstance(error, TypeError)
    assert (error.name, error.message, error.stack) == ("TypeError", "boom", "stack here")
    assert isinstance(codec.decode(["error", "RangeError", "r"]), RpcRangeError)
    with_props = codec.decode(
        ["error", "Error", "m", None, {"code": 7, "cause": ["error", "Error", "inner"]}]
    )
    assert with_props.props["code"] == 7 and with_props.props["cause"].message == "inner"


def test_round_trip_through_json_text():
    value = {
        "n": [1, 2.5, None, True],
        "big": capnweb.BigInt(2**80),
        "bytes": b"\xff" * 7,
        "when": datetime.datetime(2030, 1, 1, tzinfo=UTC),
        "nested": [[[]]],
        "text": "é\u2028",
    }
    assert capnweb.deserialize(capnweb.serialize(value)) == value


@pytest.mark.parametrize(
    "wire, message",
    [
        (["nosuch", 1], "unknown special value"),
        (["bigint", 5], "unknown special value"),
        (["date", "yesterday"], "unknown special value"),
        (["bytes", "!!!"], "invalid base64"),
        (["headers", []], "does not support the 'headers' expression"),
        (["export", -1], "Can't deserialize RPC stubs"),
    ],
)
def test_malformed_expressions_are_type_errors(wire, message):
    with pytest.raises(TypeError, match=message):
        codec.decode(wire)


def test_limits():
    limits = codec.Limits(max_depth=8, max_bigint_digits=10)
    caps = codec.Capabilities()
    caps.limits = limits
    deep = 1
    for _ in range(8):
        deep = {"a": deep}
    with pytest.raises(TypeError, match="maximum allowed message depth of 8"):
        codec.decode(deep, caps)
    with pytest.raises(TypeError, match="maximum length of 10 digits"):
        codec.decode(["bigint", "12345678901"], caps)
    assert codec.decode(["bigint", "1234567890"], caps) == 1234567890


@pytest.mark.parametrize(
    "value, message",
    [
        ({1: "x"}, "dict key of type int"),
        (object(), "Cannot serialize RPC stubs in this context"),
    ],
)
def test_unserializable_values(value, message):
    with pytest.raises(TypeError, match=r"Can't serialize|dict key"):
        codec.encode(value)


def test_cycles_are_refused():
    cycle = []
    cycle.append(cycle)
    with pytest.raises(ValueError, match="maximum allowed depth"):
        codec.encode(cycle)
