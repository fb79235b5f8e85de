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

from lottery.core import distributed
from lottery.analysis import calibration
from lottery.analysis.posterior_maps import PosteriorBinning
from lottery.models import forward
from lottery.models.loss import apply_masks
from lottery.train.eval_set import EvalSet


def population_logits(module, params, stats, x, member_loop: bool = False):
    """Logits [K, B, C] of every model (params already masked, [K, ...]; stats [K, ...] or {}) on x [B, *input];
    ``member_loop``: one model after the other (``lax.map``) instead of vmapped."""
    one = lambda ps: forward.logits(module, ps[0], ps[1], x)[0]  # noqa: E731
    return jax.lax.map(one, (params, stats)) if member_loop else jax.vmap(one)((params, stats))


def label_scores(logits, y, w):
    """Summed cross-entropy and errors of logits [K, B, C] against M label variants y [K, M, B] with example weights
    w [B]: (loss [K, M], errors [K, M]). A non-finite loss counts as an error."""
    ce = jax.vmap(lambda lg, yy: jax.vmap(lambda yv: optax.softmax_cross_entropy_with_integer_labels(lg, yv))(yy))(
        logits, y)
    wrong = (jnp.argmax(logits, -1)[:, None, :] != y) | ~jnp.isfinite(ce)
    return jnp.sum(ce * w, -1), jnp.sum(wrong * w, -1)


def curve_metrics(logits_of, batches) -> dict:
    """Errors and losses of every model on one batched set: ``logits_of(x [eb, *input]) → [K, eb, C]``;
    batches (xb [nb, eb, *input], yb [nb, K, M, eb], vb [nb, eb]) from :meth:`EvalProgram.batched`.
    Returns {"loss", "error"}: [K, M] means over the valid examples. Pure (runs inside a training program)."""
    xb, yb, vb = batches

    def body(acc, batch):
        x, y, v = batch
        loss, wrong = label_scores(logits_of(x), y, v.astype(jnp.float32))
        return (acc[0] + loss, acc[1] + wrong), None

    zeros = jnp.zeros(yb.shape[1:3], jnp.float32)
    (loss, wrong), _ = jax.lax.scan(body, (zeros, zeros), (xb, yb, vb))
    n = jnp.sum(vb)
    return {"loss": loss / n, "error": wrong / n}


class EvalProgram:
    """Batched evaluation of a population, compiled once per (set size, what is measured).

    ``run(params, masks, eval_set, stats=None)`` with params/masks [K, ...] and an :class:`EvalSet` (x [N, *input],
    labels [K, M, N], optional target [N, C], flip [K], binning); stats: batch-norm running statistics [K, ...]
    (normalisation uses them, as PyTorch's ``model.eval()``).
    Returns numpy arrays: ``loss``, ``error`` [K, M]; with ``bins`` > 0 also ``top`` [K, M, bins, 3]
    and ``classwise`` [K, M, C, bins, 3] calibration statistics (see analysis.calibration); with a
    target ``gap_mean``, ``gap_max``, ``gap_adj_mean``, ``gap_adj_max`` [K]; with a binning its sums
    (``axis``, ``map``: see :class:`PosteriorBinning`).
    """

    def __init__(self, module, batch_size: int, num_classes: int, bins: int = calibration.DEFAULT_BINS,
                 member_loop: bool = False):
        self.module, self.batch_size, self.num_classes, self.bins = module, batch_size, num_classes, bins
        self.member_loop = member_loop  # models one after the other (lax.map), not vmapped: see the member loop
        self._programs = {}

    def cache_size(self) -> int:
        """Compiled variants so far (for tests of recompilation)."""
        return sum(f._cache_size() for f in self._programs.values())

    def _impl(self, params, masks, stats, xb, yb, vb, tb, flip, ab, cb, *, with_labels: bool, with_target: bool,
              binning: PosteriorBinning | None):
        # xb [nb, eb, *input], yb [nb, K, M, eb], vb [nb, eb], tb [nb, eb, C], flip [K],
        # ab / cb [nb, eb] int32: each point's axis bin / map cell (−1: outside)
        pm = apply_masks(params, masks)

        def body(acc, batch):
            x, y, v, t, a, cell = batch
            logits = population_logits(self.module, pm, stats, x, self.member_loop)  # [K, eb, C]
            probs = jax.nn.softmax(logits, axis=-1)
            w = v.astype(jnp.float32)
            out = dict(acc)
            if with_labels:
                loss, wrong = label_scores(logits, y, w)
                out["loss"] = acc["loss"] + loss
                out["error"] = acc["error"] + wrong
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
                if binning is not None:
                    out.update(binning.update(acc, probs, t, gap, adj, v, a, cell))
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
            if binning is not None:
                zeros.update(binning.zeros(k))
        acc, _ = jax.lax.scan(body, zeros, (xb, yb, vb, tb, ab, cb))
        n = jnp.sum(vb)
        for name in ("loss", "error"):
            if name in acc:
                acc[name] = acc[name] / n
        if with_target:
            acc["gap_mean"] = acc.pop("gap_sum") / n
            acc["gap_adj_mean"] = acc.pop("gap_adj_sum") / n
        return acc

    def batched(self, x, labels):
        """x [N, *input], labels [K, M, N] → (xb [nb, eb, *input], yb [nb, K, M, eb], vb [nb, eb] bool): the set cut
        into batches of at most ``batch_size`` examples (the last one padded, ``vb`` False there)."""
        n = x.shape[0]
        eb = min(self.batch_size, n)
        nb = math.ceil(n / eb)
        pad = nb * eb - n
        xp = jnp.pad(x, [(0, pad)] + [(0, 0)] * (x.ndim - 1)).reshape(nb, eb, *x.shape[1:])
        yp = jnp.pad(labels, [(0, 0), (0, 0), (0, pad)]).reshape(*labels.shape[:2], nb, eb).transpose(2, 0, 1, 3)
        vp = jnp.asarray(np.arange(nb * eb) < n).reshape(nb, eb)
        return xp, yp, vp

    def run(self, params, masks, eval_set: EvalSet, stats=None) -> dict:
        """Every model of the population on ``eval_set``, in batches of at most ``batch_size`` examples."""
        x, labels, target, flip = eval_set.x, eval_set.labels, eval_set.target, eval_set.flip
        n = x.shape[0]
        k = jax.tree.leaves(masks)[0].shape[0]
        with_labels, with_target = labels is not None, target is not None
        binning = eval_set.binning if with_target else None
        if labels is None:
            labels = jnp.zeros((k, 1, n), jnp.int32)
        xp, yp, vp = self.batched(x, labels)
        nb, eb = vp.shape
        pad = nb * eb - n
        tgt = jnp.zeros((n, 1)) if target is None else jnp.asarray(target, jnp.float32)
        tp = jnp.pad(tgt, [(0, pad), (0, 0)]).reshape(nb, eb, tgt.shape[-1])
        fl = jnp.zeros((k,)) if flip is None else jnp.asarray(flip, jnp.float32)
        ab, cb = (binning or PosteriorBinning()).batched(n, nb, eb)
        key = (with_labels, with_target, None if binning is None else binning.key)
        if key not in self._programs:
            self._programs[key] = jax.jit(lambda *a, _k=key, _b=binning: self._impl(
                *a, with_labels=_k[0], with_target=_k[1], binning=_b))
        return jax.tree.map(distributed.host, self._programs[key](params, masks, stats or {}, xp, yp, vp, tp, fl,
                                                                  jnp.asarray(ab), jnp.asarray(cb)))
