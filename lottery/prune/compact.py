"""Dead-unit compaction of fully connected nets: the live sub-network of a pruned model, and back.

A hidden unit j of layer l (the output of ``dense_l``) is *dead* when

* all its outgoing weights are pruned (row j of ``dense_{l+1}``'s kernel mask): nothing reads
  its output, so its incoming weights and bias receive a zero gradient; or
* all its incoming weights are pruned and it has no bias, or a bias ≤ 0 (or masked): its
  pre-activation is that constant, ReLU outputs 0 with derivative 0, so its bias and its
  outgoing weights receive a zero gradient.

Every parameter touching a dead unit therefore has a zero gradient during training. With an
optimizer that leaves a zero-gradient weight unchanged (SGD with or without momentum, Adam,
from a fresh state — anything without weight decay) those parameters never move, and training
the *live* sub-network, then writing its parameters back, gives the full model's result up to
float summation order. Padding units of a bucket are dead too, so compaction also removes
padding.

All functions act on one model's pytrees ({dense_i: {kernel [in, out], bias [out]?}});
``jax.vmap`` them over a population.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp


def _layers(tree) -> list[str]:
    return sorted(tree, key=lambda n: int(n.rsplit("_", 1)[1]))


def live_units(params, masks) -> list[jax.Array]:
    """Per hidden layer, live[units] bool (see the module docstring for what is dead)."""
    names = _layers(masks)
    out = []
    for l in range(len(names) - 1):
        kin, kout = masks[names[l]]["kernel"], masks[names[l + 1]]["kernel"]
        has_out = jnp.any(kout, axis=1)
        has_in = jnp.any(kin, axis=0)
        if "bias" in params[names[l]]:
            constant_on = masks[names[l]]["bias"] & (params[names[l]]["bias"] > 0)
        else:
            constant_on = jnp.zeros_like(has_in)
        out.append(has_out & (has_in | constant_on))
    return out


def live_indices(live: jax.Array, width: int) -> jax.Array:
    """The indices [width] int32 of the live units in ascending order, then ``len(live)`` (out of range)."""
    n = live.shape[0]
    order = jnp.argsort(~live, stable=True).astype(jnp.int32)  # live units first, in order
    pos = jnp.arange(width)
    taken = jnp.where(pos < n, order[jnp.minimum(pos, n - 1)], n)
    return jnp.where(pos < jnp.sum(live), taken, n)


def _take(a, idx, axis):
    return jnp.take(a, idx, axis=axis, mode="fill", fill_value=0)


def compact(params, masks, indices):
    """The live sub-network: params and masks with hidden layer l reduced to ``indices[l]``.

    indices: per hidden layer [width_l] int32 from :func:`live_indices` (out-of-range slots are
    padding: their parameters are 0 and their masks False). Input and output sizes are kept.
    """
    names = _layers(params)
    cp, cm = {}, {}
    for l, name in enumerate(names):
        rows = indices[l - 1] if l > 0 else None
        cols = indices[l] if l < len(names) - 1 else None
        cp[name], cm[name] = {}, {}
        for key in params[name]:
            p, m = params[name][key], masks[name][key]
            if key == "kernel" and rows is not None:
                p, m = _take(p, rows, 0), _take(m, rows, 0)
            if cols is not None:
                p, m = _take(p, cols, p.ndim - 1), _take(m, cols, m.ndim - 1)
            cp[name][key], cm[name][key] = p, m
    return cp, cm


def expand(full, compacted, indices):
    """``full`` params with the entries of the live sub-network replaced by ``compacted``'s."""
    names = _layers(full)
    out = {}
    for l, name in enumerate(names):
        rows = indices[l - 1] if l > 0 else None
        cols = indices[l] if l < len(names) - 1 else None
        out[name] = {}
        for key, f in full[name].items():
            f, c = jnp.asarray(f), compacted[name][key]
            if key == "kernel":
                r = rows if rows is not None else jnp.arange(f.shape[0])
                k = cols if cols is not None else jnp.arange(f.shape[1])
                out[name][key] = f.at[r[:, None], k[None, :]].set(c, mode="drop")
            else:
                k = cols if cols is not None else jnp.arange(f.shape[0])
                out[name][key] = f.at[k].set(c, mode="drop")
    return out
