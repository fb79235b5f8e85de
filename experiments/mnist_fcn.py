"""Study A, MNIST 3-layer FCN 784 → P → 100 → 10 (OpenLTH mnist_lenet_P_100), 20% label noise.

SGD lr 0.1, no momentum, batch 128, 120 epochs, 3 replicates (SPEC §3). MNIST is read from
``data.data_dir`` (IDX files) or ``data.tfds_data_dir``; it is never downloaded.
Presets: ``default``, ``quick`` (3 widths, 2 epochs).
"""
from lottery import configs


def get_config(preset: str = "default"):
    c = configs.base()
    c.experiment = "mnist_fcn"
    c.data.name = "mnist"
    c.data.noise.fraction = 0.2
    c.model.name = "mnist_fcn3"
    c.model.widths = (3, 5, 10, 25, 50, 100, 300, 500, 1000, 5000, 10000)
    c.train.seeds = (0, 1, 2)
    c.train.epochs = 120
    c.train.batch_size = 128
    # IMP as in study A: 20% per level with OpenLTH's global rule. A rewinds to initialisation
    # for small widths and late-rewinds (to an early iterate) for P ≥ 1000: run the large
    # widths as a second config with --config.imp.rewind=1ep (one rewind point per run).
    c.imp.levels = 25  # the narrowest model keeps a few weights after 25 levels
    c.imp.fraction = 0.2
    c.imp.rule = "openlth"
    c.imp.rewind = "init"
    if preset == "quick":
        c.experiment = "mnist_fcn_quick"
        c.model.widths = (10, 50, 300)
        c.train.seeds = (0,)
        c.train.epochs = 2
        c.imp.levels = 2
    elif preset != "default":
        raise ValueError(f"unknown preset {preset!r}; allowed: default, quick")
    return c
