"""Sweeps larger than one program: a grid (or list) of configs split into work units that any number
of job processes, on any number of hosts sharing the workdir, drain together.

From Python::

    grid = lottery.sweep.Grid(lottery.load_config("experiments/gmm_linear.py:quick"),
                              {"data.noise.fraction": [0.0, 0.1, 0.2]})
    df = lottery.sweep(grid, "runs/noise", seeds_per_unit=1)  # or a list of configs
    df = lottery.results.load("runs/noise")                    # merged: unit, point, data.noise.fraction, …

From the command line (run it N times, anywhere the workdir is shared, to have N jobs)::

    python -m lottery.sweep --config=experiments/gmm_linear.py:quick \\
        --grid=data.noise.fraction=0.0,0.1,0.2 [--grid=FIELD=V1,V2 …] --seeds_per_unit=1 --workdir=DIR
    python -m lottery.sweep --workdir=DIR --status

A *work unit* is one grid point × one block of ``train.seeds`` (``seeds_per_unit`` seeds; default all
of them: one unit per point). Models of different seeds never interact (initialisation and data
order come from the model's seed, or the order from ``train.data_seed`` for all), so a seed block
trains the models it would inside the whole population, up to float rounding — the cheap way to cut
a point too big for one job without touching the engine. A unit is an ordinary ``lottery.run`` in ``DIR/units/UNIT`` (its
own run id, lock and per-level checkpoints), so a unit taken over after a crash resumes from its
last finished level. Claims, heartbeats and done markers are in :mod:`lottery.store.manifest`.
"""
from __future__ import annotations

import ast
import dataclasses
import itertools
import json
import math
import os
import signal
import socket
import sys
import time
import types
from typing import Callable, Sequence

import ml_collections
import pandas as pd

from lottery.configs import NON_RESULT_KEYS
from lottery.errors import ConfigError
from lottery.store import manifest, runid

VERSION = 1
DEFAULT_TIMEOUT = 300.0  # seconds without a heartbeat before a claim is presumed dead
# Settings that may differ between the jobs of one sweep (where each host reads its data) or do not
# touch the results; imp.levels does change what a finished unit holds, so it must match.
LOCAL_KEYS = tuple(k for k in NON_RESULT_KEYS if k != "imp.levels")


@dataclasses.dataclass(frozen=True)
class Grid:
    """``base`` config × the product of ``axes`` ({"field.path": [values…]}, the first field outermost)."""

    base: ml_collections.ConfigDict
    axes: dict


@dataclasses.dataclass(frozen=True)
class Unit:
    """One work unit: ``id`` ("p003-s1": grid point 3, seed block 1), the swept ``values``
    {field: value} of its point, its ``seeds``, ``run_id`` and resolved ``config``."""

    id: str
    point: int
    values: dict
    seeds: tuple
    run_id: str
    config: ml_collections.ConfigDict

    def record(self) -> dict:
        return {"id": self.id, "point": self.point, "values": self.values, "seeds": list(self.seeds),
                "run_id": self.run_id, "config": self.config.to_dict()}


def _set(config: ml_collections.ConfigDict, field: str, value) -> None:
    """Sets the existing dotted ``field`` of ``config`` (ConfigError if it is not a field or the value has another type)."""
    node, *path, last = [config] + field.split(".")
    for part in path:
        if not isinstance(node, ml_collections.ConfigDict) or part not in node:
            raise ConfigError(field, "is not a config field")
        node = node[part]
    if not isinstance(node, ml_collections.ConfigDict) or last not in node or isinstance(node[last], ml_collections.ConfigDict):
        raise ConfigError(field, "is not a config field")
    try:
        setattr(node, last, value)
    except (TypeError, ValueError) as e:
        hint = "; write tuples as (1,2),(3,)" if isinstance(node[last], tuple) else ""
        raise ConfigError(field, f"cannot take {value!r} ({type(value).__name__}); it holds {node[last]!r}{hint}") from None


def _get(config: ml_collections.ConfigDict, field: str):
    node = config
    for part in field.split("."):
        node = node[part]
    return node


def _plain(value):
    return json.loads(json.dumps(value, default=list))


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def comparable(config_dict: dict) -> dict:
    """{dotted field: value} of a config without the LOCAL_KEYS (tuples as lists)."""
    flat = _flat(_plain(config_dict))
    return {k: v for k, v in flat.items() if not any(k == p or k.startswith(p + ".") for p in LOCAL_KEYS)}


def _points(configs_or_grid) -> tuple[str, dict, list[tuple[dict, ml_collections.ConfigDict]]]:
    """(kind, axes, [(values, config)]) of a Grid or a list of configs. For a list, the axes are the
    fields whose values differ between the configs, with their value per config."""
    if isinstance(configs_or_grid, Grid):
        axes = {}
        for field, values in configs_or_grid.axes.items():
            if any(field == p or field.startswith(p + ".") for p in NON_RESULT_KEYS):
                raise ConfigError(field, "does not change results, so its grid points would repeat one run; "
                                         "sweep a field that changes results")
            values = list(values) if isinstance(values, (list, tuple, range)) else [values]
            if not values:
                raise ConfigError(field, "needs at least one value in the grid")
            points = []
            for v in values:  # each value through the config's own typing (an int into a float field …)
                c = ml_collections.ConfigDict(configs_or_grid.base.to_dict())
                _set(c, field, v)
                points.append(_plain(_get(c, field)))
            if len({json.dumps(p) for p in points}) < len(points):
                raise ConfigError(field, f"repeats a value in the grid {points} (its rows would be duplicated)")
            axes[field] = points
        out = []
        for combo in itertools.product(*axes.values()):
            c = ml_collections.ConfigDict(configs_or_grid.base.to_dict())
            values = dict(zip(axes, combo))
            for field, v in values.items():
                _set(c, field, tuple(v) if isinstance(v, list) else v)
            out.append((values, c))
        return "grid", axes, out
    if isinstance(configs_or_grid, (str, bytes, dict)) or not all(hasattr(c, "to_dict") for c in configs_or_grid):
        raise ConfigError("configs", "a sweep is a lottery.sweep.Grid(base_config, {field: [values]}) or a list "
                                     f"of ConfigDicts, got {type(configs_or_grid).__name__}")
    configs = [ml_collections.ConfigDict(c.to_dict()) for c in configs_or_grid]
    if not configs:
        raise ConfigError("configs", "a sweep needs at least one config")
    flats = [comparable(c.to_dict()) for c in configs]
    keys = sorted(set().union(*flats))
    varying = [k for k in keys if len({json.dumps(f.get(k)) for f in flats}) > 1]
    axes = {k: [f.get(k) for f in flats] for k in varying}
    return "configs", axes, [({k: f.get(k) for k in varying}, c) for f, c in zip(flats, configs)]


def units(configs_or_grid, seeds_per_unit: int | None = None) -> tuple[str, dict, list[Unit]]:
    """(kind, axes, units) of a sweep; every unit's config is validated (ConfigError naming the field).

    ``configs_or_grid``: a :class:`Grid` or a sequence of ConfigDicts. ``seeds_per_unit``: train.seeds
    per unit (None or 0: all seeds of a point in one unit)."""
    from lottery import validate

    if seeds_per_unit is not None and (not isinstance(seeds_per_unit, int) or seeds_per_unit < 0):
        raise ConfigError("seeds_per_unit", f"must be an integer ≥ 0 (0: all seeds in one unit), got {seeds_per_unit!r}")
    kind, axes, points = _points(configs_or_grid)
    width = max(3, len(str(len(points) - 1)))
    out, seen = [], {}
    for p, (values, config) in enumerate(points):
        seeds = tuple(config.train.seeds)
        k = seeds_per_unit or len(seeds) or 1
        blocks = [seeds[i:i + k] for i in range(0, len(seeds), k)] or [seeds]
        for b, block in enumerate(blocks):
            c = ml_collections.ConfigDict(config.to_dict())
            if block:
                c.train.seeds = block
            uid = f"p{p:0{width}d}-s{b:0{len(str(len(blocks) - 1))}d}"
            try:
                validate.config(c)
            except ConfigError as e:
                raise ConfigError(e.field, f"{e.message} (sweep unit {uid}, {values or 'no swept fields'})") from None
            rid = runid.run_id(c.to_dict())
            if rid in seen:
                raise ConfigError("configs", f"units {seen[rid]} and {uid} are the same run {rid} "
                                             f"(their rows would be duplicated); remove one")
            seen[rid] = uid
            out.append(Unit(uid, p, values, tuple(block), rid, c))
    return kind, axes, out


def _differs(old: dict, new: dict, workdir: str) -> ConfigError:
    keys = sorted(set(old) | set(new))
    field = next(k for k in keys if old.get(k) != new.get(k))
    return ConfigError(field, f"the sweep in {workdir} was made with {old.get(field)!r}, not {new.get(field)!r}; "
                              f"use a new workdir (or the sweep's own settings)")


def check_same(existing: dict, new: dict, workdir: str) -> None:
    """Refuses a manifest ``new`` that describes another sweep than ``existing`` (one-line ConfigError
    naming the first field that differs)."""
    if existing.get("version") != VERSION:
        raise ConfigError("workdir", f"{workdir} holds a sweep manifest of version {existing.get('version')}, "
                                     f"this is version {VERSION}; use a new workdir")
    if existing["seeds_per_unit"] != new["seeds_per_unit"]:
        raise ConfigError("seeds_per_unit", f"the sweep in {workdir} was made with {existing['seeds_per_unit']}, "
                                            f"not {new['seeds_per_unit']}; use a new workdir")
    if existing["kind"] == new["kind"] == "grid" and existing["axes"] != new["axes"]:
        old, now = existing["axes"], new["axes"]
        field = next(f for f in [*old, *now] if old.get(f) != now.get(f))
        raise ConfigError(field, f"the sweep in {workdir} sweeps it over {old.get(field, 'nothing (not swept)')}, "
                                 f"this one over {now.get(field, 'nothing (not swept)')}; use a new workdir")
    before = {u["id"]: u for u in existing["units"]}
    after = {u["id"]: u for u in new["units"]}
    for uid in before.keys() & after.keys():
        a, b = comparable(before[uid]["config"]), comparable(after[uid]["config"])
        if a != b:
            raise _differs(a, b, workdir)
    if before.keys() != after.keys():
        field = "train.seeds" if {u["point"] for u in before.values()} == {u["point"] for u in after.values()} else "configs"
        raise ConfigError(field, f"the sweep in {workdir} has {len(before)} units, this one {len(after)}; "
                                 f"use a new workdir")


def prepare(configs_or_grid, workdir: str, seeds_per_unit: int | None = None) -> list[Unit]:
    """Validates the sweep and writes ``DIR/manifest.json``, or checks that the manifest already there
    describes the same sweep (ConfigError naming the field otherwise). Returns the units."""
    manifest.check_workdir(workdir)
    kind, axes, out = units(configs_or_grid, seeds_per_unit)
    record = {"version": VERSION, "kind": kind, "axes": axes, "seeds_per_unit": seeds_per_unit or 0,
              "units": [u.record() for u in out]}
    existing = manifest.create(workdir, record)
    if existing is not None:
        check_same(existing, _plain(record), workdir)
    return out


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
    _check_timeout(claim_timeout)
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


def _check_timeout(claim_timeout) -> None:
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
    _check_timeout(claim_timeout)
    todo = prepare(configs_or_grid, workdir, seeds_per_unit)
    drain(workdir, todo, claim_timeout, wait, shard, log)
    return manifest.merged(workdir)


def parse_grid(specs: Sequence[str]) -> dict:
    """``["data.noise.fraction=0.0,0.2", "model.widths=(1,2),(5,)"]`` → {field: [values]}: values split
    at top-level commas, each read as a Python literal (else kept as text: ``data.noise.mode=permute,uniform``)."""
    axes = {}
    for spec in specs:
        field, eq, text = spec.partition("=")
        field = field.strip()
        if not eq or not field or not text.strip():
            raise ConfigError("grid", f"{spec!r}: expected FIELD=V1,V2,… (e.g. data.noise.fraction=0.0,0.2)")
        if field in axes:
            raise ConfigError(field, "is given twice in --grid")
        parts, depth, current = [], 0, ""
        for ch in text:
            depth += ch in "([{"
            depth -= ch in ")]}"
            if ch == "," and depth == 0:
                parts.append(current)
                current = ""
            else:
                current += ch
        parts.append(current)
        values = []
        for part in parts:
            part = part.strip()
            if not part:
                raise ConfigError(field, f"empty value in --grid={spec!r}")
            try:
                values.append(ast.literal_eval(part))
            except (ValueError, SyntaxError):
                values.append(part)
        axes[field] = values
    return axes


def parse_shard(text: str) -> tuple[int, int] | None:
    if not text:
        return None
    i, slash, n = text.partition("/")
    if not (slash and i.strip().isdigit() and n.strip().isdigit() and int(i) < int(n)):
        raise ConfigError("shard", f"must be I/N with 0 ≤ I < N (this job takes units I, I+N, …), got {text!r}")
    return int(i), int(n)


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


def main(argv) -> None:
    from absl import logging

    cli = _cli  # lottery.main: the same --config / --workdir flags and one-line errors
    if len(argv) > 1:
        cli._fail(f"unexpected arguments {argv[1:]}")
    workdir = cli._WORKDIR.value
    if not workdir:
        cli._fail("workdir: is required (--workdir=DIR)")
    try:
        if _STATUS.value:
            return status(workdir, _TIMEOUT.value, lambda s: print(s, flush=True))
        if cli._CONFIG.value is None:
            cli._fail("config: is required (--config=experiments/NAME.py[:preset])")
        try:
            base = cli._CONFIG.value.copy_and_resolve_references()
        except Exception as e:
            cli._fail(f"config: cannot load {flags.FLAGS['config'].serialize().split('=', 1)[-1]}: {cli._last_line(e)}")
        _check_timeout(_TIMEOUT.value)
        shard = parse_shard(_SHARD.value)
        axes = parse_grid(_GRID.value)
        todo = prepare(Grid(base, axes), workdir, _SEEDS.value)
        print(f"sweep {os.path.abspath(workdir)}: {len(todo)} units", flush=True)
        if _PREPARE.value:
            for u in todo:
                print(f"{u.id}  run {u.run_id}  seeds {list(u.seeds)}  {u.values}")
            return
        logging.set_verbosity(logging.WARNING)
        _compilation_cache(workdir, _CACHE.value)
        signal.signal(signal.SIGTERM, _terminate)
        ran = drain(workdir, todo, _TIMEOUT.value, _WAIT.value, shard)
        left = sum(not manifest.is_done(workdir, u.id) for u in todo)
        print(f"this job ran {len(ran)} unit(s); {len(todo) - left} of {len(todo)} done"
              + (f", results: {os.path.join(workdir, 'results.parquet')}" if not left else ""), flush=True)
    except ConfigError as e:
        cli._fail(str(e))


def _terminate(signum, frame) -> None:
    """SIGTERM (a batch system's time limit, kill): release the held claim so that another job takes the
    unit over at once, and exit. Not an exception: one raised inside a library's bare ``except:`` (an
    import, a callback) would be swallowed and the unit would run on."""
    manifest.release_held()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(128 + signum)


def _compilation_cache(workdir: str, setting: str) -> None:
    """Shares XLA's persistent compilation cache between units and jobs (grid points that differ only
    in values, not shapes, compile once): ``auto`` = DIR/xla_cache unless JAX already has one."""
    import jax

    if setting == "auto":
        if jax.config.jax_compilation_cache_dir:
            return
        setting = os.path.join(os.path.abspath(workdir), "xla_cache")
    if setting:
        jax.config.update("jax_compilation_cache_dir", setting)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)


if __name__ == "__main__":
    from absl import app, flags

    from lottery import main as _cli

    _GRID = flags.DEFINE_multi_string("grid", [], "FIELD=V1,V2,…: sweep FIELD over these values; repeat for a product.")
    _SEEDS = flags.DEFINE_integer("seeds_per_unit", 0, "train.seeds per work unit (0: all seeds of a grid point).")
    _TIMEOUT = flags.DEFINE_float("claim_timeout", DEFAULT_TIMEOUT,
                                  "Seconds without a heartbeat after which another job takes a unit over.")
    _WAIT = flags.DEFINE_bool("wait", True, "Once nothing is claimable, wait for the other jobs' units "
                                            "(taking over those whose job died) instead of exiting.")
    _SHARD = flags.DEFINE_string("shard", "", "I/N: take only units I, I+N, I+2N, … (for filesystems without "
                                              "atomic exclusive create, e.g. a gcsfuse bucket).")
    _PREPARE = flags.DEFINE_bool("prepare", False, "Write (or check) the manifest, list the units, run nothing.")
    _STATUS = flags.DEFINE_bool("status", False, "Print every unit's state (needs only --workdir) and exit.")
    _CACHE = flags.DEFINE_string("compilation_cache", "auto", "XLA persistent compilation cache directory "
                                                              "(auto: DIR/xla_cache; empty: none).")
    app.run(main, flags_parser=_cli._parse)
else:
    class _CallableModule(types.ModuleType):
        """``lottery.sweep(...)`` stays the function once this module is imported over the package attribute."""

        def __call__(self, *args, **kwargs):
            return sweep(*args, **kwargs)

    sys.modules[__name__].__class__ = _CallableModule
