"""The similarity view's layout: the embedding points of an eval set and a minimum spanning tree per eval set,
computed here from the points' 2-D layout (the analysis writes no edges).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


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
