"""``lottery.run(config, workdir)``: validate, load data, train every bucket, write results, report."""
from __future__ import annotations

import contextlib
import os
from typing import Callable

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pandas as pd

from lottery import distributed, imp, robustness, validate, zoo
from lottery.analysis import calibration, posterior_maps
from lottery.data import noise
from lottery.data import registry as data_registry
from lottery.models import registry as model_registry
from lottery.progress import Progress
from lottery.report import double_descent, sparse_double_descent
from lottery.report import prune_methods as zoo_report
from lottery.store import files, results, runid, workdir as wd
from lottery.store.checkpoints import BucketCheckpoints
from lottery.store.lock import WorkdirLock
from lottery.train import buckets as bucketing
from lottery.train import order
from lottery.train.state import Member
from lottery.train.trainer import BucketTrainer, packs

NOISE_STREAM = 0x0E


def label_sets(dataset, cfg) -> list[dict]:
    """One noise draw per noise seed: noisy train labels [N], noisy test labels [M], flip rate."""
    out = []
    for s in cfg.seeds:
        ktrain, ktest = jax.random.split(jax.random.fold_in(jax.random.PRNGKey(s), NOISE_STREAM))
        tr = noise.corrupt(ktrain, dataset.y_train, cfg.fraction, cfg.mode, dataset.num_classes)
        te = noise.corrupt(ktest, dataset.y_test, cfg.fraction, cfg.mode, dataset.num_classes)
        out.append({"seed": int(s), "train": tr, "test": te})
    return out


def _rows(config, rid: str, spec, members, result, sets, input_shape: tuple, num_classes: int,
          extras: list[dict] | None = None) -> pd.DataFrame:
    """Rows of one level (or branch) of one bucket: model × split. ``extras``: one dict of further
    columns per model (a prune-methods run's method, ratio, retrained …)."""
    rows = []
    metrics = result.metrics
    for k, m in enumerate(members):
        total = spec.weight_count(m.width, input_shape, num_classes)
        for split in results.SPLITS:
            r = metrics[split]
            extra = {}
            if "top" in r:
                extra["ece"] = float(calibration.ece(r["top"][k]))
                extra["classwise_ece"] = float(calibration.classwise_ece(r["classwise"][k]))
            for group, prefix in (("posterior_test", "posterior_gap"), ("posterior_fresh", "fresh_posterior_gap")):
                if split == "test" and group in metrics:
                    g = metrics[group]
                    extra.update({f"{prefix}_mean": float(g["gap_mean"][k]), f"{prefix}_max": float(g["gap_max"][k]),
                                  f"{prefix}_adj_mean": float(g["gap_adj_mean"][k])})
            rows.append({**extra, **(extras[k] if extras else {}),
                "run_id": rid, "experiment": config.experiment, "dataset": config.data.name, "model": spec.name,
                "width": spec.width_of(m.width), "seed": m.seed, "noise_fraction": float(config.data.noise.fraction),
                "noise_mode": config.data.noise.mode, "noise_seed": sets[m.label_set]["seed"],
                "flip_rate": sets[m.label_set]["train"].flip_rate, "level": result.level, "branch": result.branch,
                "weights_total": total, "weights_remaining": int(result.remaining[k]),
                "density": float(result.remaining[k]) / total, "split": split,
                "error": float(r["error"][k]), "loss": float(r["loss"][k]), "diverged": not bool(result.finite[k]),
            })
    return pd.DataFrame(rows, columns=results.PRUNE_COLUMNS if extras else results.COLUMNS)


def _curve_rows(config, rid: str, spec, members, result, sets) -> pd.DataFrame:
    """Reliability-diagram statistics of one level: model × split × curve (top, class_k) × bin."""
    frames = []
    for split in ("test", "test_noisy"):
        r = result.metrics[split]
        if "top" not in r:
            continue
        stats = np.concatenate([r["top"][:, None], r["classwise"]], axis=1)  # [K, 1 + C, bins, 3]
        k, curves, bins, _ = stats.shape
        names = ["top"] + [f"class_{c}" for c in range(curves - 1)]
        idx = np.indices((k, curves, bins)).reshape(3, -1)
        frames.append(pd.DataFrame({
            "run_id": rid, "width": [spec.width_of(members[i].width) for i in idx[0]],
            "seed": [members[i].seed for i in idx[0]],
            "noise_seed": [sets[members[i].label_set]["seed"] for i in idx[0]],
            "level": result.level, "branch": result.branch, "split": split,
            "curve": [names[c] for c in idx[1]], "bin": idx[2],
            "count": stats[..., 0].ravel(), "prob_sum": stats[..., 1].ravel(), "outcome_sum": stats[..., 2].ravel()}))
    for kind, curve in (("axis", "axis"), ("map", "pca_gap")):
        stats = result.metrics.get("posterior_fresh", {}).get(kind)
        if stats is None:
            continue
        k, bins, _ = stats.shape
        idx = np.indices((k, bins)).reshape(2, -1)
        frames.append(pd.DataFrame({
            "run_id": rid, "width": [spec.width_of(members[i].width) for i in idx[0]],
            "seed": [members[i].seed for i in idx[0]],
            "noise_seed": [sets[members[i].label_set]["seed"] for i in idx[0]],
            "level": result.level, "branch": result.branch, "split": "fresh", "curve": curve, "bin": idx[1],
            "count": stats[..., 0].ravel(), "prob_sum": stats[..., 1].ravel(), "outcome_sum": stats[..., 2].ravel()}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _splits(dataset, train_labels, test_noisy, members, sets, fresh) -> dict:
    """Evaluation sets: logits on train scored against noisy and clean labels, on test against clean
    and noisy; for synthetic data also the distance to the Bayes posterior on test and on a fresh sample."""
    ls = np.asarray([m.label_set for m in members])
    k = len(members)
    clean_train = jnp.broadcast_to(dataset.y_train, (k, dataset.train_size))
    clean_test = jnp.broadcast_to(dataset.y_test, (k, dataset.y_test.shape[0]))
    splits = {
        "train": {"x": dataset.x_train, "labels": jnp.stack([train_labels[ls], clean_train], 1),
                  "names": ("train_noisy", "train_clean")},
        "test": {"x": dataset.x_test, "labels": jnp.stack([clean_test, test_noisy[ls]], 1), "names": ("test", "test_noisy")},
    }
    if dataset.posterior is not None:
        flip = np.asarray([sets[i]["train"].flip_rate for i in ls], np.float32)
        splits["test"].update(target=dataset.posterior(dataset.x_test), flip=flip)
        if fresh is not None:
            splits["fresh"] = {"x": fresh["x"], "target": dataset.posterior(fresh["x"]), "flip": flip,
                               "axis": fresh.get("axis"), "cells": fresh.get("cells")}
    return splits


def _fresh_sample(config, dataset, workdir):
    """The fresh sample of synthetic data with its binning along the class-mean axis and on the PCA map
    of the training inputs; the geometry is recorded in DIR/posterior_geometry.json for the report."""
    x = data_registry.fresh_sample(config.data, config.eval.fresh_samples)
    if x is None:
        return None
    mixture = data_registry.mixture_of(config.data)
    mu = posterior_maps.class_means(mixture.means, mixture.weights)
    xn = np.asarray(x)
    out, geometry = {"x": x}, {}
    t = posterior_maps.axis_position(xn, mu[0], mu[1]) if mixture.num_classes == 2 else None
    if t is not None:
        out["axis"] = (posterior_maps.axis_bins(t), posterior_maps.AXIS_BINS)
        geometry["axis"] = {"range": list(posterior_maps.AXIS_RANGE), "bins": posterior_maps.AXIS_BINS}
    mean, comps = posterior_maps.pca_basis(np.asarray(dataset.x_train))
    coords = (xn - mean) @ comps.T
    lo, hi = np.percentile(coords, 0.5, axis=0), np.percentile(coords, 99.5, axis=0)
    out["cells"] = (posterior_maps.grid_cells(coords, lo, hi), posterior_maps.MAP_GRID ** 2)
    geometry["pca"] = {"lo": lo.tolist(), "hi": hi.tolist(), "grid": posterior_maps.MAP_GRID}
    wd.write_json(workdir, "posterior_geometry.json", geometry)
    return out


def run(config: ml_collections.ConfigDict, workdir: str, log: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Runs the experiment ``config`` in ``workdir``; returns the results table.

    Everything the user gave is checked before anything is written (ConfigError otherwise).
    Every finished level is checkpointed: a killed run resumes where it stopped, and asking
    for more ``imp.levels`` extends a finished run.
    """
    log = log or (lambda s: print(s, flush=True))
    if not distributed.primary():  # a multi-process run: process 0 logs and writes (lottery.distributed)
        log = lambda s: None  # noqa: E731
    config = ml_collections.ConfigDict(config.to_dict())
    validate.config(config)
    wd.check_writable(workdir)
    workdir = os.path.abspath(workdir)  # Orbax wants absolute paths; the user may give a relative one
    dataset = data_registry.load(config.data)
    if config.get("kind", "imp") == "robustness":
        dataset = robustness.subset(dataset, config.robustness)
    validate.against_data(config, dataset.train_size, dataset.input_shape, dataset.num_classes)
    cdict = config.to_dict()
    rid = runid.run_id(cdict)
    wd.check_run(workdir, rid)
    with contextlib.ExitStack() as held:  # process 0 creates, locks and records the workdir
        distributed.on_primary(lambda: (wd.create(workdir), held.enter_context(WorkdirLock(workdir)),
                                        wd.prepare(workdir, cdict, rid)))
        if config.get("kind", "imp") == "robustness":  # one process (robustness runs are not sharded)
            _run_robustness(config, workdir, dataset, rid, log)
            df = robustness.merge(workdir, rid)
            log(f"results: {os.path.join(workdir, results.TABLE)} ({len(df)} rows); report: python -m lottery.report "
                f"--workdir={workdir}; dashboard: python -m lottery.dashboard --workdir={workdir}")
            return df
        if config.get("kind", "imp") == "prune_methods":
            _run_prune_methods(config, workdir, dataset, rid, log)
            distributed.barrier("parts written")
            df = zoo.merge(workdir, rid)
            if distributed.primary():
                zoo_report.log_and_plot(config, workdir, df, log)
            return df
        _run_buckets(config, workdir, dataset, rid, log)
        distributed.barrier("parts written")
        df = results.merge(workdir, rid, int(config.imp.levels))
        if distributed.primary():
            report(config, workdir, df, log)
    return df


def _setup(config, dataset):
    """(model spec, label sets, noisy train labels [L, N], noisy test labels [L, M])."""
    spec = model_registry.get(config.model.name, config.model.hidden, config.model.use_bias, config.model.init)
    sets = label_sets(dataset, config.data.noise)
    return spec, sets, jnp.stack([s["train"].labels for s in sets]), jnp.stack([s["test"].labels for s in sets])


def _run_prune_methods(config, workdir, dataset, rid, log) -> None:
    spec, sets, train_labels, test_noisy = _setup(config, dataset)
    log(f"run {rid}: {config.experiment} on {dataset.name} ({dataset.train_size} train), model {spec.name}")
    zoo.run(config, workdir, spec, dataset, train_labels,
            splits_for=lambda members: _splits(dataset, train_labels, test_noisy, members, sets, None),
            rows_for=lambda members, result, extras: _rows(config, rid, spec, members, result, sets, dataset.input_shape,
                                                           dataset.num_classes, extras),
            log=log, progress=lambda label: Progress(f"  {label}", "steps").update)


def _run_robustness(config, workdir, dataset, rid, log) -> None:
    _, sets, train_labels, test_noisy = _setup(config, dataset)
    log(f"run {rid}: {config.experiment} on {dataset.name} ({dataset.train_size} train, "
        f"{int(dataset.y_test.shape[0])} test examples analysed)")
    robustness.run(config, workdir, dataset, train_labels, [s["seed"] for s in sets],
                   splits_for=lambda members: _splits(dataset, train_labels, test_noisy, members, sets, None),
                   rows_for=lambda spec, members, result, extras: _rows(config, rid, spec, members, result, sets,
                                                                         dataset.input_shape, dataset.num_classes, extras),
                   log=log, progress=lambda label: Progress(f"  {label}", "steps").update)


def _run_buckets(config, workdir, dataset, rid, log) -> None:
    spec, sets, train_labels, test_noisy = _setup(config, dataset)
    plan = bucketing.plan_for(config.model.widths, config.train, packs(spec, config.train, config.optimizer),
                              pads=spec.fully_connected)
    rewind = imp.rewind_step(config.imp.rewind, order.steps_per_epoch(dataset.train_size, config.train.batch_size))
    fresh = _fresh_sample(config, dataset, workdir)
    log(f"run {rid}: {config.experiment} on {dataset.name} ({dataset.train_size} train), model {spec.name}, "
        f"{len(config.model.widths)} widths × {len(config.train.seeds)} seeds × {len(sets)} noise draws "
        f"in {len(plan)} buckets, {config.imp.levels} pruning levels")
    timing = wd.read_timing(workdir)
    for bi, widths in enumerate(plan):
        name = f"bucket{bi:02d}-w{widths[0]}-{widths[-1]}"
        members = [Member(w, s, li) for w in widths for s in config.train.seeds for li in range(len(sets))]
        trainer = BucketTrainer(spec, dataset.x_train, train_labels, members, config.train, config.optimizer,
                                dataset.num_classes, boundaries=(rewind,), bins=config.eval.bins, pad_fill=dataset.black)
        runner = imp.BucketIMP(trainer, config.imp, _splits(dataset, train_labels, test_noisy, members, sets, fresh),
                               BucketCheckpoints(wd.checkpoint_dir(workdir, name)),
                               progress=lambda label: Progress(f"  {name} {label} ({len(members)} models)", "steps").update)
        bucket_timing = timing.setdefault(name, {"models": len(members), "widths": widths, "levels": {}})

        def on_result(result, name=name, members=members, bucket_timing=bucket_timing):
            key = imp.level_name(result.level, result.branch)
            part = wd.part_path(workdir, f"{name}-{key}")
            if result.seconds is None:
                log(f"  {name} {key}: restored from its checkpoint")
                if os.path.exists(part):
                    return
            results.write(_curve_rows(config, rid, spec, members, result, sets), wd.curve_part_path(workdir, f"{name}-{key}"))
            results.write(_rows(config, rid, spec, members, result, sets, dataset.input_shape, dataset.num_classes), part)
            if result.seconds is None:
                return
            bucket_timing["levels"][key] = result.seconds
            wd.write_timing(workdir, timing)
            test_err = result.metrics["test"]["error"]
            flag = f", {int((~result.finite).sum())} diverged" if not result.finite.all() else ""
            log(f"  {name} {key}: {len(members)} models, {result.seconds:.2f}s, weights left "
                f"{int(result.remaining.min())}–{int(result.remaining.max())}, test error "
                f"{100 * test_err.mean():.2f}% mean{flag}")

        runner.run(int(config.imp.levels), on_result)


def report(config, workdir: str, df: pd.DataFrame, log) -> None:
    """Prints the double-descent table (and the IMP summary) and writes the figures."""
    main = df[df.branch == "main"]
    table = double_descent.summary(main)
    log("\n" + double_descent.format_table(table))
    figures = [("double_descent.png", lambda tmp: double_descent.plot(table, tmp, f"{config.experiment}: double descent"))]
    if main.level.max() > 0:
        best = sparse_double_descent.best_pruned(main)
        log("\nbest pruned models (lowest test error along IMP, per starting width; mean over seeds):\n"
            + sparse_double_descent.format_best(best))
        figures.append(("sparse_double_descent.png",
                        lambda tmp: sparse_double_descent.plot(main, best, tmp, f"{config.experiment}: sparse double descent")))
    if config.report.figures:
        for fname, draw in figures:
            path = os.path.join(workdir, fname)
            with files.atomic_path(path) as tmp:
                draw(tmp)
            log(f"wrote {path}")
    log(f"results: {os.path.join(workdir, results.TABLE)} ({len(df)} rows)")
