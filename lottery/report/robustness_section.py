"""The robustness study's report (docs/science.md §8): the corruption grid, the evaluation table, the correlation
tables (B's rc-angle, rc-l2, rc-margin and their pruning-vulnerability twins) and the curse-of-dimensionality
plot, from the analysis tables of a robustness run (``lottery.store.analysis``)."""
from __future__ import annotations

import os

import numpy as np
import pandas as pd

from lottery.report import corruption_grid, prune_methods_section
from lottery.store import analysis as store, result_tables

METRIC_NAMES = {"angle_own": "rc-angle", "length": "rc-l2", "margin": "rc-margin"}


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def grid_images(workdir: str, corruptions: list[str], severities: list[int], sample: int = 0):
    """({corruption: [uint8 [H, W, C] per severity]}, clean [H, W, C]) of test example ``sample``."""
    clean = np.load(store.corrupted_path(workdir, "clean", 0))[sample]
    by_name = {c: [np.load(store.corrupted_path(workdir, c, s), mmap_mode="r")[sample] for s in severities]
               for c in corruptions}
    return by_name, clean


def evaluation_summary(evaluation: pd.DataFrame) -> pd.DataFrame:
    """Mean accuracy over seeds, noise draws and severities per architecture × method × ratio × corruption."""
    return (evaluation.groupby(["architecture", "method", "ratio", "corruption"], sort=False).accuracy.mean()
            .reset_index())


def evaluation_markdown(summary: pd.DataFrame, ratio: float) -> str:
    """Rows architecture × method, columns clean + each corruption: accuracy (%) at ``ratio`` (the dense rows
    at 0), mean over seeds and severities."""
    at = summary[(np.isclose(summary.ratio, ratio)) | (summary.method == result_tables.DENSE)]
    table = at.pivot_table(index=["architecture", "method"], columns="corruption", values="accuracy", sort=False)
    cols = ["clean"] + [c for c in table.columns if c != "clean"]
    head = "| architecture | method | " + " | ".join(cols) + " |"
    lines = [head, "|" + "---|" * (len(cols) + 2)]
    for (arch, method), row in table[cols].iterrows():
        lines.append(f"| {arch} | {method} | " + " | ".join(f"{100 * v:.1f}" for v in row.to_numpy()) + " |")
    return "\n".join(lines)


def plot_evaluation(summary: pd.DataFrame, path: str) -> None:
    """Small multiples: one row per architecture × method, one column per evaluation set (clean + each
    corruption), each cell the accuracy (mean over seeds and severities) as bars over the prune ratios."""
    plt = pyplot()
    rows = summary[["architecture", "method"]].drop_duplicates().to_numpy().tolist()
    cols = ["clean"] + [c for c in summary.corruption.unique() if c != "clean"]
    fig, axes = plt.subplots(len(rows), len(cols), figsize=(0.9 * len(cols) + 1.5, 0.75 * len(rows) + 1),
                             sharey=True, squeeze=False)
    for i, (arch, method) in enumerate(rows):
        sub = summary[(summary.architecture == arch) & (summary.method == method)]
        for j, col in enumerate(cols):
            ax = axes[i, j]
            cell = sub[sub.corruption == col].sort_values("ratio")
            ax.bar(np.arange(len(cell)), cell.accuracy.to_numpy(), color="#4c78a8", width=0.8)
            ax.set_ylim(0, 1)
            ax.set_xticks([])
            ax.tick_params(labelsize=5)
            if i == 0:
                ax.set_title(col.replace("_", "\n"), fontsize=5)
            if j == 0:
                ax.set_ylabel(f"{arch}\n{method}", fontsize=5, rotation=0, ha="right", va="center")
    fig.suptitle("accuracy over prune ratios (bars, left to right) per evaluation set", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120, format="png")
    plt.close(fig)


def correlation_summary(correlations: pd.DataFrame, ratio: float) -> pd.DataFrame:
    """Per architecture × method × metric × target: mean r over seeds (robustness at ``ratio``; pruning
    vulnerability has one value per dense model), the models it averages and how many were undefined."""
    rc = correlations[(correlations.target == "robustness") & np.isclose(correlations.ratio, ratio)]
    pv = correlations[correlations.target == "pruning_vulnerability"]
    both = pd.concat([rc, pv], ignore_index=True)
    return (both.groupby(["architecture", "method", "metric", "target"], sort=False)
            .agg(r=("r", "mean"), models=("r", "size"), undefined=("defined", lambda d: int((~d.astype(bool)).sum())))
            .reset_index())


def correlation_markdown(summary: pd.DataFrame, metric: str) -> str:
    """B's table for one metric: rows architecture × method, columns robustness and pruning vulnerability."""
    sub = summary[summary.metric == metric]
    lines = ["| architecture | method | r vs robustness (eq. 6) | r vs pruning vulnerability (eq. 7) |",
             "|---|---|---|---|"]
    for (arch, method), g in sub.groupby(["architecture", "method"], sort=False):
        cells = []
        for target in ("robustness", "pruning_vulnerability"):
            t = g[g.target == target]
            if t.empty:
                cells.append("–")
            elif t.undefined.iloc[0] == t.models.iloc[0] or not np.isfinite(t.r.iloc[0]):
                cells.append("undefined")
            else:
                note = f" ({int(t.undefined.iloc[0])} undefined)" if t.undefined.iloc[0] else ""
                cells.append(f"{t.r.iloc[0]:+.3f}{note}")
        lines.append(f"| {arch} | {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_dimensionality(dims: pd.DataFrame, path: str) -> None:
    """Mean ± std angle (degrees) against dimension: random vectors, and LeNet-5 features to the class
    directions (untrained and trained) against the feature width."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for (kind, g), marker in zip(dims.groupby("kind", sort=False), "osd^v"):
        g = g.sort_values("dim")
        ax.errorbar(g.dim, g["mean"], yerr=g["std"], marker=marker, capsize=3, label=kind)
    ax.axhline(90, color="grey", lw=0.8, ls="--")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("dimension (feature width)")
    ax.set_ylabel("angle (degrees)")
    ax.set_title("curse of dimensionality: angles to class directions")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)


def section(workdir: str, info: dict, config: dict, df: pd.DataFrame, save) -> list[str]:
    """The report lines of one robustness run (``df``: its results table); ``save(name, draw)`` writes a figure and
    returns its name."""
    r = config["robustness"]
    ratio = float(r["report_ratio"])
    tag = f"{info['experiment']}-{info['run_id']}"
    lines = [f"## {info['experiment']} (run {info['run_id']})", "",
             f"Robustness lottery on `{info['dataset']}`: architectures {', '.join(r['architectures'])}; "
             f"{len(r['corruptions'])} corruptions × severities {tuple(r['severities'])}; workdir `{workdir}`.", ""]
    images, clean = grid_images(workdir, list(r["corruptions"]), list(r["severities"]))
    name = save(f"{tag}-corruptions.png", lambda p: corruption_grid.plot(images, clean, p, severities=tuple(r["severities"])))
    lines += ["### Corruptions (test example 0, severities left to right)", "", f"![]({name})", ""]
    summary = evaluation_summary(store.load(workdir, "evaluation"))
    name = save(f"{tag}-evaluation.png", lambda p: plot_evaluation(summary, p))
    lines += [f"### Evaluation table: accuracy (%) at prune ratio {ratio:g} (dense: the unpruned reference, trained and "
              "fine-tuned like the pruned models), mean over seeds and severities", "", evaluation_markdown(summary, ratio),
              "", f"![]({name})", "", *prune_methods_section.budget_lines(df)]
    corr = correlation_summary(store.load(workdir, "correlations"), ratio)
    for metric, title in METRIC_NAMES.items():
        lines += [f"### {title}: Pearson r of {metric.replace('_', ' ')} (clean test set) "
                  f"(robustness at ratio {ratio:g}; pruning vulnerability against the dense reference's geometry), "
                  "mean over seeds", "",
                  correlation_markdown(corr, metric), ""]
    dims = store.load(workdir, "dimensionality")
    name = save(f"{tag}-dimensionality.png", lambda p: plot_dimensionality(dims, p))
    lenet = dims[dims.kind.str.startswith("lenet5")]
    text = "; ".join(f"{k.kind} d={k.dim}: {k.mean:.1f}° ± {k.std:.1f}°" for k in lenet.itertuples())
    lines += ["### Curse of dimensionality", "", text + ".", "", f"![]({name})", ""]
    lines += [f"Per-sample tables: `{os.path.join(store.root(workdir), 'samples.parquet')}` (geometry), "
              f"`scores.parquet` (robustness, pruning vulnerability, PIE), `cka.parquet`, `embedding_points.parquet`, "
              f"`occlusion.parquet`.", ""]
    return lines
