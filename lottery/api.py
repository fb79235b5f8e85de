"""``lottery.run(config, workdir)``: validate, load data, train every bucket, write results, report."""
from __future__ import annotations

import os
import sys
import time
from typing import Callable

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pandas as pd

from lottery import validate
from lottery.data import noise
from lottery.data import registry as data_registry
from lottery.models import masks as model_masks
from lottery.models import registry as model_registry
from lottery.progress import Progress
from lottery.report import double_descent
from lottery.store import files, results, runid, workdir as wd
from lottery.train import buckets as bucketing
from lottery.train.evaluate import EvalProgram
from lottery.train.state import Member
from lottery.train.trainer import evaluate_splits, train_bucket

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


def _bucket_rows(config, rid: str, spec, members, weights_total, weights_left, finite, metrics, sets) -> pd.DataFrame:
    rows = []
    for k, m in enumerate(members):
        for split in results.SPLITS:
            loss, err = metrics[split]
            rows.append({
                "run_id": rid, "experiment": config.experiment, "dataset": config.data.name, "model": spec.name,
                "width": spec.width_of(m.width), "seed": m.seed, "noise_fraction": float(config.data.noise.fraction),
                "noise_mode": config.data.noise.mode, "noise_seed": sets[m.label_set]["seed"],
                "flip_rate": sets[m.label_set]["train"].flip_rate, "level": 0,
                "weights_total": int(weights_total[k]), "weights_remaining": int(weights_left[k]),
                "density": float(weights_left[k]) / float(weights_total[k]), "split": split,
                "error": float(err[k]), "loss": float(loss[k]), "diverged": not bool(finite[k]),
            })
    return pd.DataFrame(rows, columns=results.COLUMNS)


def run(config: ml_collections.ConfigDict, workdir: str, log: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Runs the experiment ``config`` in ``workdir``; returns the results table.

    Everything the user gave is checked before anything is written (ConfigError otherwise).
    Finished buckets are kept in ``workdir/parts``: a killed run resumes from them.
    """
    log = log or (lambda s: print(s, flush=True))
    config = ml_collections.ConfigDict(config.to_dict())
    validate.config(config)
    wd.check_writable(workdir)
    dataset = data_registry.load(config.data)
    validate.against_data(config, dataset.train_size)
    cdict = config.to_dict()
    rid = runid.run_id(cdict)
    wd.prepare(workdir, cdict, rid)

    spec = model_registry.get(config.model.name, config.model.hidden, config.model.use_bias, config.model.init)
    sets = label_sets(dataset, config.data.noise)
    train_labels = jnp.stack([s["train"].labels for s in sets])  # [L, N]
    test_noisy = jnp.stack([s["test"].labels for s in sets])  # [L, M]
    plan = bucketing.plan(config.model.widths, config.train.bucket_ratio, config.train.bucket_small)
    log(f"run {rid}: {config.experiment} on {dataset.name} ({dataset.train_size} train), model {spec.name}, "
        f"{len(config.model.widths)} widths × {len(config.train.seeds)} seeds × {len(sets)} noise draws "
        f"in {len(plan)} buckets")
    timing = {}
    for bi, widths in enumerate(plan):
        name = f"bucket{bi:02d}-w{widths[0]}-{widths[-1]}"
        if os.path.exists(wd.part_path(workdir, name)):
            log(f"  {name}: done earlier, skipped")
            continue
        members = [Member(w, s, li) for w in widths for s in config.train.seeds for li in range(len(sets))]
        prog = Progress(f"  {name} ({len(members)} models)")
        t0 = time.perf_counter()
        out = train_bucket(spec, dataset.x_train, train_labels, members, config.train, config.optimizer,
                           dataset.num_classes, prog.update)
        prog.close()
        pop = out.population
        ls = np.asarray([m.label_set for m in members])
        k = len(members)
        evaluator = EvalProgram(out.program.module, config.train.eval_batch_size)
        metrics = evaluate_splits(evaluator, pop, {
            "train": (dataset.x_train, jnp.stack([train_labels[ls], jnp.broadcast_to(dataset.y_train, (k, dataset.train_size))], 1),
                      ("train_noisy", "train_clean")),
            "test": (dataset.x_test, jnp.stack([jnp.broadcast_to(dataset.y_test, (k, dataset.y_test.shape[0])), test_noisy[ls]], 1),
                     ("test", "test_noisy")),
        })
        # Padding excluded: the true weight count of every member is its padding mask's count.
        total = np.asarray(model_masks.count_weights(pop.masks))
        df = _bucket_rows(config, rid, spec, members, total, total, np.asarray(pop.finite), metrics, sets)
        results.write(df, wd.part_path(workdir, name))
        wall = time.perf_counter() - t0
        rate = k * out.timed_epochs / max(out.train_seconds, 1e-9)
        timing[name] = {"models": k, "widths": widths, "wall_seconds": wall, "first_chunk_seconds": out.compile_seconds,
                        "model_epochs_per_second": rate}
        log(f"  {name}: {k} models, {wall:.1f}s, {rate:,.0f} model-epochs/s after compile "
            f"(first chunk {out.compile_seconds:.1f}s)")
        if not pop.finite.all():
            log(f"  {name}: {int((~np.asarray(pop.finite)).sum())} model(s) diverged (loss NaN/inf), flagged in results")
    if timing:
        wd.write_timing(workdir, timing)
    df = results.merge(workdir)
    table = double_descent.summary(df)
    log("\n" + double_descent.format_table(table))
    if config.report.figures:
        path = os.path.join(workdir, "double_descent.png")
        with files.atomic_path(path) as tmp:
            double_descent.plot(table, tmp, f"{config.experiment}: double descent")
        log(f"wrote {path} and {os.path.join(workdir, results.TABLE)}")
    return df
