"""The pruning-method comparison of a prune-methods run: test accuracy against prune ratio per
method, as pruned and after retraining — a table and ``prune_methods.png`` — and the training budget of every model
(the dense reference's and each method's: pre-training, score training, fine-tuning)."""
from __future__ import annotations

import os

import pandas as pd

from lottery.store import files, result_tables


def summary(df: pd.DataFrame, split: str = "test") -> pd.DataFrame:
    """Per method × retrained × ratio: mean and sd over seeds and noise draws of the accuracy on
    ``split``, the mean density, and the model count. Methods keep their order of appearance."""
    d = df[df.split == split].assign(accuracy=lambda x: 1.0 - x.error)
    g = d.groupby(["method", "retrained", "ratio"], sort=False).agg(
        accuracy=("accuracy", "mean"), sd=("accuracy", "std"), density=("density", "mean"), models=("accuracy", "size"))
    return g.fillna({"sd": 0.0}).reset_index()


def budgets(df: pd.DataFrame) -> pd.DataFrame:
    """The distinct training budgets of a run's rows: one row per model × method × fine-tuned (× budget, should a group
    hold two) with ``result_tables.BUDGET_COLUMNS``, in order of appearance. Empty for a run made before rows
    carried their budget."""
    cols = ["model", "method", "retrained", *result_tables.BUDGET_COLUMNS]
    if not set(cols) <= set(df.columns):
        return pd.DataFrame(columns=cols)
    return df[cols].drop_duplicates().reset_index(drop=True)


def budget_summary(table: pd.DataFrame) -> str:
    """One sentence on ``budgets(df)``: whether the models compared at each stage (before / after fine-tuning) had
    the same total training, and what it was."""
    if table.empty:
        return ("This run's rows carry no training budgets (it was made before budgets were matched): its dense "
                "models and its pruned models may have had different training.")
    parts = []
    for retrained, g in table.groupby("retrained", sort=True):
        stage = "after fine-tuning" if retrained else "before fine-tuning"
        totals = sorted(set(zip(g.total_epochs, g.total_steps)))
        if len(totals) == 1:
            parts.append(f"{stage} every model had {totals[0][0]} epochs ({totals[0][1]:,} optimizer steps)")
        else:
            spread = ", ".join(f"{e} epochs ({st:,} steps)" for e, st in totals)
            parts.append(f"{stage} the models had DIFFERENT budgets: {spread}")
    reference = ("; the dense reference was fine-tuned exactly like the pruned models"
                 if (table.method == result_tables.DENSE).any() and table.retrained.any() else "")
    return "Training budget: " + "; ".join(parts) + reference + "."


def budget_markdown(table: pd.DataFrame) -> str:
    """``budgets(df)`` as a markdown table: per model × method × fine-tuned, the epochs of each phase and the total."""
    lines = ["| model | method | fine-tuned | weight training (epochs) | score training (epochs) "
             "| fine-tuning (epochs) | total (epochs) | total (optimizer steps) |", "|---|---|---|---|---|---|---|---|"]
    for b in table.itertuples():
        lines.append(f"| {b.model} | {b.method} | {'yes' if b.retrained else 'no'} | {b.train_epochs} "
                     f"| {b.score_epochs} | {b.retrain_epochs} | {b.total_epochs} | {b.total_steps:,} |")
    return "\n".join(lines)


def format_table(table: pd.DataFrame) -> str:
    """Accuracy (%) by ratio, one line per method and retrained flag."""
    ratios = sorted(table.ratio.unique())
    lines = [f"{'method':>11} {'retrained':>9} " + " ".join(f"{r:>6g}" for r in ratios)]
    for (method, retrained), g in table.groupby(["method", "retrained"], sort=False):
        acc = dict(zip(g.ratio, g.accuracy))
        cells = " ".join(f"{100 * acc[r]:6.2f}" if r in acc else f"{'–':>6}" for r in ratios)
        lines.append(f"{method:>11} {'yes' if retrained else 'no':>9} {cells}")
    return "\n".join(lines)


def plot(table: pd.DataFrame, path: str, title: str = "") -> None:
    """Test accuracy against the prune ratio, one line per method (mean ± sd band); one panel for the
    pruned networks as they are and one after retraining (when the run retrained)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = sorted(table.retrained.unique())
    fig, axes = plt.subplots(1, len(panels), figsize=(5.6 * len(panels), 4.2), sharey=True, squeeze=False)
    for ax, retrained in zip(axes[0], panels):
        for method, g in table[table.retrained == retrained].groupby("method", sort=False):
            g = g.sort_values("ratio")
            m, s = 100 * g.accuracy, 100 * g.sd
            if method == result_tables.DENSE:  # the reference: one model per seed, unpruned
                ax.axhline(m.iloc[0], color="k", ls="--", lw=1, label="dense reference")
                continue
            ax.plot(g.ratio, m, "o-", label=method, ms=3)
            ax.fill_between(g.ratio, m - s, m + s, alpha=0.15, lw=0)
        ax.set_xlabel("prune ratio (fraction of weights removed)")
        ax.set_title("after retraining" if retrained else "pruned, not retrained")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("test accuracy (%)")
    axes[0][-1].legend(frameon=False, fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120, format="png")
    plt.close(fig)


def log_and_plot(config, workdir: str, df: pd.DataFrame, log) -> None:
    """Prints the accuracy table of a finished run and writes ``DIR/prune_methods.png``."""
    table = summary(df)
    log("\ntest accuracy (%) by prune ratio (mean over seeds):\n" + format_table(table))
    log(budget_summary(budgets(df)))
    if config.report.figures:
        path = os.path.join(workdir, "prune_methods.png")
        with files.atomic_path(path) as tmp:
            plot(table, tmp, f"{config.experiment}: accuracy against prune ratio")
        log(f"wrote {path}")
    log(f"results: {os.path.join(workdir, 'results.parquet')} ({len(df)} rows)")


def section(workdir: str, info: dict, df: pd.DataFrame, save) -> list[str]:
    """The report's markdown lines of a prune-methods run (``save(name, draw)`` writes a figure)."""
    table = summary(df)
    tag = f"{info['experiment']}-{info['run_id']}"
    name = save(f"{tag}-prune_methods.png", lambda p: plot(table, p, f"{info['experiment']}: accuracy against prune ratio"))
    return [f"## {info['experiment']} (run {info['run_id']})", "",
            f"Pruning methods on `{info['dataset']}`, label noise {info['noise']:g}; workdir `{workdir}`.", "",
            "### Test accuracy (%) against prune ratio (mean over seeds)", "", "```",
            format_table(table), "```", "", f"![]({name})", "", *budget_lines(df)]


def budget_lines(df: pd.DataFrame) -> list[str]:
    """The report's lines on the training budget of every model of ``df`` (a prune-methods or robustness run)."""
    table = budgets(df)
    return ["### Training budget of each model", "", budget_summary(table), "",
            *([budget_markdown(table), ""] if not table.empty else [])]
