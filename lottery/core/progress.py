"""A one-line progress display with ETA on stderr, for loops longer than a few seconds."""
from __future__ import annotations

import sys
import time


def _fmt(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


class Progress:
    """``update(done, total)`` redraws ``label done/total unit, elapsed, ETA`` at most once a second,
    and only once the loop has run for ``after`` seconds; ``close()`` ends the line."""

    def __init__(self, label: str, unit: str = "epochs", after: float = 2.0, stream=None):
        self.label, self.unit, self.after = label, unit, after
        self.stream = stream or sys.stderr
        self.start = time.perf_counter()
        self.last = 0.0
        self.shown = False
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        if not self.tty:  # a log file only hears about loops that take a while
            self.after = max(after, 15.0)

    def update(self, done: int, total: int) -> None:
        now = time.perf_counter()
        elapsed = now - self.start
        every = 1.0 if self.tty else 15.0  # a log file gets a line every 15 s, a terminal a redraw every second
        if elapsed < self.after or (now - self.last < every and done < total):
            return
        self.last = now
        eta = elapsed / max(done, 1) * (total - done)
        line = f"{self.label}: {done}/{total} {self.unit}, {_fmt(elapsed)} elapsed, ETA {_fmt(eta)}"
        self.stream.write(f"\r{line}   " if self.tty else line + "\n")
        self.stream.flush()
        self.shown = True
        if done >= total:
            self.close()

    def close(self) -> None:
        if self.shown and self.tty:
            self.stream.write("\n")
            self.stream.flush()
        self.shown = False
