"""Property tests of capnweb's expression codec: any JSON a peer sends decodes or raises
TypeError (the error the session turns into an abort), never another exception; every
value the codec supports survives encode -> JSON -> decode."""

import datetime
import json

from capnweb import codec
from hypothesis import given, settings
from hypothesis import strategies as st

TAGS = [
    "bigint",
    "date",
    "bytes",
    "error",
    "undefined",
    "inf",
    "-inf",
    "nan",
    "export",
    "import",
    "promise",
    "pipeline",
    "remap",
    "stream",
    "writable",
    "readable",
    "headers",
    "request",
    "response",
    "x",
]

json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=10),
    st.sampled_from(TAGS),
)
json_tree = st.recursive(
    json_scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.tuples(st.sampled_from(TAGS), inner, inner).map(list),
        st.dictionaries(st.text(max_size=5), inner, max_size=4),
    ),
    max_leaves=30,
)


@settings(max_examples=1000, deadline=None)
@given(json_tree)
def test_any_json_decodes_or_raises_type_error(tree):
    try:
        codec.decode(json.loads(json.dumps(tree)))
    except TypeError:
        pass


def test_deep_nesting_is_a_type_error():
    tree = 0
    for _ in range(2000):
        tree = [[tree]]
    try:
        codec.decode(tree)
    except TypeError as e:
        assert "depth" in str(e)
    else:
        raise AssertionError("2000 levels decoded")


utc = datetime.UTC
millisecond_dates = st.datetimes(timezones=st.just(utc)).map(
    lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000)
)
value = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False),
        st.text(),
        st.binary(),
        millisecond_dates,
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=25,
)


@settings(max_examples=500, deadline=None)
@given(value)
def test_values_round_trip(v):
    assert codec.deserialize(codec.serialize(v)) == v
