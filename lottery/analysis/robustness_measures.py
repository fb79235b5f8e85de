"""Per-sample robustness scores and their correlation with the latent geometry (docs/science.md §8; study B,
equations 6 and 7), and the pruning-identified exemplars of Hooker et al. (2019).

The counting kernels are jnp (jittable); :func:`pearson` and :func:`correlation_table` work in
float64 numpy on host arrays and never return a silent NaN: an undefined correlation says why.
"""
from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from scipy import stats as scipy_stats


def corruption_robustness(correct) -> jax.Array:
    """B eq. 6: correct [S, N] bool, one row per corrupted version (S = corruption types × severities,
    19 × 5 in B) → int32 [N], how many of the S versions of each sample the model classifies correctly."""
    return jnp.sum(jnp.asarray(correct, bool), axis=0, dtype=jnp.int32)


def pruning_vulnerability(correct) -> jax.Array:
    """B eq. 7: correct [R, N] bool, one row per magnitude-prune ratio (0%, 10%, …, 90% in B) → int32 [N],
    how many of the pruned models classify each sample correctly (low = vulnerable)."""
    return jnp.sum(jnp.asarray(correct, bool), axis=0, dtype=jnp.int32)


def modal_prediction(preds, num_classes: int) -> jax.Array:
    """Most frequent class per sample over a population: preds [K, N] int → int32 [N]; ties → the lowest class."""
    counts = jax.nn.one_hot(jnp.asarray(preds), num_classes, dtype=jnp.int32).sum(axis=0)  # [N, C]
    return jnp.argmax(counts, axis=-1).astype(jnp.int32)  # argmax returns the first maximum


def pie_flags(preds_pruned, preds_dense, num_classes: int) -> jax.Array:
    """Pruning-identified exemplars (Hooker et al.): bool [N], True where the modal prediction of the
    pruned population preds_pruned [K, N] differs from that of the dense population preds_dense [K0, N]."""
    return modal_prediction(preds_pruned, num_classes) != modal_prediction(preds_dense, num_classes)


def pruning_vulnerability_by_model(correct) -> np.ndarray:
    """B eq. 7 per dense model: correct [M, R, N] bool (dense model × prune ratio × sample) → int32 [M, N]."""
    return np.stack([np.asarray(pruning_vulnerability(c)) for c in correct])


def pie_by_ratio(preds, preds_dense, num_classes: int) -> np.ndarray:
    """PIE flags at each ratio: preds [M, R, N] (the M seeds' pruned predictions at every ratio), preds_dense [M, N]
    → bool [R, N], the modal prediction over the M seeds at that ratio against the dense models'."""
    return np.stack([np.asarray(pie_flags(preds[:, i], preds_dense, num_classes)) for i in range(preds.shape[1])])


@dataclasses.dataclass(frozen=True)
class Correlation:
    """Pearson correlation. r, p: floats (NaN only when ``defined`` is False); n: pairs used;
    reason: why it is undefined ("" when defined; a note when non-finite pairs were dropped)."""

    r: float
    p: float
    n: int
    defined: bool
    reason: str = ""


def pearson(x, y, x_name: str = "x", y_name: str = "y") -> Correlation:
    """Pearson r of x [N] and y [N] in float64 with its two-sided p-value from Student's t with n − 2
    degrees of freedom (t = r·√((n − 2)/(1 − r²)); the p of scipy.stats.pearsonr).

    Pairs with a non-finite value (e.g. an infinite margin) are dropped and the reason says how many.
    Undefined (defined=False, r = p = NaN, reason given) with fewer than 3 pairs or a constant input.
    """
    x = np.asarray(x, np.float64).ravel()
    y = np.asarray(y, np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"pearson: {x_name} has {x.size} values and {y_name} {y.size}")
    keep = np.isfinite(x) & np.isfinite(y)
    dropped = int(x.size - keep.sum())
    x, y = x[keep], y[keep]
    n = int(x.size)
    note = f"dropped {dropped} non-finite pairs" if dropped else ""

    def undefined(why):
        return Correlation(math.nan, math.nan, n, False, "; ".join(filter(None, [f"undefined: {why}", note])))

    if n < 3:
        return undefined(f"{n} pairs (needs 3)")
    dx, dy = x - x.mean(), y - y.mean()
    for d, name, v in ((dx, x_name, x), (dy, y_name, y)):
        if np.all(v == v[0]) or not np.any(d):
            return undefined(f"constant {name}")
    sx, sy = np.sqrt(dx @ dx), np.sqrt(dy @ dy)
    r = float(np.clip((dx / sx) @ (dy / sy), -1.0, 1.0))
    if abs(r) == 1.0:
        p = 0.0
    else:
        t = r * math.sqrt((n - 2) / (1.0 - r * r))
        p = float(2.0 * scipy_stats.t.sf(abs(t), n - 2))
    return Correlation(r, p, n, True, note)


def correlation_table(metrics: dict, targets: dict) -> pd.DataFrame:
    """Pearson r of every metric [N] (angle_own, length, margin …) with every target [N] (robustness,
    PV …): one row per pair, columns metric, target, r, p, n, defined, reason."""
    rows = []
    for mname, m in metrics.items():
        for tname, t in targets.items():
            c = pearson(m, t, mname, tname)
            rows.append({"metric": mname, "target": tname, "r": c.r, "p": c.p, "n": c.n,
                         "defined": c.defined, "reason": c.reason})
    return pd.DataFrame(rows, columns=["metric", "target", "r", "p", "n", "defined", "reason"])
