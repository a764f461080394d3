"""The plain-Python half of the `erlang` package (the classes conversion produces).

The native half runs only inside Hornbeam and is exercised by test/py_SUITE.erl and
test/py_convert_SUITE.erl against real interpreters.
"""

import pickle
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "priv" / "python"))

import erlang


def test_atom_is_a_str_that_remembers_it_is_an_atom():
    ok = erlang.atom("ok")
    assert ok == "ok" and isinstance(ok, str)
    assert type(ok) is erlang.Atom
    assert {ok: 1}["ok"] == 1
    assert repr(ok) == "Atom('ok')"


def test_pids_and_refs_compare_by_their_external_format():
    a, b = erlang.Pid(b"\x83X1"), erlang.Pid(b"\x83X1")
    assert a == b and hash(a) == hash(b)
    assert a != erlang.Pid(b"\x83X2")
    # A Ref with the same bytes is still not a Pid.
    assert a != erlang.Ref(b"\x83X1")
    assert pickle.loads(pickle.dumps(a)) == a


def test_opaque_terms_need_bytes():
    with pytest.raises(TypeError, match="external format"):
        erlang.Pid("not bytes")


@pytest.mark.parametrize("cls", [erlang.ListKey, erlang.MapKey])
def test_key_tuples_equal_only_their_own_kind(cls):
    key = cls((1, 2))
    assert key == cls((1, 2)) and hash(key) == hash(cls((1, 2)))
    assert key != (1, 2)
    assert cls(()) != ()
    d = {(1, 2): "tuple", key: "key"}
    assert len(d) == 2


def test_list_key_and_map_key_differ():
    assert erlang.ListKey(()) != erlang.MapKey(())


def test_error_classes():
    assert issubclass(erlang.UnknownFunctionError, erlang.ErlangError)
    assert issubclass(erlang.UnknownFunctionError, LookupError)


def test_native_functions_say_they_need_hornbeam_outside_it():
    for fn in (erlang.call, erlang.send, erlang.interpreter_id):
        with pytest.raises(RuntimeError, match="only inside Hornbeam"):
            fn("x")
