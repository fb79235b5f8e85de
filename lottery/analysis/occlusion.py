"""Geometric attribution by occlusion (docs/science.md §8; study B, section 6.4): slide a patch over one image,
replace it by a fill value, recompute the sample's angle to its own class, feature length, margin and
probability, and map the change per pixel.

All window positions go through one forward pass per model (a batch of occluded images, the clean
image first), vmapped over the population's model axis.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from lottery.analysis import geometry

MAPS = ("angle_own", "length", "margin", "prob_own")


def window_starts(size: int, patch: int, stride: int) -> list[int]:
    """Top-left coordinates along one axis: 0, stride, 2·stride, … while the window fits, plus the
    position flush with the far border if the stride grid misses it."""
    starts = list(range(0, size - patch + 1, stride))
    if starts[-1] != size - patch:
        starts.append(size - patch)
    return starts


def window_masks(height: int, width: int, patch: int, stride: int) -> np.ndarray:
    """bool [P, H, W]: the pixels of every window position (rows major)."""
    if stride < 1:
        raise ValueError(f"occlusion: stride must be ≥ 1, got {stride}")
    if patch < 1 or patch > min(height, width):
        raise ValueError(f"occlusion: patch must be between 1 and the image size {height}×{width}, got {patch}")
    out = []
    for r in window_starts(height, patch, stride):
        for c in window_starts(width, patch, stride):
            m = np.zeros((height, width), bool)
            m[r:r + patch, c:c + patch] = True
            out.append(m)
    return np.stack(out)


@functools.partial(jax.jit, static_argnames=("module", "head_name"))
def _changes(module, head_name, params, stats, batch, labels):
    """[K, 4, P]: change of each measure (MAPS order) from the clean image batch[0] to every occluded
    image batch[1:], per model. Compiled once per (module, head, shapes): Flax modules hash by value."""

    def one(p, s):
        feats, _ = geometry.features(module, p, s, batch)
        w, b = geometry.head(p, head_name)
        m = geometry.measures(feats, w, b, labels)
        return jnp.stack([m[k][1:] - m[k][0] for k in MAPS])

    return jax.vmap(one)(params, stats)


def occlusion_maps(module, params, stats, head_name: str, x, label: int, patch: int, stride: int, fill) -> dict:
    """Per-pixel change maps {angle_own, length, margin, prob_own: [K, H, W]} of one image x [H, W, C]
    with true class ``label`` for a population (params, stats: flat variables with a leading model
    axis K; stats {} without batch-norm; ``head_name`` from :func:`geometry.head_name`).

    Every window (``patch`` × ``patch``, top-left corners on a ``stride`` grid, the last window flush
    with the border) is replaced by ``fill`` — a scalar, a per-channel [C] value or an image [H, W, C]
    whose window region is used — and each measure's change (occluded − clean) is averaged over the
    windows covering each pixel; a pixel no window covers (stride > patch) is 0. Margins are signed
    (geometry.measures), so a window that flips the prediction shows up as a large drop.
    ValueError (one line) for patch < 1 or larger than the image, stride < 1, a bad label or fill.
    """
    x = jnp.asarray(x)
    if x.ndim != 3:
        raise ValueError(f"occlusion: x must be one image [H, W, C], got shape {list(x.shape)}")
    H, W, C = x.shape
    masks = window_masks(H, W, patch, stride)  # [P, H, W]
    try:
        fill_img = jnp.broadcast_to(jnp.asarray(fill, x.dtype), x.shape)
    except ValueError:
        raise ValueError(f"occlusion: fill must be a scalar, [C] or [H, W, C] for an image {[H, W, C]}, got "
                         f"shape {list(np.shape(fill))}") from None
    num_classes = params[head_name]["kernel"].shape[-1]  # kernel [K, d, C]
    if not 0 <= int(label) < num_classes:
        raise ValueError(f"occlusion: label must be in [0, {num_classes}), got {label}")

    occluded = jnp.where(jnp.asarray(masks)[..., None], fill_img[None], x[None])  # [P, H, W, C]
    batch = jnp.concatenate([x[None], occluded])  # clean image first
    labels = jnp.full((batch.shape[0],), int(label), jnp.int32)
    delta = _changes(module, head_name, params, stats, batch, labels)  # [K, 4, P]
    m = jnp.asarray(masks, delta.dtype)
    cover = m.sum(0)  # [H, W]
    summed = jnp.einsum("kqp,phw->kqhw", delta, m)
    maps = jnp.where(cover > 0, summed / jnp.where(cover > 0, cover, 1.0), 0.0)
    return {k: maps[:, i] for i, k in enumerate(MAPS)}
