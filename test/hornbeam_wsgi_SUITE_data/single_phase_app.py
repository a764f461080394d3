"""An application importing an extension module that refuses sub-interpreters
(CPython's own `_testsinglephase`, single-phase init, like numpy or pydantic-core):
python_mode auto must fall back to the main interpreter, subinterp must fail."""
import _testsinglephase  # noqa: F401


def application(environ, start_response):
    import sys
    body = str(sys._is_main_interpreter() if hasattr(sys, "_is_main_interpreter") else "").encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
