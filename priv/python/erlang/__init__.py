"""The `erlang` module: what Python code running in Hornbeam uses to reach Erlang.

Importable in every interpreter Hornbeam starts. The native half (`_erlang`) exists
only inside a Hornbeam context; the classes here are plain Python so they can also be
imported (and tested) outside one.

    import erlang
    erlang.call("my_fun", 1, 2)          # a function registered with py:register_function/2
    erlang.send(pid, ("hello", 42))      # to an Erlang process
    erlang.atom("ok")                    # an Atom: becomes the atom 'ok' in Erlang
"""

__all__ = [
    "Atom",
    "Pid",
    "Ref",
    "ListKey",
    "MapKey",
    "ErlangError",
    "UnknownFunctionError",
    "atom",
    "call",
    "send",
    "interpreter_id",
]


class Atom(str):
    """An Erlang atom. A `str`, so it compares and hashes like its name, and becomes
    the same atom again on the way back to Erlang."""

    __slots__ = ()

    def __repr__(self):
        return f"Atom({str.__repr__(self)})"


class _Opaque:
    """An Erlang term Python cannot look inside (a pid or a reference), kept in the
    external term format so it round-trips exactly."""

    __slots__ = ("_etf",)

    def __init__(self, etf: bytes):
        if not isinstance(etf, bytes):
            raise TypeError(f"{type(self).__name__} takes the term's external format (bytes)")
        self._etf = etf

    def __eq__(self, other):
        return type(other) is type(self) and other._etf == self._etf

    def __hash__(self):
        return hash((type(self).__name__, self._etf))

    def __repr__(self):
        return f"<erlang.{type(self).__name__} {self._etf.hex()}>"

    def __reduce__(self):
        return (type(self), (self._etf,))


class Pid(_Opaque):
    """An Erlang process identifier; `erlang.send(pid, term)` sends to it."""

    __slots__ = ()


class Ref(_Opaque):
    """An Erlang reference."""

    __slots__ = ()


class _KeyTuple(tuple):
    """A tuple that equals only tuples of its own class: `[1, 2]`, `{1, 2}` and a map
    are distinct keys in Erlang and must stay distinct in a dict."""

    __slots__ = ()

    def __eq__(self, other):
        return type(other) is type(self) and tuple.__eq__(self, other)

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return hash((type(self).__name__, tuple(self)))

    def __repr__(self):
        return f"{type(self).__name__}({tuple.__repr__(self)})"


class ListKey(_KeyTuple):
    """An Erlang list used as a map key. Python dict keys must be hashable, so such a
    list arrives as this tuple subclass and leaves as a list again."""

    __slots__ = ()


class MapKey(_KeyTuple):
    """An Erlang map used as a map key: a tuple of `(key, value)` pairs that leaves as
    a map again."""

    __slots__ = ()


class ErlangError(Exception):
    """An Erlang function called with `erlang.call` raised, exited or threw."""


class UnknownFunctionError(ErlangError, LookupError):
    """`erlang.call` named a function nobody registered."""


def atom(name: str) -> Atom:
    """The atom called `name`."""
    return Atom(name)


try:
    # Native, in Hornbeam only. The mailbox functions serve hornbeam_erlang.subscribe.
    from _erlang import call, interpreter_id, mailbox_close, mailbox_get, mailbox_new, send
except ImportError:  # plain Python, outside Hornbeam

    def _outside(*_args, **_kwargs):
        raise RuntimeError("the erlang module's native half runs only inside Hornbeam")

    call = send = interpreter_id = mailbox_new = mailbox_get = mailbox_close = _outside
