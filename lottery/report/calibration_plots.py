"""Calibration figures of study A (figures 5b, 6, 7, S4) from the results and calibration tables."""
from __future__ import annotations

import numpy as np
import pandas as pd

from lottery.analysis.calibration import reliability


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def select_models(best: pd.DataFrame, width: int | None = None) -> tuple[int, pd.DataFrame]:
    """The starting width shown in calibration figures (default: the widest) and its best levels."""
    width = int(best.width.max()) if width is None else width
    return width, best[best.width == width]


def curve_stats(curves: pd.DataFrame, chosen: pd.DataFrame, which: str, split: str, curve: str) -> np.ndarray:
    """Bin statistics [models, bins, 3] of ``curve`` ('top' or 'class_k'), at level 0 ('full') or at
    each model's best level ('best'), for the models of ``chosen`` (rows of best_pruned)."""
    out = []
    for _, m in chosen.iterrows():
        level = 0 if which == "full" else int(m.best_level)
        sel = curves[(curves.width == m.width) & (curves.seed == m.seed) & (curves.noise_seed == m.noise_seed)
                     & (curves.level == level) & (curves.branch == "main") & (curves.split == split)
                     & (curves.curve == curve)].sort_values("bin")
        out.append(sel[["count", "prob_sum", "outcome_sum"]].to_numpy())
    return np.stack(out)


def plot_reliability(curves: pd.DataFrame, best: pd.DataFrame, path: str, title: str = "") -> None:
    """2×2: top-label and class-averaged reliability curves, clean and noisy labels, full vs best pruned.

    Class-wise panel: mean over classes of each class's curve, shaded between the classes'
    min and max (paper A figures 6a–b, S4). Curves are pooled over seeds.
    """
    plt = pyplot()
    width, chosen = select_models(best)
    classes = sorted(c for c in curves.curve.unique() if c.startswith("class_"))
    fig, axes = plt.subplots(2, 2, figsize=(9, 8))
    for col, split in enumerate(("test", "test_noisy")):
        for which, color in (("full", "tab:blue"), ("best", "tab:red")):
            label = f"{'full' if which == 'full' else 'best pruned'} (width {width})"
            top = reliability(curve_stats(curves, chosen, which, split, "top").sum(0))
            ax = axes[0, col]
            ax.plot(top["confidence"], top["accuracy"], "o-", color=color, label=label, ms=3)
            per_class = [reliability(curve_stats(curves, chosen, which, split, c).sum(0)) for c in classes]
            conf = np.nanmean([r["confidence"] for r in per_class], axis=0)
            freq = np.array([r["accuracy"] for r in per_class])
            ax = axes[1, col]
            ax.plot(conf, np.nanmean(freq, 0), "o-", color=color, label=label, ms=3)
            ax.fill_between(conf, np.nanmin(freq, 0), np.nanmax(freq, 0), color=color, alpha=0.15, lw=0)
        for row, (xl, yl) in enumerate((("confidence (max probability)", "accuracy"),
                                        ("predicted p(y = k)", "frequency of y = k (class mean, range)"))):
            ax = axes[row, col]
            ax.plot([0, 1], [0, 1], ":", color="gray", lw=1)
            ax.set_xlabel(xl)
            ax.set_ylabel(yl)
            ax.set_title(f"{'top-label' if row == 0 else 'class-wise'}, {'clean' if split == 'test' else 'noisy'} test labels",
                         fontsize=10)
            ax.legend(frameon=False, fontsize=8)
            ax.grid(alpha=0.3)
    fig.suptitle(title or "calibration: full vs best pruned")
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)


def plot_confidence_histogram(curves: pd.DataFrame, best: pd.DataFrame, path: str, title: str = "") -> None:
    """Histogram of the predicted class's probability, full vs best pruned (paper A figure 6c)."""
    plt = pyplot()
    width, chosen = select_models(best)
    fig, ax = plt.subplots(figsize=(6, 4))
    for which, color in (("full", "tab:blue"), ("best", "tab:red")):
        counts = curve_stats(curves, chosen, which, "test", "top").sum(0)[:, 0]
        bins = len(counts)
        ax.bar((np.arange(bins) + 0.5) / bins, counts / counts.sum(), width=1 / bins, alpha=0.5, color=color,
               label=f"{'full' if which == 'full' else 'best pruned'} (width {width})")
    ax.set_xlabel("probability of the predicted class")
    ax.set_ylabel("fraction of test examples")
    ax.set_title(title or "confidence histogram")
    ax.legend(frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)


def plot_along_imp(main: pd.DataFrame, path: str, title: str = "") -> None:
    """ECE (clean, noisy labels), test error and, for synthetic data, the Bayes-posterior gap along
    IMP against remaining weights: one line per starting width, mean ± sd over seeds (paper A figure 7)."""
    plt = pyplot()
    panels = [("test", "ece", "ECE, clean test labels"), ("test_noisy", "ece", "ECE, noisy test labels"),
              ("test", "error", "test error")]
    if "posterior_gap_mean" in main and main.posterior_gap_mean.notna().any():
        panels.append(("test", "posterior_gap_mean", "mean |p − p_Bayes|"))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.8))
    cmap = plt.get_cmap("viridis")
    widths = sorted(main.width.unique())
    for ax, (split, col, label) in zip(axes, panels):
        d = main[main.split == split]
        for i, w in enumerate(widths):
            g = d[d.width == w].groupby("level").agg(p=("weights_remaining", "mean"), m=(col, "mean"), s=(col, "std"))
            color = cmap(i / max(len(widths) - 1, 1))
            ax.plot(g.p, g.m, "-", color=color, lw=1.2, label=f"width {w}")
            ax.fill_between(g.p, g.m - g.s.fillna(0), g.m + g.s.fillna(0), color=color, alpha=0.12, lw=0)
        ax.set_xscale("log")
        ax.set_xlabel("remaining weights")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3, which="both")
    axes[0].legend(frameon=False, fontsize=7)
    fig.suptitle(title or "along IMP")
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)
