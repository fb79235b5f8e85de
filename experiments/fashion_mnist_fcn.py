"""Study A, Fashion-MNIST 3-layer FCN 784 → P → 100 → 10, 20% label noise, 320 epochs.

Fashion-MNIST is found in /usr/share/datasets/fashion-mnist (Debian package
dataset-fashion-mnist) or ``data.data_dir``. Presets: ``default``, ``quick`` (3 widths × 2 seeds,
3 epochs, shared data order).
"""
from lottery import configs


def get_config(preset: str = "default"):
    c = configs.base()
    c.experiment = "fashion_mnist_fcn"
    c.data.name = "fashion_mnist"
    c.data.noise.fraction = 0.2
    c.model.name = "mnist_fcn3"
    c.model.widths = (500, 1000)  # study A's Fashion-MNIST IMP widths
    c.train.seeds = (0, 1, 2)
    c.train.epochs = 320
    c.train.batch_size = 128
    # IMP as in study A: 20% per level with OpenLTH's global rule. A rewinds to initialisation
    # for small widths and late-rewinds (to an early iterate) for P ≥ 1000: run the large
    # widths as a second config with --config.imp.rewind=1ep (one rewind point per run).
    c.imp.levels = 30
    c.imp.fraction = 0.2
    c.imp.rule = "openlth"
    c.imp.rewind = "init"
    if preset == "quick":
        c.experiment = "fashion_mnist_fcn_quick"
        c.model.widths = (10, 50, 300)
        c.train.seeds = (0, 1)
        c.train.epochs = 3
        c.imp.levels = 2
    elif preset != "default":
        raise ValueError(f"unknown preset {preset!r}; allowed: default, quick")
    return c
