"""Learning curves of an IMP run (``eval.every``): test error and training error on the noisy labels against
epoch, for a few starting widths at the dense level and the last level — the epoch at which a model starts to
memorise its noisy labels (train error on them falls below the noise rate while test error rises) is what to see."""
from __future__ import annotations

import numpy as np
import pandas as pd

from lottery.report.calibration_plots import pyplot


def chosen_widths(curves: pd.DataFrame, count: int = 3) -> list[int]:
    """The smallest, the largest and evenly spaced widths between (at most ``count``)."""
    widths = sorted(curves.width.unique())
    idx = sorted({int(round(i)) for i in np.linspace(0, len(widths) - 1, min(count, len(widths)))})
    return [int(widths[i]) for i in idx]


def mean_curves(curves: pd.DataFrame, widths, levels) -> pd.DataFrame:
    """Mean and sd over seeds and noise draws of the error per (width, level, split, epoch); main branch only."""
    d = curves[(curves.branch == "main") & curves.width.isin(widths) & curves.level.isin(levels)]
    g = d.groupby(["width", "level", "split", "epoch"]).error.agg(["mean", "std"]).reset_index()
    return g.fillna({"std": 0.0})


def plot(curves: pd.DataFrame, path: str, title: str = "") -> None:
    """One panel per chosen width: test error and noisy-train error against epoch, level 0 solid and the last
    level dashed (mean ± sd over seeds)."""
    plt = pyplot()
    widths = chosen_widths(curves)
    levels = sorted({int(curves.level.min()), int(curves.level.max())})
    table = mean_curves(curves, widths, levels)
    fig, axes = plt.subplots(1, len(widths), figsize=(4.2 * len(widths), 3.6), squeeze=False)
    for ax, w in zip(axes[0], widths):
        for split, color, label in (("test", "tab:red", "test"), ("train_noisy", "black", "train (noisy labels)")):
            for level in levels:
                g = table[(table.width == w) & (table.split == split) & (table.level == level)]
                style = "-" if level == levels[0] else "--"
                ax.plot(g.epoch, 100 * g["mean"], style, color=color, lw=1.4, label=f"{label}, level {level}")
                ax.fill_between(g.epoch, 100 * (g["mean"] - g["std"]), 100 * (g["mean"] + g["std"]), color=color,
                                alpha=0.1, lw=0)
        ax.set_title(f"width {w}")
        ax.set_xlabel("epoch")
        ax.set_ylabel("error (%)")
        ax.grid(alpha=0.3)
    axes[0][0].legend(frameon=False, fontsize=7)
    fig.suptitle(title or "learning curves")
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)
