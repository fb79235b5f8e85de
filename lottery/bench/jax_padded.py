"""The plain-JAX baseline: a padded population as a JAX user writes it without the engine's packing.

Per bucket (:mod:`lottery.bench.padded`), the models' parameters stacked on a leading model axis K and padded
to the widest width, masks zeroing the padding; ``jit`` of a ``lax.scan`` over an epoch's steps of
``vmap(sgd_step)``; every model its own data order (batch indices [K, B], inputs gathered [K, B, D]).
Written with plain ``jnp`` layers and a numpy initialisation (no Flax, optax or engine step), so that the test
comparing one step with the engine's member step compares two independent computations.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from lottery.bench.padded import PaddedBucket, Timing, stack_padded, timed_epochs
from lottery.train import order


def loss(layers, masks, x, y, valid):
    """Mean cross-entropy of one dense net over the valid examples of a batch.

    layers: per layer {"kernel": [in, out], "bias": [out] (if any)}; masks: the same with 0/1 floats;
    x [B, D]; y [B] int; valid [B] bool (False pads a partial batch). ReLU between layers.
    """
    h = x
    for i, (layer, mask) in enumerate(zip(layers, masks)):
        h = h @ (layer["kernel"] * mask["kernel"])
        if "bias" in layer:
            h = h + layer["bias"] * mask["bias"]
        if i < len(layers) - 1:
            h = jax.nn.relu(h)
    ce = -jnp.take_along_axis(jax.nn.log_softmax(h), y[:, None], axis=1)[:, 0]
    w = valid.astype(ce.dtype)
    return jnp.sum(ce * w) / jnp.maximum(jnp.sum(w), 1.0)


def sgd_step(layers, masks, x, y, valid, lr):
    """One plain SGD step of one model (shapes as :func:`loss`) → its new layers. The padding's gradient is 0
    (the forward pass sees layer · mask), so padded weights stay 0."""
    grads = jax.grad(loss)(layers, masks, x, y, valid)
    return jax.tree.map(lambda p, g: p - lr * g, layers, grads)


@functools.partial(jax.jit, donate_argnums=0)
def train_epoch(layers, masks, x, y, idx, lr):
    """One epoch of a padded population: ``lax.scan`` over the steps of ``vmap(sgd_step)``.

    layers/masks: as :func:`loss` with leaves [K, *shape]; x [N, D]; y [N] int; idx [S, K, B] int32
    (−1 pads the last batch); lr scalar. Returns the layers after S steps (``layers`` is donated).
    """
    step = jax.vmap(sgd_step, in_axes=(0, 0, 0, 0, 0, None))

    def body(layers, idx_s):
        safe = jnp.maximum(idx_s, 0)
        return step(layers, masks, x[safe], y[safe], idx_s >= 0, lr), None

    return jax.lax.scan(body, layers, idx)[0]


def population(bucket: PaddedBucket, use_bias: bool, seed: int = 0) -> tuple[list, list]:
    """(layers, masks) of the bucket's models padded to its widest, as :func:`loss` takes them with leaves
    [K, *shape] (masks 0/1 float32): each model's true weights and biases ~ U(−1/√fan_in, 1/√fan_in) (PyTorch's
    ``nn.Linear`` default), zeros on the padding."""
    rng = np.random.default_rng(seed)
    layers, masks = [], []
    for i, shape in enumerate(zip(bucket.padded[:-1], bucket.padded[1:])):
        true = [(s[i], s[i + 1]) for s in bucket.sizes]
        leaves = {"kernel": [rng.uniform(-1, 1, t) / np.sqrt(t[0]) for t in true]}
        if use_bias:
            leaves["bias"] = [rng.uniform(-1, 1, t[1]) / np.sqrt(t[0]) for t in true]
        padded = {name: stack_padded(arrays, shape if name == "kernel" else shape[1:])
                  for name, arrays in leaves.items()}
        layers.append({name: jnp.asarray(p[0]) for name, p in padded.items()})
        masks.append({name: jnp.asarray(p[1]) for name, p in padded.items()})
    return layers, masks


def train(x, y, buckets: list[PaddedBucket], use_bias: bool, epochs: int, batch: int, lr: float = 0.1) -> Timing:
    """Trains every bucket for 1 + ``epochs`` epochs (the first compiles) and times the last ``epochs``.

    x [N, *input] and y [N] int (device arrays). Batch indices are drawn on the host each epoch (per model
    seed, as the engine draws them), inside the timed loop.
    """
    n = int(x.shape[0])
    xf, y = jnp.reshape(x, (n, -1)), jnp.asarray(y, jnp.int32)
    steps = order.steps_per_epoch(n, batch)
    total = Timing()
    for bucket in buckets:
        layers, masks = population(bucket, use_bias)
        state = {"layers": layers}

        def run_epoch(e, bucket=bucket, masks=masks, state=state):
            idx = jnp.asarray(order.step_batches(bucket.seeds, e * steps, steps, n, batch))
            state["layers"] = train_epoch(state["layers"], masks, xf, y, idx, np.float32(lr))
            return state["layers"]

        total += timed_epochs(run_epoch, epochs, len(bucket.members), jax.block_until_ready)
    return total
