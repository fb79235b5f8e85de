"""Study A, MNIST 3-layer FCN 784 → P → 100 → 10 (OpenLTH's mnist_lenet_P_100) under 20% label noise
(docs/science.md §3): 11 widths × 3 seeds, plain SGD at lr 0.1, batch 128, 120 epochs, 25 IMP levels of 20% with
OpenLTH's global rule, rewinding to initialisation (25 levels leave the narrowest model, P = 3 with 3,652 weights, a
few weights). Study A rewinds small widths to initialisation and late-rewinds P ≥ 1000: run the large widths as a
second config with ``--config.imp.rewind=1ep`` (one rewind point per run).
"""
from lottery import configs, studies


def get_config(preset: str = "default"):
    configs.check_preset(preset)
    c = studies.defaults("imp")  # the shared sections (lottery/configs.py) + the imp section (lottery/studies/imp/)
    c.experiment = "mnist_fcn"

    c.data.name = "mnist"  # IDX files from data.data_dir, or a prepared data.tfds_data_dir; never downloaded
    c.data.noise.fraction = 0.2  # of the training labels permuted
    c.data.noise.mode = "permute"
    c.data.noise.seeds = (0,)

    c.model.name = "mnist_fcn3"  # 784 → P → 100 → 10
    c.model.widths = (3, 5, 10, 25, 50, 100, 300, 500, 1000, 5000, 10000)

    c.train.seeds = (0, 1, 2)
    c.train.epochs = 120
    c.train.batch_size = 128
    c.train.augment = False
    c.optimizer.name = "sgd"
    c.optimizer.lr = 0.1
    c.optimizer.momentum = 0.0
    c.optimizer.weight_decay = 0.0
    c.optimizer.schedule = "constant"

    c.imp.levels = 25
    c.imp.fraction = 0.2  # of the surviving weights, per level
    c.imp.rule = "openlth"
    c.imp.scope = "global"
    c.imp.rewind = "init"  # study A late-rewinds P ≥ 1000: a second run with --config.imp.rewind=1ep
    c.eval.every = "0"  # no learning curves

    if preset == "quick":  # a smoke run: 3 widths, 2 seeds, 3 epochs, 2 levels, learning curves every epoch
        c.experiment = "mnist_fcn_quick"
        c.model.widths = (10, 50, 300)
        c.train.seeds = (0, 1)
        c.train.epochs = 3
        c.imp.levels = 2
        c.eval.every = "1ep"
    return c
