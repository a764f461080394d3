"""Runs a pipeline written once as a generator, synchronously when every step is, and
as a coroutine from the first step that returns an awaitable.

A step yields an awaitable and gets its result back (`value = yield awaitable`). The
standalone server and the ASGI adapter await what `run` returns when it is not done;
the reactor, which has no event loop of its own, runs it on a private one.
"""

from inspect import isawaitable

__all__ = ["run", "isawaitable", "Pending"]


class Pending:
    """A pipeline that waits on an awaitable; `await` it for the result."""

    __slots__ = ("gen", "first")

    def __init__(self, gen, first):
        self.gen = gen
        self.first = first

    def __await__(self):
        return self._finish().__await__()

    async def _finish(self):
        gen, awaitable = self.gen, self.first
        while True:
            try:
                value = await awaitable
            except BaseException as exc:
                try:
                    awaitable = gen.throw(exc)
                except StopIteration as done:
                    return done.value
            else:
                try:
                    awaitable = gen.send(value)
                except StopIteration as done:
                    return done.value


def run(gen):
    """The pipeline's result, or a Pending to await for it."""
    try:
        awaitable = gen.send(None)
    except StopIteration as done:
        return done.value
    return Pending(gen, awaitable)
