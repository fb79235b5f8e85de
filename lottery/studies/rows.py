"""Rows of the results table (model × split) and of the calibration curves (model × split × curve × bin) of one
level of any study."""
from __future__ import annotations

import numpy as np
import pandas as pd

from lottery.analysis import calibration
from lottery.store import result_tables


def result_rows(run, spec, members, result, extras: list[dict] | None = None) -> pd.DataFrame:
    """Rows of one level (or branch) of one bucket: model × split. ``extras``: one dict of further
    columns per model (a prune-methods run's method, ratio, retrained …)."""
    config, rid, sets = run.config, run.run_id, run.sets
    input_shape, num_classes = run.dataset.input_shape, run.dataset.num_classes
    rows = []
    metrics = result.metrics
    for k, m in enumerate(members):
        total = spec.weight_count(m.width, input_shape, num_classes)
        for split in result_tables.SPLITS:
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
    return pd.DataFrame(rows, columns=result_tables.PRUNE_COLUMNS if extras else result_tables.COLUMNS)


def curve_rows(run, spec, members, result) -> pd.DataFrame:
    """Reliability-diagram statistics of one level: model × split × curve (top, class_k) × bin."""
    rid, sets = run.run_id, run.sets
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


LEARNING_CURVE_COLUMNS = ["run_id", "width", "seed", "noise_seed", "level", "branch", "step", "epoch", "split",
                          "error", "loss"]


def learning_curve_rows(run, spec, members, result, steps_per_epoch: int) -> pd.DataFrame:
    """Rows of a level's learning curves: model × observed step × labelled split (train_noisy, train_clean, test,
    test_noisy), with the epoch (step / steps per epoch) and the error and loss at that step."""
    rows = []
    for step in sorted(result.curves or {}):
        metrics = result.curves[step]
        for k, m in enumerate(members):
            for split, r in metrics.items():
                rows.append({"run_id": run.run_id, "width": spec.width_of(m.width), "seed": m.seed,
                             "noise_seed": run.sets[m.label_set]["seed"], "level": result.level, "branch": result.branch,
                             "step": int(step), "epoch": step / steps_per_epoch, "split": split,
                             "error": float(r["error"][k]), "loss": float(r["loss"][k])})
    return pd.DataFrame(rows, columns=LEARNING_CURVE_COLUMNS)
