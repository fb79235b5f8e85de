"""Study A, MNIST "ResNet-6" = OpenLTH's ``cifar_resnet_8_W`` on 1-channel 28×28 input at
W ∈ {1, 2, 5, 8, 11, 15, 20, 40, 80, 120}: 120 epochs, batch 128, SGD lr 0.1 with momentum 0.9 (no
weight decay, constant rate, no augmentation), 20% label noise, IMP rewinding to initialisation.

MNIST is read from ``data.data_dir`` (IDX files) or ``data.tfds_data_dir``; never downloaded. ``quick``
runs on Fashion-MNIST (installed on these machines, MNIST is not) at widths 1 and 2, 2 seeds, 4 epochs.
"""
from lottery import configs


def get_config(preset: str = "default"):
    c = configs.study_a_conv("mnist_resnet6", "mnist", "resnet_8", (1, 2, 5, 8, 11, 15, 20, 40, 80, 120), preset,
                             epochs=120, levels=20, rewind="init", weight_decay=0.0, milestones=(), augment=False,
                             quick_widths=(1, 2))
    if preset == "quick":
        c.data.name = "fashion_mnist"
    return c
