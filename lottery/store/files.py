"""Atomic file writes: write a temporary file in the same directory, then rename.

In a multi-process run only process 0 writes: elsewhere the temporary path is a scratch file that is
dropped (every process computes the same values; see :mod:`lottery.core.distributed`)."""
from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile

from lottery.core import distributed

TEMPORARY_PREFIX = ".tmp-"  # what a write killed before its rename leaves behind


@contextlib.contextmanager
def atomic_path(path: str):
    """Yields a temporary path; on success it replaces ``path`` atomically, on error it is removed
    (on a process other than 0 of a multi-process run it is always removed)."""
    if not distributed.primary():
        with tempfile.TemporaryDirectory(prefix="lottery-scratch-") as scratch:
            yield os.path.join(scratch, os.path.basename(path))
        return
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=TEMPORARY_PREFIX, dir=directory)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_text(path: str, text: str) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "w") as f:
            f.write(text)


def sha256_of(path: str) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def remove_stale_temporaries(root: str) -> list[str]:
    """Removes the temporaries of interrupted atomic writes (``.tmp-*`` files) anywhere under ``root`` and returns
    their paths. Call it only while holding ``root``'s workdir lock: then no write of this run is in flight."""
    removed = []
    for directory, _, names in os.walk(root):
        for name in names:
            if name.startswith(TEMPORARY_PREFIX):
                path = os.path.join(directory, name)
                with contextlib.suppress(FileNotFoundError):
                    os.remove(path)
                    removed.append(path)
    return removed
