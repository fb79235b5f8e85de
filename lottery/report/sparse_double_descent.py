"""Sparse double descent (docs/science.md §5): best pruned models, effective parameters, the figure."""
from __future__ import annotations

import pandas as pd


def best_pruned(main: pd.DataFrame) -> pd.DataFrame:
    """For every starting model (width, seed, noise draw): the level of lowest test error.

    main: rows of the main IMP branch. Returns one row per starting model with best_level,
    effective_params (its surviving weights), best_test_error, dense_test_error, dense_params.
    Ties go to the sparser level; diverged levels (and their descendants) are never chosen, and a
    starting model that diverged at level 0 has no best pruned model.
    """
    ok = ~main.diverged.astype(bool)
    dense_ok = main[(main.level == 0) & (main.split == "test") & ok][["width", "seed", "noise_seed"]]
    main = main[ok].merge(dense_ok, on=["width", "seed", "noise_seed"])
    test = main[main.split == "test"].sort_values(["width", "seed", "noise_seed", "error", "level"],
                                                  ascending=[True, True, True, True, False])
    best = test.groupby(["width", "seed", "noise_seed"], as_index=False).first()
    dense = main[(main.split == "test") & (main.level == 0)].set_index(["width", "seed", "noise_seed"])
    out = best[["width", "seed", "noise_seed", "level", "weights_remaining", "error"]].rename(
        columns={"level": "best_level", "weights_remaining": "effective_params", "error": "best_test_error"})
    key = pd.MultiIndex.from_frame(out[["width", "seed", "noise_seed"]])
    out["dense_test_error"] = dense.loc[key, "error"].to_numpy()
    out["dense_params"] = dense.loc[key, "weights_total"].to_numpy()
    return out


def format_best(best: pd.DataFrame) -> str:
    """Per starting width: dense params and error, best level, effective params and best error (means)."""
    g = best.groupby("width").agg(dense_params=("dense_params", "first"), dense=("dense_test_error", "mean"),
                                  level=("best_level", "mean"), eff=("effective_params", "mean"),
                                  eff_min=("effective_params", "min"), eff_max=("effective_params", "max"),
                                  err=("best_test_error", "mean"))
    lines = [f"{'width':>7} {'params':>10} {'dense test err':>15} {'best level':>11} {'effective params':>24} {'best test err':>14}"]
    for w, r in g.iterrows():
        eff = f"{r.eff:,.0f} [{int(r.eff_min):,}–{int(r.eff_max):,}]"
        lines.append(f"{int(w):>7} {int(r.dense_params):>10} {100 * r.dense:>14.2f}% {r.level:>11.1f} {eff:>24} {100 * r.err:>13.2f}%")
    return "\n".join(lines)


def plot(main: pd.DataFrame, best: pd.DataFrame, path: str, title: str = "") -> None:
    """Dense curve (thick) and every starting width's IMP trajectory (thin) against remaining
    weights, test (red) and noisy-label train (black) error, means over seeds; minima marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.2, 4.6))
    for split, color in (("test", "tab:red"), ("train_noisy", "black")):
        d = main[main.split == split].groupby(["width", "level"], as_index=False).agg(
            params=("weights_remaining", "mean"), error=("error", "mean"))
        dense = d[d.level == 0].sort_values("params")
        ax.plot(dense.params, 100 * dense.error, "o-", color=color, lw=2.6, ms=4,
                label=f"{'test' if split == 'test' else 'train (noisy)'}: dense models")
        for _, traj in d.groupby("width"):
            traj = traj.sort_values("level")
            ax.plot(traj.params, 100 * traj.error, "-", color=color, lw=0.8, alpha=0.55)
    m = best.groupby("width").agg(p=("effective_params", "mean"), e=("best_test_error", "mean"))
    ax.plot(m.p, 100 * m.e, "*", color="gold", mec="black", ms=11, label="best pruned model", zorder=5)
    ax.set_xscale("log")
    ax.set_xlabel("remaining parameters")
    ax.set_ylabel("error (%)")
    ax.set_title(title or "sparse double descent")
    ax.grid(alpha=0.3, which="both")
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120, format="png")
    plt.close(fig)
