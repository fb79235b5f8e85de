"""Models by name. A spec turns a width into a Flax module, its padding masks and its weight count.

Fully connected nets (:class:`ModelSpec`): hidden sizes are a template, the string ``"W"`` standing
for the width being swept. Convolutional families (:class:`lottery.models.conv.ConvSpec`: ``resnet_D``,
``resnet18``, ``vggD``, ``densenet121``, ``lenet5``) share the interface: ``module``, ``padding_masks``,
``weight_count``, ``width_of``, ``init``, ``fully_connected``.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from lottery.models import conv
from lottery.models import masks as model_masks
from lottery.models.fcn import FCN


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """name: registry name. hidden: hidden layer sizes, ints or "W".
    use_bias: whether layers have biases. init: an init scheme of :mod:`lottery.models.init`."""

    name: str
    hidden: tuple
    use_bias: bool
    init: str
    fully_connected = True  # packed training and dead-unit compaction apply; widths share padded buckets

    @property
    def has_width(self) -> bool:
        return "W" in self.hidden

    def layer_sizes(self, width: int, input_size: int, num_classes: int) -> tuple[int, ...]:
        """(input, hidden…, classes) for this width."""
        return (input_size, *(width if h == "W" else int(h) for h in self.hidden), num_classes)

    def module(self, width: int, num_classes: int) -> FCN:
        """The Flax module at this width (the input size is read from the data)."""
        sizes = self.layer_sizes(width, 0, num_classes)
        return FCN(features=sizes[1:], use_bias=self.use_bias)

    def weight_count(self, width: int, input_shape, num_classes: int) -> int:
        """Prunable weights (kernels only, output layer included; OpenLTH's parameter count);
        input_shape: the shape of one example (or its size)."""
        sizes = self.layer_sizes(width, int(np.prod(input_shape)), num_classes)
        return sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))

    def padding_masks(self, shapes, width: int, padded_width: int, input_size: int, num_classes: int) -> dict:
        """Bool masks of a width-``width`` model inside the ``padded_width`` module (see masks.padding_masks)."""
        return model_masks.padding_masks(shapes, self.layer_sizes(width, input_size, num_classes),
                                         self.layer_sizes(padded_width, input_size, num_classes))

    def width_of(self, width: int) -> int:
        """The width recorded in results: the swept width, or the first hidden size."""
        return width if self.has_width else int(self.hidden[0])


MODELS = {
    # docs/science.md §2: the GMM network D → P → 2, no biases, Kaiming-uniform.
    "gmm_fcn": ModelSpec("gmm_fcn", ("W",), use_bias=False, init="kaiming_uniform"),
    # OpenLTH mnist_lenet_P and mnist_lenet_P_100 (biases, Kaiming-normal weights).
    "mnist_fcn2": ModelSpec("mnist_fcn2", ("W",), use_bias=True, init="kaiming_normal"),
    "mnist_fcn3": ModelSpec("mnist_fcn3", ("W", 100), use_bias=True, init="kaiming_normal"),
    "lenet_300_100": ModelSpec("lenet_300_100", (300, 100), use_bias=True, init="kaiming_normal"),
}


def get(name: str, hidden=None, use_bias=None, init=None):
    """The spec of ``name``: a fully connected net of :data:`MODELS`, ``fcn`` (the generic net built
    from ``hidden``/``use_bias``/``init``) or a convolutional family (ValueError if unknown)."""
    if name == "fcn":
        return ModelSpec("fcn", tuple(hidden or ("W",)), bool(True if use_bias is None else use_bias),
                         init or "kaiming_normal")
    if name in MODELS:
        return MODELS[name]
    if conv.is_family(name):
        return conv.get(name)  # ValueError for a depth the family cannot build
    raise ValueError(f"unknown model {name!r}; allowed: {', '.join(NAMES)}")


NAMES = tuple(MODELS) + ("fcn",) + conv.FAMILIES  # for messages


def record(spec) -> dict:
    """What a model really is, for the run's record: hidden sizes, biases and init of a fully connected net (a
    named one ignores ``model.hidden`` / ``use_bias`` / ``init``); init and batch-norm of a convolutional one."""
    if spec.fully_connected:
        return {"hidden": list(spec.hidden), "use_bias": bool(spec.use_bias), "init": spec.init}
    return {"init": spec.init, "batch_norm": bool(spec.batch_norm)}
