"""Datasets by name, built from the ``data`` section of a config."""
from __future__ import annotations

import functools

import jax

from lottery.data import cifar, gmm, images
from lottery.data.dataset import Dataset, first_classes

GMM_LAYOUTS = {"gmm_linear": gmm.linear, "gmm_xor": gmm.xor}
# cifar10_synthetic: SYNTHETIC colour blobs in the CIFAR-10 binary format (smoke runs), read by the real reader
CIFAR = ("cifar10", "cifar10_synthetic", "cifar100")  # cifar100: fine or coarse labels by data.label_kind
NAMES = tuple(GMM_LAYOUTS) + tuple(images.NORMALIZATION) + CIFAR


def mixture_of(cfg) -> gmm.Mixture:
    """The mixture a ``gmm_*`` data config describes."""
    return GMM_LAYOUTS[cfg.name](dim=cfg.dim, nu=cfg.nu)


FRESH_STREAM = 0x5F


def fresh_sample(cfg, n: int):
    """For synthetic data, ``n`` new inputs [n, D] from the same distribution (its own seed stream); else None."""
    if cfg.name not in GMM_LAYOUTS or not n:
        return None
    key = jax.random.fold_in(jax.random.PRNGKey(cfg.seed), FRESH_STREAM)
    return gmm.sample(mixture_of(cfg), key, n)[0]


def load(cfg) -> Dataset:
    """Builds or reads the dataset named ``cfg.name`` (see :data:`NAMES`)."""
    if cfg.name in GMM_LAYOUTS:
        mixture = mixture_of(cfg)
        ktrain, ktest = jax.random.split(jax.random.PRNGKey(cfg.seed))
        x_train, y_train = gmm.sample(mixture, ktrain, cfg.train_size)
        x_test, y_test = gmm.sample(mixture, ktest, cfg.test_size)
        return Dataset(cfg.name, x_train, y_train, x_test, y_test, mixture.num_classes,
                       posterior=functools.partial(gmm.posterior, mixture))
    if cfg.name == "cifar10":
        dataset = cifar.load(cfg.data_dir, cfg.tfds_data_dir)
    elif cfg.name == "cifar100":
        dataset = cifar.load_cifar100(cfg.data_dir, cfg.tfds_data_dir, cfg.get("label_kind", "fine"))
    elif cfg.name == "cifar10_synthetic":
        dataset = cifar.load_synthetic(cfg.train_size, cfg.test_size, cfg.seed)
    else:
        dataset = images.load(cfg.name, cfg.data_dir, cfg.tfds_data_dir)
    return first_classes(dataset, cfg.classes)
