"""The default configuration every experiment file starts from (ml_collections).

Defaults are study A's settings (SPEC §2–3); experiment files in ``experiments/`` change
what differs and define presets such as ``quick``.
"""
from __future__ import annotations

import importlib.util
import os

import ml_collections

# Keys that do not change results: left out of the run id.
NON_RESULT_KEYS = ("experiment", "report", "train.eval_batch_size", "data.data_dir", "data.tfds_data_dir",
                   "imp.levels")  # more levels extend a run, they do not change the rows it has


def base() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.experiment = "experiment"

    c.data = ml_collections.ConfigDict()
    c.data.name = "gmm_linear"  # gmm_linear | gmm_xor | mnist | fashion_mnist
    c.data.dim = 100  # GMM input dimension D
    c.data.nu = 0.2  # GMM separation ν
    c.data.train_size = 10_000
    c.data.test_size = 5_000
    c.data.seed = 0  # GMM sample seed
    c.data.data_dir = ""  # directory of IDX files (MNIST, Fashion-MNIST)
    c.data.tfds_data_dir = ""  # prepared TFDS data_dir (read with download=False)
    c.data.noise = ml_collections.ConfigDict()
    c.data.noise.fraction = 0.0  # η
    c.data.noise.mode = "permute"  # permute (study A) | uniform (OpenLTH)
    c.data.noise.seeds = (0,)  # one label set per noise seed; every model trains on each

    c.model = ml_collections.ConfigDict()
    c.model.name = "gmm_fcn"
    c.model.widths = (1, 3, 5, 8, 10, 15, 20, 25, 50, 100, 200, 500, 1000, 10000)
    c.model.hidden = ("W",)  # only for model.name = fcn
    c.model.use_bias = True  # only for model.name = fcn
    c.model.init = "kaiming_normal"  # only for model.name = fcn

    c.train = ml_collections.ConfigDict()
    c.train.epochs = 1000
    c.train.batch_size = 1024
    c.train.seeds = (0, 1, 2, 3, 4)  # model seeds: initialisation and (independent) data order
    c.train.shared_data_order = False  # True: every model sees the same batches (faster, see README)
    c.train.data_seed = 0  # the data-order seed when shared_data_order
    c.train.bucket_ratio = 2.0
    c.train.bucket_small = 32
    c.train.eval_batch_size = 2048

    c.optimizer = ml_collections.ConfigDict()
    c.optimizer.name = "sgd"  # sgd | adam | adamw
    c.optimizer.lr = 0.1
    c.optimizer.momentum = 0.0
    c.optimizer.nesterov = False
    c.optimizer.weight_decay = 0.0
    c.optimizer.b1 = 0.9
    c.optimizer.b2 = 0.999
    c.optimizer.eps = 1e-8
    c.optimizer.schedule = "constant"  # constant | step | cosine
    c.optimizer.warmup_epochs = 0.0
    c.optimizer.milestones = ()  # epochs of ×gamma drops (schedule = step)
    c.optimizer.gamma = 0.1

    c.imp = ml_collections.ConfigDict()
    c.imp.levels = 0  # pruning levels after the dense level 0
    c.imp.fraction = 0.2  # of the surviving weights removed per level
    c.imp.rule = "clean"  # clean (remove exactly ⌈f·R⌉) | openlth (OpenLTH sparse_global, see prune/magnitude.py)
    c.imp.scope = "global"  # global | layerwise
    c.imp.ignore = ()  # layer names never pruned, e.g. ("dense_0",)
    c.imp.layer_rates = ()  # layerwise rate multipliers, e.g. ("dense_2=0.5",)
    c.imp.rewind = "init"  # init | Nep | Nit (late rewinding to epoch/iteration N)
    c.imp.branches = ()  # reinit, random_global, random_layerwise, finetune

    c.report = ml_collections.ConfigDict()
    c.report.figures = True
    return c


def load(path: str) -> ml_collections.ConfigDict:
    """Reads ``file.py[:preset]`` and returns ``get_config(preset)`` (or ``get_config()``)."""
    file, _, preset = path.partition(":")
    if not os.path.isfile(file):
        raise FileNotFoundError(f"no config file {file}")
    spec = importlib.util.spec_from_file_location(f"lottery_config_{abs(hash(file))}", file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.get_config(preset) if preset else module.get_config()
