"""Study A, Gaussian mixture (linear): D=100, ν=0.2, 5% label noise, 2-layer FCN without biases.

Presets: ``default`` (the paper's grid: 14 widths × 5 seeds, 1000 epochs of SGD lr 0.1,
batch 1024, 10 IMP levels of 20%) and ``quick`` (a smaller data set and grid, 12 levels, a few
minutes on 2 CPU cores).
"""
from lottery import configs


def get_config(preset: str = "default"):
    c = configs.base()
    c.experiment = "gmm_linear"
    c.data.name = "gmm_linear"
    c.data.nu = 0.2
    c.data.noise.fraction = 0.05
    c.model.name = "gmm_fcn"
    # IMP as in study A: 20% of the surviving weights per level (OpenLTH's global rule),
    # rewinding to initialisation.
    c.imp.levels = 10  # width 1 (102 weights) has 4 left after 10 levels of the OpenLTH rule
    c.imp.fraction = 0.2
    c.imp.rule = "openlth"
    c.imp.rewind = "init"
    if preset == "quick":
        c.experiment = "gmm_linear_quick"
        c.data.train_size = 1000
        c.data.test_size = 5000
        c.data.noise.fraction = 0.2
        c.model.widths = (2, 3, 5, 8, 12, 20, 35, 60, 100, 200, 400)
        c.train.seeds = (0, 1, 2)
        c.train.epochs = 200
        c.train.batch_size = 100
        c.imp.levels = 12
    elif preset != "default":
        raise ValueError(f"unknown preset {preset!r}; allowed: default, quick")
    return c
