"""Convolutional populations in the benchmark: images/s of K small ResNets trained as one population
against the same K models trained one after the other as single-model runs (each its own trainer, as K
separate jobs would), on synthetic CIFAR-shaped data with the CIFAR recipe (momentum, weight decay,
crop-and-flip augmentation, batch-norm)."""
from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np

from lottery.bench import population
from lottery.models import registry as model_registry
from lottery.train.state import Member
from lottery.train.trainer import BucketTrainer, build_bucket


def _trainer(name: str, width: int, seeds, x, y, batch: int, steps: int, members: str) -> BucketTrainer:
    c = population.train_config(2, batch)
    c.train.augment, c.train.members = True, members
    c.optimizer.momentum, c.optimizer.weight_decay = 0.9, 1e-4
    return BucketTrainer(build_bucket(model_registry.get(name), x, y, [Member(width, s) for s in seeds], c.train,
                                      c.optimizer, 10, boundaries=(steps,)))


def _timed(trainer: BucketTrainer, steps: int) -> tuple[float, float]:
    """(seconds of the first ``steps`` steps, compile included; seconds of the next ``steps``)."""
    pop = trainer.init()
    t0 = time.perf_counter()
    pop, _, _ = trainer.train(pop, 0, steps)
    first = time.perf_counter() - t0
    pop, _, seconds = trainer.train(pop, steps, 2 * steps)
    jax.block_until_ready(pop.params)
    return first, seconds


def images_per_second(name: str, width: int, models: int, batch: int, steps: int, modes=("loop", "vmap")) -> dict:
    """Model-images/s (training, steady state) of ``models`` × ``name`` at ``width`` on [steps·batch, 32, 32, 3]
    synthetic images: as a population in each of ``modes`` (``train.members``) and as ``models`` single-model
    runs one after the other (each with the default ``train.members``). Returns {"population_<mode>": {"images_per_s", "compile_s"}, "sequential": …,
    "speedup_<mode>": population / sequential}."""
    n = steps * batch
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.standard_normal((n, 32, 32, 3), dtype=np.float32))
    y = jnp.asarray(rng.integers(0, 10, (1, n)), jnp.int32)
    seeds = tuple(range(models))
    out = {"model": name, "width": width, "models": models, "batch": batch, "steps": steps}
    for mode in modes:
        first, seconds = _timed(_trainer(name, width, seeds, x, y, batch, steps, mode), steps)
        out[f"population_{mode}"] = {"images_per_s": models * n / seconds, "compile_s": max(first - seconds, 0.0)}
    total, compile_s = 0.0, 0.0
    for s in seeds:
        first, seconds = _timed(_trainer(name, width, (s,), x, y, batch, steps, "auto"), steps)  # as a user's run
        total, compile_s = total + seconds, compile_s + max(first - seconds, 0.0)
    out["sequential"] = {"images_per_s": models * n / total, "compile_s": compile_s}
    for mode in modes:
        out[f"speedup_{mode}"] = out[f"population_{mode}"]["images_per_s"] / out["sequential"]["images_per_s"]
    return out
