"""Study A, Gaussian mixture (linear layout): D = 100, separation ν = 0.2, 5% label noise (docs/science.md §1.1,
§2–3). 10,000 training and 5,000 test points; D → P → 2 without biases at 14 widths × 5 seeds; plain SGD, lr 0.1,
batch 1024, 1000 epochs; 10 IMP levels of 20% with OpenLTH's global rule, rewinding to initialisation (the width-1
model, 102 weights, keeps 4 after 10 levels).

``quick`` (the README's first command, ~2 min on 2 CPU cores): 1,000 training points, 20% label noise, 11 widths ×
3 seeds, 200 epochs of batch 100, 12 levels, learning curves every 10 epochs.
"""
from lottery import configs, studies


def get_config(preset: str = "default"):
    configs.check_preset(preset)
    c = studies.defaults("imp")  # the shared sections (lottery/configs.py) + the imp section (lottery/studies/imp/)
    c.experiment = "gmm_linear"

    c.data.name = "gmm_linear"
    c.data.dim = 100
    c.data.nu = 0.2
    c.data.train_size, c.data.test_size = 10_000, 5_000
    c.data.seed = 0
    c.data.noise.fraction = 0.05
    c.data.noise.mode = "permute"
    c.data.noise.seeds = (0,)

    c.model.name = "gmm_fcn"  # D → P → 2, no biases
    c.model.widths = (1, 3, 5, 8, 10, 15, 20, 25, 50, 100, 200, 500, 1000, 10000)

    c.train.seeds = (0, 1, 2, 3, 4)
    c.train.epochs = 1000
    c.train.batch_size = 1024
    c.optimizer.name = "sgd"
    c.optimizer.lr = 0.1
    c.optimizer.momentum = 0.0
    c.optimizer.weight_decay = 0.0
    c.optimizer.schedule = "constant"

    c.imp.levels = 10
    c.imp.fraction = 0.2  # of the surviving weights, per level
    c.imp.rule = "openlth"
    c.imp.scope = "global"
    c.imp.rewind = "init"
    c.eval.every = "0"  # no learning curves

    if preset == "quick":
        c.experiment = "gmm_linear_quick"
        c.data.train_size = 1000
        c.data.noise.fraction = 0.2
        c.model.widths = (2, 3, 5, 8, 12, 20, 35, 60, 100, 200, 400)
        c.train.seeds = (0, 1, 2)
        c.train.epochs = 200
        c.train.batch_size = 100
        c.imp.levels = 12
        c.eval.every = "10ep"  # 20 points a level; every epoch costs ≈ 2× the training (docs/configuration.md)
    return c
