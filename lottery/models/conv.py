"""Convolutional families by name: ``resnet_D`` (OpenLTH's CIFAR ResNets, D = 6n + 2), ``resnet18``,
``vgg11/13/16/19`` and ``lenet5``; the swept width is each family's base number of filters.

A :class:`ConvSpec` turns a width into a Flax module and counts its prunable weights from the
parameter shapes (every ``kernel``: convolutions, shortcuts and linear layers, output layer
included; no biases or batch-norm — OpenLTH's count). The population trainer does not run these
yet: it needs the batch-norm statistics carried in the population state.
"""
from __future__ import annotations

import dataclasses
import functools
import re

import flax
import jax
import jax.numpy as jnp
import numpy as np

from lottery.models import lenet5, resnet, vgg

FAMILIES = ("resnet_D (D = 6n + 2)", "resnet18", "vgg11", "vgg13", "vgg16", "vgg19", "lenet5")


@dataclasses.dataclass(frozen=True)
class ConvSpec:
    name: str
    build: object  # (width, num_classes) → Flax module with __call__(x, train)
    batch_norm: bool = True
    has_width: bool = True

    def module(self, width: int, num_classes: int):
        return self.build(int(width), int(num_classes))

    def variable_shapes(self, width: int, input_shape: tuple, num_classes: int) -> dict:
        """{collection: pytree of ShapeDtypeStruct} for inputs [1, *input_shape] (NHWC)."""
        x = jax.ShapeDtypeStruct((1, *input_shape), jnp.float32)
        return jax.eval_shape(functools.partial(self.module(width, num_classes).init, train=False),
                              jax.random.PRNGKey(0), x)

    def kernel_shapes(self, width: int, input_shape: tuple, num_classes: int) -> dict[str, tuple]:
        """{layer path: kernel shape} of every prunable weight, in path order."""
        flat = flax.traverse_util.flatten_dict(self.variable_shapes(width, input_shape, num_classes)["params"], sep="/")
        return {k.rsplit("/", 1)[0]: tuple(v.shape) for k, v in sorted(flat.items()) if k.endswith("/kernel")}

    def weight_count(self, width: int, input_shape: tuple, num_classes: int) -> int:
        """Prunable weights (OpenLTH's parameter count)."""
        return int(sum(np.prod(s) for s in self.kernel_shapes(width, input_shape, num_classes).values()))

    def width_of(self, width: int) -> int:
        return int(width)


STATIC = {
    "resnet18": ConvSpec("resnet18", resnet.resnet18),
    **{f"vgg{d}": ConvSpec(f"vgg{d}", functools.partial(vgg.vgg, d)) for d in vgg.DEPTHS},
    "lenet5": ConvSpec("lenet5", lambda w, c: lenet5.LeNet5(w, c), batch_norm=False),
}


def get(name: str) -> ConvSpec:
    """The spec of ``name``; ValueError naming the allowed families otherwise."""
    if name in STATIC:
        return STATIC[name]
    m = re.fullmatch(r"resnet_(\d+)", name)
    if m:
        depth = int(m.group(1))
        resnet.cifar_resnet(depth, 1, 2)  # validates the depth
        return ConvSpec(name, functools.partial(resnet.cifar_resnet, depth))
    raise ValueError(f"unknown convolutional model {name!r}; allowed: {', '.join(FAMILIES)}")
