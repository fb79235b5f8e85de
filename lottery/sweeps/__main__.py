"""Command line of a sweep (:mod:`lottery.sweeps`); run it N times, anywhere the workdir is shared, to have N jobs::

    python -m lottery.sweeps --config=experiments/gmm_linear.py:quick \\
        --grid=data.noise.fraction=0.0,0.1,0.2 [--grid=FIELD=V1,V2 …] --seeds_per_unit=1 --workdir=DIR
    python -m lottery.sweeps --workdir=DIR --status

Bad input prints one line and exits with status 2 (:mod:`lottery.cli`). From Python call
``lottery.sweep(grid_or_configs, workdir, …)`` (:func:`lottery.sweeps.sweep`).
"""
from __future__ import annotations

import ast
import os
import signal
import sys
from typing import Sequence

from absl import app, flags, logging

from lottery import cli
from lottery.core.errors import ConfigError
from lottery.store import manifest
from lottery.sweeps import DEFAULT_TIMEOUT, Grid, check_timeout, drain, prepare, status

cli.config_flag()  # --config=experiments/NAME.py[:preset] and its --config.x.y=… overrides, as for lottery.main
cli.workdir_flag()  # --workdir=DIR
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
    """``--shard=I/N`` → (I, N); None for an empty text (ConfigError unless 0 ≤ I < N)."""
    if not text:
        return None
    i, slash, n = text.partition("/")
    if not (slash and i.strip().isdigit() and n.strip().isdigit() and int(i) < int(n)):
        raise ConfigError("shard", f"must be I/N with 0 ≤ I < N (this job takes units I, I+N, …), got {text!r}")
    return int(i), int(n)


def main(argv) -> None:
    """One job of the sweep that the flags describe (or, with ``--status``, every unit's state)."""
    cli.no_arguments(argv)
    workdir = cli.workdir()
    try:
        if _STATUS.value:
            return status(workdir, _TIMEOUT.value, lambda s: print(s, flush=True))
        base = cli.config()
        check_timeout(_TIMEOUT.value)
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
        cli.fail(str(e))


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
    app.run(main, flags_parser=cli.parse)
