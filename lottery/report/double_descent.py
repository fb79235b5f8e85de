"""The double-descent summary of a run: a table and ``double_descent.png``."""
from __future__ import annotations

import pandas as pd

SPLIT_COLUMNS = {"train_noisy": "train err (noisy)", "train_clean": "train err (clean)", "test": "test err"}


def summary(df: pd.DataFrame, level: int = 0) -> pd.DataFrame:
    """Per width at one level: parameters and mean/std over the seeds and noise draws that did not diverge of each
    split's error (``models``: how many; ``diverged``: how many were left out — a diverged model's error says
    nothing about the width). NaN where every model of a width diverged."""
    d = df[(df.level == level) & df.split.isin(list(SPLIT_COLUMNS))]
    healthy = d.error.where(~d.diverged.astype(bool))
    g = d.assign(healthy=healthy).groupby(["width", "split"]).agg(
        params=("weights_total", "first"), mean=("healthy", "mean"), std=("healthy", "std"), n=("healthy", "count"),
        diverged=("diverged", "sum"))
    wide = g.unstack("split")
    out = pd.DataFrame({"params": wide["params"]["test"]})
    for split, name in SPLIT_COLUMNS.items():
        out[name] = wide["mean"][split]
        out[name + " sd"] = wide["std"][split].fillna(0.0)
    out["models"] = wide["n"]["test"]
    out["diverged"] = wide["diverged"]["test"]
    return out.reset_index()


def format_table(table: pd.DataFrame) -> str:
    """The summary as aligned text: errors in %, mean ± sd."""
    lines = [f"{'width':>7} {'params':>10} {'train err noisy':>17} {'train err clean':>17} {'test err':>17} {'models':>6}"]
    for _, r in table.iterrows():
        cells = [f"{100 * r[n]:6.2f} ± {100 * r[n + ' sd']:5.2f}%" if r[n] == r[n] else "–"
                 for n in SPLIT_COLUMNS.values()]
        flag = f"  ({int(r['diverged'])} diverged)" if r["diverged"] else ""
        lines.append(f"{int(r['width']):>7} {int(r['params']):>10} {cells[0]:>17} {cells[1]:>17} {cells[2]:>17} "
                     f"{int(r['models']):>6}{flag}")
    return "\n".join(lines)


def plot(table: pd.DataFrame, path: str, title: str = "") -> None:
    """Test and train error against parameter count (log x), mean with a ±sd band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    styles = {"test err": ("tab:red", "test"), "train err (noisy)": ("black", "train (noisy labels)"),
              "train err (clean)": ("tab:gray", "train (clean labels)")}
    for col, (color, label) in styles.items():
        m, s = 100 * table[col], 100 * table[col + " sd"]
        ax.plot(table["params"], m, "o-", color=color, label=label, lw=2 if col == "test err" else 1.2, ms=3)
        ax.fill_between(table["params"], m - s, m + s, color=color, alpha=0.15, lw=0)
    ax.set_xscale("log")
    ax.set_xlabel("parameters (prunable weights)")
    ax.set_ylabel("error (%)")
    ax.set_title(title or "double descent")
    ax.grid(alpha=0.3, which="both")
    ax.legend(frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=120, format="png")
    plt.close(fig)
