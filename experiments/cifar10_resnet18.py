"""Study A, CIFAR-10 "ResNet-18" = OpenLTH's ``cifar_resnet_20_W`` (3 stages of 3 basic blocks, widths W,
2W, 4W) at W ∈ {2, 5, 8, 11, 15, 20, 40, 60, 80, 100, 120, 150}: 160 epochs, batch 128, SGD momentum 0.9,
lr 0.1, weight decay 1e-4, ×0.1 at epochs 80 and 120, crop-and-flip augmentation, 20% label noise,
10-epoch rewinding, 20 IMP levels of 20%.

A real run is an accelerator job (see docs/studies.md for its cost). CIFAR-10 is read from ``data.data_dir``
(the extracted ``cifar-10-batches-bin`` or ``cifar-10-batches-py`` folder, or its parent) or a prepared
``data.tfds_data_dir``; never downloaded. ``quick`` is a smoke run on SYNTHETIC CIFAR-format data.
"""
from lottery import configs


def get_config(preset: str = "default"):
    return configs.study_a_conv("cifar10_resnet18", "cifar10", "resnet_20", (2, 5, 8, 11, 15, 20, 40, 60, 80, 100, 120, 150),
                                preset)
