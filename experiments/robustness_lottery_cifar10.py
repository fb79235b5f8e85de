"""Study B's robustness lottery on CIFAR-10 (docs/science.md §8): VGG-16 and ResNet-18 trained with OpenLTH's CIFAR
recipe, pruned by random, magnitude, SNIP and Taylor-1 (biprop and edge-popup do not learn batch-norm statistics) at
ratios 0–90% and fine-tuned, analysed on CIFAR-10-C's 19 corruptions × 5 severities (made on device by
``lottery.data.corruptions`` with the CIFAR-10-C parameters) through the geometry of the last feature layer. An
accelerator job: 2 architectures × 3 seeds × (4 methods × 10 ratios + the dense reference) = 246 fine-tuned models,
each evaluated on 96 sets of 10,000 images.

``quick`` is a smoke run on SYNTHETIC CIFAR-format images (``cifar10_synthetic``), ResNet-8 at width 4
and VGG-11 at width 8, to check the pipeline on a CPU; real data: ``--config.data.name=cifar10
--config.data.data_dir=DIR``.
"""
from lottery import configs, studies
from lottery.data import corruptions


def get_config(preset: str = "default"):
    configs.check_preset(preset)
    # the shared sections (lottery/configs.py) + the prune_methods and robustness sections (lottery/studies/robustness/)
    c = studies.defaults("robustness")
    c.experiment = "robustness_lottery_cifar10"

    c.data.name = "cifar10"  # data.data_dir or data.tfds_data_dir; never downloaded
    c.data.noise.fraction = 0.0  # clean labels
    c.model.name = "vgg16"  # (the models are robustness.architectures)
    c.model.widths = (64,)

    c.train.seeds = (0, 1, 2)
    c.train.epochs = 160
    c.train.batch_size = 128
    c.train.augment = True  # random 4-pixel-padded crop and horizontal flip per model
    c.optimizer.name = "sgd"
    c.optimizer.lr = 0.1
    c.optimizer.momentum = 0.9
    c.optimizer.weight_decay = 1e-4
    c.optimizer.schedule = "step"
    c.optimizer.milestones = (80, 120)  # ×0.1 at these epochs

    p = c.prune_methods
    p.methods = ("random", "magnitude", "snip", "taylor1")  # biprop / edge-popup: no batch-norm nets
    p.ratios = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)  # fraction of the weights removed
    p.scope = "global"
    p.retrain_epochs = 10
    p.retrain_lr = 0.0  # 0: optimizer.lr on optimizer.schedule
    p.snip_batches = 1
    p.taylor_batches = 10
    p.score_epochs = 60  # biprop / edge-popup only: not run here

    r = c.robustness
    r.architectures = ("vgg16:64", "resnet18:64")  # "model:width", each with the whole method × ratio grid
    r.corruptions = corruptions.CIFAR_C  # the 19 types of CIFAR-10-C
    r.severities = (1, 2, 3, 4, 5)
    r.geometry_severity = 3  # the corrupted sets kept per sample (samples table, embedding, dashboard)
    r.train_examples = 0  # all
    r.test_examples = 0  # all, analysed per sample
    r.occlusion_samples = 8  # occlusion maps of the first 8 test examples, every model
    r.dimension_widths = (1, 2, 4, 8)  # LeNet-5 widths of the curse-of-dimensionality check
    r.report_ratio = 0.5

    if preset == "quick":
        c.experiment = "robustness_lottery_cifar10_quick"
        c.data.name = "cifar10_synthetic"  # SYNTHETIC images in the CIFAR-10 binary format, read by the real reader
        c.data.train_size, c.data.test_size = 1024, 256
        c.model.name = "mnist_fcn2"
        c.model.widths = (100,)
        c.train.seeds = (0,)
        c.train.epochs = 2
        c.train.batch_size = 64
        c.optimizer.milestones = (1,)
        p.methods = ("random", "magnitude")
        p.ratios = (0.0, 0.5, 0.9)
        p.retrain_epochs = 1
        p.retrain_lr = 0.01
        p.taylor_batches = 4
        p.hutchinson_samples = 2
        p.score_epochs = 8
        r.architectures = ("resnet_8:4", "vgg11:8")
        r.test_examples = 128
        r.occlusion_samples = -1  # every analysed one
        r.dimension_widths = (1,)
        r.random_dims = (2, 8, 32, 128, 512, 2048)
    return c
