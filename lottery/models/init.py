"""Initialisation of padded, masked parameters from the *true* fan-in.

Every entry is a function of (key, layer, coordinates) only, through a hash of its
coordinates: a model padded into a wider bucket gets exactly the weights it would get
alone, and the padding stays 0. Fan-in per output unit is read off the padding mask, so
it is the true fan-in, not the padded one.

Schemes (PyTorch conventions, gain √2 for ReLU):
* ``kaiming_uniform``: w ~ U(−b, b), b = √(6 / fan_in);
* ``kaiming_normal``:  w ~ N(0, 2 / fan_in);
biases ~ U(−1/√fan_in, 1/√fan_in) (the PyTorch ``nn.Linear`` / ``nn.Conv2d`` default, kept by OpenLTH);
batch-norm layers (``scale``, ``bias``): scale ~ U[0, 1), bias 0 (OpenLTH's ``batchnorm_init='uniform'``).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

SCHEMES = ("kaiming_uniform", "kaiming_normal")


def coordinate_sample(key: jax.Array, shape: tuple[int, ...], distribution: str) -> jax.Array:
    """A [*shape] float32 array whose entry at coordinate c depends only on (key, c).

    distribution: ``uniform`` on [−1, 1) or ``normal`` N(0, 1).
    """
    n = 1
    for s in shape:
        n *= s
    flat = jnp.arange(n, dtype=jnp.int32)
    coords = jnp.unravel_index(flat, shape) if shape else ()

    def one(*c):
        k = key
        for ci in c:
            k = jax.random.fold_in(k, ci)
        if distribution == "uniform":
            return jax.random.uniform(k, minval=-1.0, maxval=1.0)
        return jax.random.normal(k)

    return jax.vmap(one)(*coords).reshape(shape)


def init_params(key: jax.Array, shapes, masks, scheme: str):
    """Initialises one model.

    shapes: the flat params pytree of ``jax.ShapeDtypeStruct`` (layer → {kernel [..., in, out], bias [out]}
            or, for batch-norm, {scale [C], bias [C]}; see :mod:`lottery.models.layers`).
    masks:  the matching padding masks (bool); fan-in of output unit j is
            Σ mask[..., j] over all but the last axis of the kernel.
    Returns the params pytree (float32), zero wherever the mask is 0.
    """
    params = {}
    for li, (name, layer) in enumerate(sorted(shapes.items())):
        lkey = jax.random.fold_in(key, li)
        if "kernel" not in layer:  # batch-norm
            scale = (coordinate_sample(jax.random.fold_in(lkey, 0), layer["scale"].shape, "uniform") + 1.0) / 2.0
            params[name] = {"scale": scale * masks[name]["scale"], "bias": jnp.zeros(layer["bias"].shape, jnp.float32)}
            continue
        kmask = masks[name]["kernel"]
        fan_in = jnp.maximum(jnp.sum(kmask, axis=tuple(range(kmask.ndim - 1))), 1).astype(jnp.float32)
        kshape = layer["kernel"].shape
        if scheme == "kaiming_uniform":
            kernel = coordinate_sample(jax.random.fold_in(lkey, 0), kshape, "uniform") * jnp.sqrt(6.0 / fan_in)
        elif scheme == "kaiming_normal":
            kernel = coordinate_sample(jax.random.fold_in(lkey, 0), kshape, "normal") * jnp.sqrt(2.0 / fan_in)
        else:
            raise ValueError(f"unknown init scheme {scheme!r}; allowed: {SCHEMES}")
        out = {"kernel": kernel * kmask}
        if "bias" in layer:
            bias = coordinate_sample(jax.random.fold_in(lkey, 1), layer["bias"].shape, "uniform") / jnp.sqrt(fan_in)
            out["bias"] = bias * masks[name]["bias"]
        params[name] = out
    return params
