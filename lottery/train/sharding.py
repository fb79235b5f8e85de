"""The model axis of a population sharded over the local devices.

With D > 1 devices a bucket's K members are padded to K' = D·⌈K/D⌉ with *inert* copies of its last member
(trained like any other, never reported: results index the first K), and every leaf of the population
state, the per-member inputs (label set, augmentation key, batch indices of an independent data order) and
the per-member evaluation labels are placed with ``NamedSharding(mesh, P("models"))`` on their model axis;
the data are replicated. ``jit`` then partitions each ``vmap``ped step by member: no collective is needed
(members never interact), and every member computes exactly what it computes on one device.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

AXIS = "models"


class Layout:
    """Where a bucket's arrays live: ``devices`` local devices (1: no sharding)."""

    def __init__(self, devices: list):
        self.devices = list(devices)
        self.mesh = Mesh(np.asarray(self.devices), (AXIS,)) if len(self.devices) > 1 else None

    @property
    def sharded(self) -> bool:
        return self.mesh is not None

    def padded(self, members: list) -> list:
        """``members`` followed by inert copies of the last one, to a multiple of the device count."""
        return list(members) + [members[-1]] * (-len(members) % len(self.devices))

    def by_model(self, tree, axis: int = 0):
        """``tree``'s leaves split over the devices along ``axis`` (the model axis); unchanged unsharded."""
        if not self.sharded:
            return tree
        spec = P(*([None] * axis), AXIS)
        return jax.tree.map(lambda a: jax.device_put(a, NamedSharding(self.mesh, spec)), tree)

    def replicated(self, tree):
        """``tree`` copied to every device; unchanged unsharded."""
        if not self.sharded:
            return tree
        return jax.tree.map(lambda a: jax.device_put(a, NamedSharding(self.mesh, P())), tree)


def pad_models(a, k: int):
    """a [K, ...] → [k, ...] with its last row repeated (k ≥ K); None stays None."""
    if a is None or a.shape[0] == k:
        return a
    return jnp.concatenate([a, jnp.repeat(a[-1:], k - a.shape[0], axis=0)])
