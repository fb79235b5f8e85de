"""A sweep directory (``lottery.sweep``): the manifest of work units, claims with heartbeats, done
markers and the merged results table. Every file a sweep writes is written here.

Layout::

    DIR/manifest.json     the units: id, grid point, swept values, seeds, run id, resolved config
    DIR/claims/UNIT.G     generation G of UNIT's claim (JSON: host, pid, job, time); its mtime is the heartbeat
    DIR/claims/.clock     touched to read the shared filesystem's clock (hosts' clocks may disagree)
    DIR/done/UNIT         UNIT finished (JSON: rows, run id, seconds, host, pid); it is never run again
    DIR/units/UNIT/       UNIT's own workdir: an ordinary run (checkpoints every level, results.parquet)
    DIR/results.parquet   the merged table, written once every unit is done
    DIR/xla_cache/        XLA's persistent compilation cache shared by the units (command line only)

Claims. A unit's current claim is its highest generation ``UNIT.G`` (generations are made in order,
0, 1, 2, … and removed only once the unit is done). To claim a free unit a job creates ``UNIT.0``;
to take over a claim whose heartbeat is older than the timeout it creates ``UNIT.G+1``. Creation is
exclusive — a complete temporary file hard-linked to the name (``link`` fails if the name exists;
where hard links are missing, ``open(O_CREAT | O_EXCL)``) — so of any number of jobs racing for the
same generation exactly one wins. The owner's heartbeat thread refreshes the claim's mtime; a
released claim gets mtime 0 (stale at once). Ages are measured against the filesystem's own clock
(the mtime of a freshly touched ``claims/.clock``) and read after an ``open`` (NFS close-to-open
consistency refreshes cached attributes).
"""
from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import threading
import time
import uuid

import pandas as pd

from lottery.core.errors import ConfigError
from lottery.store import files, result_tables
from lottery.store import workdir as wd

MANIFEST = wd.SWEEP_MANIFEST
CLAIMS, DONE, UNITS = "claims", "done", "units"
NO_HARD_LINKS = (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS, errno.EXDEV)
HELD: set = set()  # the claims this process holds (from claim() to drop() or the end of held()), for release_held


def is_sweep(workdir: str) -> bool:
    return os.path.isfile(os.path.join(workdir, MANIFEST))


def check_workdir(workdir: str) -> None:
    """Refuses a workdir that cannot be written or that holds a run (not a sweep). Writes nothing."""
    wd.check_writable(workdir)
    if os.path.exists(os.path.join(workdir, wd.CONFIG)) and not is_sweep(workdir):
        raise ConfigError("workdir", f"{workdir} holds a run ({wd.CONFIG}), not a sweep; use another workdir")


def read(workdir: str) -> dict | None:
    """The manifest of the sweep in ``workdir`` (None if there is none)."""
    path = os.path.join(workdir, MANIFEST)
    for attempt in range(50):  # without hard links a racing creator may still be writing it
        try:
            with open(path) as f:
                return json.load(f)
        except FileNotFoundError:
            return None
        except ValueError:
            time.sleep(0.1)
    raise ConfigError("workdir", f"{path} is not a readable manifest; use a new workdir")


def create(workdir: str, manifest: dict) -> dict | None:
    """Writes ``DIR/manifest.json`` unless one exists (exclusive: of two jobs starting together one
    writes it); returns the manifest that was already there, or None if this call wrote it."""
    try:
        for sub in (CLAIMS, DONE, UNITS):
            os.makedirs(os.path.join(workdir, sub), exist_ok=True)
    except OSError as e:
        raise ConfigError("workdir", f"{workdir} cannot be created or written ({e.strerror})") from None
    path = os.path.join(workdir, MANIFEST)
    if not os.path.exists(path) and _create_exclusive(path, json.dumps(manifest, indent=1, sort_keys=True)):
        return None
    return read(workdir)


def _create_exclusive(path: str, text: str) -> bool:
    """Creates ``path`` holding ``text`` unless it exists; True if this call created it."""
    tmp = os.path.join(os.path.dirname(path), f".tmp-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    try:
        os.link(tmp, path)
        return True
    except FileExistsError:
        return os.stat(tmp).st_nlink == 2  # NFS: the LINK went through but its reply was lost and retried
    except OSError as e:
        if e.errno not in NO_HARD_LINKS:
            raise
        try:  # no hard links here (e.g. a FUSE mount): an exclusive open; the text follows it
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w") as f:
            f.write(text)
        return True
    finally:
        os.remove(tmp)


def unit_dir(workdir: str, unit: str) -> str:
    return os.path.join(workdir, UNITS, unit)


def _claim_path(workdir: str, unit: str, generation: int) -> str:
    return os.path.join(workdir, CLAIMS, f"{unit}.{generation}")


def _done_path(workdir: str, unit: str) -> str:
    return os.path.join(workdir, DONE, unit)


def is_done(workdir: str, unit: str) -> bool:
    return os.path.exists(_done_path(workdir, unit))


def fs_now(workdir: str) -> float:
    """The shared filesystem's clock: the mtime of ``claims/.clock`` just after touching it."""
    path = os.path.join(workdir, CLAIMS, ".clock")
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o666))
        os.utime(path, None)
        return os.stat(path).st_mtime
    except OSError:
        return time.time()


def _mtime(path: str) -> float | None:
    """mtime after an open (refreshes NFS's cached attributes); None if the file is gone."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        return os.fstat(fd).st_mtime
    finally:
        os.close(fd)


def _read_json(path: str) -> dict:
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def _current(workdir: str, unit: str) -> int:
    """The number of claim generations of ``unit`` (the current claim is the last, if any)."""
    g = 0
    while os.path.exists(_claim_path(workdir, unit, g)):
        g += 1
    return g


class Claim:
    """This process's claim on a unit: ``generation`` of ``claims/UNIT.G``; ``replaced`` is the
    stale claim it took over ({host, pid, job, age_s}) or None; ``lost`` is set if the heartbeat
    finds the claim gone or taken over."""

    def __init__(self, workdir: str, unit: str, generation: int, replaced: dict | None):
        self.workdir, self.unit, self.generation, self.replaced = workdir, unit, generation, replaced
        self.path = _claim_path(workdir, unit, generation)
        self.lost = threading.Event()

    def beat(self) -> bool:
        """Refreshes the heartbeat; False if the claim is gone or a later generation exists."""
        try:
            os.utime(self.path, None)
        except FileNotFoundError:
            return False
        return not os.path.exists(_claim_path(self.workdir, self.unit, self.generation + 1))

    def release(self) -> None:
        """Makes the claim stale at once: the next job to look takes the unit over."""
        with contextlib.suppress(FileNotFoundError):
            os.utime(self.path, (0, 0))

    def drop(self) -> None:
        """Removes a claim on a unit found done after claiming it."""
        HELD.discard(self)
        with contextlib.suppress(FileNotFoundError):
            os.remove(self.path)

    @contextlib.contextmanager
    def held(self, interval: float):
        """Runs a heartbeat thread every ``interval`` seconds; releases the claim if the body raises.
        The body is expected to mark the unit done; afterwards the claim is no longer this process's."""
        stop = threading.Event()

        def heartbeat():
            while not stop.wait(interval):
                if not self.beat():
                    self.lost.set()

        thread = threading.Thread(target=heartbeat, name=f"heartbeat-{self.unit}", daemon=True)
        thread.start()
        try:
            yield self
        except BaseException:
            stop.set()
            thread.join()
            self.release()
            raise
        finally:
            HELD.discard(self)
        stop.set()
        thread.join()


def release_held() -> None:
    """Releases every claim this process holds (a SIGTERM handler's last act before exiting)."""
    for c in list(HELD):
        c.release()


def claim(workdir: str, unit: str, timeout: float, owner: dict) -> Claim | None:
    """Claims ``unit`` for ``owner`` ({host, pid, job}) if it is not done and is free or its claim's
    heartbeat is older than ``timeout`` seconds; None if it is done, held, or another job won the race."""
    if is_done(workdir, unit):
        return None
    g = _current(workdir, unit)
    replaced = None
    if g:
        mtime = _mtime(_claim_path(workdir, unit, g - 1))
        if mtime is None:  # its claims are being removed: the unit is done
            return None
        age = fs_now(workdir) - mtime
        if age <= timeout:
            return None
        replaced = {**_read_json(_claim_path(workdir, unit, g - 1)), "age_s": age}
    record = {**owner, "generation": g, "time": time.time(), "replaces": replaced}
    if not _create_exclusive(_claim_path(workdir, unit, g), json.dumps(record)):
        return None
    c = Claim(workdir, unit, g, replaced)
    HELD.add(c)
    return c


def state(workdir: str, unit: str, timeout: float) -> dict:
    """{state: done | free | running | stale, and for a claim its owner, heartbeat age_s and whether it
    was ``released`` by its job}."""
    if is_done(workdir, unit):
        return {"state": "done", **_read_json(_done_path(workdir, unit))}
    g = _current(workdir, unit)
    if not g:
        return {"state": "free"}
    path = _claim_path(workdir, unit, g - 1)
    mtime = _mtime(path)
    if mtime is None:
        return {"state": "done"}
    age = fs_now(workdir) - mtime
    return {"state": "running" if age <= timeout else "stale", "age_s": age, "released": mtime == 0,
            **_read_json(path)}


def mark_done(workdir: str, unit: str, info: dict) -> None:
    """Records ``unit`` as finished (``info``: rows, run id, …) and removes its claims."""
    files.write_text(_done_path(workdir, unit), json.dumps(info))
    g = 0
    while True:
        try:
            os.remove(_claim_path(workdir, unit, g))
        except FileNotFoundError:
            break
        g += 1


def _cell(value):
    """A swept value as a table cell: tuples (e.g. model.widths) as their text, so they group and plot."""
    return str(tuple(value)) if isinstance(value, (list, tuple)) else value


def merged(workdir: str, name: str = result_tables.TABLE) -> pd.DataFrame:
    """The ``name`` tables (results or calibration) of every finished unit, in manifest order, each
    row prefixed with its ``unit`` id, grid ``point`` and one column per swept field (named by its
    path, e.g. ``data.noise.fraction``). Unfinished units are left out; no unit is read twice."""
    manifest = read(workdir)
    if manifest is None:
        raise FileNotFoundError(f"no sweep in {workdir}: {MANIFEST} is missing")
    axes = list(manifest["axes"])
    frames = []
    for u in manifest["units"]:
        path = os.path.join(unit_dir(workdir, u["id"]), name)
        if not is_done(workdir, u["id"]) or not os.path.exists(path):  # no calibration when eval.bins = 0
            continue
        df = pd.read_parquet(path)
        extra = {"unit": u["id"], "point": u["point"], **{a: _cell(u["values"][a]) for a in axes}}
        frames.append(df.assign(**extra)[list(extra) + list(df.columns)])
    if not frames:
        return pd.DataFrame(columns=["unit", "point", *axes] + (result_tables.COLUMNS if name == result_tables.TABLE else []))
    return pd.concat(frames, ignore_index=True)


def write_merged(workdir: str) -> str:
    """Writes ``DIR/results.parquet`` (and ``DIR/calibration.parquet``) merged from every finished unit."""
    path = os.path.join(workdir, result_tables.TABLE)
    result_tables.write(merged(workdir), path)
    curves = merged(workdir, result_tables.CURVES)
    if len(curves):
        result_tables.write(curves, os.path.join(workdir, result_tables.CURVES))
    return path
