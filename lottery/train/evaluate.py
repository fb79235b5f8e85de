"""Evaluation of every model of a population on a dataset split, in batches.

One pass computes the logits once and scores them against several label variants
(e.g. the noisy and the clean labels), optionally with calibration statistics and the
distance to a target posterior (the Bayes posterior of synthetic data).
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax

from lottery import distributed
from lottery.analysis import calibration
from lottery.models import forward
from lottery.train.step import apply_masks


class EvalProgram:
    """Batched evaluation of a population, compiled once per (split size, what is measured).

    ``run(params, masks, x, labels=None, target=None, flip=None, axis=None, cells=None, stats=None)`` with
    params/masks [K, ...],
    x [N, *input], labels [K, M, N] int32 (M label variants per model), target [N, C] (a posterior
    to compare with), flip [K] (each model's label flip rate, for the noise-adjusted target) and stats
    (batch-norm running statistics [K, ...]; normalisation uses them, as PyTorch's ``model.eval()``).
    Returns numpy arrays: ``loss``, ``error`` [K, M]; with ``bins`` > 0 also ``top`` [K, M, bins, 3]
    and ``classwise`` [K, M, C, bins, 3] calibration statistics (see analysis.calibration); with a
    target ``gap_mean``, ``gap_max``, ``gap_adj_mean``, ``gap_adj_max`` [K].
    """

    def __init__(self, module, batch_size: int, num_classes: int, bins: int = calibration.DEFAULT_BINS,
                 member_loop: bool = False):
        self.module, self.batch_size, self.num_classes, self.bins = module, batch_size, num_classes, bins
        self.member_loop = member_loop  # models one after the other (lax.map), not vmapped: see TrainProgram
        self._programs = {}

    def cache_size(self) -> int:
        """Compiled variants so far (for tests of recompilation)."""
        return sum(f._cache_size() for f in self._programs.values())

    def _impl(self, params, masks, stats, xb, yb, vb, tb, flip, ab, cb, *, with_labels: bool, with_target: bool,
              axis_bins: int, map_cells: int):
        # xb [nb, eb, *input], yb [nb, K, M, eb], vb [nb, eb], tb [nb, eb, C], flip [K],
        # ab / cb [nb, eb] int32: each point's axis bin / map cell (−1: outside)
        pm = apply_masks(params, masks)

        def binned(index, size, values, v):  # [eb] bins, [K, eb] values → [K, size]
            onehot = jax.nn.one_hot(jnp.where(v, index, -1), size, dtype=jnp.float32)  # −1 → all zeros
            return values @ onehot

        def body(acc, batch):
            x, y, v, t, a, cell = batch
            one = lambda ps: forward.logits(self.module, ps[0], ps[1], x)[0]  # noqa: E731
            logits = jax.lax.map(one, (pm, stats)) if self.member_loop else jax.vmap(one)((pm, stats))  # [K, eb, C]
            probs = jax.nn.softmax(logits, axis=-1)
            w = v.astype(jnp.float32)
            out = dict(acc)
            if with_labels:
                ce = jax.vmap(lambda lg, yy: jax.vmap(
                    lambda yv: optax.softmax_cross_entropy_with_integer_labels(lg, yv))(yy))(logits, y)
                wrong = (jnp.argmax(logits, -1)[:, None, :] != y) | ~jnp.isfinite(ce)
                out["loss"] = acc["loss"] + jnp.sum(ce * w, -1)
                out["error"] = acc["error"] + jnp.sum(wrong * w, -1)
                if self.bins:
                    per_label = lambda f: jax.vmap(lambda p, yy: jax.vmap(lambda yv: f(p, yv, v, self.bins))(yy))  # noqa: E731
                    out["top"] = acc["top"] + per_label(calibration.top_label_stats)(probs, y)
                    out["classwise"] = acc["classwise"] + per_label(calibration.classwise_stats)(probs, y)
            if with_target:
                gap = jax.vmap(lambda p: calibration.posterior_gap(p, t))(probs)  # [K, eb]
                adj = jax.vmap(lambda p, f: calibration.posterior_gap(p, calibration.noise_adjusted(t, f)))(probs, flip)
                out["gap_sum"] = acc["gap_sum"] + jnp.sum(gap * w, -1)
                out["gap_max"] = jnp.maximum(acc["gap_max"], jnp.max(jnp.where(v, gap, 0.0), -1))
                out["gap_adj_sum"] = acc["gap_adj_sum"] + jnp.sum(adj * w, -1)
                out["gap_adj_max"] = jnp.maximum(acc["gap_adj_max"], jnp.max(jnp.where(v, adj, 0.0), -1))
                counts = jnp.broadcast_to(w, gap.shape)  # [K, eb]
                target0 = jnp.broadcast_to(t[:, 0], gap.shape)
                if axis_bins:
                    out["axis"] = acc["axis"] + jnp.stack([binned(a, axis_bins, counts, v), binned(a, axis_bins, probs[..., 0], v),
                                                           binned(a, axis_bins, target0, v)], -1)
                if map_cells:
                    out["map"] = acc["map"] + jnp.stack([binned(cell, map_cells, counts, v), binned(cell, map_cells, gap, v),
                                                         binned(cell, map_cells, adj, v)], -1)
            return out, None

        k, m = yb.shape[1], yb.shape[2]
        c = self.num_classes
        zeros = {}
        if with_labels:
            zeros.update(loss=jnp.zeros((k, m)), error=jnp.zeros((k, m)))
            if self.bins:
                zeros.update(top=jnp.zeros((k, m, self.bins, 3)), classwise=jnp.zeros((k, m, c, self.bins, 3)))
        if with_target:
            zeros.update({name: jnp.zeros((k,)) for name in ("gap_sum", "gap_max", "gap_adj_sum", "gap_adj_max")})
            if axis_bins:
                zeros["axis"] = jnp.zeros((k, axis_bins, 3))
            if map_cells:
                zeros["map"] = jnp.zeros((k, map_cells, 3))
        acc, _ = jax.lax.scan(body, zeros, (xb, yb, vb, tb, ab, cb))
        n = jnp.sum(vb)
        for name in ("loss", "error"):
            if name in acc:
                acc[name] = acc[name] / n
        if with_target:
            acc["gap_mean"] = acc.pop("gap_sum") / n
            acc["gap_adj_mean"] = acc.pop("gap_adj_sum") / n
        return acc

    def run(self, params, masks, x, labels=None, target=None, flip=None, axis=None, cells=None, stats=None) -> dict:
        """axis / cells: optional (index [N] int, size) binning of the points, for the posterior along the
        axis between class means (``axis`` [K, size, 3]: count, Σ p_model(y=0), Σ p_target(y=0)) and the
        gap on a 2-D map (``map`` [K, size, 3]: count, Σ gap, Σ noise-adjusted gap); need a target."""
        n = x.shape[0]
        k = jax.tree.leaves(masks)[0].shape[0]
        with_labels, with_target = labels is not None, target is not None
        eb = min(self.batch_size, n)
        nb = math.ceil(n / eb)
        pad = nb * eb - n
        xp = jnp.pad(x, [(0, pad)] + [(0, 0)] * (x.ndim - 1)).reshape(nb, eb, *x.shape[1:])
        if labels is None:
            labels = jnp.zeros((k, 1, n), jnp.int32)
        yp = jnp.pad(labels, [(0, 0), (0, 0), (0, pad)]).reshape(*labels.shape[:2], nb, eb).transpose(2, 0, 1, 3)
        vp = jnp.asarray(np.arange(nb * eb) < n).reshape(nb, eb)
        tgt = jnp.zeros((n, 1)) if target is None else jnp.asarray(target, jnp.float32)
        tp = jnp.pad(tgt, [(0, pad), (0, 0)]).reshape(nb, eb, tgt.shape[-1])
        fl = jnp.zeros((k,)) if flip is None else jnp.asarray(flip, jnp.float32)

        def bins(spec):
            idx = np.full(n, -1, np.int32) if spec is None else np.asarray(spec[0], np.int32)
            return jnp.asarray(np.pad(idx, (0, pad), constant_values=-1).reshape(nb, eb)), (0 if spec is None else int(spec[1]))

        ab, axis_bins = bins(axis)
        cb, map_cells = bins(cells)
        key = (with_labels, with_target, axis_bins, map_cells)
        if key not in self._programs:
            self._programs[key] = jax.jit(lambda *a, _k=key: self._impl(
                *a, with_labels=_k[0], with_target=_k[1], axis_bins=_k[2], map_cells=_k[3]))
        return jax.tree.map(distributed.host, self._programs[key](params, masks, stats or {}, xp, yp, vp, tp, fl, ab, cb))
