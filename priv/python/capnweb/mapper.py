"""`.map()`: the `remap` expression.

Sending: the map function runs once on placeholders, and every property read and call
it makes is recorded as an instruction instead of being sent. Stubs it uses are
captures (-1, -2, ...); the input is 0; instruction results are 1, 2, ...

Receiving: the instructions run for the input value (each element, for an array).
"""

import inspect

from . import codec
from .hooks import ErrorHook, Hook, PromiseHook, ValueHook, payload_hook

_builder = None


def current_builder():
    return _builder


class MapVariableHook(Hook):
    """A placeholder for the input or an instruction's result while recording."""

    __slots__ = ("builder", "index")

    def __init__(self, builder, index):
        self.builder = builder
        self.index = index

    def get(self, path):
        if not path:
            return self
        if _builder is None:
            _misuse()
        return _builder.push_get(self, path)

    def call(self, path, args, pending=None):
        _misuse()

    def map(self, path, captures, instructions):
        _misuse()

    async def pull(self):
        _misuse()


def _misuse():
    raise TypeError(
        "A map() function used its placeholder outside the recording: it must have "
        "no side effects and must not await."
    )


class MapBuilder(codec.Capabilities):
    def __init__(self, subject, path):
        self.parent = _builder
        self.subject = subject if self.parent is None else self.parent.capture(subject)
        self.path = path
        self.captures = []  # hooks (top level) or parent capture indexes (nested)
        self.capture_index = {}
        self.instructions = []

    def capture(self, hook):
        if isinstance(hook, MapVariableHook) and hook.builder is self:
            return hook.index
        key = _identity(hook)
        index = self.capture_index.get(key)
        if index is None:
            self.captures.append(self.parent.capture(hook) if self.parent else hook.dup())
            index = -len(self.captures)
            self.capture_index[key] = index
        return index

    def push_call(self, hook, path, args):
        encoded = codec.encode(args, self)[0]
        self.instructions.append(["pipeline", self.capture(hook), list(path), encoded])
        return MapVariableHook(self, len(self.instructions))

    def push_get(self, hook, path):
        self.instructions.append(["pipeline", self.capture(hook), list(path)])
        return MapVariableHook(self, len(self.instructions))

    def encode_capability(self, value, depth):
        from .stubs import RpcPromise, RpcStub

        if isinstance(value, RpcStub):
            index = self.capture(value._hook)
            if isinstance(value, RpcPromise):
                return (
                    ["pipeline", index, list(value._path)] if value._path else ["pipeline", index]
                )
            return ["import", index]
        raise TypeError(
            "A map() function cannot create an RpcTarget or callback; make the stub "
            "outside the function and use it inside."
        )

    def finish(self, result):
        self.instructions.append(codec.encode(result, self))
        if self.parent is not None:
            self.parent.instructions.append(
                [
                    "remap",
                    self.subject,
                    self.path,
                    [["import", c] for c in self.captures],
                    self.instructions,
                ]
            )
            return MapVariableHook(self.parent, len(self.parent.instructions))
        return self.subject.map(self.path, self.captures, self.instructions)


def _identity(hook):
    entry = getattr(hook, "entry", None)
    return ("entry", id(entry)) if entry is not None else ("hook", id(hook))


def send_map(hook, path, func):
    global _builder
    from .stubs import RpcPromise

    builder = MapBuilder(hook, list(path))
    _builder = builder
    try:
        result = func(RpcPromise(MapVariableHook(builder, 0)))
    finally:
        _builder = builder.parent
    if inspect.iscoroutine(result) or inspect.isgenerator(result):
        result.close()
        raise TypeError("RPC map() functions cannot be async.")
    return builder.finish(result)


class MapApplicator(codec.Capabilities):
    """Runs recorded instructions for one input value."""

    def __init__(self, captures):
        self.captures = captures
        self.variables = []

    def run(self, input_value, instructions):
        self.variables = [ValueHook(input_value)]
        for instruction in instructions[:-1]:
            pending = []
            value = codec.decode(instruction, self, pending)
            self.variables.append(payload_hook(value, pending))
        pending = []
        value = codec.decode(instructions[-1], self, pending)
        return value, pending

    def decode_capability(self, expr, depth, pending):
        from .session import decode_reference

        tag = expr[0]
        if tag in ("export", "promise"):
            raise TypeError("A mapper function cannot refer to exports.")
        return decode_reference(self, expr, depth, pending)

    def export_hook(self, index):
        if type(index) is not int:
            return None
        if index < 0:
            return self.captures[-index - 1] if -index <= len(self.captures) else None
        return self.variables[index] if index < len(self.variables) else None


def apply_map(value, captures, instructions):
    """A hook for `instructions` applied to `value` (each element of a list)."""
    import asyncio

    from .stubs import settle

    if not instructions:
        return ErrorHook(TypeError("Invalid empty mapper function."))
    if value is None:
        return ValueHook(None)
    try:
        if type(value) is list:
            runs = [MapApplicator(captures).run(item, instructions) for item in value]
        else:
            runs = [MapApplicator(captures).run(value, instructions)]
    except Exception as exc:
        return ErrorHook(exc)
    if not any(pending for _, pending in runs):
        results = [result for result, _ in runs]
        return ValueHook(results if type(value) is list else results[0])

    async def settle_all():
        results = [await settle(result, pending) for result, pending in runs]
        return ValueHook(results if type(value) is list else results[0])

    return PromiseHook(asyncio.ensure_future(settle_all()))
