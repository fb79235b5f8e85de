"""``python -m lottery.bench [--quick] [--out=FILE.json]``: one process, one run, one table of ratios.

Workloads (same models and the same number of steps on both sides):
  (a) GMM D=100 → P → 2, P ∈ {1,3,5,8,10,15,20,25,50,100} × 8 seeds, batch 1024, N = 10,000;
  (b) the paper's GMM grid up to P = 1000 × 4 seeds, one epoch;
  (c) MNIST-shaped 784-300-100-10 (biases) × 4 seeds, batch 60 and 128, synthetic data, N = 60,000;
  IMP level time against density for a P = 1000 GMM population, with and without dead-unit compaction;
  (e) convolutional populations: images/s of K ResNet-20s (W = 16, batch 128, the CIFAR recipe) trained as
  one population (member loop and vmap) against K single-model runs one after the other.
``--workloads`` picks a subset (e.g. ``--workloads=conv`` on an accelerator).
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
_WORKLOADS = flags.DEFINE_list("workloads", list(WORKLOADS), f"Which workloads to run, of {', '.join(WORKLOADS)}.")

GMM_SMALL = (1, 3, 5, 8, 10, 15, 20, 25, 50, 100)
GMM_GRID = (1, 3, 5, 8, 10, 15, 20, 25, 50, 100, 200, 500, 1000)


def _plan(quick: bool) -> dict:
    if quick:
        return {"small": {"widths": (1, 10, 100), "seeds": 2, "torch_epochs": 1, "epochs": 3, "n": 10_000},
                "grid": {"widths": (1, 100, 1000), "seeds": 2, "n": 10_000},
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


def _compare(name, spec, x, y, widths, seeds, batch, classes, torch_epochs, epochs, use_bias, peak, log,
             shared_order=False, torch_seconds=None):
    """One workload on both sides: a result row (and the torch seconds, reusable across variants)."""
    import numpy as np

    from lottery.bench import flops, population, torch_loop

    n, d = int(x.shape[0]), int(np.prod(x.shape[1:]))
    sizes = [spec.layer_sizes(w, d, classes) for w in widths for _ in seeds]
    flop_epoch = sum(flops.train_epoch_flops(s, n) for s in sizes)
    row = {"workload": name, "models": len(sizes), "batch": batch, "examples": n}
    if torch_seconds is None and torch_loop.available() is None:
        torch_seconds = torch_loop.train_models(np.asarray(x), np.asarray(y), sizes,
                                                [s for _ in widths for s in seeds], torch_epochs, batch,
                                                use_bias=use_bias)
    if torch_seconds is not None:
        row["torch_model_epochs_per_s"] = len(sizes) * torch_epochs / torch_seconds
        row["torch_gflops"] = flop_epoch * torch_epochs / torch_seconds / 1e9
    buckets = population.time_buckets(spec, x, y, widths, seeds, epochs, batch, classes, shared_order)
    seconds = sum(b.seconds for b in buckets)
    row["lottery_model_epochs_per_s"] = len(sizes) * epochs / seconds
    row["lottery_gflops"] = flop_epoch * epochs / seconds / 1e9
    row["lottery_fraction_of_peak"] = row["lottery_gflops"] / peak
    if "torch_model_epochs_per_s" in row:
        row["speedup"] = row["lottery_model_epochs_per_s"] / row["torch_model_epochs_per_s"]
    row["buckets"] = [{"widths": b.widths, "models": b.models, "compile_s": b.compile_s,
                       "model_epochs_per_s": b.model_epochs_per_s} for b in buckets]
    if all(b.floor_seconds for b in buckets):  # every bucket packed: the first layer's products alone
        row["first_layer_model_epochs_per_s"] = len(sizes) * epochs / sum(b.floor_seconds for b in buckets)
    row["peak_rss_mib"] = _rss_mib()
    log(_row_line(row))
    return row, torch_seconds


def _row_line(r) -> str:
    torch = f"{r['torch_model_epochs_per_s']:9.1f}" if "torch_model_epochs_per_s" in r else "        –"
    speed = f"{r['speedup']:6.2f}×" if "speedup" in r else "      –"
    compile_s = sum(b["compile_s"] for b in r["buckets"])
    return (f"{r['workload']:<34} {r['models']:>6} {torch} {r['lottery_model_epochs_per_s']:9.1f} {speed} "
            f"{r['lottery_gflops']:7.1f} {100 * r['lottery_fraction_of_peak']:5.1f}% {len(r['buckets']):>3} "
            f"{compile_s:6.1f}")


HEADER = (f"{'workload':<34} {'models':>6} {'torch m-ep/s':>9} {'lottery':>9} {'speedup':>7} "
          f"{'GFLOP/s':>7} {'peak':>6} {'bkt':>3} {'cmp s':>6}")


def _limit(r) -> str:
    """What bounds a packed workload: its first-layer products alone, against PyTorch and the peak."""
    if "first_layer_model_epochs_per_s" not in r:
        return ""
    floor = r["first_layer_model_epochs_per_s"]
    out = f"; the first layer's two products alone run {floor:.0f} model-epochs/s"
    if "torch_model_epochs_per_s" in r:
        out += f" ({floor / r['torch_model_epochs_per_s']:.1f}× PyTorch)"
    more = 100 * (floor / r["lottery_model_epochs_per_s"] - 1)
    return out + f" and the rest of the step (output layer, activations, loss, update) takes {more:.0f}% more time"


def _targets(rows, imp_rows, compiles) -> list[dict]:
    """The issue's targets (a)–(d) that this run measured, each with what it measured."""
    out = []
    if len(rows) < 3 or not imp_rows:  # a subset of the workloads: no targets
        return out
    a, b = rows[0], rows[2]
    if "speedup" in a:
        out.append({"target": "(a) small widths ≥ 5× PyTorch and ≥ 50% of sgemm peak",
                    "met": a["speedup"] >= 5 and a["lottery_fraction_of_peak"] >= 0.5,
                    "measured": f"{a['speedup']:.2f}× at {100 * a['lottery_fraction_of_peak']:.1f}% of peak" + _limit(a)})
    if "speedup" in b:
        out.append({"target": "(b) whole grid ≥ 1.5× PyTorch", "met": b["speedup"] >= 1.5,
                    "measured": f"{b['speedup']:.2f}×" + _limit(b)})
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
        report["machine"]["torch"] = torch.__version__
    else:
        report["torch_missing"] = reason
        log(f"note: {reason} — the PyTorch columns stay empty")
    gemm = peak.sgemm_gflops(1024 if quick else 2048)
    report["sgemm_gflops"] = gemm
    top = max(gemm.values())
    log(f"sgemm peak ({'1024' if quick else '2048'}²): numpy {gemm['numpy']:.1f} GFLOP/s, XLA {gemm['xla']:.1f} GFLOP/s")
    log(HEADER)

    rows = report["workloads"] = []
    gmm_cfg = configs.base().data
    p = plan["small"]
    gmm_cfg.train_size = p["n"]
    ds = data_catalog.load(gmm_cfg)
    spec = model_registry.get("gmm_fcn")
    if "gmm" in chosen:
        seeds = tuple(range(p["seeds"]))
        row, t_small = _compare("(a) GMM small widths", spec, ds.x_train, ds.y_train, p["widths"], seeds, 1024, 2,
                                p["torch_epochs"], p["epochs"], False, top, log)
        rows.append(row)
        row, _ = _compare("(a') same, shared data order", spec, ds.x_train, ds.y_train, p["widths"], seeds, 1024, 2,
                          p["torch_epochs"], p["epochs"], False, top, log, shared_order=True, torch_seconds=t_small)
        rows.append(row)
        p = plan["grid"]
        row, _ = _compare("(b) GMM grid to P=1000, 1 epoch", spec, ds.x_train, ds.y_train, p["widths"],
                          tuple(range(p["seeds"])), 1024, 2, 1, 1, False, top, log)
        rows.append(row)
    if "mnist" in chosen:
        p = plan["mnist"]
        rng = np.random.default_rng(0)
        x = jnp.asarray(rng.standard_normal((p["n"], 784), dtype=np.float32))
        y = jnp.asarray(rng.integers(0, 10, p["n"]), jnp.int32)
        lenet = model_registry.get("lenet_300_100")
        for batch in p["batches"]:
            row, _ = _compare(f"(c) 784-300-100-10, batch {batch}", lenet, x, y, (300,), tuple(range(p["seeds"])),
                              batch, 10, 1, 1, True, top, log)
            rows.append(row)

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
