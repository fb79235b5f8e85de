"""Study B's pruning-method comparison on MNIST (SPEC §7): random, magnitude, SNIP, Taylor (first and
second order), biprop and edge-popup at prune ratios 0–90%, each as pruned and after retraining.

Model: LeNet-300-100 (784 → 300 → 100 → 10). Study B uses LeNet-5, which is not in the model
registry yet (no convolutional nets): swap it in with ``--config.model.name`` once it exists.
MNIST is read from ``data.data_dir`` (IDX files) or ``data.tfds_data_dir``; any other dataset
can be named with ``--config.data.name`` (e.g. ``fashion_mnist``).

``quick`` runs on Fashion-MNIST (installed on these machines, MNIST is not) with a 784 → 100 → 10
FCN, one seed and one epoch of retraining: a few minutes on 2 CPU cores.
"""
from lottery import configs


def get_config(preset: str = "default"):
    return configs.study_b_prune_methods("prune_methods_mnist", "mnist", "lenet_300_100", 300, preset)
