"""Study B's robustness lottery on MNIST (docs/science.md §8): LeNet-5 and LeNet-300-100, pruned by random, magnitude,
SNIP, Taylor-1, biprop and edge-popup at ratios 0–90% and fine-tuned, then analysed on the clean test set
and on every corruption × severity (the 19 CIFAR-10-C types at the 28×28 table and MNIST-C's 9) through
the geometry of the last feature layer: robustness (eq. 6), pruning vulnerability (eq. 7), PIE flags,
correlation tables, CKA, the similarity embedding, occlusion maps, the curse-of-dimensionality check.

MNIST is read from ``data.data_dir`` (IDX files) or ``data.tfds_data_dir``. ``quick`` runs on Fashion-MNIST
(installed on these machines) with LeNet-5 and a 784 → 100 → 10 FCN, one seed, 10,000 training and 500
test examples, four methods, 8 epochs of training (lr ×0.1 after epoch 6) and one of fine-tuning for every model,
the dense reference included. Then ``python -m lottery.report --workdir=DIR`` and
``python -m lottery.dashboard --workdir=DIR``.
"""
from lottery import configs


def get_config(preset: str = "default"):
    archs = ("lenet5:1", "lenet_300_100:300") if preset != "quick" else ("lenet5:1", "mnist_fcn2:100")
    return configs.study_b_robustness("robustness_lottery_mnist", "mnist", archs, "mnist_c", preset)
