"""Training one bucket of a population from scratch: init, chunks of epochs, evaluation.

Pure apart from the ``progress`` callback: the caller decides what to print or save.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Callable, Optional

import jax
import jax.numpy as jnp
import numpy as np

from lottery.models.registry import ModelSpec
from lottery.train import optim, order
from lottery.train.evaluate import EvalProgram
from lottery.train.state import Member, Population, init_population
from lottery.train.step import TrainProgram

CHUNK_INDEX_BUDGET = 8_000_000  # int32 batch indices held on the host per chunk


@dataclasses.dataclass
class BucketRun:
    """What training one bucket produced.

    population: final state; losses: [epochs, K] mean training loss per epoch;
    train_seconds: wall time of the chunks after the first (compile excluded when >1 chunk);
    timed_epochs: epochs those seconds cover; compile_seconds: time of the first chunk.
    """

    population: Population
    losses: np.ndarray
    train_seconds: float
    timed_epochs: int
    compile_seconds: float
    program: TrainProgram


def chunk_epochs(epochs: int, models: int, steps: int, batch: int) -> int:
    """Largest divisor of ``epochs`` whose batch indices fit the host budget (so no recompile)."""
    per_epoch = max(models, 1) * steps * batch
    cap = max(1, CHUNK_INDEX_BUDGET // per_epoch)
    return max(d for d in range(1, min(cap, epochs) + 1) if epochs % d == 0)


def order_seeds(members: list[Member], shared: bool, data_seed: int) -> list[int]:
    """Data-order seed of every member (one seed for the whole population when shared)."""
    return [data_seed] if shared else [m.seed for m in members]


def train_bucket(spec: ModelSpec, x_train, labels, members: list[Member], train_cfg, opt_cfg, num_classes: int,
                 progress: Optional[Callable[[int, int], None]] = None) -> BucketRun:
    """Trains ``members`` (padded to the widest) for ``train_cfg.epochs`` epochs.

    x_train [N, *input]; labels [L, N] int32 label sets (member.label_set picks one).
    ``progress(epochs_done, epochs_total)`` is called after every chunk.
    """
    n = int(x_train.shape[0])
    batch = int(train_cfg.batch_size)
    steps = order.steps_per_epoch(n, batch)
    epochs = int(train_cfg.epochs)
    padded = max(m.width for m in members)
    module = spec.module(padded, num_classes)
    tx = optim.direction(opt_cfg)
    program = TrainProgram(module, tx, optim.schedule(opt_cfg, steps, epochs), bool(train_cfg.shared_data_order))
    pop = init_population(spec, module, tx, members, padded, tuple(x_train.shape[1:]), num_classes)
    label_set = jnp.asarray([m.label_set for m in members], jnp.int32)
    seeds = order_seeds(members, program.shared_order, int(train_cfg.data_seed))
    per_chunk = chunk_epochs(epochs, len(seeds), steps, batch)
    def indices(start):
        idx = order.chunk_batches(seeds, start, per_chunk, n, batch)
        return jnp.asarray(idx[:, 0] if program.shared_order else idx)

    losses, timed, first = [], 0.0, 0.0
    idx = indices(0)
    for start in range(0, epochs, per_chunk):
        t0 = time.perf_counter()
        pop, loss = program.run(pop, x_train, labels, label_set, idx)  # dispatched asynchronously
        if start + per_chunk < epochs:
            idx = indices(start + per_chunk)  # drawn on the host while the chunk runs
        loss = np.asarray(loss)  # waits for the chunk
        dt = time.perf_counter() - t0
        if start == 0:
            first = dt
        else:
            timed += dt
        losses.append(loss.reshape(per_chunk, steps, -1).mean(axis=1))
        if progress:
            progress(start + per_chunk, epochs)
    timed_epochs = epochs - per_chunk
    if timed_epochs == 0:
        timed, timed_epochs = first, epochs
    return BucketRun(pop, np.concatenate(losses), timed, timed_epochs, first, program)


def evaluate_splits(module_program: EvalProgram, pop: Population, splits: dict) -> dict:
    """{split name: (loss [K], error [K])} for ``splits = {group: (x, labels [K, M, N], names[M])}``."""
    out = {}
    for x, labels, names in splits.values():
        loss, err = module_program.run(pop.params, pop.masks, x, labels)
        loss, err = np.asarray(loss), np.asarray(err)
        for j, name in enumerate(names):
            out[name] = (loss[:, j], err[:, j])
    return out
