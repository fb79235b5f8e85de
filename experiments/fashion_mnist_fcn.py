"""Study A, Fashion-MNIST 3-layer FCN 784 → P → 100 → 10 at P ∈ {500, 1000}, 320 epochs, 30 levels.

Fashion-MNIST is found in /usr/share/datasets/fashion-mnist (Debian package
dataset-fashion-mnist) or ``data.data_dir``.
"""
from lottery import configs


def get_config(preset: str = "default"):
    return configs.study_a_images("fashion_mnist_fcn", "fashion_mnist", "mnist_fcn3", (500, 1000),
                                  epochs=320, levels=30, preset=preset)
