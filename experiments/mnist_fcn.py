"""Study A, MNIST 3-layer FCN 784 → P → 100 → 10 (OpenLTH mnist_lenet_P_100), 120 epochs.

MNIST is read from ``data.data_dir`` (IDX files) or ``data.tfds_data_dir``; never downloaded.
25 levels leave the narrowest model (P = 3, 3,652 weights) a few weights.
"""
from lottery import configs


def get_config(preset: str = "default"):
    return configs.study_a_images("mnist_fcn", "mnist", "mnist_fcn3", (3, 5, 10, 25, 50, 100, 300, 500, 1000, 5000, 10000),
                                  epochs=120, levels=25, preset=preset)
