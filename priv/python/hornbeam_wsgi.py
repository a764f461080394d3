"""Python-side helpers of Hornbeam's WSGI runner.

`FileWrapper` is what `environ["wsgi.file_wrapper"]` holds. When an application
returns one around a real file (anything with a working `fileno()`), the server sends
the file from its own threads, reading it with `pread` from the file's current
position: no byte passes through Python. Anything else (a `BytesIO`, middleware that
iterates the response) still works: the wrapper is an ordinary iterable.
"""


class FileWrapper:
    __slots__ = ("filelike", "block_size")

    def __init__(self, filelike, block_size=8192):
        self.filelike = filelike
        self.block_size = block_size

    def __iter__(self):
        return self

    def __next__(self):
        data = self.filelike.read(self.block_size)
        if data:
            return data
        raise StopIteration

    def close(self):
        close = getattr(self.filelike, "close", None)
        if close is not None:
            close()
