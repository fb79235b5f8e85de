"""The attribution view's frames: one sample's image as pixels, its occlusion maps per model and measure, and
the unoccluded reference values the maps are read against.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lottery.dashboard.model_index import MEASURES, MODEL


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
