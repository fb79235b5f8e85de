"""The class ranking beside the local view: per class of one eval set a score (errors of model A, or what
changed from A to B), and which classes the local and global views draw (top-k plus pinned classes).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

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
