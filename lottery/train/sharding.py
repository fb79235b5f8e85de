"""The model axis of a population sharded over the local devices.

With D > 1 devices a bucket's K members are padded to K' = D·⌈K/D⌉ with *inert* copies of its last member
(trained like any other, never reported: results index the first K), and every leaf of the population
state, the per-member inputs (label set, augmentation key, batch indices of an independent data order) and
the per-member evaluation labels are placed with ``NamedSharding(mesh, P("models"))`` on their model axis;
the data are replicated. ``jit`` then partitions each ``vmap``ped step by member: no collective is needed
(members never interact), and every member computes exactly what it computes on one device.

In a multi-process run (:mod:`lottery.core.distributed`) the mesh holds every process's devices: members are
padded to a multiple of the *global* device count, each process holds its devices' members, and arrays are
assembled from the host values every process computes alike (``make_array_from_callback``: a host array
cannot be ``device_put`` onto devices of other processes). Values read back go through
:func:`lottery.core.distributed.host`, which gathers them to every process.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

AXIS = "models"


def place(a, sharding: NamedSharding):
    """``a`` (a host array, or a jax array) placed with ``sharding``."""
    if sharding.is_fully_addressable:  # one process: as it always was
        return jax.device_put(a, sharding)
    if isinstance(a, jax.Array) and not a.is_fully_addressable:  # already spread over the processes
        if a.sharding.is_equivalent_to(sharding, a.ndim):
            return a
        return jax.jit(lambda x: x, out_shardings=sharding)(a)
    value = np.asarray(a)  # the same on every process (SPMD); each takes its devices' slices
    return jax.make_array_from_callback(value.shape, sharding, lambda index: value[index])


class Layout:
    """Where a bucket's arrays live: ``devices`` (the local ones, or every process's in a multi-process run;
    1: no sharding)."""

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
        return jax.tree.map(lambda a: place(a, NamedSharding(self.mesh, spec)), tree)

    def replicated(self, tree):
        """``tree`` copied to every device; unchanged unsharded."""
        if not self.sharded:
            return tree
        return jax.tree.map(lambda a: place(a, NamedSharding(self.mesh, P())), tree)


def pad_models(a, k: int):
    """a [K, ...] → [k, ...] with its last row repeated (k ≥ K); None stays None."""
    if a is None or a.shape[0] == k:
        return a
    return jnp.concatenate([a, jnp.repeat(a[-1:], k - a.shape[0], axis=0)])
