"""Study B's robustness lottery on CIFAR-10 (docs/science.md §8): VGG-16 and ResNet-18 trained with OpenLTH's CIFAR
recipe, pruned by every method at ratios 0–90% and fine-tuned, analysed on CIFAR-10-C's 19 corruptions ×
5 severities (made on device by ``lottery.data.corruptions`` with the CIFAR-10-C parameters) through the
geometry of the last feature layer. An accelerator job: 2 architectures × 3 seeds × 6 methods × 10 ratios
= 360 fine-tuned models, each evaluated on 96 sets of 10,000 images.

``quick`` is a smoke run on SYNTHETIC CIFAR-format images (``cifar10_synthetic``), ResNet-8 at width 4
and VGG-11 at width 8, to check the pipeline on a CPU; real data: ``--config.data.name=cifar10
--config.data.data_dir=DIR``.
"""
from lottery import configs


def get_config(preset: str = "default"):
    archs = ("vgg16:64", "resnet18:64") if preset != "quick" else ("resnet_8:4", "vgg11:8")
    c = configs.study_b_robustness("robustness_lottery_cifar10", "cifar10", archs, "cifar10_c", preset)
    c.train.epochs = 160
    c.train.augment = True
    c.optimizer.momentum = 0.9
    c.optimizer.weight_decay = 1e-4
    c.optimizer.schedule = "step"
    c.optimizer.milestones = (80, 120)
    c.prune_methods.methods = ("random", "magnitude", "snip", "taylor1")  # biprop / edge-popup: no batch-norm nets
    c.robustness.dimension_widths = (1, 2, 4, 8)
    if preset == "quick":
        c.data.name = "cifar10_synthetic"
        c.data.train_size, c.data.test_size = 1024, 256
        c.train.epochs = 2
        c.train.batch_size = 64
        c.optimizer.milestones = (1,)
        c.robustness.train_examples = 0
        c.robustness.test_examples = 128
        c.robustness.dimension_widths = (1,)
        c.prune_methods.methods = ("random", "magnitude")
        c.prune_methods.ratios = (0.0, 0.5, 0.9)
    return c
