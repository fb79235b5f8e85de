"""Convolutional families by name: ``resnet_D`` (OpenLTH's CIFAR ResNets, D = 6n + 2), ``resnet18``,
``vgg11/13/16/19``, ``densenet121`` and ``lenet5``; the swept width is each family's base number of
filters (DenseNet's growth rate).

A :class:`ConvSpec` turns a width into a Flax module and counts its prunable weights from the
parameter shapes (every ``kernel``: convolutions, shortcuts and linear layers, output layer
included; no biases or batch-norm — OpenLTH's count). Each width is its own bucket (no padding):
a convolutional model's masks start all True. Weights are Kaiming-normal from the fan-in
(kh·kw·C_in), biases PyTorch's U(±1/√fan_in), batch-norm scales U[0, 1) and shifts 0 (OpenLTH's
``batchnorm_init='uniform'``), see :mod:`lottery.models.init`.
"""
from __future__ import annotations

import dataclasses
import functools
import re

import flax
import jax
import jax.numpy as jnp
import numpy as np

from lottery.models import densenet, lenet5, resnet, vgg

FAMILIES = ("resnet_D (D = 6n + 2)", "resnet18", "vgg11", "vgg13", "vgg16", "vgg19", "densenet121", "lenet5")


@dataclasses.dataclass(frozen=True)
class ConvSpec:
    name: str
    build: object  # (width, num_classes) → Flax module with __call__(x, train, mask)
    batch_norm: bool = True
    has_width: bool = True
    init: str = "kaiming_normal"
    min_size: int = 1  # smallest image height/width the net takes (its pools must leave ≥ 1 pixel)
    fully_connected = False  # no packing or compaction; one width per bucket
    hidden = ()

    def module(self, width: int, num_classes: int):
        return self.build(int(width), int(num_classes))

    def variable_shapes(self, width: int, input_shape: tuple, num_classes: int) -> dict:
        """{collection: pytree of ShapeDtypeStruct} for inputs [1, *input_shape] (NHWC)."""
        x = jax.ShapeDtypeStruct((1, *input_shape), jnp.float32)
        return jax.eval_shape(functools.partial(self.module(width, num_classes).init, train=False),
                              jax.random.PRNGKey(0), x)

    @functools.lru_cache(maxsize=None)  # tracing a DenseNet takes ~0.5 s; results rows ask once per member
    def kernel_shapes(self, width: int, input_shape: tuple, num_classes: int) -> dict[str, tuple]:
        """{layer path: kernel shape} of every prunable weight, in path order."""
        flat = flax.traverse_util.flatten_dict(self.variable_shapes(width, input_shape, num_classes)["params"], sep="/")
        return {k.rsplit("/", 1)[0]: tuple(v.shape) for k, v in sorted(flat.items()) if k.endswith("/kernel")}

    def padding_masks(self, shapes, width: int, padded_width: int, input_size: int, num_classes: int) -> dict:
        """All-True masks like ``shapes`` (flat layers): convolutional buckets hold one width."""
        if width != padded_width:
            raise ValueError(f"{self.name}: convolutional buckets hold one width, got {width} in {padded_width}")
        return jax.tree.map(lambda s: np.ones(s.shape, bool), shapes)

    def check_input(self, input_shape: tuple) -> None:
        """ValueError (saying what is allowed) unless examples of ``input_shape`` are images this net takes."""
        if len(input_shape) != 3:
            raise ValueError(f"{self.name} takes images [H, W, C]; the data gives examples of shape {list(input_shape)}")
        if min(input_shape[:2]) < self.min_size:
            raise ValueError(f"{self.name} needs images of at least {self.min_size}×{self.min_size} pixels; the data has "
                             f"{input_shape[0]}×{input_shape[1]}")

    def prunable_layers(self, width: int, input_shape: tuple, num_classes: int) -> list[str]:
        """Names of the layers with prunable weights, after :meth:`check_input`."""
        self.check_input(tuple(input_shape))
        return list(self.kernel_shapes(int(width), tuple(input_shape), int(num_classes)))

    def weight_count(self, width: int, input_shape: tuple, num_classes: int) -> int:
        """Prunable weights (OpenLTH's parameter count)."""
        return int(sum(np.prod(s) for s in self.kernel_shapes(int(width), tuple(input_shape), int(num_classes)).values()))

    def width_of(self, width: int) -> int:
        return int(width)


STATIC = {
    "resnet18": ConvSpec("resnet18", resnet.resnet18),
    **{f"vgg{d}": ConvSpec(f"vgg{d}", functools.partial(vgg.vgg, d), min_size=32) for d in vgg.DEPTHS},
    "densenet121": ConvSpec("densenet121", densenet.densenet121, min_size=8),  # three 2×2 pools
    "lenet5": ConvSpec("lenet5", lambda w, c: lenet5.LeNet5(w, c), batch_norm=False, min_size=12),
}


def is_family(name: str) -> bool:
    """Whether ``name`` names a convolutional family (``resnet_D`` for any D: :func:`get` checks D)."""
    return name in STATIC or re.fullmatch(r"resnet_\d+", name) is not None


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
