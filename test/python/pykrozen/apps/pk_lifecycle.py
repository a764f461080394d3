"""server:start and server:stop hooks that leave a mark a test can see."""

import os
from pathlib import Path

from pykrozen import app, get, on


def mark(event, ctx):
    Path(os.environ["PK_MARKERS"], f"{event}-{ctx.mode}").write_text(str(os.getpid()))


@on("server:start")
async def started(ctx):  # async on purpose: lifecycle hooks may be
    mark("start", ctx)


@on("server:stop")
def stopped(ctx):
    mark("stop", ctx)


@get("/")
def index(req):
    return {"body": {"mode": app.mode}}
