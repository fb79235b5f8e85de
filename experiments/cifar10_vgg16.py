"""Study A, CIFAR-10 VGG-16 (the CIFAR variant with batch-norm; W = 64 is the usual net, stages W, 2W, 4W,
8W, 8W) under 20% label noise with OpenLTH's CIFAR recipe (see ``configs.study_a_conv``): study A figure 4b
compares its sparse double descent with ResNet-18 and DenseNet-121. Widths (16, 32, 64).

A real run is an accelerator job. ``quick`` is a smoke run on SYNTHETIC CIFAR-format data.
"""
from lottery import configs


def get_config(preset: str = "default"):
    return configs.study_a_conv("cifar10_vgg16", "cifar10", "vgg16", (16, 32, 64), preset)
