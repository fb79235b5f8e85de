"""The evaluation table's numbers: accuracy per architecture × method × ratio × column, on the whole test set
or on a sample selection (against the whole set), regrouped into corruption-family columns, as bar/rule marks.

Pure functions of DataFrames and the per-model correctness matrices [models, samples] built once at load.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from lottery.dashboard.model_index import MODEL, model_ids


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
    Each column: key, label (the facet header), role ('clean' / 'family' / 'corruption'), members, order."""
    columns = [{"key": "clean", "label": "clean", "role": "clean", "members": ["clean"]}]
    present = {}
    for c in corruptions:
        present.setdefault(family_of(c), []).append(c)
    for family in [*FAMILIES, "other"]:
        members = present.get(family)
        if not members:
            continue
        if family == expand:
            columns += [{"key": c, "label": f"{c} ◂", "role": "corruption", "members": [c]} for c in members]
        else:
            columns.append({"key": family, "label": f"{family} ({len(members)}) ▸", "role": "family", "members": members})
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
    Columns: mark ('bar' / 'dense'), row ('arch · method'), architecture, method, ratio, column, column_key,
    order, accuracy, whole, delta, low/high (the bar's base and the gain/loss segment's ends), change
    ('gain' / 'loss' / 'none') and model_id (the first seed's model, what a click selects)."""
    if "whole" not in table:
        table = table.assign(whole=table["accuracy"], delta=0.0)
    first = models.groupby(["architecture", "method", "ratio"], as_index=False)["id"].min().rename(columns={"id": "model_id"})
    table = table.merge(first, on=["architecture", "method", "ratio"], how="left")
    bars = table[table["method"].isin([m for m in methods if m != "dense"])].assign(mark="bar")
    dense = table[table["method"] == "dense"]
    refs = [dense.assign(mark="dense", row=dense["architecture"] + " · " + m) for m in methods if m != "dense"]
    bars = bars.assign(row=bars["architecture"] + " · " + bars["method"])
    cells = pd.concat([bars, *refs], ignore_index=True)
    cells = cells[cells["row"].isin(set(bars["row"]))].copy()  # no rule in a row without bars
    cells["low"] = np.fmin(cells["accuracy"], cells["whole"])
    cells["high"] = np.fmax(cells["accuracy"], cells["whole"])
    delta = cells["delta"].fillna(0.0)
    cells["change"] = np.where(delta > 1e-12, "gain", np.where(delta < -1e-12, "loss", "none"))
    keys = [k for k in ("architecture", "method", "order", "column", "mark", "ratio") if k in cells]
    return cells.sort_values(keys, ignore_index=True)
