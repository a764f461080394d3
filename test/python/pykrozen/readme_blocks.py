"""The Python blocks of docs/pykrozen.md (the original pykrozen README's examples,
kept verbatim, plus ours), each turned into an app module the tests serve."""

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[3] / "docs" / "pykrozen.md"

# Blocks that describe types or fragments rather than apps: checked, not served.
NOT_APPS = {"Request", "Response", "WSClient", "WSMessage", "Creating a Plugin"}

# What a block needs beside it to be an app a test can drive.
EXTRA = {
    # Only defines broadcast(): give the tests a way to call it.
    "Broadcasting": '\n@get("/broadcast")\ndef _trigger(req):\n    broadcast({"news": req.query.get("n")})\n'
    '    return {"body": {"sent_to": len(app.state.clients)}}\n',
    # Routes for the middleware to guard.
    "Middleware": '\n@get("/api/data")\ndef _api(req):\n    return {"body": {"data": 1}}\n\n'
    '@get("/open")\ndef _open(req):\n    return {"body": {"open": True}}\n',
    "Using a Plugin": '\n@get("/api/data")\ndef _api(req):\n    return {"body": {"data": 1}}\n',
}


def blocks():
    """[(heading, code)] in document order."""
    found, heading = [], None
    lines = DOC.read_text().splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if re.match(r"#{2,3} ", line):
            heading = line.lstrip("#").strip()
        elif line.strip() == "```python":
            end = lines.index("```", i + 1)
            found.append((heading, "\n".join(lines[i + 1 : end]) + "\n"))
            i = end
        i += 1
    return found


def module_name(heading):
    return "readme_" + re.sub(r"[^a-z0-9]+", "_", heading.lower()).strip("_")


def app_source(heading, code):
    by_heading = dict(blocks())
    if heading == "Response Format":
        # A literal of what a handler returns: return it from one.
        code = (
            "@get('/')\ndef _literal(req):\n    return "
            + code.strip().replace("\n", "\n    ")
            + "\n"
        )
    if heading == "Using a Plugin":
        code = by_heading["Creating a Plugin"] + "\n" + code
    # The extra code goes first: a block may end in Server.run(), which only returns
    # when the server stops.
    return (
        "from pykrozen import *  # noqa: F403 - some blocks use names they do not import\n"
        + EXTRA.get(heading, "")
        + "\n"
        + code
    )


def write_modules(directory):
    """Writes one module per app block into `directory`; returns {heading: module}."""
    modules = {}
    for heading, code in blocks():
        if heading in NOT_APPS:
            continue
        name = module_name(heading)
        (Path(directory) / f"{name}.py").write_text(app_source(heading, code))
        modules[heading] = name
    return modules
