"""Per-sample frames of the local and global geometry views and the selections made on them: local
coordinates (one model, or the change B − A), fixed-seed subsampling, brush / angle-axis selection over all
samples, and the global view's density curves. Inputs are samples.parquet rows [N] of one model and eval set.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lottery.dashboard.model_index import MEASURES

CATEGORIES = ("correct→correct", "correct→wrong", "wrong→correct", "wrong→wrong")


def delta_category(correct_a, correct_b) -> np.ndarray:
    """Per sample how the prediction changes from model A to model B: one of CATEGORIES."""
    a, b = np.asarray(correct_a, bool), np.asarray(correct_b, bool)
    idx = np.where(a, np.where(b, 0, 1), np.where(b, 2, 3))
    return np.asarray(CATEGORIES, dtype=object)[idx]


def local_frame(a: pd.DataFrame, b: pd.DataFrame | None = None, x: str = "angle_own", y: str = "length") -> pd.DataFrame:
    """Per sample of one eval set the local-geometry coordinates (x, y: two of MEASURES): for one model
    the measures of A and `category` 'correct' / 'incorrect'; with a second model (same samples) their
    change B − A and `category` one of CATEGORIES. Columns: sample, label, x, y, category, correct."""
    if x not in MEASURES or y not in MEASURES:
        raise ValueError(f"local axes must be among {', '.join(MEASURES)}")
    keep = list(dict.fromkeys([x, y]))
    if b is None:
        out = a[["sample", "label"]].copy()
        out["x"], out["y"] = a[x].to_numpy(float), a[y].to_numpy(float)
        out["correct"] = a["correct"].to_numpy(bool)
        out["category"] = np.where(out["correct"], "correct", "incorrect")
        return out.reset_index(drop=True)
    both = a[["sample", "label", *keep, "correct"]].merge(b[["sample", *keep, "correct"]], on="sample", suffixes=("_a", "_b"))
    out = both[["sample", "label"]].copy()
    out["x"] = both[f"{x}_b"].to_numpy(float) - both[f"{x}_a"].to_numpy(float)
    out["y"] = both[f"{y}_b"].to_numpy(float) - both[f"{y}_a"].to_numpy(float)
    out["correct"] = both["correct_b"].to_numpy(bool)
    out["category"] = delta_category(both["correct_a"], both["correct_b"])
    return out.reset_index(drop=True)


def subsample(frame: pd.DataFrame, per_group: int, by: str | None = "label", seed: int = 0) -> pd.DataFrame:
    """At most `per_group` rows per value of `by` (all rows when by is None: at most per_group in all),
    drawn uniformly without replacement with a fixed seed so that reloads show the same points."""
    rng = np.random.default_rng(seed)
    if by is None:
        if len(frame) <= per_group:
            return frame
        return frame.iloc[np.sort(rng.choice(len(frame), per_group, replace=False))]
    keep = []
    for _, idx in frame.groupby(by).indices.items():
        keep.append(idx if len(idx) <= per_group else np.sort(rng.choice(idx, per_group, replace=False)))
    return frame.iloc[np.sort(np.concatenate(keep))] if keep else frame


def is_selected(samples, selection) -> np.ndarray:
    """Whether each sample id is in the selection (all False when there is no selection)."""
    if selection is None:
        return np.zeros(len(samples), bool)
    return np.isin(np.asarray(samples), np.asarray(list(selection), dtype=np.int64))


def brush_select(frame: pd.DataFrame, brushes: dict) -> np.ndarray:
    """Sample ids inside the brushes of the local view, over all samples (not only the drawn ones).
    `brushes` maps a class label to {'x': [lo, hi], 'y': [lo, hi]} (either may be absent); the result is
    the union over classes, sorted."""
    chosen = []
    for label, ranges in brushes.items():
        keep = frame["label"].to_numpy() == int(label)
        for axis in ("x", "y"):
            if ranges.get(axis):
                lo, hi = sorted(float(v) for v in ranges[axis])
                keep &= (frame[axis].to_numpy() >= lo) & (frame[axis].to_numpy() <= hi)
        chosen.append(frame["sample"].to_numpy()[keep])
    return np.unique(np.concatenate(chosen)) if chosen else np.zeros(0, np.int64)


def polyline_segments(frame: pd.DataFrame, columns) -> pd.DataFrame:
    """Each row's polyline through its values of `columns` (one axis slot each, in order) as the segments between
    neighbouring axes: rows sample, label, slot, angle (at slot), slot2 = slot + 1, angle2 (at slot2), rounded
    to 0.01°; none with fewer than two axes. A parallel-coordinates view draws them as single rules, which
    needs no grouping by line (a group per line costs the browser about twice as much to update)."""
    values = frame[list(columns)].to_numpy(float).round(2)
    n, k = values.shape
    slots = np.tile(np.arange(max(k - 1, 0)), n)
    return pd.DataFrame({"sample": np.repeat(frame["sample"].to_numpy(), max(k - 1, 0)),
                         "label": np.repeat(frame["label"].to_numpy(), max(k - 1, 0)), "slot": slots,
                         "angle": values[:, :-1].ravel(), "slot2": slots + 1, "angle2": values[:, 1:].ravel()})


def angle_columns(frame: pd.DataFrame) -> list[str]:
    """The per-class angle columns angle_0 … angle_{C−1} in class order."""
    cols = [c for c in frame.columns if c.startswith("angle_") and c[6:].isdigit()]
    return sorted(cols, key=lambda c: int(c[6:]))


def axes_select(frames, axes, lo: float, hi: float) -> np.ndarray:
    """Sample ids whose angle to every class in `axes` lies in [lo, hi], in any of `frames` (the union over
    the overlaid series), sorted."""
    chosen = []
    for frame in frames:
        keep = np.ones(len(frame), bool)
        for k in axes:
            values = frame[f"angle_{int(k)}"].to_numpy()
            keep &= (values >= lo) & (values <= hi)
        chosen.append(frame["sample"].to_numpy()[keep])
    return np.unique(np.concatenate(chosen)) if chosen else np.zeros(0, np.int64)


def densities(frames: dict, columns=("length", "margin", "prob_own"), bins: int = 40) -> pd.DataFrame:
    """Histogram densities over all samples of each series (`frames`: name → DataFrame) and column, on bin
    edges shared by the series: rows series, measure, x (bin centre), density (integrates to 1)."""
    rows = []
    for col in columns:
        values = [f[col].to_numpy(float) for f in frames.values()]
        finite = np.concatenate([v[np.isfinite(v)] for v in values]) if values else np.zeros(0)
        if not len(finite):
            continue
        lo, hi = float(finite.min()), float(finite.max())
        edges = np.linspace(lo, hi if hi > lo else lo + 1.0, bins + 1)
        centres = (edges[:-1] + edges[1:]) / 2
        for name, v in zip(frames, values):
            hist, _ = np.histogram(v[np.isfinite(v)], bins=edges, density=True)
            rows += [(name, col, float(x), float(d)) for x, d in zip(centres, hist)]
    return pd.DataFrame(rows, columns=["series", "measure", "x", "density"])
