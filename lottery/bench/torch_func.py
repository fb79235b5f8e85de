"""The PyTorch population baselines: a padded population trained by ``torch.func``, eager or ``torch.compile``d.

Per bucket (:mod:`lottery.bench.padded`), the models built as the eager loop builds them
(:func:`lottery.bench.torch_loop.build_model`: same seeds, same initial weights), stacked on a leading model
axis K and padded to the bucket's widest net (the padding masked to zero, so each model's math is its own);
one step for all: ``vmap(grad(loss))`` of ``functional_call`` of the widest net on ``params · masks``, then
SGD on the stacked parameters. Data order: each model its own ``randperm`` per epoch from its seed (as the
eager loop draws it; batch indices [K, B], inputs gathered [K, B, D]), or one shared order (inputs [B, D]).
The last batch of an epoch is partial, as in the eager loop.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from lottery.bench import torch_loop
from lottery.bench.padded import PaddedBucket, Timing, stack_padded, timed_epochs


@dataclasses.dataclass
class Stacked:
    """A padded population: the widest net (its own weights unused), its parameter names, and per name the
    stacked parameters [K, *shape] and masks [K, *shape] (1 on each model's true weights, 0 on padding)."""

    template: Any
    names: list
    params: list
    masks: list


def stack(models, padded_sizes, use_bias: bool) -> Stacked:
    """K :func:`torch_loop.build_model` nets (true sizes) padded into one net of layer sizes ``padded_sizes``:
    each true weight [out, in] (bias [out]) in the leading corner of its padded one, zeros elsewhere."""
    import torch

    template = torch_loop.build_model(padded_sizes, 0, use_bias)
    names, params, masks = [], [], []
    for name, p in template.named_parameters():
        stacked, mask = stack_padded([m.get_parameter(name).detach().numpy() for m in models], tuple(p.shape))
        names.append(name)
        params.append(torch.from_numpy(stacked))
        masks.append(torch.from_numpy(mask))
    return Stacked(template, names, params, masks)


def population_step(stacked: Stacked, shared: bool, lr: float):
    """``step(params, masks, x, y) → params``: one SGD step of every model of ``stacked``.

    params/masks: lists of [K, *shape] as in :class:`Stacked`; x [K, B, D] and y [K, B] int64 (own orders)
    or, ``shared``, x [B, D] and y [B]. The gradient of ``params · masks`` is 0 on the padding, which stays 0.
    """
    import torch
    from torch.func import functional_call, grad, vmap

    template, names = stacked.template, stacked.names

    def loss(params, masks, x, y):
        logits = functional_call(template, {n: p * m for n, p, m in zip(names, params, masks)}, (x,))
        return torch.nn.functional.cross_entropy(logits, y)

    data_axis = None if shared else 0
    grads = vmap(grad(loss), in_dims=(0, 0, data_axis, data_axis))

    def step(params, masks, x, y):
        return [p - lr * g for p, g in zip(params, grads(params, masks, x, y))]

    return step


def train_bucket(xt, yt, bucket: PaddedBucket, use_bias: bool, shared: bool, compiled: bool, epochs: int,
                 batch: int, lr: float = 0.1) -> Timing:
    """Trains one bucket for ``epochs`` timed epochs, after one that compiles when ``compiled`` (eager
    ``torch.func`` compiles nothing: compile_s None). xt [N, D] float32, yt [N] int64 (:func:`torch_loop.tensors`).
    A failed ``torch.compile`` raises when the first epoch runs it."""
    import torch

    models = [torch_loop.build_model(s, seed, use_bias) for s, seed in zip(bucket.sizes, bucket.seeds)]
    stacked = stack(models, bucket.padded, use_bias)
    step = population_step(stacked, shared, lr)
    if compiled:
        torch._dynamo.reset()  # one bucket's programs per cache: no recompile limit across buckets
        step = torch.compile(step, dynamic=False)
    generators = [torch.Generator().manual_seed(s) for s in ([0] if shared else bucket.seeds)]
    n = xt.shape[0]
    state = {"params": stacked.params}

    def run_epoch(_):
        perm = torch.stack([torch.randperm(n, generator=g) for g in generators])  # [K or 1, N]
        for start in range(0, n, batch):
            idx = perm[0, start:start + batch] if shared else perm[:, start:start + batch]
            state["params"] = step(state["params"], stacked.masks, xt[idx], yt[idx])
        return state["params"]

    return timed_epochs(run_epoch, epochs, len(models), compiles=compiled)


def train(x, y, buckets: list[PaddedBucket], use_bias: bool, shared: bool, compiled: bool, epochs: int,
          batch: int, lr: float = 0.1) -> Timing:
    """:func:`train_bucket` of every bucket, summed; x [N, *input], y [N] int (numpy or JAX)."""
    xt, yt = torch_loop.tensors(x, y)
    return sum((train_bucket(xt, yt, b, use_bias, shared, compiled, epochs, batch, lr) for b in buckets), Timing())
