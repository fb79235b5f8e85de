"""The pruning methods: one registry, one interface (docs/science.md §7).

Every method is a family's ``scores(ctx, params, masks, key, x, y, valid)`` → a score per
prunable weight, {layer: {"kernel": [..., in, out]}} (one model's pytrees; ``jax.vmap`` it over a
population). :func:`select` turns scores into masks: it removes ``ratio`` (traced, in [0, 1))
of the alive weights with the lowest scores, exactly ⌈ratio·R⌉ of them, globally or per layer
(ties: the earlier weight — layers in name order, then row-major — goes first; this is
``magnitude.prune``'s clean rule, reused). Data-driven scores read ``nb`` minibatches:
x [nb, B, *input], y [nb, B] int, valid [nb, B] bool.

========== ========== ===== =====================================================================
name       prunes     data  score
========== ========== ===== =====================================================================
random     trained    no    U[0, 1) — a uniformly random subset (random.py)
magnitude  trained    no    |w|, one-shot (IMP iterates it: imp.py) (magnitude.py)
snip       init       yes   |w·ḡ| normalised, ḡ mean gradient over minibatches (snip.py)
taylor1    trained    yes   mean over minibatches of |g_b·w| (taylor.py)
taylor2    trained    yes   taylor1 + ½·w²·H_ww, diagonal Hessian exact or Hutchinson (taylor.py)
biprop     init       yes   learned scores on frozen W, kept weights binarised to ±α (biprop.py)
edge_popup init       yes   learned scores on frozen W, kept weights real (biprop.py)
========== ========== ===== =====================================================================

For the learned methods ``scores`` gives the initial scores; ``lottery.train.scores`` trains
them and :func:`lottery.prune.biprop.network` builds the pruned network. Any method followed
by fine-tuning its survivors is prune + retrain (``lottery.studies.prune_methods``).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable

import jax
import jax.numpy as jnp

from lottery.models.masks import kernel_leaves
from lottery.prune import biprop, magnitude, snip, taylor
from lottery.prune import random as random_scores


@dataclasses.dataclass(frozen=True)
class Method:
    """name; prunes: "init" or "trained" weights; needs_data: reads minibatches; learned: scores
    trained by gradient (W frozen); binarise: biprop's ±α; scores: the family's score function."""

    name: str
    prunes: str
    needs_data: bool
    learned: bool
    scores: Callable
    binarise: bool = False


METHODS = {m.name: m for m in (
    Method("random", "trained", False, False, random_scores.scores),
    Method("magnitude", "trained", False, False, magnitude.scores),
    Method("snip", "init", True, False, snip.scores),
    Method("taylor1", "trained", True, False, taylor.scores_first),
    Method("taylor2", "trained", True, False, taylor.scores_second),
    Method("biprop", "init", True, True, biprop.scores, binarise=True),
    Method("edge_popup", "init", True, True, biprop.scores, binarise=False),
)}
NAMES = tuple(METHODS)


@dataclasses.dataclass(frozen=True)
class Context:
    """What a score function needs besides arrays: the Flax module, the Hessian estimate
    (``exact`` | ``hutchinson``) and its sample count, and biprop's binarisation switch."""

    module: Any
    hessian: str = "hutchinson"
    samples: int = 4
    binarise: bool = False


def get(name: str) -> Method:
    if name not in METHODS:
        raise ValueError(f"unknown pruning method {name!r}; allowed: {', '.join(NAMES)}")
    return METHODS[name]


def select(scores, masks, ratio, *, scope: str = "global", ignore: tuple = ()):
    """Masks keeping the highest ``scores``: ⌈ratio·R⌉ of the R alive weights removed (per layer
    with scope ``layerwise``); ignored layers keep their masks. Same structure as ``masks``."""
    return magnitude.prune(scores, masks, ratio, rule="clean", scope=scope, ignore=ignore, scores=scores)


def sparsity(masks, base_masks) -> dict:
    """Per-layer summary of one model: {layer: {"kept", "alive": int32, "density": float32}} —
    kept weights of ``masks`` over the alive ones of ``base_masks`` (e.g. padding)."""
    out = {}
    for n, m in kernel_leaves(masks).items():
        kept = jnp.sum(m, dtype=jnp.int32)
        alive = jnp.sum(kernel_leaves(base_masks)[n], dtype=jnp.int32)
        out[n] = {"kept": kept, "alive": alive, "density": kept / jnp.maximum(alive, 1)}
    return out


def sweep(scores, masks, ratios, *, scope: str = "global", ignore: tuple = ()):
    """A ratio sweep: scores and masks of M models ([M, ...] leaves) and ratios [R] → masks
    [M, R, ...] — model i at ratio j prunes ratios[j] of model i by its own scores. Jit it once:
    the ratios are traced, so any sweep of R ratios reuses the compiled program."""
    one = lambda s, m: jax.vmap(lambda r: select(s, m, r, scope=scope, ignore=ignore))(ratios)  # noqa: E731
    return jax.vmap(one)(scores, masks)
