"""A sweep's job loop: claim a unit, run it with a heartbeat, mark it done, until none is left
(:func:`drain`); :func:`sweep`, one job from Python; :func:`status`, every unit's state."""
from __future__ import annotations

import math
import os
import socket
import time
from typing import Callable, Sequence

import pandas as pd

from lottery.core.errors import ConfigError
from lottery.store import manifest
from lottery.sweeps.grid import Unit, prepare

DEFAULT_TIMEOUT = 300.0  # seconds without a heartbeat before a claim is presumed dead


def drain(workdir: str, todo: Sequence[Unit], claim_timeout: float = DEFAULT_TIMEOUT, wait: bool = True,
          shard: tuple[int, int] | None = None, log: Callable[[str], None] | None = None) -> list[str]:
    """Runs units of ``todo`` until none is left: claims a free unit (or one whose claim's heartbeat
    is older than ``claim_timeout`` s), runs it with a heartbeat every ``claim_timeout / 5`` s, marks
    it done, and looks again from the first unit. With ``wait``, once nothing is claimable it polls
    (every ``claim_timeout / 4`` s, at most 5 s) until every unit is done, so that units of a job that
    died are taken over; without, it returns. ``shard`` (i, n): only units i, i + n, i + 2n, … of the
    manifest. Returns the ids of the units this call ran; writes ``DIR/results.parquet`` when all
    units are done."""
    log = log or (lambda s: print(s, flush=True))
    check_timeout(claim_timeout)
    mine = [u for i, u in enumerate(todo) if shard is None or i % shard[1] == shard[0]]
    owner = {"host": socket.gethostname(), "pid": os.getpid(), "job": os.environ.get("LOTTERY_JOB", "")}
    poll = max(0.05, min(5.0, claim_timeout / 4))
    ran, waiting = [], False
    while True:
        pending = [u for u in mine if not manifest.is_done(workdir, u.id)]
        if not pending:
            break
        unit = claim = None
        for u in pending:
            claim = manifest.claim(workdir, u.id, claim_timeout, owner)
            if claim is not None:
                unit = u
                break
        if claim is None:
            if not wait:
                break
            if not waiting:
                log(f"waiting for {len(pending)} unit(s) held by other jobs: {', '.join(u.id for u in pending)}")
                waiting = True
            time.sleep(poll)
            continue
        waiting = False
        if manifest.is_done(workdir, unit.id):  # another job finished it while we were claiming
            claim.drop()
            continue
        _run_unit(workdir, unit, claim, claim_timeout / 5, owner, log)
        ran.append(unit.id)
    if all(manifest.is_done(workdir, u.id) for u in todo):
        manifest.write_merged(workdir)
    return ran


def _run_unit(workdir: str, unit: Unit, claim: manifest.Claim, interval: float, owner: dict, log) -> None:
    """Runs ``unit`` under ``claim`` (heartbeat every ``interval`` s), logging each line with the unit's
    id, and marks it done."""
    from lottery.api import run

    what = ", ".join(f"{k}={v}" for k, v in unit.values.items()) or "the config"
    took = ""
    if claim.replaced is not None:
        r = claim.replaced
        took = f"; took over from {r.get('host', '?')}:{r.get('pid', '?')} (heartbeat {r['age_s']:.0f} s old)"
    log(f"unit {unit.id} ({what}, seeds {list(unit.seeds)}): claimed{took}")
    start = time.time()
    prefix = f"  [{unit.id}] "
    with claim.held(interval):
        try:
            df = run(unit.config, manifest.unit_dir(workdir, unit.id), log=lambda s: log(prefix + s.replace("\n", "\n" + prefix)))
        except ConfigError as e:
            raise ConfigError(e.field, f"{e.message} (sweep unit {unit.id})") from None
        seconds = time.time() - start
        lost = claim.lost.is_set()  # before mark_done removes the claim under the heartbeat's feet
        manifest.mark_done(workdir, unit.id, {"rows": len(df), "run_id": unit.run_id, "seconds": seconds, **owner})
    lost = "; its claim had been taken over meanwhile (a heartbeat was late)" if lost else ""
    log(f"unit {unit.id}: done, {len(df)} rows in {seconds:.1f} s{lost}")


def check_timeout(claim_timeout) -> None:
    """ConfigError('claim_timeout', …) unless it is a positive, finite number of seconds."""
    if not isinstance(claim_timeout, (int, float)) or isinstance(claim_timeout, bool) or not math.isfinite(claim_timeout) \
            or claim_timeout <= 0:
        raise ConfigError("claim_timeout", f"must be a positive number of seconds, got {claim_timeout!r}")


def sweep(configs_or_grid, workdir: str, seeds_per_unit: int | None = None, claim_timeout: float = DEFAULT_TIMEOUT,
          wait: bool = True, shard: tuple[int, int] | None = None, log: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Runs a sweep in ``workdir`` as one job (call it from any number of processes sharing the
    workdir to have more); returns the merged table of the finished units (every unit, with ``wait``).

    ``configs_or_grid``: a :class:`Grid` or a sequence of ConfigDicts. ``seeds_per_unit``: train.seeds
    per work unit (None: all seeds of a point in one unit). ``claim_timeout``: seconds without a
    heartbeat after which another job takes a unit over. ``wait``, ``shard``: see :func:`drain`.
    Everything is checked before anything runs (ConfigError naming the field)."""
    check_timeout(claim_timeout)
    todo = prepare(configs_or_grid, workdir, seeds_per_unit)
    drain(workdir, todo, claim_timeout, wait, shard, log)
    return manifest.merged(workdir)


def status(workdir: str, claim_timeout: float, log: Callable[[str], None]) -> None:
    """Prints each unit's state: done, running (heartbeat age), stale, or free."""
    m = manifest.read(workdir)
    if m is None:
        raise ConfigError("workdir", f"{workdir} holds no sweep ({manifest.MANIFEST} is missing)")
    counts = {}
    for u in m["units"]:
        s = manifest.state(workdir, u["id"], claim_timeout)
        counts[s["state"]] = counts.get(s["state"], 0) + 1
        who = f"{s.get('host', '?')}:{s.get('pid', '?')}" if s["state"] != "free" else ""
        if s.get("released"):
            extra = "released by its job"
        elif "age_s" in s:
            extra = f"heartbeat {s['age_s']:.0f} s ago"
        else:
            extra = f"{s['rows']} rows" if "rows" in s else ""
        log(f"{u['id']}  {s['state']:<7}  {who:<24}  {extra}  {u['values']}")
    log(", ".join(f"{n} {k}" for k, n in sorted(counts.items())) + f" of {len(m['units'])} units")
