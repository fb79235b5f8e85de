"""Learning curves: the evaluation sets a bucket measures while it trains (``eval.every``), prepared once.

A :class:`CurveProbe` holds every labelled evaluation set cut into batches (see
:meth:`lottery.train.evaluate.EvalProgram.batched`) and the interval between two measurements. A strategy that
can measure its population in its own layout does so inside its compiled chunk program
(:func:`scan_with_curves`): the chunk stays as long as without curves and
nothing returns to the host between measurements. Any other strategy is measured between chunks, on the
population, by :meth:`CurveProbe.measure`.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from lottery.core import distributed
from lottery.models.loss import apply_masks
from lottery.train.evaluate import EvalProgram, curve_metrics, population_logits


def measure_sets(logits_of, batches) -> list[dict]:
    """Pure: every set's {"loss", "error"} [K, M] with ``logits_of(x [eb, *input]) → [K, eb, C]``; batches: one
    (xb, yb, vb) per set (:attr:`CurveProbe.batches`)."""
    return [curve_metrics(logits_of, b) for b in batches]


def skipped(batches) -> list[dict]:
    """What :func:`measure_sets` returns, all zeros (a block that measures nothing)."""
    return [{"loss": jnp.zeros(b[1].shape[1:3], jnp.float32), "error": jnp.zeros(b[1].shape[1:3], jnp.float32)}
            for b in batches]


class CurveProbe:
    """What a bucket measures while it trains.

    every: steps between two measurements (of the global step count); names: each set's M label names;
    batches: each set as (xb [nb, eb, *input], yb [nb, K, M, eb], vb [nb, eb]); evaluator: the bucket's
    evaluation program (its model and whether members run one by one), for :meth:`measure`.
    """

    def __init__(self, every: int, names: tuple, batches: tuple, evaluator: EvalProgram):
        self.every, self.names, self.batches, self.evaluator = int(every), tuple(names), tuple(batches), evaluator
        self._measure = jax.jit(self._population)

    def _population(self, params, masks, stats, batches):
        pm = apply_masks(params, masks)
        ev = self.evaluator
        return measure_sets(lambda x: population_logits(ev.module, pm, stats, x, ev.member_loop), batches)

    def replaced(self, batches=None, evaluator: EvalProgram | None = None) -> "CurveProbe":
        """The same interval on other ``batches`` (e.g. a slice of the members' labels) or measured between chunks
        by another bucket's ``evaluator`` (its model)."""
        return CurveProbe(self.every, self.names, self.batches if batches is None else batches,
                          evaluator or self.evaluator)

    def measure(self, params, masks, stats) -> list[dict]:
        """The population (params, masks, stats [K, ...]) measured on every set (one compile per bucket)."""
        return self._measure(params, masks, stats or {}, self.batches)

    def named(self, seen: list[dict], reported: int) -> dict[str, Any]:
        """A measurement on the host by label name: {name: {"loss", "error": [reported]}} (the layout's padding
        members dropped)."""
        out = {}
        for names, s in zip(self.names, seen):
            for j, name in enumerate(names):
                out[name] = {key: np.asarray(distributed.host(s[key]))[:reported, j] for key in ("loss", "error")}
        return out


def block_length(chunk: int, every: int) -> int:
    """Steps between two possible measurements inside a chunk: gcd(chunk, every)."""
    return math.gcd(int(chunk), int(every))


def measured_blocks(start: int, chunk: int, every: int) -> list[tuple[int, int]]:
    """(step, block) of every measurement a chunk starting at ``start`` takes: the blocks ending on a multiple
    of ``every``."""
    b = block_length(chunk, every)
    return [(start + (j + 1) * b, j) for j in range(chunk // b) if (start + (j + 1) * b) % every == 0]


def scan_with_curves(steps: Callable, logits_of: Callable, state, idx, start, every: int, batches):
    """A chunk of steps with learning-curve measurements inside one program.

    steps(state, idx_block) → (state, losses) runs a block of steps; logits_of(state) → (x [eb, *input] →
    logits [K, eb, C]) is the population's forward pass in the strategy's layout; idx [S, ...] the chunk's
    batch indices; start: the chunk's first step (traced); every (static); batches: ``CurveProbe.batches``.
    The chunk runs as S / b blocks of b = gcd(S, every) steps; after each block ending on a multiple of
    ``every`` every set is measured (``lax.cond``: other blocks skip it). Returns (state, losses [S, ...],
    measurements [S / b] stacked, zeros where skipped)."""
    b = block_length(idx.shape[0], every)
    n = idx.shape[0] // b
    blocks = idx.reshape(n, b, *idx.shape[1:])

    def block(st, j_ix):
        j, ix = j_ix
        st, loss = steps(st, ix)
        due = (start + (j + 1) * b) % every == 0
        seen = jax.lax.cond(due, lambda s: measure_sets(logits_of(s), batches), lambda s: skipped(batches), st)
        return st, (loss, seen)

    state, (loss, seen) = jax.lax.scan(block, state, (jnp.arange(n), blocks))
    return state, loss.reshape(n * b, *loss.shape[2:]), seen
