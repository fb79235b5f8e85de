"""The configuration every experiment file starts from (ml_collections), and reading an experiment file.

:func:`base` holds the sections every study kind shares, at study A's settings (docs/science.md §2–3); each kind
adds ``kind`` and its own sections (``lottery.studies.defaults(kind)``, defined by the kind's module in
``lottery/studies/``). An experiment file (``experiments/NAME.py``) starts from those defaults and sets every
hyperparameter of its experiment, presets such as ``quick`` as visible overrides.
"""
from __future__ import annotations

import importlib.util
import os

import ml_collections


def base() -> ml_collections.ConfigDict:
    """The sections every study kind shares (experiment, data, model, train, optimizer, eval, report) at their
    defaults. A kind adds ``kind`` and its own sections (``lottery.studies.defaults(kind)``)."""
    c = ml_collections.ConfigDict()
    c.experiment = "experiment"

    c.data = ml_collections.ConfigDict()
    # gmm_linear | gmm_xor | mnist | fashion_mnist | cifar10 | cifar100 | cifar10_synthetic (SYNTHETIC colour
    # blobs written in the CIFAR-10 binary format and read back through the real reader: smoke runs only)
    c.data.name = "gmm_linear"
    c.data.label_kind = "fine"  # cifar100's labels: fine (100 classes) | coarse (its 20 superclasses)
    # dim and nu describe the Gaussian mixtures only; train_size, test_size and seed the mixtures and
    # cifar10_synthetic. Real image datasets are used whole.
    c.data.dim = 100  # GMM input dimension D
    c.data.nu = 0.2  # GMM separation ν
    c.data.train_size = 10_000  # GMM / synthetic training points
    c.data.test_size = 5_000  # GMM / synthetic test points
    c.data.seed = 0  # GMM / synthetic sample seed
    # Image datasets: keep only the examples of the first k classes, with a k-way head (study A,
    # figure 3b); 0 = all classes. Labels stay 0…k−1.
    c.data.classes = 0
    # directory of IDX files (MNIST, Fashion-MNIST), of the CIFAR-10 batches (the extracted
    # cifar-10-batches-bin / cifar-10-batches-py folder, or the folder holding it) or of CIFAR-100's
    # cifar-100-python folder (or the folder holding it)
    c.data.data_dir = ""
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
    c.train.shared_data_order = False  # True: every model sees the same batches (faster, see docs/configuration.md)
    c.train.data_seed = 0  # the data-order seed when shared_data_order
    c.train.bucket_ratio = 2.0
    # Train one-hidden-layer nets with a stateless optimizer (plain SGD) packed: the models sharing a data
    # order as one wide layer, no padding (see lottery/train/strategies/packed.py).
    c.train.pack = True
    c.train.pack_small = 128  # when packed, widths ≤ this share one bucket (training has no padding then)
    c.train.augment = False  # images: random crop (4-pixel padding) and horizontal flip per model, on device
    # How a bucket's members are mapped: vmap (one program, jit(scan(vmap(step)))), loop (one jitted step per
    # member and step, from Python), auto: loop for convolutional nets on a CPU (XLA:CPU runs vmapped and
    # in-loop convolutions slowly), vmap otherwise.
    c.train.members = "auto"
    # Shard each bucket's model axis over all local devices (padded with inert members; see train/sharding.py).
    c.train.shard = True
    # Device memory a bucket's training program may use: "none", "auto" (the device's memory × 0.9; a CPU: half
    # the host's RAM) or a size ("16GiB", "512MB", bytes). A bucket whose chunk program would need more trains as
    # consecutive slices of its members that fit (XLA's memory analysis); results are bitwise the same.
    c.train.memory = "none"
    c.train.bucket_small = 0  # widths ≤ this share one bucket whatever their ratio (padding is not free here)
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

    c.eval = ml_collections.ConfigDict()
    c.eval.bins = 15  # calibration bins (equal width); 0 turns calibration off
    c.eval.fresh_samples = 100_000  # synthetic data: a fresh sample for the Bayes-posterior gap (0: none)
    # Learning curves: every member's errors and losses on the labelled sets every Nep / Nit during each IMP
    # level's training (from its rewind step), in DIR/learning_curves.parquet; "0": off.
    c.eval.every = "0"

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


def check_preset(preset: str, allowed=("default", "quick")) -> None:
    if preset not in allowed:
        raise ValueError(f"unknown preset {preset!r}; allowed: {', '.join(allowed)}")


def optimizer_section(**overrides) -> ml_collections.ConfigDict:
    """A copy of the base ``optimizer`` section with ``overrides`` (e.g. for biprop's score optimizer)."""
    o = ml_collections.ConfigDict(base().optimizer.to_dict())
    for k, v in overrides.items():
        setattr(o, k, v)
    return o
