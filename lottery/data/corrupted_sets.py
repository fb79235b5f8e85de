"""Readers of the published corrupted test sets: CIFAR-10-C, MNIST-C, and their prepared TFDS versions.

Nothing here downloads. Layouts:

- CIFAR-10-C (Hendrycks & Dietterich 2019, https://zenodo.org/record/2535967): a directory of
  ``<type>.npy``, uint8 [50000, 32, 32, 3] — the 10,000 test images at severity 1, then 2, … 5 —
  and ``labels.npy`` [50000] (the test labels five times).
- MNIST-C (Mu & Gilmer 2019, https://zenodo.org/record/3239543): a directory ``mnist_c/`` holding
  ``<type>/test_images.npy`` uint8 [10000, 28, 28, 1] and ``<type>/test_labels.npy`` [10000], one
  severity per type (``identity`` is the clean set).
- TFDS ``cifar10_corrupted/<type>_<severity>`` and ``mnist_corrupted/<type>`` (split ``test``), read
  from a prepared ``data_dir``. TFDS names two CIFAR types differently: ``frosted_glass_blur`` is
  glass_blur and ``elastic`` is elastic_transform (``TFDS_NAMES``).

Every reader returns (images uint8 [N, H, W, C], labels int64 [N]); a missing file or dataset is a
one-line ConfigError naming the path and how to provide it.
"""
from __future__ import annotations

import os

import numpy as np

from lottery.data.corruptions import CIFAR_C
from lottery.core.errors import ConfigError

TFDS_NAMES = {"glass_blur": "frosted_glass_blur", "elastic_transform": "elastic"}  # ours → TFDS's
FROM_TFDS = {v: k for k, v in TFDS_NAMES.items()}
MNIST_C_SETS = ("identity", "shot_noise", "impulse_noise", "glass_blur", "motion_blur", "shear", "scale",
                "rotate", "brightness", "translate", "stripe", "fog", "spatter", "dotted_line", "zigzag",
                "canny_edges")
PER_SEVERITY = 10_000
CIFAR_HOW_TO = "download CIFAR-10-C.tar from https://zenodo.org/record/2535967 and extract it there"
MNIST_HOW_TO = "download mnist_c.zip from https://zenodo.org/record/3239543 and extract it there"


def tfds_name(name: str) -> str:
    """Our corruption name → TFDS's (``glass_blur`` → ``frosted_glass_blur``, …)."""
    return TFDS_NAMES.get(name, name)


def from_tfds_name(name: str) -> str:
    """TFDS's corruption name → ours."""
    return FROM_TFDS.get(name, name)


def _severity(severity) -> int:
    if isinstance(severity, bool) or not isinstance(severity, (int, np.integer)) or not 1 <= severity <= 5:
        raise ConfigError("severity", f"{severity!r} is outside 1–5")
    return int(severity)


def _load(path: str, how_to: str) -> np.ndarray:
    if not os.path.isfile(path):
        raise ConfigError("data.corrupted_dir", f"{path} is missing; {how_to}")
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as e:
        raise ConfigError("data.corrupted_dir", f"{path} is not a readable .npy file ({e}); {how_to}") from None


def load_cifar10_c(directory: str, name: str, severity: int) -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-10-C images uint8 [10000, 32, 32, 3] and labels int64 [10000] of ``name`` at ``severity``."""
    if name not in CIFAR_C:
        raise ConfigError("corruption", f"unknown {name!r} for CIFAR-10-C; allowed: {', '.join(CIFAR_C)}")
    severity = _severity(severity)
    images = _load(os.path.join(directory, f"{name}.npy"), CIFAR_HOW_TO)
    labels = _load(os.path.join(directory, "labels.npy"), CIFAR_HOW_TO)
    if images.ndim != 4 or images.shape[1:] != (32, 32, 3) or images.shape[0] % 5 or labels.shape != images.shape[:1]:
        raise ConfigError("data.corrupted_dir", f"{directory}: {name}.npy holds {images.shape} and labels.npy "
                                                f"{labels.shape}; expected [5·N, 32, 32, 3] and [5·N]")
    n = images.shape[0] // 5
    part = slice((severity - 1) * n, severity * n)
    return np.asarray(images[part], np.uint8), np.asarray(labels[part], np.int64)


def load_mnist_c(directory: str, name: str) -> tuple[np.ndarray, np.ndarray]:
    """MNIST-C images uint8 [10000, 28, 28, 1] and labels int64 [10000] of ``name`` (one severity).
    ``directory`` is the extracted ``mnist_c`` folder or its parent."""
    if name not in MNIST_C_SETS:
        raise ConfigError("corruption", f"MNIST-C has no {name!r}; allowed: {', '.join(MNIST_C_SETS)}")
    if not os.path.isdir(os.path.join(directory, name)) and os.path.isdir(os.path.join(directory, "mnist_c", name)):
        directory = os.path.join(directory, "mnist_c")
    images = _load(os.path.join(directory, name, "test_images.npy"), MNIST_HOW_TO)
    labels = _load(os.path.join(directory, name, "test_labels.npy"), MNIST_HOW_TO)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[1:] != (28, 28, 1) or labels.shape != images.shape[:1]:
        raise ConfigError("data.corrupted_dir", f"{directory}/{name}: images {images.shape}, labels {labels.shape}; "
                                                f"expected [N, 28, 28, 1] and [N]")
    return np.asarray(images, np.uint8), np.asarray(labels, np.int64)


def tfds_config(dataset: str, name: str, severity: int | None) -> str:
    """The TFDS dataset/config string, e.g. ``cifar10_corrupted/frosted_glass_blur_3``."""
    if dataset == "cifar10_corrupted":
        if name not in CIFAR_C:
            raise ConfigError("corruption", f"unknown {name!r} for {dataset}; allowed: {', '.join(CIFAR_C)}")
        return f"{dataset}/{tfds_name(name)}_{_severity(severity)}"
    if dataset == "mnist_corrupted":
        if name not in MNIST_C_SETS:
            raise ConfigError("corruption", f"{dataset} has no {name!r}; allowed: {', '.join(MNIST_C_SETS)}")
        return f"{dataset}/{name}"
    raise ConfigError("data.name", f"unknown corrupted dataset {dataset!r}; allowed: cifar10_corrupted, mnist_corrupted")


def load_tfds_corrupted(dataset: str, name: str, severity: int | None, data_dir: str) -> tuple[np.ndarray, np.ndarray]:
    """The ``test`` split of a prepared TFDS ``cifar10_corrupted`` (``name`` at ``severity``) or
    ``mnist_corrupted`` (``name``; ``severity`` ignored) in ``data_dir``: images uint8 [N, H, W, C],
    labels int64 [N]. Never downloads."""
    config = tfds_config(dataset, name, severity)
    how_to = (f"prepare it there with tfds.builder({config!r}, data_dir=...).download_and_prepare() on a "
              f"machine with network access")
    if not os.path.isdir(data_dir):
        raise ConfigError("data.tfds_data_dir", f"{data_dir} is not a directory; {how_to}")
    try:
        import tensorflow_datasets as tfds  # heavy import, only when asked for
    except ImportError as e:  # pragma: no cover - it is a dependency
        raise ConfigError("data.tfds_data_dir", f"tensorflow-datasets is not importable ({e})") from None
    try:
        source = tfds.data_source(config, split="test", data_dir=data_dir, download=False)
        items = [source[i] for i in range(len(source))]
    except Exception as e:  # tfds reports a missing dataset with assorted exception types
        raise ConfigError("data.tfds_data_dir", f"no prepared TFDS dataset {config!r} in {data_dir} "
                                                f"({type(e).__name__}); {how_to}") from None
    images = np.stack([np.asarray(it["image"], np.uint8) for it in items])
    return images, np.asarray([it["label"] for it in items], np.int64)
