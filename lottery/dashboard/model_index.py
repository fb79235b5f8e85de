"""The dashboard's model index: the five columns that name a model, its display label and integer id,
and the names of the per-sample measures every view shares.

Every analysis table has one row per model (× sample …); MODEL is the key they share. `model_list` gives the
models of a table as a frame [M rows] with `id` (row position, what the page sends back) and `label`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MODEL = ["architecture", "method", "ratio", "seed", "noise_seed"]
# The per-sample local-geometry measures of samples.parquet (and occlusion.parquet's `measure`).
MEASURES = ("angle_own", "length", "margin", "prob_own")


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
