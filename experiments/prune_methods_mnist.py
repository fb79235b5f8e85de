"""Study B's pruning-method comparison on MNIST (docs/science.md §7): random, magnitude, SNIP, Taylor (first and
second order), biprop and edge-popup at prune ratios 0–90%, each as pruned and after retraining, against the dense
reference fine-tuned the same way (every model: 60 epochs of training — SNIP's after pruning, biprop's / edge-popup's
of scores — then 10 of fine-tuning).

Model: LeNet-300-100 (784 → 300 → 100 → 10). Study B's LeNet-5: ``--config.model.name=lenet5
--config.model.widths=(1,)`` (the convolutional nets are in the registry; CIFAR-10 is
``prune_methods_cifar10.py``).
MNIST is read from ``data.data_dir`` (IDX files) or ``data.tfds_data_dir``; any other dataset
can be named with ``--config.data.name`` (e.g. ``fashion_mnist``).

``quick`` runs on Fashion-MNIST (installed on these machines, MNIST is not) with a 784 → 100 → 10
FCN, one seed, 4 epochs of training (lr ×0.1 after epoch 3; biprop and edge-popup train their scores as long) and
one of fine-tuning.
"""
from lottery import configs


def get_config(preset: str = "default"):
    return configs.study_b_prune_methods("prune_methods_mnist", "mnist", "lenet_300_100", 300, preset)
