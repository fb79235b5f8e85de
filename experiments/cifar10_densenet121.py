"""Study A, CIFAR-10 DenseNet-121 (the CIFAR DenseNet-BC: blocks of 6, 12, 24, 16 bottleneck layers, growth
rate k = the width, 32 for the usual net) under 20% label noise with OpenLTH's CIFAR recipe (see
``configs.study_a_conv``): study A figure 4b. Widths (growth rates) (8, 16, 32).

A real run is an accelerator job. ``quick`` is a smoke run on SYNTHETIC CIFAR-format data.
"""
from lottery import configs


def get_config(preset: str = "default"):
    return configs.study_a_conv("cifar10_densenet121", "cifar10", "densenet121", (8, 16, 32), preset,
                                quick_widths=(2,))
