"""Study A figure 3b / Table S3: CIFAR-10 restricted to its first k classes (k-way head), k = 5 … 10,
ResNet-18 (``resnet_20_W``) at widths (16, 64) with the CIFAR recipe of ``cifar10_resnet18.py``: fewer
classes, fewer effective parameters.

One run per k — presets ``k5`` … ``k10`` (``default`` is k = 10):

    for k in 5 6 7 8 9 10; do
      python -m lottery.main --config=experiments/cifar10_subsets.py:k$k --workdir=runs/c10_k$k \\
          --config.data.data_dir=/data/cifar-10-batches-bin
    done

``quick`` is a smoke run with k = 5 on SYNTHETIC CIFAR-format data.
"""
from lottery import configs, studies

PRESETS = ("default", "quick") + tuple(f"k{k}" for k in range(5, 11))


def get_config(preset: str = "default"):
    configs.check_preset(preset, PRESETS)
    k = 5 if preset == "quick" else int(preset[1:]) if preset.startswith("k") else 10
    c = studies.defaults("imp")  # the shared sections (lottery/configs.py) + the imp section (lottery/studies/imp/)
    c.experiment = f"cifar10_subsets_k{k}"

    # CIFAR-10: the extracted cifar-10-batches-bin or -py folder (or its parent) in data.data_dir, or a prepared
    # data.tfds_data_dir; never downloaded
    c.data.name = "cifar10"
    c.data.noise.fraction = 0.2  # of the training labels permuted
    c.data.noise.mode = "permute"
    c.data.noise.seeds = (0,)
    c.data.classes = k  # the first k classes, a k-way head

    c.model.name = "resnet_20"  # 3 stages of 3 basic blocks, widths W, 2W, 4W
    c.model.widths = (16, 64)

    c.train.seeds = (0, 1, 2)
    c.train.epochs = 160
    c.train.batch_size = 128
    c.train.augment = True  # random 4-pixel-padded crop and horizontal flip per model
    c.optimizer.name = "sgd"
    c.optimizer.lr = 0.1
    c.optimizer.momentum = 0.9
    c.optimizer.weight_decay = 1e-4
    c.optimizer.schedule = "step"
    c.optimizer.milestones = (80, 120)  # ×0.1 at these epochs
    c.optimizer.gamma = 0.1

    c.imp.levels = 20
    c.imp.fraction = 0.2  # of the surviving weights, per level
    c.imp.rule = "openlth"
    c.imp.scope = "global"
    c.imp.rewind = "10ep"  # late rewinding to epoch 10
    c.eval.every = "0"  # no learning curves

    if preset == "quick":  # a smoke run on SYNTHETIC CIFAR-format data: 2 seeds, 6 epochs of batch 64, 2 levels
        c.experiment = f"cifar10_subsets_k{k}_quick"
        c.data.name = "cifar10_synthetic"  # SYNTHETIC images in the CIFAR-10 binary format, read by the real reader
        c.data.train_size, c.data.test_size = 1024, 256
        c.model.widths = (4, 8)
        c.train.seeds = (0, 1)
        c.train.epochs = 6
        c.train.batch_size = 64
        c.optimizer.milestones = (4, 5)
        c.imp.rewind = "1ep"
        c.imp.levels = 2
    return c
