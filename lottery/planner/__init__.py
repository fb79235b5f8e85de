"""What a run will cost, before it runs: ``lottery.plan(config)`` (the command line is ``python -m lottery.planner``).

For every bucket the run would train — an IMP run's width buckets, a pruning-method run's dense models and
method population, a robustness run's two per architecture — the run's study says how it would train
(``Study.plan``: the buckets, members and trainer of each, the epochs over the run, whether IMP levels ≥ 1 train
compacted), and the trainer the strategy it chooses for the planned backend and the chunk length. The data are a
stand-in of the right shapes (``data.catalog.stand_in``): nothing is read, initialised or trained.

FLOPs are the benchmark's count of useful work (:mod:`lottery.bench.flops`): 6 × forward multiply-adds of the
prunable layers × examples per model-epoch, at each member's true width (no padding), every level as dense
(a pruned level still computes its masked weights; a compacted level computes less, so for those this is an
upper bound). Evaluation, batch-norm, activations and the update are not counted.

Memory is XLA's own analysis of the compiled chunk program (lowered on ``jax.ShapeDtypeStruct`` inputs, compiled
here, never run): arguments + outputs − aliased (donated) + temporaries, plus what the strategy keeps beside the
program (the other members of a member loop, the padded record of a packed bucket). Compiled on this machine's
backend, so for another device it is an estimate of the same program. Time is an estimate: FLOPs / (peak ×
efficiency).
"""
from __future__ import annotations

import re
from typing import Callable

import jax
import numpy as np
import pandas as pd

from lottery import api, validate
from lottery.bench import flops as flop_count
from lottery.data import catalog
from lottery.core.errors import ConfigError
from lottery.train.program_memory import parse_bytes  # noqa: F401 (the command line's parser)
from lottery.train.trainer import BucketTrainer

DEVICES = ("cpu", "gpu", "tpu")
# Peaks assumed for a device this machine is not, when no --flops is given (vendor figures; dense float32 on the
# GPU, the chip's bf16 matmul rate on the TPU, where XLA's default precision runs float32 matmuls in bf16 passes).
ASSUMED_PEAK = {"gpu": (67e12, "assumed peak of one H100-class GPU (FP32, 67 TFLOP/s; give --flops for yours)"),
                "tpu": (197e12, "assumed peak of one TPU v5e chip (197 TFLOP/s; give --flops for yours)")}
# Fractions of the float32 matmul peak the engine reached on this machine (docs/performance.md, 2 Xeon cores):
# fully connected populations 49–69% (a–c), so 0.5; four ResNet-20s in member-loop mode 203 images/s
# = 50 GFLOP/s by this count (6 × 40.8 M multiply-adds per image) against 298 GFLOP/s, so 0.17.
EFFICIENCY = {True: 0.5, False: 0.17}
EFFICIENCY_SOURCE = ("docs/performance.md: fully connected populations 49–69% of this CPU's sgemm peak (0.5 used), "
                     "ResNet-20 member loop 17% (0.17 used); measured on a CPU, assumed elsewhere")
PREFIXES = {"": 1, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12, "p": 1e15}


def parse_flops(text: str) -> float:
    """``989e12`` / ``989T`` / ``67TFLOPS`` / ``300G`` (FLOP/s) → FLOP/s (ValueError otherwise)."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([kmgtp]?)(?:flop/?s|flops)?\s*", str(text).lower())
    if not m or float(m.group(1)) <= 0:
        raise ValueError(f"flops must be a peak rate like 989T, 67TFLOPS or 3e11 (FLOP/s, > 0), got {text!r}")
    return float(m.group(1)) * PREFIXES[m.group(2)]


def _epoch_flops(spec, trainer: BucketTrainer, dataset) -> tuple[float, list[int]]:
    """(FLOPs of one epoch of every real member, prunable weights per member)."""
    members = trainer.members[:trainer.reported]
    shape, classes = tuple(dataset.input_shape), dataset.num_classes
    per_width = {w: (flop_count.model_epoch_flops(spec, w, shape, classes, dataset.train_size),
                     spec.weight_count(w, shape, classes)) for w in {m.width for m in members}}
    return sum(per_width[m.width][0] for m in members), [per_width[m.width][1] for m in members]


def plan(config, device: str | None = None, memory: int | str | None = None, peak: float | str | None = None,
         efficiency: float | None = None, analyse_memory: bool = True, measure=None,
         log: Callable[[str], None] | None = None) -> pd.DataFrame:
    """One row per bucket of the run ``config`` would make (nothing is trained): members, widths, strategy,
    compacted, weights, FLOPs per epoch and over the run, memory of the chunk program, whether it fits
    ``memory`` (bytes or ``80GiB``), estimated seconds.

    device: cpu | gpu | tpu, the backend the strategy is chosen for (this machine's by default). peak: FLOP/s of
    the device (``989T``); without it the rate is measured on this machine by a short sgemm (``measure()`` →
    FLOP/s, :func:`lottery.bench.peak.sgemm_gflops` by default) when ``device`` is this machine's, else the
    :data:`ASSUMED_PEAK` of that kind of device (stated in the plan). efficiency: the fraction of peak assumed
    (default :data:`EFFICIENCY`).
    analyse_memory False: skip the compiles (memory columns empty). ``df.attrs`` says what was counted.
    """
    log = log or (lambda s: None)
    config = api.as_config(config)
    study = api.check(config)
    local = jax.default_backend()
    device = device or local
    validate.choice("device", device, DEVICES)
    budget = parse_bytes(memory) if isinstance(memory, str) else memory
    rate, rate_source = None, None
    if peak is not None:
        rate, rate_source = (parse_flops(peak) if isinstance(peak, str) else float(peak)), "given peak"
    elif device == local:
        if measure is None:
            from lottery.bench import peak as peak_bench
            measure = lambda: peak_bench.sgemm_gflops(1024, 3)["xla"] * 1e9  # noqa: E731
        rate, rate_source = float(measure()), f"measured sgemm peak on this {local}"
    elif device in ASSUMED_PEAK:
        rate, rate_source = ASSUMED_PEAK[device]
    dataset = study.prepare(config, catalog.stand_in(config.data))
    study.check_data(config, dataset)
    labels = np.broadcast_to(np.zeros((), np.int32), (len(config.data.noise.seeds), dataset.train_size))
    rows = []
    for unit in study.plan(config, dataset, labels, device):
        spec, trainer, name = unit.spec, unit.trainer, unit.bucket
        epoch_flops, weights = _epoch_flops(spec, trainer, dataset)
        members = trainer.members[:trainer.reported]
        row = {"study": unit.study, "bucket": name, "model": spec.name, "members": len(members),
               "widths": sorted({m.width for m in members}), "strategy": trainer.strategy.name,
               "compacted": unit.compacted, "chunk": trainer.chunk, "weights_per_member": max(weights),
               "weights": int(sum(weights)), "flops_epoch": epoch_flops, "epochs": unit.epochs,
               "counted": unit.counted, "flops_run": epoch_flops * unit.epochs,
               "memory_bytes": np.nan, "fits": None, "compile_s": np.nan, "slices": 1, "slice_memory_bytes": np.nan}
        if analyse_memory:
            row["memory_bytes"], row["compile_s"] = trainer.program_bytes()
            row["fits"] = None if budget is None else bool(row["memory_bytes"] <= budget)
            if row["fits"] is False:  # what train.memory would do: the fewest slices of members that fit
                try:
                    fitted, row["slices"] = trainer.fit_memory(budget)
                    row["slice_memory_bytes"] = trainer.program_bytes(fitted)[0]
                except ConfigError:
                    row["slices"] = 0  # not even one slice fits
        eff = efficiency if efficiency is not None else EFFICIENCY[spec.fully_connected]
        row["efficiency"] = eff
        row["seconds_est"] = row["flops_run"] / (rate * eff) if rate else np.nan
        rows.append(row)
        log(f"planned {name}: {row['members']} members, {row['strategy']}")
    df = pd.DataFrame(rows)
    df.attrs.update(device=device, compiled_on=local, memory_budget=budget, rate=rate, rate_source=rate_source,
                    efficiency_source="given" if efficiency is not None else EFFICIENCY_SOURCE,
                    data=dataset.name, train_size=dataset.train_size)
    return df


def _si(x: float, unit: str) -> str:
    if x != x:  # NaN
        return "–"
    for p, f in (("P", 1e15), ("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(x) >= 0.9995 * f:
            return f"{x / f:.3g} {p}{unit}"
    return f"{x:.3g} {unit}"


def _bytes(x: float) -> str:
    if x != x:
        return "–"
    for p, f in (("TiB", 2 ** 40), ("GiB", 2 ** 30), ("MiB", 2 ** 20), ("KiB", 2 ** 10)):
        if x >= f:
            return f"{x / f:.3g} {p}"
    return f"{int(x)} B"


def _duration(s: float) -> str:
    if s != s:
        return "–"
    for unit, f in (("d", 86400), ("h", 3600), ("min", 60)):
        if s >= f:
            return f"{s / f:.3g} {unit}"
    return f"{s:.3g} s"


def _fits(fits, slices: int, slice_bytes: float) -> str:
    if fits is None:
        return "–"
    if fits:
        return "yes"
    return f"no: {slices} slices of {_bytes(slice_bytes)}" if slices else "no: not one member"


def format_plan(df: pd.DataFrame) -> str:
    """The plan as text: one line per bucket, then totals and what was counted."""
    a = df.attrs
    def widths(ws):
        return f"{ws[0]}" if len(ws) == 1 else f"{ws[0]}–{ws[-1]} ({len(ws)})"
    table = pd.DataFrame({
        "bucket": df.bucket, "members": df.members, "widths": df.widths.map(widths),
        "strategy": df.strategy + np.where(df.compacted, " (+compacted ≥1)", ""),
        "weights/member": df.weights_per_member.map(lambda v: f"{v:,}"),
        "FLOP/epoch": df.flops_epoch.map(lambda v: _si(v, "")), "epochs": df.epochs.map(lambda v: f"{v:g}"),
        "FLOP run": df.flops_run.map(lambda v: _si(v, "")), "memory": df.memory_bytes.map(_bytes),
        "fits": [_fits(f, n, m) for f, n, m in zip(df.fits, df.slices, df.slice_memory_bytes)],
        "time (est.)": df.seconds_est.map(_duration)})
    lines = [f"plan for {a['device']} (strategies chosen for {a['device']}; programs compiled on {a['compiled_on']}), "
             f"data {a['data']} ({a['train_size']} train): nothing trained", table.to_string(index=False), ""]
    peak = df.memory_bytes.max()
    lines.append(f"total: {len(df)} buckets, {int(df.members.sum())} models, {_si(df.flops_run.sum(), 'FLOP')} "
                 f"of training, largest program {_bytes(peak)}"
                 + ("" if a["memory_budget"] is None or peak != peak else
                    f" ({'fits' if df.fits.all() else 'does NOT fit'} {_bytes(a['memory_budget'])}"
                    + ("" if df.fits.all() else f"; with train.memory={_bytes(a['memory_budget']).replace(' ', '')}"
                       f" the buckets marked 'no' train in slices of their members")
                    + ")")
                 + f", estimated time {_duration(df.seconds_est.sum())}")
    lines.append("counted: FLOPs = 6 × forward multiply-adds of the prunable layers × training examples per "
                 "model-epoch (true widths; pruned levels as dense; evaluation, batch-norm, activations, updates "
                 "not counted); epochs per member: " + "; ".join(sorted(set(df.counted))))
    lines.append("memory: XLA's memory analysis of the compiled chunk program (arguments + outputs − donated + "
                 "temporaries) + what the strategy holds beside it; buckets train one after the other")
    if a["rate"]:
        lines.append(f"time: an estimate, FLOPs / ({_si(a['rate'], 'FLOP/s')} {a['rate_source']} × efficiency "
                     f"{', '.join(f'{e:g}' for e in sorted(set(df.efficiency)))}; {a['efficiency_source']})")
    else:
        lines.append(f"time: not estimated (give --flops=PEAK for {a['device']}; this machine is {a['compiled_on']})")
    return "\n".join(lines)
