"""Study A's section of the report (an IMP run): the double-descent table and figures, each starting width's best
pruned model against the full one (paper A Table 1 / S2), calibration along IMP and of the best pruned models, the
Bayes posterior of the Gaussian mixtures, learning curves; and the cross-run figure of effective parameters against
ν. From finished runs' tables only."""
from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd

from lottery.report import calibration_plots, double_descent, learning_curves, posterior_plots, sparse_double_descent
from lottery.store import result_tables


def full_vs_best(main: pd.DataFrame, best: pd.DataFrame) -> pd.DataFrame:
    """Per starting width, means over seeds: full model vs best pruned model (paper A Table 1 / S2)."""
    def at(level_of):
        rows = []
        for _, m in best.iterrows():
            level = level_of(m)
            sel = main[(main.width == m.width) & (main.seed == m.seed) & (main.noise_seed == m.noise_seed)
                       & (main.level == level)]
            test = sel[sel.split == "test"].iloc[0]
            noisy = sel[sel.split == "test_noisy"].iloc[0]
            rows.append({"width": int(m.width), "params": test.weights_remaining, "test_error": test.error,
                         "ece_clean": test.get("ece", np.nan), "ece_noisy": noisy.get("ece", np.nan),
                         "classwise_ece_clean": test.get("classwise_ece", np.nan),
                         "posterior_gap": test.get("posterior_gap_mean", np.nan),
                         "posterior_gap_adj": test.get("posterior_gap_adj_mean", np.nan)})
        return pd.DataFrame(rows).groupby("width").mean()

    full, pruned = at(lambda m: 0), at(lambda m: int(m.best_level))
    return pd.concat({"full": full, "best pruned": pruned}, axis=1)


def _markdown_table(df: pd.DataFrame) -> str:
    flat = df.copy()
    flat.columns = [" ".join(c) if isinstance(c, tuple) else c for c in flat.columns]
    flat = flat.reset_index()
    head = "| " + " | ".join(str(c) for c in flat.columns) + " |"
    sep = "|" + "---|" * len(flat.columns)
    body = []
    for _, r in flat.iterrows():
        cells = []
        for c, v in r.items():
            if c == "width":
                cells.append(f"{int(v)}")
            elif isinstance(v, (float, np.floating)):
                cells.append("–" if np.isnan(v) else (f"{v:,.0f}" if "params" in str(c) else f"{v:.4f}"))
            else:
                cells.append(f"{v}")
        body.append("| " + " | ".join(cells) + " |")
    return "\n".join([head, sep, *body])


def plot_effective_vs_nu(per_run: list[tuple[dict, pd.DataFrame]], path: str) -> None:
    """Effective parameters of best pruned models against ν, linear and xor side by side (figs 3a, S1).

    Only starting models that interpolate their noisy training labels (over-parameterized) count.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    layouts = ("gmm_linear", "gmm_xor")
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8), sharey=True)
    for ax, layout in zip(axes, layouts):
        pts = [(info["nu"], b.effective_params.to_numpy()) for info, b in per_run if info["dataset"] == layout and len(b)]
        if pts:
            pts.sort(key=lambda t: t[0])
            ax.boxplot([p[1] for p in pts], positions=range(len(pts)), widths=0.5)
            ax.set_xticks(range(len(pts)), [f"{p[0]:g}" for p in pts])
        ax.set_yscale("log")
        ax.set_xlabel("ν (separation of the class means)")
        ax.set_title(layout.replace("gmm_", "") + (" (no runs)" if not pts else ""))
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("effective parameters")
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)


def overparameterized(main: pd.DataFrame, best: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``best`` whose dense model fits its noisy training labels (train error 0)."""
    dense = main[(main.level == 0) & (main.split == "train_noisy")].set_index(["width", "seed", "noise_seed"]).error
    key = pd.MultiIndex.from_frame(best[["width", "seed", "noise_seed"]])
    return best[dense.loc[key].to_numpy() == 0.0]


def section(wd: str, info: dict, df: pd.DataFrame, save) -> list[str]:
    """The report's markdown lines of an IMP run; sets ``info["overparameterized"]`` (its best pruned models of
    over-parameterized starting models) for the figure across runs."""
    tag = f"{info['experiment']}-{info['run_id']}"
    main = df[df.branch == "main"]
    lines = [f"## {info['experiment']} (run {info['run_id']})", "",
             f"Dataset `{info['dataset']}`" + (f", ν = {info['nu']}" if info["dataset"].startswith("gmm") else "")
             + f", label noise {info['noise']:g}, {int(main.level.max())} pruning levels; workdir `{wd}`.", ""]
    table = double_descent.summary(main)
    name = save(f"{tag}-double_descent.png", lambda p: double_descent.plot(table, p, f"{info['experiment']}: double descent"))
    lines += ["### Double descent", "", "```", double_descent.format_table(table), "```", "", f"![]({name})", ""]
    if main.level.max() == 0:
        return lines
    best = sparse_double_descent.best_pruned(main)
    info["overparameterized"] = overparameterized(main, best)
    name = save(f"{tag}-sparse_double_descent.png",
                lambda p: sparse_double_descent.plot(main, best, p, f"{info['experiment']}: sparse double descent"))
    lines += ["### Sparse double descent and effective parameters", "", "```",
              sparse_double_descent.format_best(best), "```", "", f"![]({name})", ""]
    lines += ["### Full vs best pruned models (means over seeds)", "", _markdown_table(full_vs_best(main, best)), ""]
    name = save(f"{tag}-along_imp.png", lambda p: calibration_plots.plot_along_imp(main, p, f"{info['experiment']}: along IMP"))
    lines += [f"![]({name})", ""]
    if os.path.exists(os.path.join(wd, result_tables.LEARNING_CURVES)):
        learning = result_tables.load_learning_curves(wd)
        name = save(f"{tag}-learning_curves.png", lambda p: learning_curves.plot(
            learning, p, f"{info['experiment']}: learning curves"))
        lines += ["### Learning curves", "", "Test error and training error on the noisy labels against epoch, "
                  "level 0 (solid) and the last level (dashed), mean ± sd over seeds.", "", f"![]({name})", ""]
    curves_path = os.path.join(wd, result_tables.CURVES)
    if not os.path.exists(curves_path):
        return lines
    curves = result_tables.load_curves(wd)
    name = save(f"{tag}-calibration.png", lambda p: calibration_plots.plot_reliability(
        curves, best, p, f"{info['experiment']}: calibration, full vs best pruned"))
    name2 = save(f"{tag}-confidence.png", lambda p: calibration_plots.plot_confidence_histogram(
        curves, best, p, f"{info['experiment']}: confidence of the predicted class"))
    lines += ["### Calibration", "", f"![]({name})", "", f"![]({name2})", ""]
    geometry_path = os.path.join(wd, "posterior_geometry.json")
    if os.path.exists(geometry_path):
        with open(geometry_path) as f:
            geometry = json.load(f)
        figs = []
        if "axis" in geometry and (curves.curve == "axis").any():
            figs.append(save(f"{tag}-posterior_axis.png", lambda p: posterior_plots.plot_axis(
                curves, best, geometry, p, f"{info['experiment']}: posterior along the class-mean axis")))
        if "pca" in geometry and (curves.curve == "pca_gap").any():
            figs.append(save(f"{tag}-posterior_gap_map.png", lambda p: posterior_plots.plot_gap_map(
                curves, best, geometry, p, f"{info['experiment']}: gap to the Bayes posterior")))
        lines += ["### Bayes posterior", "", *[f"![]({n})\n" for n in figs]]
    return lines
