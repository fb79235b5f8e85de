"""Study A figure 3b / Table S3: CIFAR-10 restricted to its first k classes (k-way head), k = 5 … 10,
ResNet-18 (``resnet_20_W``) at widths (16, 64) with the CIFAR recipe of ``cifar10_resnet18.py``: fewer
classes, fewer effective parameters.

One run per k — presets ``k5`` … ``k10`` (``default`` is k = 10):

    for k in 5 6 7 8 9 10; do
      python -m lottery.main --config=experiments/cifar10_subsets.py:k$k --workdir=runs/c10_k$k \
          --config.data.data_dir=/data/cifar-10-batches-bin
    done

``quick`` is a smoke run with k = 5 on SYNTHETIC CIFAR-format data.
"""
from lottery import configs

PRESETS = ("default", "quick") + tuple(f"k{k}" for k in range(5, 11))


def get_config(preset: str = "default"):
    configs.check_preset(preset, PRESETS)
    k = 5 if preset == "quick" else int(preset[1:]) if preset.startswith("k") else 10
    c = configs.study_a_conv("cifar10_subsets", "cifar10", "resnet_20", (16, 64),
                             "quick" if preset == "quick" else "default")
    c.data.classes = k
    c.experiment = f"cifar10_subsets_k{k}" + ("_quick" if preset == "quick" else "")
    return c
