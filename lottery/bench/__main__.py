"""``python -m lottery.bench [--quick] [--out=FILE.json]``: one process, one run, one table of ratios.

Workloads (same models and the same number of steps on both sides):
  (a) GMM D=100 → P → 2, P ∈ {1,3,5,8,10,15,20,25,50,100} × 8 seeds, batch 1024, N = 10,000;
  (b) the paper's GMM grid up to P = 1000 × 4 seeds, one epoch;
  (c) MNIST-shaped 784-300-100-10 (biases) × 4 seeds, batch 60 and 128, synthetic data, N = 60,000;
  IMP level time against density for a P = 1000 GMM population, with and without dead-unit compaction;
  (e) convolutional populations: images/s of K ResNet-20s (W = 16, batch 128, the CIFAR recipe) trained as
  one population (member loop and vmap) against K single-model runs one after the other.
``--workloads`` picks a subset (e.g. ``--workloads=conv`` on an accelerator).

Baselines of (a)–(c), each timed in this process on the same models and data: PyTorch eager one model at a time
(OpenLTH-style, :mod:`lottery.bench.torch_loop`); the padded population in ``torch.func`` (``vmap(grad)`` of
``functional_call``), each model its own data order or one shared order, and ``torch.compile`` of it (own order;
by default not with ``--quick``) (:mod:`lottery.bench.torch_func`); the padded population in plain JAX,
``jit(scan(vmap(step)))`` (:mod:`lottery.bench.jax_padded`). The engine's speed-up and targets are against the
strongest of them.
GFLOP/s count useful work only: 6·W·N per model-epoch (see lottery.bench.flops).
"""
from __future__ import annotations

import json
import os
import platform
import resource
import time

from absl import app, flags

from lottery import cli

_QUICK = flags.DEFINE_bool("quick", False, "Small shapes: a smoke run in about a minute.")
_OUT = flags.DEFINE_string("out", None, "Write every measurement to this JSON file.")
WORKLOADS = ("gmm", "mnist", "imp", "conv")
_TORCH_COMPILE = flags.DEFINE_bool(
    "torch_compile", None, "Time torch.compile of the vmapped PyTorch population step (one compile per bucket and "
    "batch shape). Default: in the full bench, not with --quick.")
_TORCH_THREADS = flags.DEFINE_integer(
    "torch_threads", 0, "PyTorch's intra-op threads (torch.set_num_threads); 0 keeps its default (one per core). "
    "On a busy shared machine 1 thread can be several times faster than 2.")
_WORKLOADS = flags.DEFINE_list("workloads", list(WORKLOADS), f"Which workloads to run, of {', '.join(WORKLOADS)}.")

GMM_SMALL = (1, 3, 5, 8, 10, 15, 20, 25, 50, 100)
GMM_GRID = (1, 3, 5, 8, 10, 15, 20, 25, 50, 100, 200, 500, 1000)


def _plan(quick: bool) -> dict:
    if quick:
        return {"small": {"widths": (5, 10, 100), "seeds": 2, "torch_epochs": 1, "epochs": 3, "n": 10_000},
                "grid": {"widths": (100, 1000), "seeds": 2, "n": 10_000},
                "mnist": {"batches": (128,), "seeds": 2, "n": 2_048},
                "imp": {"width": 200, "seeds": 2, "epochs": 2, "levels": 3},
                "conv": {"name": "resnet_8", "width": 4, "models": 2, "batch": 32, "steps": 2}}
    return {"small": {"widths": GMM_SMALL, "seeds": 8, "torch_epochs": 3, "epochs": 20, "n": 10_000},
            "grid": {"widths": GMM_GRID, "seeds": 4, "n": 10_000},
            "mnist": {"batches": (60, 128), "seeds": 4, "n": 60_000},
            "imp": {"width": 1000, "seeds": 4, "epochs": 3, "levels": 14},
            "conv": {"name": "resnet_20", "width": 16, "models": 4, "batch": 128, "steps": 8}}


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


BASELINES = {  # key: label, in the table's order
    "eager": "PyTorch eager, one model at a time",
    "func_own": "torch.func vmap, own order",
    "func_shared": "torch.func vmap, shared order",
    "compile_own": "torch.compile(vmap), own order",
    "jax_padded": "JAX jit(vmap), padded, own order",
}
TORCH_BASELINES = ("eager", "func_own", "func_shared", "compile_own")
CONV_BASELINES = ("no PyTorch rows: the bench has no PyTorch ResNet with the engine's CIFAR recipe, and torch.func's "
                  "vmap cannot update batch-norm running statistics in place (without them it trains another model); "
                  "a plain JAX jit(vmap) of the population is the 'members by vmap' row (one width, nothing to pad; "
                  "on a CPU timed only with --quick)")


def _one_line(e: BaseException) -> str:
    """An exception as one short line: its type and the first line of its message."""
    lines = str(e).strip().splitlines()
    return f"{type(e).__name__}: {lines[0] if lines else ''}"[:160]


def _baselines(spec, x, y, widths, seeds, batch, classes, torch_epochs, epochs, use_bias, skip_compile) -> dict:
    """Every baseline of a workload: {key of BASELINES: its Timing, or the one-line reason it is absent}.

    PyTorch trains ``torch_epochs`` timed epochs, plain JAX ``epochs`` (compiled variants after one untimed epoch
    that compiles). skip_compile: None to time torch.compile, else the reason it is skipped.
    """
    import numpy as np

    from lottery.bench import jax_padded, padded, torch_func, torch_loop

    buckets = padded.padded_buckets(spec, widths, seeds, int(np.prod(x.shape[1:])), classes)
    out = {}
    missing = torch_loop.available()
    if missing is not None:
        out.update({key: "torch is not installed" for key in TORCH_BASELINES})
    else:
        out["eager"] = torch_loop.train_models(x, y, [s for b in buckets for s in b.sizes],
                                               [s for b in buckets for s in b.seeds], torch_epochs, batch,
                                               use_bias=use_bias)
        for key, shared in (("func_own", False), ("func_shared", True)):
            out[key] = torch_func.train(x, y, buckets, use_bias, shared, False, torch_epochs, batch)
        if skip_compile is not None:
            out["compile_own"] = skip_compile
        else:
            try:
                out["compile_own"] = torch_func.train(x, y, buckets, use_bias, False, True, torch_epochs, batch)
            except Exception as e:  # noqa: BLE001 — any failure of the compiler is a result of the bench
                out["compile_own"] = "did not compile: " + _one_line(e)
    out["jax_padded"] = jax_padded.train(x, y, buckets, use_bias, epochs, batch)
    return out


def _measured(label: str, timing, flop_per_model_epoch: float, peak: float) -> dict:
    """One side of a workload: {label, model_epochs_per_s, gflops, fraction_of_peak, compile_s} from a Timing,
    or {label, absent} from the reason it is absent."""
    if isinstance(timing, str):
        return {"label": label, "absent": timing}
    rate = timing.model_epochs_per_s
    gflops = flop_per_model_epoch * rate / 1e9
    return {"label": label, "model_epochs_per_s": rate, "gflops": gflops, "fraction_of_peak": gflops / peak,
            "compile_s": timing.compile_s}


def _compare(name, spec, x, y, widths, seeds, batch, classes, epochs, baselines, peak, log, shared_order=False):
    """The engine on one workload against its baselines (:func:`_baselines`): a result row."""
    import numpy as np

    from lottery.bench import flops, population
    from lottery.bench.padded import Timing

    n, d = int(x.shape[0]), int(np.prod(x.shape[1:]))
    sizes = [spec.layer_sizes(w, d, classes) for w in widths for _ in seeds]
    flop = sum(flops.train_epoch_flops(s, n) for s in sizes) / len(sizes)  # per model-epoch, on average
    buckets = population.time_buckets(spec, x, y, widths, seeds, epochs, batch, classes, shared_order)
    engine = Timing(sum(b.seconds for b in buckets), sum(b.compile_s for b in buckets), len(sizes) * epochs)
    row = {"workload": name, "models": len(sizes), "batch": batch, "examples": n,
           "baselines": {key: _measured(BASELINES[key], t, flop, peak) for key, t in baselines.items()},
           "lottery": _measured(f"lottery, {len(buckets)} bucket{'s' * (len(buckets) > 1)}", engine, flop, peak)}
    rate = row["lottery"]["model_epochs_per_s"]
    present = {k: b for k, b in row["baselines"].items() if "absent" not in b}
    for b in present.values():
        b["lottery_speedup"] = rate / b["model_epochs_per_s"]
    if present:
        row["strongest"] = max(present, key=lambda k: present[k]["model_epochs_per_s"])
        row["speedup"] = present[row["strongest"]]["lottery_speedup"]
    row["buckets"] = [{"widths": b.widths, "models": b.models, "compile_s": b.compile_s,
                       "model_epochs_per_s": b.model_epochs_per_s} for b in buckets]
    if all(b.floor_seconds for b in buckets):  # every bucket packed: the first layer's products alone
        row["first_layer_model_epochs_per_s"] = len(sizes) * epochs / sum(b.floor_seconds for b in buckets)
    row["peak_rss_mib"] = _rss_mib()
    for line in _row_lines(row):
        log(line)
    return row


HEADER = f"{'workload / side':<44} {'m-ep/s':>9} {'GFLOP/s':>8} {'peak':>6} {'cmp s':>6} {'lottery ×':>9}"


def _side_line(side: dict) -> str:
    """One side of a row under HEADER: its rates, or why it is absent."""
    if "absent" in side:
        return f"  {side['label']:<42} {side['absent']}"
    compile_s = "–" if side["compile_s"] is None else f"{side['compile_s']:.1f}"
    speedup = f"{side['lottery_speedup']:8.2f}×" if "lottery_speedup" in side else ""
    return (f"  {side['label']:<42} {side['model_epochs_per_s']:9.1f} {side['gflops']:8.1f} "
            f"{100 * side['fraction_of_peak']:5.1f}% {compile_s:>6} {speedup}")


def _row_lines(r) -> list[str]:
    """A row's lines: the workload, every baseline, the engine, and the engine against the strongest baseline."""
    lines = [f"{r['workload']}: {r['models']} models, batch {r['batch']}, {r['examples']:,} examples"]
    lines += [_side_line(side) for side in (*r["baselines"].values(), r["lottery"])]
    if "strongest" in r:
        lines.append(f"  lottery {r['speedup']:.2f}× the strongest baseline ({r['baselines'][r['strongest']]['label']})")
    return lines


def _limit(r) -> str:
    """What bounds a packed workload: its first-layer products alone, against the strongest baseline and the peak."""
    if "first_layer_model_epochs_per_s" not in r:
        return ""
    floor = r["first_layer_model_epochs_per_s"]
    out = f"; the first layer's two products alone run {floor:.0f} model-epochs/s"
    if "strongest" in r:
        out += f" ({floor / r['baselines'][r['strongest']]['model_epochs_per_s']:.1f}× the strongest baseline)"
    more = 100 * (floor / r["lottery"]["model_epochs_per_s"] - 1)
    return out + f" and the rest of the step (output layer, activations, loss, update) takes {more:.0f}% more time"


def _strongest(r) -> str:
    """"(the strongest baseline's label)" of a row."""
    return f"({r['baselines'][r['strongest']]['label']})"


def _targets(rows, imp_rows, compiles) -> list[dict]:
    """The issue's targets (a)–(d) that this run measured, each with what it measured."""
    out = []
    if len(rows) < 3 or not imp_rows:  # a subset of the workloads: no targets
        return out
    a, b = rows[0], rows[2]
    if "speedup" in a:
        fraction = a["lottery"]["fraction_of_peak"]
        out.append({"target": "(a) small widths ≥ 3× the strongest baseline and ≥ 50% of sgemm peak",
                    "met": a["speedup"] >= 3 and fraction >= 0.5,
                    "measured": f"{a['speedup']:.2f}× {_strongest(a)} at {100 * fraction:.1f}% of peak" + _limit(a)})
    if "speedup" in b:
        out.append({"target": "(b) whole grid ≥ 1.5× the strongest baseline", "met": b["speedup"] >= 1.5,
                    "measured": f"{b['speedup']:.2f}× {_strongest(b)}" + _limit(b)})
    packed = imp_rows["compacted"]
    sparse = [r for r in packed if r["density"] <= 0.05]
    ratio = sparse[0]["seconds"] / packed[0]["seconds"] if sparse else None
    out.append({"target": "(c) an IMP level at ≤ 5% density costs ≤ 25% of level 0",
                "met": ratio is not None and ratio <= 0.25,
                "measured": f"{100 * ratio:.0f}% at {100 * sparse[0]['density']:.1f}% density" if sparse
                else "no level reached 5% density"})
    ones = all(v == 1 for c in compiles.values() for v in c.values())
    out.append({"target": "(d) one compile per bucket across all IMP levels", "met": ones,
                "measured": "every program compiled once" if ones else str(compiles)})
    return out


def main(argv) -> None:
    """Runs the chosen workloads and prints (and with ``--out`` writes) their table and targets."""
    cli.no_arguments(argv)
    chosen = [w.strip() for w in _WORKLOADS.value]
    unknown = [w for w in chosen if w not in WORKLOADS]
    if unknown:
        cli.fail(f"--workloads: unknown {', '.join(unknown)}; allowed: {', '.join(WORKLOADS)}")
    import jax
    import jax.numpy as jnp
    import numpy as np

    from lottery import configs
    from lottery.bench import conv_population, peak, population, torch_loop
    from lottery.data import catalog as data_catalog
    from lottery.models import registry as model_registry

    def log(s):
        print(s, flush=True)

    quick = _QUICK.value
    plan = _plan(quick)
    started = time.perf_counter()
    report = {"machine": {"platform": platform.platform(), "processor": platform.processor(), "cpus": os.cpu_count(),
                          "python": platform.python_version(), "jax": jax.__version__,
                          "devices": [str(d) for d in jax.devices()]},
              "quick": quick, "flop_formula": "6 * weights * examples per model-epoch (kernels only)"}
    reason = torch_loop.available()
    if reason is None:
        import torch
        if _TORCH_THREADS.value:
            torch.set_num_threads(_TORCH_THREADS.value)
        report["machine"]["torch"] = torch.__version__
        report["machine"]["torch_threads"] = torch.get_num_threads()
    else:
        report["torch_missing"] = reason
        log(f"note: {reason} — the PyTorch rows stay empty")
    if _TORCH_COMPILE.value is None:
        skip_compile = "skipped with --quick (--torch_compile times it)" if quick else None
    else:
        skip_compile = None if _TORCH_COMPILE.value else "skipped (--notorch_compile)"
    gemm = peak.sgemm_gflops(1024 if quick else 2048)
    report["sgemm_gflops"] = gemm
    top = max(gemm.values())
    log(f"sgemm peak ({'1024' if quick else '2048'}²): numpy {gemm['numpy']:.1f} GFLOP/s, XLA {gemm['xla']:.1f} GFLOP/s")
    log(HEADER)

    rows = report["workloads"] = []

    def measure(name, spec, x, y, widths, seeds, batch, classes, torch_epochs, epochs, use_bias, baselines=None,
                shared_order=False):
        """One workload's row (its baselines measured unless given); returns the baselines."""
        if baselines is None:
            baselines = _baselines(spec, x, y, widths, seeds, batch, classes, torch_epochs, epochs, use_bias,
                                   skip_compile)
        rows.append(_compare(name, spec, x, y, widths, seeds, batch, classes, epochs, baselines, top, log,
                             shared_order))
        return baselines

    gmm_cfg = configs.base().data
    p = plan["small"]
    gmm_cfg.train_size = p["n"]
    ds = data_catalog.load(gmm_cfg)
    spec = model_registry.get("gmm_fcn")
    if "gmm" in chosen:
        seeds = tuple(range(p["seeds"]))
        small = measure("(a) GMM small widths", spec, ds.x_train, ds.y_train, p["widths"], seeds, 1024, 2,
                        p["torch_epochs"], p["epochs"], False)
        measure("(a') same, shared data order", spec, ds.x_train, ds.y_train, p["widths"], seeds, 1024, 2,
                p["torch_epochs"], p["epochs"], False, baselines=small, shared_order=True)
        p = plan["grid"]
        measure("(b) GMM grid to P=1000, 1 epoch", spec, ds.x_train, ds.y_train, p["widths"],
                tuple(range(p["seeds"])), 1024, 2, 1, 1, False)
    if "mnist" in chosen:
        p = plan["mnist"]
        rng = np.random.default_rng(0)
        x = jnp.asarray(rng.standard_normal((p["n"], 784), dtype=np.float32))
        y = jnp.asarray(rng.integers(0, 10, p["n"]), jnp.int32)
        lenet = model_registry.get("lenet_300_100")
        for batch in p["batches"]:
            measure(f"(c) 784-300-100-10, batch {batch}", lenet, x, y, (300,), tuple(range(p["seeds"])), batch, 10,
                    1, 1, True)

    imp_rows, compiles = {}, {}
    if "imp" in chosen:
        p = plan["imp"]
        log(f"\nIMP level time against density: GMM P={p['width']} × {p['seeds']} seeds, {p['epochs']} epochs a level")
        for compact in (False, True):
            name = "compacted" if compact else "masked"
            imp_rows[name], compiles[name] = population.imp_level_times(
                spec, ds.x_train, ds.y_train, p["width"], tuple(range(p["seeds"])), p["epochs"], 1024, p["levels"], 2,
                compact)
        report["imp_levels"], report["imp_compiles"] = imp_rows, compiles
        log(f"{'level':>5} {'density':>8} {'masked s':>9} {'compacted s':>11} {'trained width':>13} {'vs level 0':>10}")
        base = imp_rows["compacted"][0]["seconds"]
        for a, b in zip(imp_rows["masked"], imp_rows["compacted"]):
            log(f"{a['level']:>5} {100 * a['density']:7.2f}% {a['seconds']:9.3f} {b['seconds']:11.3f} "
                f"{b['trained_width']:>13} {100 * b['seconds'] / base:9.1f}%")
        log(f"compiles per program over two IMP runs of {p['levels']} levels: {compiles}")

    if "conv" in chosen:
        p = plan["conv"]
        # On a CPU the vmapped program is measured only at quick sizes: it runs convolutions ~25× slower there.
        modes = ("loop", "vmap") if (quick or jax.default_backend() != "cpu") else ("loop",)
        conv_row = report["conv"] = conv_population.images_per_second(p["name"], p["width"], p["models"], p["batch"], p["steps"],
                                                           modes)
        log(f"\n(e) {p['models']} × {p['name']} W={p['width']}, batch {p['batch']}, CIFAR recipe: training images/s "
            f"(model-images), compile s")
        lines = [(f"{p['models']} single-model runs one after the other", conv_row["sequential"], "")]
        lines += [(f"one population, members by {mode}", conv_row[f"population_{mode}"],
                   f"   ({conv_row[f'speedup_{mode}']:.2f}× sequential)") for mode in modes]
        for label, r, extra in lines:
            log(f"  {label:<44} {r['images_per_s']:9.1f}   compile {r['compile_s']:5.1f}{extra}")
        conv_row["baselines"] = CONV_BASELINES
        log(f"  baselines: {CONV_BASELINES}")

    report["targets"] = _targets(rows, imp_rows, compiles)
    if report["targets"]:
        log("\ntargets (issue 'Benchmark and speed'):")
    for t in report["targets"]:
        log(f"  {'met    ' if t['met'] else 'NOT met'}  {t['target']}: {t['measured']}")
    report["peak_rss_mib"] = _rss_mib()
    report["seconds"] = time.perf_counter() - started
    log(f"\npeak resident memory {report['peak_rss_mib']:.0f} MiB; bench took {report['seconds']:.0f} s")
    if _OUT.value:
        from lottery.store import files
        files.write_text(_OUT.value, json.dumps(report, indent=1))
        log(f"wrote {_OUT.value}")


if __name__ == "__main__":
    app.run(main)
