"""INSERT bodies written to disk chunk by chunk, for the engine to read back as a file.

Why the engine reads a file rather than the stream: see `engine.Session.insert`.
A spool file lives only while its INSERT runs; the directory is emptied at
start-up of whatever a killed server left behind.
"""

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator


# The engine expands these in a FROM INFILE name, and a glob matching no file inserts nothing.
_GLOB_CHARACTERS = frozenset("*?{}")


class Spool:
    def __init__(self, directory: str):
        if _GLOB_CHARACTERS & set(directory):
            raise ValueError(f"spool directory {directory!r}: the path must not contain any of * ? {{ }}")
        self._directory = directory
        shutil.rmtree(directory, ignore_errors=True)
        os.makedirs(directory)

    @contextlib.contextmanager
    def written(self, chunks: Iterable[bytes]) -> Iterator[str]:
        """Writes `chunks` to a new file and yields its path; the file is removed afterwards.

        A body that fails to arrive whole raises here, before the engine has seen any of it.
        """
        descriptor, path = tempfile.mkstemp(prefix="insert-", dir=self._directory)
        try:
            with os.fdopen(descriptor, "wb") as file:
                for chunk in chunks:
                    file.write(chunk)
            yield path
        finally:
            os.unlink(path)
