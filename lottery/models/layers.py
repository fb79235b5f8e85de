"""Flat layer view of Flax variables: ``{"a/b/conv": {"kernel": …}}`` ↔ ``{"a": {"b": {"conv": {"kernel": …}}}}``.

The population works on *flat* trees — one entry per layer, keyed by its '/'-joined module path, each
holding that layer's leaves (``kernel``, ``bias``, ``scale``, ``mean``, ``var``) — so masks, pruning,
initialisation and checkpoints see every net, fully connected or convolutional, the same way. A
fully connected net's tree (``{"dense_0": {"kernel", "bias"}}``) is already flat: both maps are the
identity on it.
"""
from __future__ import annotations

import flax


def flat(tree) -> dict:
    """Nested Flax variables → {layer path: {leaf name: leaf}}."""
    out: dict = {}
    for path, leaf in flax.traverse_util.flatten_dict(dict(tree)).items():
        out.setdefault("/".join(path[:-1]), {})[path[-1]] = leaf
    return out


def nested(layers) -> dict:
    """{layer path: {leaf name: leaf}} → nested Flax variables (the inverse of :func:`flat`)."""
    return flax.traverse_util.unflatten_dict(
        {(*name.split("/"), leaf): value for name, layer in layers.items() for leaf, value in layer.items()})
