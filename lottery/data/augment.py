"""On-device image augmentation for a jitted training step: random crop with padding, horizontal flip.

Pure functions of a key and a batch; one model's batch is augmented from that model's own key, so a
population augments with ``jax.vmap(augment)(keys [K], images [K, B, H, W, C])`` (or
``in_axes=(0, None)`` when the models share a batch: each still gets its own crops and flips).

Padding is ``fill`` around the (already normalised) images: 0 pads with the dataset mean colour;
``fill=cifar.BLACK`` pads with black, as torchvision's ``RandomCrop(32, padding=4)`` does when it runs
before ``Normalize`` (OpenLTH's order).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp


def draw(key: jax.Array, batch: int, pad: int = 4) -> tuple[jax.Array, jax.Array]:
    """The random choices of :func:`augment`: crop offsets [B, 2] int32 in 0…2·pad (row, column into the
    padded image) and flips [B] bool (True: mirror left–right), each with probability 1/2."""
    kcrop, kflip = jax.random.split(key)
    offsets = jax.random.randint(kcrop, (batch, 2), 0, 2 * pad + 1, jnp.int32)
    flips = jax.random.bernoulli(kflip, 0.5, (batch,))
    return offsets, flips


def apply(images: jax.Array, offsets: jax.Array, flips: jax.Array, pad: int = 4, fill=0.0) -> jax.Array:
    """images [B, H, W, C] → [B, H, W, C]: each image padded by ``pad`` pixels of ``fill`` (a scalar or
    per channel [C]), cropped back to H × W at ``offsets`` [B, 2], then mirrored where ``flips`` [B]."""
    b, h, w, c = images.shape
    fill = jnp.broadcast_to(jnp.asarray(fill, images.dtype), (c,))
    padded = jnp.broadcast_to(fill, (b, h + 2 * pad, w + 2 * pad, c))
    padded = jax.lax.dynamic_update_slice(padded, images, (0, pad, pad, 0))

    def crop(image, offset):
        return jax.lax.dynamic_slice(image, (offset[0], offset[1], 0), (h, w, c))

    cropped = jax.vmap(crop)(padded, offsets)
    return jnp.where(flips[:, None, None, None], cropped[:, :, ::-1, :], cropped)


def augment(key: jax.Array, images: jax.Array, pad: int = 4, fill=0.0) -> jax.Array:
    """Random crop (``pad``-pixel padding of ``fill``) and random horizontal flip of every image of
    images [B, H, W, C] → [B, H, W, C], drawn from ``key``; deterministic per key, jit- and vmap-safe."""
    offsets, flips = draw(key, images.shape[0], pad)
    return apply(images, offsets, flips, pad, fill)
