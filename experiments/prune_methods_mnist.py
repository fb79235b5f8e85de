"""Study B's pruning-method comparison on MNIST (docs/science.md §7): random, magnitude, SNIP, Taylor (first and
second order), biprop and edge-popup at prune ratios 0–90%, each as pruned and after retraining, against the dense
reference fine-tuned the same way (every model: 60 epochs of training — SNIP's after pruning, biprop's / edge-popup's
of scores — then 10 of fine-tuning).
Model: LeNet-300-100 (784 → 300 → 100 → 10). Study B's LeNet-5: ``--config.model.name=lenet5
--config.model.widths=(1,)`` (the convolutional nets are in the registry; CIFAR-10 is
``prune_methods_cifar10.py``).

``quick`` runs on Fashion-MNIST (installed on these machines, MNIST is not) with a 784 → 100 → 10 FCN, one seed, 4
epochs of training (lr ×0.1 after epoch 3; biprop and edge-popup train their scores as long) and one of fine-tuning.
"""
from lottery import configs, studies


def get_config(preset: str = "default"):
    configs.check_preset(preset)
    # the shared sections (lottery/configs.py) + the prune_methods section (lottery/studies/prune_methods/)
    c = studies.defaults("prune_methods")
    c.experiment = "prune_methods_mnist"

    c.data.name = "mnist"  # IDX files from data.data_dir, or a prepared data.tfds_data_dir (any dataset by name)
    c.data.noise.fraction = 0.0  # clean labels

    c.model.name = "lenet_300_100"  # 784 → 300 → 100 → 10: one trained model per seed
    c.model.widths = (300,)

    c.train.seeds = (0, 1, 2)
    c.train.epochs = 60  # every model's training budget (dense weights, SNIP after pruning, learned scores)
    c.train.batch_size = 128
    c.train.shared_data_order = False
    c.optimizer.name = "sgd"
    c.optimizer.lr = 0.1
    c.optimizer.momentum = 0.0
    c.optimizer.weight_decay = 0.0
    c.optimizer.schedule = "constant"

    p = c.prune_methods
    p.methods = ("random", "magnitude", "snip", "taylor1", "taylor2", "biprop", "edge_popup")
    p.ratios = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)  # fraction of the weights removed
    p.scope = "global"
    p.retrain_epochs = 10  # fine-tuning of the survivors (and of the dense reference)
    p.retrain_lr = 0.0  # 0: optimizer.lr on optimizer.schedule
    p.snip_batches = 1
    p.taylor_batches = 10
    p.hessian = "hutchinson"
    p.hutchinson_samples = 8
    p.score_epochs = 60  # biprop / edge-popup: = train.epochs
    p.score_optimizer.momentum = 0.9  # biprop / edge-popup scores: the multi-prize-ticket recipe
    p.score_optimizer.schedule = "cosine"
    p.score_optimizer.weight_decay = 5e-4

    if preset == "quick":
        c.experiment = "prune_methods_mnist_quick"
        c.data.name = "fashion_mnist"
        c.model.name = "mnist_fcn2"  # 784 → 100 → 10
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
        p.score_epochs = 4
    return c
