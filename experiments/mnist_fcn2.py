"""Study A, MNIST 2-layer FCN 784 → P → 10 (OpenLTH mnist_lenet_P), 120 epochs.

MNIST is read from ``data.data_dir`` (IDX files) or ``data.tfds_data_dir``; never downloaded.
"""
from lottery import configs


def get_config(preset: str = "default"):
    return configs.study_a_images("mnist_fcn2", "mnist", "mnist_fcn2", (5, 10, 50, 100, 300, 500, 1000, 2000, 5000, 10000),
                                  epochs=120, levels=25, preset=preset)
