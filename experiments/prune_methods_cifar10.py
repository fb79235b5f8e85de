"""Study B's pruning-method comparison on CIFAR-10 (docs/science.md §7) with ResNet-18 (``resnet18``, W = 64; VGG-16 with
``--config.model.name=vgg16``): random, magnitude, SNIP and Taylor (first and second order) at prune ratios
0–90%, each as pruned and after 10 epochs of fine-tuning the survivors at lr 0.01. Dense training: 160 epochs,
batch 128, SGD momentum 0.9, lr 0.1, weight decay 5e-4, ×0.1 at epochs 80 and 120, crop-and-flip augmentation.
Biprop and edge-popup are left out: they learn scores with the weights frozen and do not learn batch-norm
running statistics (a one-line error if named with a batch-norm net; they run on ``lenet5``).

CIFAR-10 is read from ``data.data_dir`` or ``data.tfds_data_dir``; never downloaded; a real run is an
accelerator job. ``quick`` is a smoke run on SYNTHETIC CIFAR-format data (512 training, 256 test images) with
a width-2 ResNet-18, 2 dense epochs and 1 retraining epoch.
"""
from lottery import configs, studies


def get_config(preset: str = "default"):
    configs.check_preset(preset)
    # the shared sections (lottery/configs.py) + the prune_methods section (lottery/studies/prune_methods/)
    c = studies.defaults("prune_methods")
    c.experiment = "prune_methods_cifar10"

    c.data.name = "cifar10"
    c.data.noise.fraction = 0.0  # clean labels

    c.model.name = "resnet18"
    c.model.widths = (64,)

    c.train.seeds = (0, 1, 2)
    c.train.epochs = 160
    c.train.batch_size = 128
    c.train.augment = True  # random 4-pixel-padded crop and horizontal flip per model
    c.optimizer.name = "sgd"
    c.optimizer.lr = 0.1
    c.optimizer.momentum = 0.9
    c.optimizer.weight_decay = 5e-4
    c.optimizer.schedule = "step"
    c.optimizer.milestones = (80, 120)  # ×0.1 at these epochs

    p = c.prune_methods
    p.methods = ("random", "magnitude", "snip", "taylor1", "taylor2")  # biprop / edge-popup: no batch-norm nets
    p.ratios = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)  # fraction of the weights removed
    p.scope = "global"
    p.retrain_epochs = 10
    p.retrain_lr = 0.01
    p.snip_batches = 1
    p.taylor_batches = 10
    p.hessian = "hutchinson"
    p.hutchinson_samples = 8
    p.score_epochs = 60  # biprop / edge-popup only: not run here

    if preset == "quick":
        c.experiment = "prune_methods_cifar10_quick"
        c.data.name = "cifar10_synthetic"  # SYNTHETIC images in the CIFAR-10 binary format, read by the real reader
        c.data.train_size, c.data.test_size = 512, 256
        c.model.widths = (2,)
        c.train.seeds = (0,)
        c.train.epochs = 2
        c.train.batch_size = 64
        c.optimizer.milestones = (1,)
        p.retrain_epochs = 1
        p.taylor_batches = 2
        p.hutchinson_samples = 2
    return c
