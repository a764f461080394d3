"""Python side of py_SUITE: small functions the Erlang tests call."""
import erlang


def identity(value):
    return value


def add(a, b):
    return a + b


def spin():
    """Runs until interrupted."""
    while True:
        pass


def kw(a, b=2, *, scale=1):
    return (a + b) * scale


def fail_deep():
    def inner():
        raise ValueError("bad value from inner")
    inner()


def interpreter_id():
    return erlang.interpreter_id()


def call_erlang(name, *args):
    return erlang.call(name, *args)


def catch_erlang(name, *args):
    """Returns the exception class name and message instead of raising."""
    try:
        erlang.call(name, *args)
    except erlang.ErlangError as exc:
        return (type(exc).__name__, str(exc))
    return None


def send(pid, message):
    erlang.send(pid, message)
    return erlang.atom("sent")


def unconvertible():
    return {1, 2}


def cyclic():
    items = []
    items.append(items)
    return items


def types_of(*values):
    return [type(v).__name__ for v in values]


def announce_then_spin(pid):
    """Tells `pid` it is running, then runs until interrupted."""
    erlang.send(pid, erlang.atom("spinning"))
    spin()
