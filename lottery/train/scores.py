"""The compiled score-training program of biprop / edge-popup populations (W frozen).

``jit(lax.scan(vmap(score_step)))`` like the weight-training program, but the state is the
scores and their optimizer state; the frozen weights, the base masks and each model's prune
ratio (traced: one compile for a whole ratio sweep) are arguments.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, Optional

import flax
import jax
import jax.numpy as jnp
import numpy as np

from lottery.prune import biprop
from lottery.train import order


@flax.struct.dataclass
class ScoreState:
    """scores {layer: {"kernel": [K, in, out]}}, opt_state (leading K), step [K] int32."""

    scores: Any
    opt_state: Any
    step: jax.Array


class ScoreProgram:
    """``run(state, params, masks, ratio, x_train, labels, label_set, idx)`` → (state, losses [S, K]).

    params, masks: [K, ...] frozen weights and base masks; ratio [K] float32; x_train [N, *input];
    labels [L, N] int32 label sets; label_set [K]; idx [S, K, B] int32 batch indices (−1: padding).
    """

    def __init__(self, ctx, tx, lr_schedule: Callable, *, scope: str = "global", ignore: tuple = ()):
        self.ctx, self.tx, self.lr_schedule = ctx, tx, lr_schedule
        self.step = functools.partial(biprop.score_step, ctx, tx, scope=scope, ignore=tuple(ignore))
        self.run = jax.jit(self._run, donate_argnums=0)

    def init(self, scores) -> ScoreState:
        k = jax.tree.leaves(scores)[0].shape[0]
        return ScoreState(scores, jax.vmap(self.tx.init)(scores), jnp.zeros((k,), jnp.int32))

    def _run(self, state: ScoreState, params, masks, ratio, x_train, labels, label_set, idx):
        def body(st, idx_s):
            safe = jnp.maximum(idx_s, 0)  # [K, B]
            yb = jax.vmap(lambda ls, s: labels[ls, s])(label_set, safe)
            lr = jax.vmap(self.lr_schedule)(st.step)
            s, opt, loss = jax.vmap(self.step)(lr, params, masks, st.scores, st.opt_state, ratio, x_train[safe], yb,
                                               idx_s >= 0)
            return ScoreState(s, opt, st.step + 1), loss

        return jax.lax.scan(body, state, idx)


def train(program: ScoreProgram, state: ScoreState, params, masks, ratio, x_train, labels, label_set,
          seeds: list[int], steps: int, chunk: int, batch: int,
          progress: Optional[Callable[[int, int], None]] = None) -> tuple[ScoreState, np.ndarray]:
    """Trains the scores for ``steps`` steps (a multiple of ``chunk``), model k reading the data
    order of ``seeds[k]`` from step 0. Returns (state, training losses [steps, K])."""
    assert steps % chunk == 0, (steps, chunk)
    n, losses = int(x_train.shape[0]), []
    for start in range(0, steps, chunk):
        idx = jnp.asarray(order.step_batches(seeds, start, chunk, n, batch))
        state, loss = program.run(state, params, masks, ratio, x_train, labels, label_set, idx)
        losses.append(np.asarray(loss))
        if progress:
            progress(start + chunk, steps)
    return state, np.concatenate(losses) if losses else np.zeros((0, len(seeds)), np.float32)
