"""The curse-of-dimensionality check of docs/science.md §8 (study B): in high dimension almost every pair of
vectors is nearly orthogonal, so angles near 90° are the baseline, not a sign of structure.

For x, y ~ N(0, I_d), cos θ ≈ N(0, 1/d) for large d, so θ ≈ 90° − (180/π)·cos θ: mean → 90° and
std ≈ (180/π)/√d. B reports 88.8° ± 6.8° between features and class directions of an untrained LeNet-5.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from lottery.analysis import geometry


def random_angles(dims, n: int, key) -> pd.DataFrame:
    """Angle between n independent pairs of standard-normal vectors in each dimension of ``dims``:
    DataFrame with columns dim, mean, std (degrees, population std) and closed_form_std
    ((180/π)/√d, the large-d limit)."""
    rows = []
    for d, k in zip(dims, jax.random.split(key, len(dims))):
        a, b = jax.random.normal(k, (2, n, int(d)))
        cos = jnp.sum(a * b, -1) / (jnp.linalg.norm(a, axis=-1) * jnp.linalg.norm(b, axis=-1))
        theta = np.degrees(np.arccos(np.clip(np.asarray(cos, np.float64), -1.0, 1.0)))
        rows.append({"dim": int(d), "mean": float(theta.mean()), "std": float(theta.std()),
                     "closed_form_std": float(np.degrees(1.0) / np.sqrt(d))})
    return pd.DataFrame(rows, columns=["dim", "mean", "std", "closed_form_std"])


def feature_angles(feats, W) -> tuple[float, float]:
    """(mean, std) in degrees of the angles between every feature vector feats [B, d] and every class
    direction W [C, d] (B × C angles; a zero vector counts as 90°, see geometry.measures)."""
    theta = np.asarray(geometry.angles_deg(jnp.asarray(feats), jnp.asarray(W)), np.float64)
    return float(theta.mean()), float(theta.std())
