"""Datasets by name, built from the ``data`` section of a config."""
from __future__ import annotations

import functools

import jax
import numpy as np

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


# Examples per class of the published splits (train, test), for a stand-in of the first k classes; CIFAR-100 by
# data.label_kind (see counted_as): 500 / 100 of each of its 100 classes, 2,500 / 500 of each of its 20 superclasses.
CLASS_COUNTS = {
    "mnist": ((5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949),
              (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009)),
    "fashion_mnist": ((6000,) * 10, (1000,) * 10),
    "cifar10": ((5000,) * 10, (1000,) * 10),
    "cifar100": ((500,) * 100, (100,) * 100),
    "cifar100_coarse": ((2500,) * 20, (500,) * 20),
}


def counted_as(cfg) -> str:
    """The :data:`CLASS_COUNTS` key of a published dataset: its name, ``cifar100_coarse`` for CIFAR-100 with
    ``data.label_kind = "coarse"``."""
    coarse = cfg.name == "cifar100" and cfg.get("label_kind", "fine") == "coarse"
    return cfg.name + ("_coarse" if coarse else "")


def stand_in(cfg) -> Dataset:
    """A dataset with the shapes, classes and normalisation ``load(cfg)`` gives, and no data: every array is a
    zero-stride numpy view of one 0 (nothing is read, sampled or allocated), labels [N] all 0. For planning a run
    (``lottery.plan``): trainers and studies see the true sizes. Synthetic CIFAR-format data is balanced
    (class c of i < n when i mod 10 = c); the published splits have the counts of :data:`CLASS_COUNTS` (CIFAR-100's
    fine or coarse labels by ``data.label_kind``) and CIFAR-100 its own normalisation."""
    if cfg.name in GMM_LAYOUTS:
        shape, counts, classes = (int(cfg.dim),), (int(cfg.train_size), int(cfg.test_size)), mixture_of(cfg).num_classes
        black = pixels = None
    else:
        shape = (32, 32, 3) if cfg.name in CIFAR else (28, 28, 1)
        if cfg.name == "cifar10_synthetic":
            k = int(cfg.classes) or 10
            counts = tuple(sum(-(-(n - c) // 10) for c in range(k)) for n in (int(cfg.train_size), int(cfg.test_size)))
        else:
            per_class = CLASS_COUNTS[counted_as(cfg)]
            k = int(cfg.classes) or len(per_class[0])
            counts = tuple(sum(split[:k]) for split in per_class)
        classes = k
        if cfg.name == "cifar100":
            mean, std = cifar.MEAN_100, cifar.STD_100
        elif cfg.name in CIFAR:
            mean, std = cifar.MEAN, cifar.STD
        else:
            mean, std = (images.NORMALIZATION[cfg.name][0],), (images.NORMALIZATION[cfg.name][1],)
        black, pixels = tuple(-m / s for m, s in zip(mean, std)), (mean, std)

    def nothing(*s, dtype=np.float32):
        return np.broadcast_to(np.zeros((), dtype), s)

    return Dataset(cfg.name, nothing(counts[0], *shape), nothing(counts[0], dtype=np.int32),
                   nothing(counts[1], *shape), nothing(counts[1], dtype=np.int32), classes, black=black, pixels=pixels)
