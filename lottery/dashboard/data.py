"""The dashboard's data layer: read a robustness workdir's analysis tables and aggregate them.

Reads only DIR/config.json and DIR/analysis/ (Parquet tables and corrupted/*.npy images). `load` builds
a `Study` once (tables, the model list and per-model correctness matrices); everything else is a pure
function of DataFrames / arrays that the server calls per request.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

MODEL = ["architecture", "method", "ratio", "seed", "noise_seed"]
TABLES = ("evaluation", "samples", "scores", "embedding_points", "occlusion")  # MST edges: per set, here
MEASURES = ("angle_own", "length", "margin", "prob_own")
COMMAND = "python -m lottery.main --config=experiments/robustness_lottery_mnist.py:quick --workdir={workdir}"
CATEGORIES = ("correct→correct", "correct→wrong", "wrong→correct", "wrong→wrong")


class MissingData(Exception):
    """The workdir, its config.json or some analysis tables are missing; `missing` lists the paths."""

    def __init__(self, workdir, missing):
        self.workdir, self.missing = str(workdir), list(missing)
        super().__init__(f"{workdir}: missing {', '.join(self.missing)}")

    @property
    def command(self) -> str:
        """The command that writes the tables into this workdir."""
        return COMMAND.format(workdir=self.workdir)


def missing_files(workdir) -> list[str]:
    """The paths (relative to the workdir) the dashboard needs and cannot find; [] when all are there."""
    root = Path(workdir)
    if not root.is_dir():
        return [str(root) + "/ (no such directory)"]
    needed = ["config.json"] + [f"analysis/{t}.parquet" for t in TABLES] + ["analysis/corrupted/clean-0.npy"]
    return [p for p in needed if not (root / p).exists()]


def model_label(architecture, method, ratio, seed, noise_seed) -> str:
    """A model's display label, e.g. 'lenet5-w1 magnitude@0.8/s0n0' (the cka table's label after the architecture)."""
    return f"{architecture} {method}@{float(ratio):g}/s{int(seed)}n{int(noise_seed)}"


def model_list(frame: pd.DataFrame) -> pd.DataFrame:
    """The distinct models of a table, sorted, with an integer `id` (row position) and a `label`."""
    models = frame[MODEL].drop_duplicates().sort_values(MODEL, ignore_index=True)
    models["id"] = np.arange(len(models))
    models["label"] = [model_label(*row) for row in models[MODEL].itertuples(index=False)]
    return models


def model_ids(models: pd.DataFrame, frame: pd.DataFrame) -> np.ndarray:
    """The model id of every row of `frame` (matched on the five model columns)."""
    merged = frame[MODEL].merge(models[MODEL + ["id"]], on=MODEL, how="left")
    if merged["id"].isna().any():
        raise ValueError("rows of a model not in the model list")
    return merged["id"].to_numpy(np.int64)


def whole_table(evaluation: pd.DataFrame) -> pd.DataFrame:
    """Accuracy on the whole test set per architecture × method × ratio × column, where column is 'clean'
    or a corruption: the mean over the corruption's severities and over seeds / noise draws."""
    frame = evaluation.assign(column=evaluation["corruption"].astype(str))
    per_model = frame.groupby(MODEL + ["column"], as_index=False)["accuracy"].mean()
    return per_model.groupby(["architecture", "method", "ratio", "column"], as_index=False)["accuracy"].mean()


def correctness(models: pd.DataFrame, samples: pd.DataFrame, scores: pd.DataFrame, corruptions, n_severities):
    """Per column ('clean' and each corruption) a float matrix [models, test samples] of the fraction of
    correct predictions: clean from samples.parquet (eval_set 'clean'), corruption c = correct_c / #severities
    from scores.parquet. NaN where a model has no row for a sample. Returns (sample_ids, {column: matrix})."""
    sample_ids = np.unique(np.concatenate([scores["sample"].to_numpy(), samples["sample"].to_numpy()]))
    shape = (len(models), len(sample_ids))
    matrices = {}
    clean = samples[(samples["eval_set"] == "clean").to_numpy()]
    mat = np.full(shape, np.nan, np.float32)
    mat[model_ids(models, clean), np.searchsorted(sample_ids, clean["sample"].to_numpy())] = clean["correct"].to_numpy()
    matrices["clean"] = mat
    rows, cols = model_ids(models, scores), np.searchsorted(sample_ids, scores["sample"].to_numpy())
    for c in corruptions:
        mat = np.full(shape, np.nan, np.float32)
        mat[rows, cols] = scores[f"correct_{c}"].to_numpy() / n_severities
        matrices[c] = mat
    return sample_ids, matrices


def selection_table(models: pd.DataFrame, sample_ids: np.ndarray, matrices: dict, selection) -> pd.DataFrame:
    """Accuracy on a sample selection against the whole test set per architecture × method × ratio × column:
    per model the mean correctness over the selected samples (`accuracy`) and over all (`whole`), then the
    mean over seeds; `delta` = accuracy − whole (gain > 0, loss < 0). Unknown sample ids are ignored."""
    selection = np.asarray(sorted(set(int(s) for s in selection)), dtype=np.int64)
    pos = np.searchsorted(sample_ids, selection)
    pos = pos[(pos < len(sample_ids)) & (sample_ids[np.minimum(pos, len(sample_ids) - 1)] == selection)]
    frames = []
    for column, mat in matrices.items():
        frame = models[MODEL].copy()
        frame["column"] = column
        with np.errstate(all="ignore"), _quiet():
            frame["accuracy"] = np.nanmean(mat[:, pos], axis=1) if len(pos) else np.nan
            frame["whole"] = np.nanmean(mat, axis=1)
        frames.append(frame)
    per_model = pd.concat(frames, ignore_index=True)
    table = per_model.groupby(["architecture", "method", "ratio", "column"], as_index=False)[["accuracy", "whole"]].mean()
    table["delta"] = table["accuracy"] - table["whole"]
    return table


class _quiet:
    """Silences numpy's 'Mean of empty slice' warning (an empty selection gives NaN on purpose)."""

    def __enter__(self):
        import warnings

        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        return self._w.__exit__(*exc)


# Corruption families (Hendrycks & Dietterich's four, MNIST-C's geometric and stroke corruptions): the table's
# columns before drill-down. A corruption outside these falls into 'other'.
FAMILIES = {
    "noise": ("gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise"),
    "blur": ("defocus_blur", "glass_blur", "motion_blur", "zoom_blur", "gaussian_blur"),
    "weather": ("snow", "frost", "fog", "spatter", "brightness"),
    "digital": ("contrast", "saturate", "elastic_transform", "pixelate", "jpeg_compression"),
    "geometric": ("shear", "scale", "rotate", "translate"),
    "strokes": ("stripe", "dotted_line", "zigzag", "canny_edges", "inverse"),
}


def family_of(corruption: str) -> str:
    """The family of a corruption name ('clean' for clean, 'other' when unknown)."""
    if corruption == "clean":
        return "clean"
    return next((f for f, members in FAMILIES.items() if corruption in members), "other")


def table_columns(corruptions, expand: str | None = None) -> list[dict]:
    """The evaluation table's columns in display order: 'clean', then one column per corruption family present
    (the mean over its corruptions), the family `expand` replaced by one column per member corruption.
    Each column: key, label (the facet header), kind ('clean' / 'family' / 'corruption'), members, order."""
    columns = [{"key": "clean", "label": "clean", "kind": "clean", "members": ["clean"]}]
    present = {}
    for c in corruptions:
        present.setdefault(family_of(c), []).append(c)
    for family in [*FAMILIES, "other"]:
        members = present.get(family)
        if not members:
            continue
        if family == expand:
            columns += [{"key": c, "label": f"{c} ◂", "kind": "corruption", "members": [c]} for c in members]
        else:
            columns.append({"key": family, "label": f"{family} ({len(members)}) ▸", "kind": "family", "members": members})
    for i, col in enumerate(columns):
        col["order"] = i
    return columns


def group_columns(table: pd.DataFrame, columns: list[dict]) -> pd.DataFrame:
    """A per-corruption table (rows architecture × method × ratio × column, with accuracy and optionally whole)
    regrouped into the display `columns`: each column's value is the mean over its member corruptions;
    `column` becomes the column's label and `column_key` / `order` are added; delta = accuracy − whole."""
    member_of = {m: c for c in columns for m in c["members"]}
    frame = table[table["column"].isin(list(member_of))].copy()
    frame["column_key"] = [member_of[m]["key"] for m in frame["column"]]
    values = [v for v in ("accuracy", "whole") if v in frame]
    out = frame.groupby(["architecture", "method", "ratio", "column_key"], as_index=False)[values].mean()
    by_key = {c["key"]: c for c in columns}
    out["column"] = [by_key[k]["label"] for k in out["column_key"]]
    out["order"] = [by_key[k]["order"] for k in out["column_key"]]
    if "whole" in out:
        out["delta"] = out["accuracy"] - out["whole"]
    return out


def table_cells(table: pd.DataFrame, methods, models: pd.DataFrame) -> pd.DataFrame:
    """The evaluation table's marks: one bar per architecture × pruning method × column × ratio (ratio 0 only
    where the method has a ratio-0 model of its own), and one reference rule per architecture × method × column
    for the unpruned (method 'dense') model, drawn across the cell instead of a second bar at ratio 0.
    Columns: kind ('bar' / 'dense'), row ('arch · method'), architecture, method, ratio, column, column_key,
    order, accuracy, whole, delta, low/high (the bar's base and the gain/loss segment's ends), change
    ('gain' / 'loss' / 'none') and model_id (the first seed's model, what a click selects)."""
    if "whole" not in table:
        table = table.assign(whole=table["accuracy"], delta=0.0)
    first = models.groupby(["architecture", "method", "ratio"], as_index=False)["id"].min().rename(columns={"id": "model_id"})
    table = table.merge(first, on=["architecture", "method", "ratio"], how="left")
    bars = table[table["method"].isin([m for m in methods if m != "dense"])].assign(kind="bar")
    dense = table[table["method"] == "dense"]
    refs = [dense.assign(kind="dense", row=dense["architecture"] + " · " + m) for m in methods if m != "dense"]
    bars = bars.assign(row=bars["architecture"] + " · " + bars["method"])
    cells = pd.concat([bars, *refs], ignore_index=True)
    cells = cells[cells["row"].isin(set(bars["row"]))].copy()  # no rule in a row without bars
    cells["low"] = np.fmin(cells["accuracy"], cells["whole"])
    cells["high"] = np.fmax(cells["accuracy"], cells["whole"])
    delta = cells["delta"].fillna(0.0)
    cells["change"] = np.where(delta > 1e-12, "gain", np.where(delta < -1e-12, "loss", "none"))
    keys = [k for k in ("architecture", "method", "order", "column", "kind", "ratio") if k in cells]
    return cells.sort_values(keys, ignore_index=True)


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


# How classes are ranked: with one model, by its errors; with two, by what changed from A to B.
RANKINGS_ONE = {"errors": "error rate of A"}
RANKINGS_TWO = {"accuracy_change": "accuracy B − A", "angle_shift": "mean Δ angle_own (°)",
                "margin_shift": "mean Δ margin", "changed": "share of samples whose correctness flips"}


def class_ranking(a: pd.DataFrame, b: pd.DataFrame | None = None, by: str | None = None, n_classes: int = 0) -> pd.DataFrame:
    """Per class (label) of one eval set: n (samples), accuracy (A), accuracy_b (B, NaN without B) and the
    ranking `score` by `by` (RANKINGS_ONE without B, RANKINGS_TWO with B; default the first), sorted by
    |score| descending then label; classes 0 … n_classes − 1 without samples come last (n 0, score NaN).
    a, b: samples rows [N] of the two models (same samples)."""
    if b is None:
        by = by if by in RANKINGS_ONE else next(iter(RANKINGS_ONE))
        g = a.groupby("label", observed=True)["correct"]
        out = pd.DataFrame({"n": g.size(), "accuracy": g.mean()})
        out["accuracy_b"] = np.nan
        out["score"] = 1.0 - out["accuracy"]
    else:
        by = by if by in RANKINGS_TWO else next(iter(RANKINGS_TWO))
        both = a[["sample", "label", "correct", "angle_own", "margin"]].merge(
            b[["sample", "correct", "angle_own", "margin"]], on="sample", suffixes=("_a", "_b"))
        both["flip"] = both["correct_a"].astype(bool) != both["correct_b"].astype(bool)
        both["d_angle"] = both["angle_own_b"].astype(float) - both["angle_own_a"].astype(float)
        both["d_margin"] = both["margin_b"].astype(float) - both["margin_a"].astype(float)
        g = both.groupby("label", observed=True)
        out = pd.DataFrame({"n": g.size(), "accuracy": g["correct_a"].mean(), "accuracy_b": g["correct_b"].mean()})
        out["score"] = {"accuracy_change": out["accuracy_b"] - out["accuracy"], "angle_shift": g["d_angle"].mean(),
                        "margin_shift": g["d_margin"].mean(), "changed": g["flip"].mean()}[by]
    out.index = out.index.astype(int)
    out = out.reindex(sorted(set(out.index) | set(range(n_classes))))
    out["n"] = out["n"].fillna(0).astype(int)
    out = out.rename_axis("label").reset_index()
    out["accuracy"] = out["accuracy"].astype(float)
    out["accuracy_b"] = out["accuracy_b"].astype(float)
    out["by"] = by
    out["abs"] = out["score"].abs()
    return out.sort_values(["abs", "label"], ascending=[False, True], ignore_index=True).drop(columns="abs")


def shown_classes(ranking: pd.DataFrame, n_classes: int, k: int, pinned=()) -> list[int]:
    """The classes the local and global views draw: all, in class order, when there are at most k; else the
    pinned classes (in the order given) then the best-ranked others until k are shown."""
    if n_classes <= k and not pinned:
        return list(range(n_classes))
    shown = [int(c) for c in dict.fromkeys(pinned) if 0 <= int(c) < n_classes]
    for label in ranking["label"]:
        if len(shown) >= max(k, len(pinned)):
            break
        if int(label) not in shown:
            shown.append(int(label))
    return shown


def class_accuracy(a: pd.DataFrame, b: pd.DataFrame | None = None) -> pd.DataFrame:
    """Accuracy per class (label) on all samples: columns label, accuracy (model A) and, with B, accuracy_b."""
    out = a.groupby("label", as_index=False)["correct"].mean().rename(columns={"correct": "accuracy"})
    if b is not None:
        out = out.merge(b.groupby("label", as_index=False)["correct"].mean().rename(columns={"correct": "accuracy_b"}),
                        on="label", how="left")
    return out


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


def minimum_spanning_tree(xy: np.ndarray) -> np.ndarray:
    """Prim's minimum spanning tree of points xy [P, 2] under the Euclidean distance: int64 [P − 1, 2] edges
    (parent, child) in the order they join the tree (empty for P < 2)."""
    xy = np.asarray(xy, float)
    n = len(xy)
    if n < 2:
        return np.zeros((0, 2), np.int64)
    dist = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1))
    in_tree = np.zeros(n, bool)
    in_tree[0] = True
    best, parent, edges = dist[0].copy(), np.zeros(n, np.int64), []
    for _ in range(n - 1):
        j = int(np.argmin(np.where(in_tree, np.inf, best)))
        edges.append((int(parent[j]), j))
        in_tree[j] = True
        closer = dist[j] < best
        best, parent = np.where(closer, dist[j], best), np.where(closer, j, parent)
    return np.asarray(edges, np.int64)


def embedding(points: pd.DataFrame, eval_set: str | None):
    """The UMAP points of one eval set (all when None) and a minimum spanning tree per eval set over the shown
    points' 2-D layout (not one tree over every set, filtered): points [P rows] and lines (x, y, x2, y2,
    distance, eval_set), one row per edge, P − #sets edges in all."""
    shown = (points if not eval_set else points[points["eval_set"] == eval_set]).reset_index(drop=True)
    lines = []
    for name, idx in shown.groupby("eval_set", observed=True, sort=True).indices.items():
        xy = shown[["x", "y"]].to_numpy(float)[idx]
        e = minimum_spanning_tree(xy)
        if len(e):
            p, q = xy[e[:, 0]], xy[e[:, 1]]
            lines.append(pd.DataFrame({"x": p[:, 0], "y": p[:, 1], "x2": q[:, 0], "y2": q[:, 1],
                                       "distance": np.sqrt(((p - q) ** 2).sum(1)), "eval_set": name}))
    cols = ["x", "y", "x2", "y2", "distance", "eval_set"]
    return shown, (pd.concat(lines, ignore_index=True) if lines else pd.DataFrame(columns=cols))


# Class names of the datasets the engine knows (config.json's data.name); others are numbered.
CLASS_NAMES = {
    "mnist": [str(k) for k in range(10)],
    "fashion_mnist": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                      "Ankle boot"],
    "cifar10": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"],
    "cifar100": """apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus butterfly camel
        can castle caterpillar cattle chair chimpanzee clock cloud cockroach couch crab crocodile cup dinosaur dolphin
        elephant flatfish forest fox girl hamster house kangaroo keyboard lamp lawn_mower leopard lion lizard lobster
        man maple_tree motorcycle mountain mouse mushroom oak_tree orange orchid otter palm_tree pear pickup_truck
        pine_tree plain plate poppy porcupine possum rabbit raccoon ray road rocket rose sea seal shark shrew skunk
        skyscraper snail snake spider squirrel streetcar sunflower sweet_pepper table tank telephone television tiger
        tractor train trout tulip turtle wardrobe whale willow_tree wolf woman worm""".split(),
}


def class_names(config: dict, n_classes: int) -> list[str]:
    """The class names of a run (config.json): data.class_names when given, else the known dataset's (first
    n_classes, as data.classes keeps the first k), else 'class k'."""
    data_cfg = config.get("config", {}).get("data", {})
    names = list(data_cfg.get("class_names") or CLASS_NAMES.get(str(data_cfg.get("name", "")).replace("-", "_"), []))
    return [names[k] if k < len(names) else f"class {k}" for k in range(n_classes)]


def unoccluded(rows: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """The attribution view's reference values: per samples row (one model, the sample, the clean set) the
    unoccluded measures and the prediction. Columns: model (label), pred (name), correct and MEASURES."""
    out = rows[["label_model", "correct", *MEASURES]].rename(columns={"label_model": "model"}).copy()
    out["pred"] = [names[int(p)] if 0 <= int(p) < len(names) else str(p) for p in rows["pred"]]
    out["correct"] = out["correct"].astype(bool)
    for m in MEASURES:
        out[m] = out[m].astype(float)
    return out.reset_index(drop=True)


def occlusion_maps(occlusion: pd.DataFrame, models: pd.DataFrame, sample: int, ids) -> pd.DataFrame:
    """The occlusion maps of one sample for the given model ids, one row per model × measure × pixel:
    model (label), measure, row, col, value."""
    chosen = models[models["id"].isin([int(i) for i in ids])]
    occ = occlusion[occlusion["sample"] == int(sample)].merge(chosen[MODEL + ["label"]], on=MODEL)
    rows = []
    for r in occ.itertuples(index=False):
        values = np.asarray(r.map, float).reshape(int(r.height), int(r.width))
        rr, cc = np.mgrid[0 : r.height, 0 : r.width]
        rows.append(pd.DataFrame({"model": r.label, "measure": r.measure, "row": rr.ravel(), "col": cc.ravel(),
                                  "value": values.ravel()}))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["model", "measure", "row", "col", "value"])


def image_pixels(images: np.ndarray, index: int) -> pd.DataFrame:
    """One image [H, W, C] uint8 as pixels: row, col, gray (mean over channels) and rgb ('#rrggbb')."""
    img = np.asarray(images[index])
    if img.ndim == 2:
        img = img[..., None]
    rgb = img if img.shape[-1] == 3 else np.repeat(img[..., :1], 3, axis=-1)
    rr, cc = np.mgrid[0 : img.shape[0], 0 : img.shape[1]]
    hexes = ["#%02x%02x%02x" % tuple(p) for p in rgb.reshape(-1, 3)]
    return pd.DataFrame({"row": rr.ravel(), "col": cc.ravel(), "gray": img.mean(-1).ravel(), "rgb": hexes})


@dataclasses.dataclass
class Study:
    """A loaded workdir: the config, the tables and what every request needs precomputed."""

    workdir: Path
    config: dict
    evaluation: pd.DataFrame
    samples: pd.DataFrame
    scores: pd.DataFrame
    points: pd.DataFrame
    occlusion: pd.DataFrame
    models: pd.DataFrame
    corruptions: list
    methods: list
    n_severities: int
    n_classes: int
    eval_sets: list
    sample_ids: np.ndarray
    matrices: dict
    groups: dict  # (model id, eval_set) → row positions in samples
    class_names: list
    ratios: list  # the pruned ratios of the table's x axis, ascending (0 included when a method has it)

    def model_samples(self, model_id: int, eval_set: str) -> pd.DataFrame:
        """The samples.parquet rows of one model on one eval set (empty when absent)."""
        idx = self.groups.get((int(model_id), eval_set))
        return self.samples.iloc[idx] if idx is not None else self.samples.iloc[:0]

    def images(self, eval_set: str):
        """The uint8 images of an eval set (memory-mapped), or None when its .npy is absent."""
        path = self.workdir / "analysis" / "corrupted" / f"{'clean-0' if eval_set == 'clean' else eval_set}.npy"
        return np.load(path, mmap_mode="r") if path.exists() else None


def load(workdir) -> Study:
    """Read the workdir's config and analysis tables (raises MissingData naming what is absent)."""
    workdir = Path(workdir)
    missing = missing_files(workdir)
    if missing:
        raise MissingData(workdir, missing)
    config = json.loads((workdir / "config.json").read_text())
    cfg = config.get("config", {})
    read = lambda name: pq.read_table(workdir / "analysis" / f"{name}.parquet").to_pandas(strings_to_categorical=name == "samples")  # noqa: E731
    evaluation, samples, scores = read("evaluation"), read("samples"), read("scores")
    for col in samples.columns:
        if samples[col].dtype == np.float64 and col not in MODEL:
            samples[col] = samples[col].astype(np.float32)
    models = model_list(pd.concat([evaluation[MODEL], scores[MODEL].drop_duplicates()], ignore_index=True))
    robustness = cfg.get("robustness", {})
    corruptions = list(robustness.get("corruptions") or sorted(set(evaluation["corruption"]) - {"clean"}))
    corruptions = [c for c in corruptions if f"correct_{c}" in scores.columns]
    n_severities = len(robustness.get("severities") or []) or int(evaluation.loc[evaluation.severity > 0, "severity"].nunique()) or 1
    methods = [m for m in (cfg.get("prune_methods", {}).get("methods") or []) if m != "dense"]
    methods = methods or sorted(set(evaluation["method"]) - {"dense"})
    sample_ids, matrices = correctness(models, samples, scores, corruptions, n_severities)
    keyed = samples[MODEL].drop_duplicates().merge(models[MODEL + ["id"]], on=MODEL)
    to_id = {tuple(r[:-1]): r[-1] for r in keyed.itertuples(index=False)}
    groups = {}
    for key, idx in samples.groupby(MODEL + ["eval_set"], sort=False, observed=True).indices.items():
        groups[(int(to_id[tuple(key[:-1])]), key[-1])] = idx
    eval_sets = ["clean"] + sorted(set(samples["eval_set"]) - {"clean"})
    n_classes = len(angle_columns(samples)) or int(samples["label"].max()) + 1
    ratios = sorted(float(r) for r in set(models.loc[models["method"] != "dense", "ratio"]))
    return Study(workdir, config, evaluation, samples, scores, read("embedding_points"), read("occlusion"), models,
                 corruptions, methods, n_severities, n_classes, eval_sets, sample_ids, matrices, groups,
                 class_names(config, n_classes), ratios)
