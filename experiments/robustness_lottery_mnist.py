"""Study B's robustness lottery on MNIST (docs/science.md §8): LeNet-5 and LeNet-300-100, pruned by random, magnitude,
SNIP, Taylor-1, biprop and edge-popup at ratios 0–90% and fine-tuned, then analysed on the clean test set
and on every corruption × severity (the 19 CIFAR-10-C types at the 28×28 table and MNIST-C's 9) through
the geometry of the last feature layer: robustness (eq. 6), pruning vulnerability (eq. 7), PIE flags,
correlation tables, CKA, the similarity embedding, occlusion maps, the curse-of-dimensionality check.
MNIST is read from ``data.data_dir`` (IDX files) or ``data.tfds_data_dir``. ``quick`` runs on Fashion-MNIST
(installed on these machines) with LeNet-5 and a 784 → 100 → 10 FCN, one seed, 10,000 training and 500
test examples, four methods, 8 epochs of training (lr ×0.1 after epoch 6) and one of fine-tuning for every model,
the dense reference included. Then ``python -m lottery.report --workdir=DIR`` and
``python -m lottery.dashboard --workdir=DIR``.
"""
from lottery import configs, studies
from lottery.data import corruptions


def get_config(preset: str = "default"):
    configs.check_preset(preset)
    # the shared sections (lottery/configs.py) + the prune_methods and robustness sections (lottery/studies/robustness/)
    c = studies.defaults("robustness")
    c.experiment = "robustness_lottery_mnist"

    c.data.name = "mnist"  # IDX files from data.data_dir, or a prepared data.tfds_data_dir
    c.data.noise.fraction = 0.0  # clean labels
    c.model.name = "lenet5"  # (the models are robustness.architectures)
    c.model.widths = (1,)

    c.train.seeds = (0, 1, 2)
    c.train.epochs = 60  # every model's training budget
    c.train.batch_size = 128
    c.optimizer.name = "sgd"
    c.optimizer.lr = 0.1
    c.optimizer.momentum = 0.0
    c.optimizer.weight_decay = 0.0
    c.optimizer.schedule = "constant"

    p = c.prune_methods
    p.methods = ("random", "magnitude", "snip", "taylor1", "biprop", "edge_popup")
    p.ratios = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)  # fraction of the weights removed
    p.scope = "global"
    p.retrain_epochs = 10  # fine-tuning of the survivors (and of the dense reference)
    p.retrain_lr = 0.0  # 0: optimizer.lr on optimizer.schedule
    p.snip_batches = 1
    p.taylor_batches = 10
    p.score_epochs = 60  # biprop / edge-popup: = train.epochs
    p.score_optimizer.momentum = 0.9  # biprop / edge-popup scores: the multi-prize-ticket recipe
    p.score_optimizer.schedule = "cosine"
    p.score_optimizer.weight_decay = 5e-4

    r = c.robustness
    r.architectures = ("lenet5:1", "lenet_300_100:300")  # "model:width", each with the whole method × ratio grid
    r.corruptions = corruptions.ALL  # the 19 CIFAR-10-C types at the 28×28 table and MNIST-C's own 9
    r.severities = (1, 2, 3, 4, 5)
    r.geometry_severity = 3  # the corrupted sets kept per sample (samples table, embedding, dashboard)
    r.train_examples = 0  # all
    r.test_examples = 0  # all, analysed per sample
    r.occlusion_samples = 8  # occlusion maps of the first 8 test examples, every model
    r.dimension_widths = (1, 2, 4, 8)  # LeNet-5 widths of the curse-of-dimensionality check
    r.report_ratio = 0.5

    if preset == "quick":
        c.experiment = "robustness_lottery_mnist_quick"
        c.data.name = "fashion_mnist"
        c.model.name = "mnist_fcn2"
        c.model.widths = (100,)
        c.train.seeds = (0,)
        # 8 epochs, ×0.1 after 6: LeNet-5 on these 10,000 examples is slower to settle than the prune-methods preset's
        # FCN (fine-tuned test error 14.7% after them, 15.2% after 6 with the drop after 4, 13.8% after 20 at 0.1)
        c.train.epochs = 8
        c.optimizer.schedule, c.optimizer.milestones = "step", (6,)
        p.methods = ("random", "magnitude", "snip", "taylor1")
        p.retrain_epochs = 1
        p.retrain_lr = 0.01
        p.taylor_batches = 4
        p.hutchinson_samples = 2
        p.score_epochs = 8
        r.architectures = ("lenet5:1", "mnist_fcn2:100")
        r.train_examples = 10_000
        r.test_examples = 500
        r.occlusion_samples = -1  # every one of the 500 (the dashboard's attribution view): ≈ 8.5 min on 2 CPU cores
        r.dimension_widths = (1, 2, 4)
        r.random_dims = (2, 8, 32, 128, 512, 2048)
    return c
