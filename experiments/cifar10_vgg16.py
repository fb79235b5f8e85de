"""Study A, CIFAR-10 VGG-16 (the CIFAR variant with batch-norm; W = 64 is the usual net, stages W, 2W, 4W,
8W, 8W) under 20% label noise with OpenLTH's CIFAR recipe (as ``cifar10_resnet18.py``): study A figure 4b compares
its sparse double descent with ResNet-18 and DenseNet-121. Widths (16, 32, 64).

A real run is an accelerator job. ``quick`` is a smoke run on SYNTHETIC CIFAR-format data.
"""
from lottery import configs, studies


def get_config(preset: str = "default"):
    configs.check_preset(preset)
    c = studies.defaults("imp")  # the shared sections (lottery/configs.py) + the imp section (lottery/studies/imp/)
    c.experiment = "cifar10_vgg16"

    # CIFAR-10: the extracted cifar-10-batches-bin or -py folder (or its parent) in data.data_dir, or a prepared
    # data.tfds_data_dir; never downloaded
    c.data.name = "cifar10"
    c.data.noise.fraction = 0.2  # of the training labels permuted
    c.data.noise.mode = "permute"
    c.data.noise.seeds = (0,)

    c.model.name = "vgg16"  # stages W, 2W, 4W, 8W, 8W with batch-norm
    c.model.widths = (16, 32, 64)

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
    c.optimizer.gamma = 0.1

    c.imp.levels = 20
    c.imp.fraction = 0.2  # of the surviving weights, per level
    c.imp.rule = "openlth"
    c.imp.scope = "global"
    c.imp.rewind = "10ep"  # late rewinding to epoch 10
    c.eval.every = "0"  # no learning curves

    if preset == "quick":  # a smoke run on SYNTHETIC CIFAR-format data: 2 seeds, 6 epochs of batch 64, 2 levels
        c.experiment = "cifar10_vgg16_quick"
        c.data.name = "cifar10_synthetic"  # SYNTHETIC images in the CIFAR-10 binary format, read by the real reader
        c.data.train_size, c.data.test_size = 1024, 256
        c.model.widths = (4, 8)
        c.train.seeds = (0, 1)
        c.train.epochs = 6
        c.train.batch_size = 64
        c.optimizer.milestones = (4, 5)
        c.imp.rewind = "1ep"
        c.imp.levels = 2
    return c
