"""Study A, MNIST "ResNet-6" = OpenLTH's ``cifar_resnet_8_W`` on 1-channel 28×28 input at
W ∈ {1, 2, 5, 8, 11, 15, 20, 40, 80, 120} under 20% label noise: 120 epochs, batch 128, SGD lr 0.1 with momentum 0.9
(no weight decay, constant rate, no augmentation), 20 IMP levels of 20%, rewinding to initialisation.

``quick`` runs on Fashion-MNIST (installed on these machines, MNIST is not) at widths 1 and 2, 2 seeds, 6 epochs of
batch 64, 2 levels.
"""
from lottery import configs, studies


def get_config(preset: str = "default"):
    configs.check_preset(preset)
    c = studies.defaults("imp")  # the shared sections (lottery/configs.py) + the imp section (lottery/studies/imp/)
    c.experiment = "mnist_resnet6"

    c.data.name = "mnist"  # IDX files from data.data_dir, or a prepared data.tfds_data_dir; never downloaded
    c.data.noise.fraction = 0.2  # of the training labels permuted
    c.data.noise.mode = "permute"
    c.data.noise.seeds = (0,)

    c.model.name = "resnet_8"  # one stage fewer than resnet_20
    c.model.widths = (1, 2, 5, 8, 11, 15, 20, 40, 80, 120)

    c.train.seeds = (0, 1, 2)
    c.train.epochs = 120
    c.train.batch_size = 128
    c.train.augment = False
    c.optimizer.name = "sgd"
    c.optimizer.lr = 0.1
    c.optimizer.momentum = 0.9
    c.optimizer.weight_decay = 0.0
    c.optimizer.schedule = "constant"

    c.imp.levels = 20
    c.imp.fraction = 0.2  # of the surviving weights, per level
    c.imp.rule = "openlth"
    c.imp.scope = "global"
    c.imp.rewind = "init"
    c.eval.every = "0"  # no learning curves

    if preset == "quick":  # Fashion-MNIST (installed here): 2 widths, 2 seeds, 6 epochs of batch 64, 2 levels
        c.experiment = "mnist_resnet6_quick"
        c.data.name = "fashion_mnist"
        c.model.widths = (1, 2)
        c.train.seeds = (0, 1)
        c.train.epochs = 6
        c.train.batch_size = 64
        c.imp.rewind = "init"
        c.imp.levels = 2
    return c
