"""Routes: `/users`, `/users/:id`, `/files/*path`.

Static routes are found in one dict lookup. The rest live in a tree of path segments
searched most specific first: at each segment a static name beats a `:param`, which
beats a `*wildcard`, and the search backs off to the next candidate when a branch
cannot complete (so `/users/me` and `/users/:id` coexist, and `/a/:x/c` does not hide
`/a/*rest` for `/a/b/d`).

Matching works on the raw (still percent-encoded) path split at "/", and decodes each
segment afterwards: `/files/a%2Fb` gives the param "a/b" instead of two segments.
"""

from urllib.parse import unquote

__all__ = ["Router", "RouteConflict", "Match"]

METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")


class RouteConflict(ValueError):
    """Two routes that no request could tell apart (`/u/:id` and `/u/:name`)."""


class _Node:
    __slots__ = ("children", "param", "param_node", "wildcard", "wildcard_handler", "handler")

    def __init__(self):
        self.children = {}  # static segment -> _Node
        self.param = None  # the name of this level's :param
        self.param_node = None
        self.wildcard = None  # the name of this level's *wildcard
        self.wildcard_handler = None
        self.handler = None


class Match:
    """A found route: its handler and the decoded captures."""

    __slots__ = ("handler", "params", "pattern")

    def __init__(self, handler, params, pattern):
        self.handler = handler
        self.params = params
        self.pattern = pattern


def _split(pattern):
    if not pattern.startswith("/"):
        raise ValueError(f"a route must start with '/': {pattern!r}")
    return pattern.split("/")[1:]


class Router:
    def __init__(self):
        self._static = {m: {} for m in METHODS}  # method -> decoded path -> (handler, pattern)
        self._trees = {m: _Node() for m in METHODS}
        self.patterns = []  # (method, pattern), registration order

    def add(self, method, pattern, handler):
        """Registers `handler`; registering the same method and pattern again replaces
        the handler. Raises RouteConflict for an ambiguous pair."""
        method = method.upper()
        if method not in self._static:
            raise ValueError(f"unsupported method {method!r}; one of {', '.join(METHODS)}")
        segments = _split(pattern)
        if (method, pattern) not in self.patterns:
            self.patterns.append((method, pattern))
        if not any(s.startswith((":", "*")) for s in segments):
            self._static[method][pattern] = (handler, pattern)
            return
        node = self._trees[method]
        for i, segment in enumerate(segments):
            if segment.startswith("*"):
                if i != len(segments) - 1:
                    raise ValueError(f"*{segment[1:]} must be the last segment of {pattern!r}")
                self._name(segment, pattern)
                if node.wildcard not in (None, segment[1:]):
                    raise RouteConflict(
                        f"{method} {pattern!r}: *{segment[1:]} conflicts with *{node.wildcard}"
                    )
                node.wildcard = segment[1:]
                node.wildcard_handler = (handler, pattern)
                return
            if segment.startswith(":"):
                self._name(segment, pattern)
                if node.param not in (None, segment[1:]):
                    raise RouteConflict(
                        f"{method} {pattern!r}: :{segment[1:]} conflicts with :{node.param}"
                    )
                node.param = segment[1:]
                if node.param_node is None:
                    node.param_node = _Node()
                node = node.param_node
            else:
                node = node.children.setdefault(segment, _Node())
        node.handler = (handler, pattern)

    @staticmethod
    def _name(segment, pattern):
        if len(segment) < 2 or not segment[1:].isidentifier():
            raise ValueError(f"{segment!r} in {pattern!r} needs a name that is an identifier")

    def match(self, method, path, raw_path=None):
        """The Match for `method` and the decoded `path` (`raw_path`, still encoded, when
        the transport has it), or None."""
        found = self._static[method].get(path) if method in self._static else None
        if found is not None:
            return Match(found[0], {}, found[1])
        tree = self._trees.get(method)
        if tree is None:
            return None
        segments = (raw_path if raw_path is not None else path).split("/")[1:]
        params = {}
        found = _search(tree, segments, 0, params)
        if found is None:
            return None
        return Match(found[0], params, found[1])

    def allowed(self, path, raw_path=None):
        """The methods that have a route for `path` (for 405's Allow header); a GET
        route answers HEAD too."""
        allowed = [m for m in METHODS if self.match(m, path, raw_path) is not None]
        if "GET" in allowed and "HEAD" not in allowed:
            allowed.insert(allowed.index("GET") + 1, "HEAD")
        return allowed


def _search(node, segments, i, params):
    if i == len(segments):
        return node.handler
    segment = segments[i]
    decoded = unquote(segment) if "%" in segment else segment
    child = node.children.get(decoded)
    if child is not None:
        found = _search(child, segments, i + 1, params)
        if found is not None:
            return found
    if node.param_node is not None and decoded:
        found = _search(node.param_node, segments, i + 1, params)
        if found is not None:
            params[node.param] = decoded
            return found
    if node.wildcard_handler is not None:
        rest = "/".join(segments[i:])
        params[node.wildcard] = unquote(rest) if "%" in rest else rest
        return node.wildcard_handler
    return None
