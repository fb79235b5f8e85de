"""The default configuration every experiment file starts from (ml_collections).

Defaults are study A's settings (docs/science.md §2–3); experiment files in ``experiments/`` change
what differs and define presets such as ``quick``.
"""
from __future__ import annotations

import importlib.util
import os

import ml_collections



def base() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.experiment = "experiment"
    # What lottery.run does (lottery/studies): imp (study A's IMP grid), prune_methods or robustness (study B).
    c.kind = "imp"

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
    # order as one wide layer, no padding (see lottery/train/packed.py).
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

    c.imp = ml_collections.ConfigDict()
    c.imp.levels = 0  # pruning levels after the dense level 0
    c.imp.fraction = 0.2  # of the surviving weights removed per level
    c.imp.rule = "clean"  # clean (remove exactly ⌈f·R⌉) | openlth (OpenLTH sparse_global, see prune/magnitude.py)
    c.imp.scope = "global"  # global | layerwise
    c.imp.ignore = ()  # layer names never pruned, e.g. ("dense_0",)
    c.imp.layer_rates = ()  # layerwise rate multipliers, e.g. ("dense_2=0.5",)
    c.imp.rewind = "init"  # init | Nep | Nit (late rewinding to epoch/iteration N)
    c.imp.branches = ()  # reinit, random_global, random_layerwise, finetune
    # Train each pruned level on its live units only (dead hidden units dropped, population
    # re-bucketed to smaller widths); exact up to float rounding, so only without weight decay.
    c.imp.compact = True

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


def study_a_imp(c: ml_collections.ConfigDict, levels: int) -> None:
    """Study A's IMP: 20% of the surviving weights per level, OpenLTH's global rule, rewind to init."""
    c.imp.levels = levels
    c.imp.fraction = 0.2
    c.imp.rule = "openlth"
    c.imp.rewind = "init"


def study_a_gmm(layout: str, nu: float, noise: float, preset: str) -> ml_collections.ConfigDict:
    """Study A's Gaussian-mixture runs (docs/science.md §1.1, §2–3): D=100, 10,000/5,000 points, D → P → 2
    without biases, SGD lr 0.1, batch 1024, 1000 epochs, 5 seeds; 10 IMP levels (the width-1 model,
    102 weights, keeps 4 after 10 levels of the OpenLTH rule).

    ``quick``: 1,000 training points, 11 widths × 3 seeds, 200 epochs of batch 100, 12 levels, learning curves
    every 10 epochs.
    """
    check_preset(preset)
    c = base()
    c.experiment = f"gmm_{layout}" + ("_quick" if preset == "quick" else "")
    c.data.name = f"gmm_{layout}"
    c.data.nu = nu
    c.data.noise.fraction = noise
    c.model.name = "gmm_fcn"
    study_a_imp(c, 10)
    if preset == "quick":
        c.data.train_size = 1000
        c.data.noise.fraction = max(noise, 0.2)
        c.model.widths = (2, 3, 5, 8, 12, 20, 35, 60, 100, 200, 400)
        c.train.seeds = (0, 1, 2)
        c.train.epochs = 200
        c.train.batch_size = 100
        c.imp.levels = 12
        c.eval.every = "10ep"  # 20 points a level; every epoch costs ≈ 2× the training (docs/configuration.md)
    return c


def study_a_images(name: str, dataset: str, model: str, widths: tuple, epochs: int, levels: int,
                   preset: str) -> ml_collections.ConfigDict:
    """Study A's MNIST-type FCN runs (docs/science.md §3): 20% label noise, SGD lr 0.1 without momentum,
    batch 128, 3 seeds, IMP at 20% per level. A rewinds to initialisation for small widths and
    late-rewinds for P ≥ 1000: run the large widths as a second config with
    ``--config.imp.rewind=1ep`` (one rewind point per run).

    ``quick``: widths 10, 50, 300, 2 seeds, 3 epochs, 2 levels, learning curves every epoch.
    """
    check_preset(preset)
    c = base()
    c.experiment = name + ("_quick" if preset == "quick" else "")
    c.data.name = dataset
    c.data.noise.fraction = 0.2
    c.model.name = model
    c.model.widths = widths
    c.train.seeds = (0, 1, 2)
    c.train.epochs = epochs
    c.train.batch_size = 128
    study_a_imp(c, levels)
    if preset == "quick":
        c.model.widths = (10, 50, 300)
        c.train.seeds = (0, 1)
        c.train.epochs = 3
        c.imp.levels = 2
        c.eval.every = "1ep"
    return c


def optimizer_section(**overrides) -> ml_collections.ConfigDict:
    """A copy of the base ``optimizer`` section with ``overrides`` (e.g. for biprop's score optimizer)."""
    o = ml_collections.ConfigDict(base().optimizer.to_dict())
    for k, v in overrides.items():
        setattr(o, k, v)
    return o


def study_b_prune_methods(name: str, dataset: str, model: str, width: int, preset: str) -> ml_collections.ConfigDict:
    """Study B's pruning-method comparison (docs/science.md §7): one trained model per seed, every method at
    prune ratios 0–90% in steps of 10%, evaluated as pruned and after retraining the survivors, against the dense
    reference fine-tuned the same way (every model has the same training budget: docs/studies.md).
    ``kind = "prune_methods"`` routes ``lottery.run`` to :mod:`lottery.studies.prune_methods`; there is no ``imp``
    section. Biprop / edge-popup scores are trained with ``prune_methods.score_optimizer`` (the
    multi-prize-ticket recipe: SGD, momentum 0.9, cosine, lr 0.1) for ``train.epochs``.

    ``quick``: Fashion-MNIST (installed on these machines), 784 → 100 → 10, one seed, 4 dense epochs (lr ×0.1 after
    epoch 3), 1 fine-tuning epoch, 4 score epochs, Hutchinson with 2 samples on 4 batches.
    """
    check_preset(preset)
    c = base()
    del c.imp
    c.kind = "prune_methods"
    c.experiment = name + ("_quick" if preset == "quick" else "")
    c.data.name = dataset
    c.model.name = model
    c.model.widths = (width,)
    c.train.seeds = (0, 1, 2)
    c.train.epochs = 60
    c.train.batch_size = 128
    c.train.shared_data_order = False

    p = c.prune_methods = ml_collections.ConfigDict()
    p.methods = ("random", "magnitude", "snip", "taylor1", "taylor2", "biprop", "edge_popup")
    p.ratios = tuple(round(0.1 * i, 1) for i in range(10))  # fraction of the alive weights removed, in [0, 1)
    p.scope = "global"  # global | layerwise ranking of the scores
    p.ignore = ()  # layers never pruned (biprop keeps them real and frozen)
    p.retrain_epochs = 10  # fine-tuning of the survivors (0: pruned rows only)
    p.retrain_lr = 0.0  # the fine-tuning learning rate (0: optimizer.lr, on optimizer.schedule)
    p.snip_batches = 1  # minibatches of SNIP's gradient at initialisation
    p.taylor_batches = 10  # minibatches accumulated by taylor1 / taylor2
    p.hessian = "hutchinson"  # taylor2's diagonal Hessian: hutchinson | exact (P products per batch: tiny nets only)
    p.hutchinson_samples = 8
    # biprop / edge-popup score training: in place of the weights' dense epochs, so it must equal train.epochs (every
    # model of the comparison has the same budget: lottery.studies.method_populations)
    p.score_epochs = c.train.epochs
    p.score_optimizer = optimizer_section(momentum=0.9, schedule="cosine", weight_decay=5e-4)
    if preset == "quick":
        c.data.name = "fashion_mnist"
        c.model.name = "mnist_fcn2"
        c.model.widths = (100,)
        c.train.seeds = (0,)
        # 4 epochs with the rate ×0.1 for the last: at a constant 0.1 the test error of these short runs swings by
        # several points from epoch to epoch, so the dense baseline would be wherever the swing left it. (More epochs
        # get closer to the plateau, but biprop / edge-popup train their scores as long, which is most of this run.)
        c.train.epochs = 4
        c.optimizer.schedule, c.optimizer.milestones = "step", (3,)
        p.retrain_epochs = 1
        p.retrain_lr = 0.01  # one epoch at the training rate 0.1 cost the dense model 85.2% → 82.5%
        p.taylor_batches = 4
        p.hutchinson_samples = 2
        p.score_epochs = c.train.epochs
    return c


def study_b_robustness(name: str, dataset: str, architectures: tuple, corruption_set: str,
                       preset: str) -> ml_collections.ConfigDict:
    """Study B's robustness lottery (docs/science.md §8): for every architecture ("model:width"), the pruning-method
    experiment of :func:`study_b_prune_methods` (dense models, every method at prune ratios 0–90%, the
    survivors fine-tuned), then every model analysed on the clean test set and every corruption × severity
    through the geometry of its last feature layer. ``kind = "robustness"`` routes ``lottery.run`` to
    :mod:`lottery.studies.robustness`. ``corruption_set``: "cifar10_c" (the 19 types of CIFAR-10-C) or "mnist_c"
    (those 19 at the documented 28×28 table plus MNIST-C's own 9).

    ``quick``: Fashion-MNIST (installed here), LeNet-5 and a 784 → 100 → 10 FCN, one seed, the first
    10,000 training and 500 test examples, magnitude / random / SNIP / Taylor-1 at ratios 0–90%, 8 epochs of training
    (lr ×0.1 after epoch 6) and 1 of fine-tuning for every model, every corruption at every severity.
    """
    c = study_b_prune_methods(name, dataset, architectures[0].split(":")[0], int(architectures[0].split(":")[1]), preset)
    c.kind = "robustness"
    c.prune_methods.methods = ("random", "magnitude", "snip", "taylor1", "biprop", "edge_popup")
    r = c.robustness = ml_collections.ConfigDict()
    r.architectures = tuple(architectures)  # "model:width", each with the whole method × ratio grid
    from lottery.data import corruptions  # the names only (no jax work)

    r.corruptions = corruptions.CIFAR_C if corruption_set == "cifar10_c" else corruptions.ALL
    r.severities = (1, 2, 3, 4, 5)
    r.seed = 0  # the corruptions' random draws
    r.train_examples = 0  # the first n training examples (0: all)
    r.test_examples = 0  # the first n test examples, clean and corrupted, analysed per sample (0: all)
    r.geometry_severity = 3  # the corrupted sets kept per sample (samples table, embedding, dashboard); 0: clean only
    r.occlusion_samples = 8  # occlusion maps of the first n test examples, every model (-1: every analysed one)
    r.occlusion_patch = 4
    r.occlusion_stride = 2
    r.umap_seed = 0
    r.random_dims = (2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048)
    r.dimension_widths = (1, 2, 4, 8)  # LeNet-5 widths of the curse-of-dimensionality check (feature width 84·W)
    r.report_ratio = 0.5  # the prune ratio of the report's correlation tables
    if preset == "quick":
        c.prune_methods.methods = ("random", "magnitude", "snip", "taylor1")
        # 8 epochs, ×0.1 after 6: LeNet-5 on these 10,000 examples is slower to settle than the prune-methods preset's
        # FCN (fine-tuned test error 14.7% after them, 15.2% after 6 with the drop after 4, 13.8% after 20 at 0.1)
        c.train.epochs = 8
        c.optimizer.milestones = (6,)
        c.prune_methods.score_epochs = c.train.epochs
        r.train_examples = 10_000
        r.test_examples = 500
        r.occlusion_samples = -1  # every one of the 500 (the dashboard's attribution view): ≈ 8.5 min on 2 CPU cores
        r.dimension_widths = (1, 2, 4)
        r.random_dims = (2, 8, 32, 128, 512, 2048)
    return c


def study_a_conv(name: str, dataset: str, model: str, widths: tuple, preset: str, epochs: int = 160,
                 levels: int = 20, rewind: str = "10ep", weight_decay: float = 1e-4, milestones: tuple = (80, 120),
                 augment: bool = True, quick_widths: tuple = (4, 8)) -> ml_collections.ConfigDict:
    """Study A's convolutional runs (docs/science.md §2–3): 20% label noise, SGD lr 0.1 with momentum 0.9, batch 128,
    3 seeds, OpenLTH's CIFAR recipe by default (160 epochs, weight decay 1e-4, ×0.1 at epochs 80 and 120,
    crop-and-flip augmentation, 10-epoch rewinding), IMP at 20% per level with OpenLTH's global rule.
    Each width is its own bucket (conv widths are not padded); the seeds and noise draws of a width train
    as one population.

    ``quick`` (a smoke run on 2 CPU cores): SYNTHETIC CIFAR-format data (``cifar10_synthetic``: 1,024 training
    and 256 test images written in the CIFAR-10 binary format and read back through the real reader) for
    CIFAR configs, ``quick_widths`` × 2 seeds, 6 epochs of batch 64 (drops at 4 and 5), rewinding to
    epoch 1, 2 levels. Run it on real files with ``--config.data.name=cifar10 --config.data.data_dir=DIR``.
    """
    check_preset(preset)
    c = study_a_images(name, dataset, model, widths, epochs, levels, "default")
    c.experiment = name + ("_quick" if preset == "quick" else "")
    c.train.augment = augment
    c.optimizer.momentum = 0.9
    c.optimizer.weight_decay = weight_decay
    if milestones:
        c.optimizer.schedule = "step"
        c.optimizer.milestones = milestones
    c.imp.rewind = rewind
    if preset == "quick":
        if dataset.startswith("cifar10"):
            c.data.name = "cifar10_synthetic"
            c.data.train_size, c.data.test_size = 1024, 256
        c.model.widths = quick_widths
        c.train.seeds = (0, 1)
        c.train.epochs = 6
        c.train.batch_size = 64
        if milestones:
            c.optimizer.milestones = (4, 5)
        c.imp.rewind = "1ep" if rewind != "init" else "init"
        c.imp.levels = 2
    return c


def schema(kind: str) -> ml_collections.ConfigDict:
    """Every section and field a config of ``kind`` has, with values of the right types (those of a default
    experiment of that kind): what ``lottery.run`` checks a config against."""
    if kind == "prune_methods":
        return study_b_prune_methods("schema", "mnist", "lenet5", 1, "default")
    if kind == "robustness":
        return study_b_robustness("schema", "mnist", ("lenet5:1",), "mnist_c", "default")
    return base()
