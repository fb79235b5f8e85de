"""One process per workdir: an advisory ``flock`` on ``DIR/.lock`` (released if the process dies)."""
from __future__ import annotations

import fcntl
import os

from lottery.core.errors import ConfigError


class WorkdirLock:
    def __init__(self, workdir: str):
        self.path = os.path.join(workdir, ".lock")
        self.fd = None

    def __enter__(self):
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(self.fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(self.fd)
            self.fd = None
            raise ConfigError("workdir", f"{os.path.dirname(self.path)} is in use by another lottery process "
                                         f"(pid {owner}); wait for it or use another workdir") from None
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, str(os.getpid()).encode(), 0)
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None
