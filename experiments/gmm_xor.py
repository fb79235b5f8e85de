"""Study A, Gaussian mixture (XOR): D=100, ν=0.6, 25% label noise, 2-layer FCN without biases.

Presets: ``default`` (the paper's grid) and ``quick`` (minutes on 2 CPU cores).
"""
from lottery import configs


def get_config(preset: str = "default"):
    c = configs.base()
    c.experiment = "gmm_xor"
    c.data.name = "gmm_xor"
    c.data.nu = 0.6
    c.data.noise.fraction = 0.25
    c.model.name = "gmm_fcn"
    c.imp.levels = 10  # width 1 (102 weights) has 4 left after 10 levels of the OpenLTH rule
    c.imp.fraction = 0.2
    c.imp.rule = "openlth"
    c.imp.rewind = "init"
    if preset == "quick":
        c.experiment = "gmm_xor_quick"
        c.data.train_size = 1000
        c.model.widths = (2, 3, 5, 8, 12, 20, 35, 60, 100, 200, 400)
        c.train.seeds = (0, 1, 2)
        c.train.epochs = 200
        c.train.batch_size = 100
        c.imp.levels = 12
    elif preset != "default":
        raise ValueError(f"unknown preset {preset!r}; allowed: default, quick")
    return c
