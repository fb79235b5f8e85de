"""Posterior figures of the Gaussian-mixture study (paper A figures 5a, 5c) from calibration.parquet."""
from __future__ import annotations

import numpy as np
import pandas as pd

from lottery.analysis import posterior_maps
from lottery.report.calibration_plots import pyplot, curve_stats, select_models


def plot_axis(curves: pd.DataFrame, best: pd.DataFrame, geometry: dict, path: str, title: str = "") -> None:
    """p(y=0) against the relative position between the class means (0: class-0 mean, 1: class-1 mean):
    full and best pruned models (pooled over seeds) and the Bayes posterior."""
    plt = pyplot()
    width, chosen = select_models(best)
    lo, hi = geometry["axis"]["range"]
    centers = posterior_maps.axis_centers(lo, hi, geometry["axis"]["bins"])
    fig, ax = plt.subplots(figsize=(6, 4))
    bayes = None
    for which, color in (("full", "tab:blue"), ("best", "tab:red")):
        s = curve_stats(curves, chosen, which, "fresh", "axis").sum(0)
        with np.errstate(invalid="ignore", divide="ignore"):
            ax.plot(centers, s[:, 1] / s[:, 0], "-", color=color, lw=2,
                    label=f"{'full' if which == 'full' else 'best pruned'} (width {width})")
            bayes = s[:, 2] / s[:, 0]
    ax.plot(centers, bayes, "o", color="black", ms=3, label="Bayes posterior")
    ax.set_xlabel("relative position between the class means")
    ax.set_ylabel("p(y = 0 | x)")
    ax.set_title(title or "posterior along the class-mean axis")
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)


def plot_gap_map(curves: pd.DataFrame, best: pd.DataFrame, geometry: dict, path: str, title: str = "") -> None:
    """Mean |p_model − p_Bayes| per cell of the inputs' 2-D PCA projection, full vs best pruned."""
    plt = pyplot()
    width, chosen = select_models(best)
    g = geometry["pca"]
    extent = [g["lo"][1], g["hi"][1], g["lo"][0], g["hi"][0]]
    fig, axes = plt.subplots(1, 2, figsize=(9, 4), sharey=True)
    maps = []
    for which in ("full", "best"):
        s = curve_stats(curves, chosen, which, "fresh", "pca_gap").sum(0)
        with np.errstate(invalid="ignore", divide="ignore"):
            maps.append((s[:, 1] / s[:, 0]).reshape(g["grid"], g["grid"]))
    vmax = np.nanmax(maps)
    for ax, which, m in zip(axes, ("full", "best pruned"), maps):
        im = ax.imshow(m, origin="lower", extent=extent, aspect="auto", vmin=0, vmax=vmax, cmap="magma")
        ax.set_title(f"{which} (width {width}): cell-mean gap {np.nanmean(m):.3f}", fontsize=10)
        ax.set_xlabel("PC 2")
    axes[0].set_ylabel("PC 1")
    fig.colorbar(im, ax=axes, label="mean |p_model − p_Bayes|")
    fig.suptitle(title or "gap to the Bayes posterior on the PCA projection")
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)
