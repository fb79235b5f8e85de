"""The similarity view's layout: the embedding points of an eval set and the engine's minimum spanning trees
(embedding_edges: one tree per eval set, built over the geometry vectors in their original space, not over
the 2-D layout) drawn between the points' UMAP positions.
"""

from __future__ import annotations

import pandas as pd

COLUMNS = ["x", "y", "x2", "y2", "distance", "eval_set"]


def embedding(points: pd.DataFrame, edges: pd.DataFrame, eval_set: str | None):
    """The UMAP points of one eval set (all when None) and their sets' tree edges as line segments:
    points [P rows] and lines (x, y, x2, y2 from the layout; distance in the geometry space; eval_set), one
    row per edge of embedding_edges (source, target: point ids) whose ends are both shown."""
    shown = (points if not eval_set else points[points["eval_set"] == eval_set]).reset_index(drop=True)
    xy = shown.set_index("point")[["x", "y"]]
    e = edges[edges["source"].isin(xy.index) & edges["target"].isin(xy.index)]
    if not len(e):
        return shown, pd.DataFrame(columns=COLUMNS)
    p, q = xy.loc[e["source"]].to_numpy(float), xy.loc[e["target"]].to_numpy(float)
    lines = pd.DataFrame({"x": p[:, 0], "y": p[:, 1], "x2": q[:, 0], "y2": q[:, 1],
                          "distance": e["distance"].to_numpy(float), "eval_set": e["eval_set"].to_numpy()})
    return shown, lines.sort_values("eval_set", kind="stable").reset_index(drop=True)
