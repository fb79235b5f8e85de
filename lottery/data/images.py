"""MNIST-format image datasets: IDX files from a directory, or a prepared TFDS data_dir.

Nothing here downloads: a dataset that is not on disk is an error that says how to
provide it. Fashion-MNIST is found automatically where the Debian package
``dataset-fashion-mnist`` installs it.
"""
from __future__ import annotations

import os

import jax.numpy as jnp
import numpy as np

from lottery.data import idx
from lottery.data.dataset import Dataset
from lottery.errors import ConfigError

# Per-pixel mean and std after scaling to [0, 1]; MNIST's are OpenLTH's, Fashion-MNIST's
# are those of its 60,000 training images.
NORMALIZATION = {"mnist": (0.1307, 0.3081), "fashion_mnist": (0.2860, 0.3530)}
DEFAULT_DIRS = {"fashion_mnist": ("/usr/share/datasets/fashion-mnist",), "mnist": ()}
HOW_TO = {
    "mnist": "set data.data_dir to a directory holding the four MNIST IDX files "
             "(train-images-idx3-ubyte[.gz], …) or data.tfds_data_dir to a prepared TFDS data_dir",
    "fashion_mnist": "install the Debian package dataset-fashion-mnist (apt-get install dataset-fashion-mnist), "
                     "or set data.data_dir to a directory holding the four IDX files, or data.tfds_data_dir",
}


def _from_tfds(name: str, data_dir: str) -> dict[str, np.ndarray]:
    """Reads a prepared TFDS dataset without downloading (and without TensorFlow)."""
    try:
        import tensorflow_datasets as tfds  # heavy import, only when asked for
    except ImportError as e:  # pragma: no cover - it is a dependency
        raise ConfigError("data.tfds_data_dir", f"tensorflow-datasets is not importable ({e})") from None
    out = {}
    for split in ("train", "test"):
        try:
            source = tfds.data_source(name, split=split, data_dir=data_dir, download=False)
            items = [source[i] for i in range(len(source))]
        except Exception as e:  # tfds raises NotImplementedError/AssertionError/FileNotFoundError for missing data
            raise ConfigError("data.tfds_data_dir",
                              f"no prepared TFDS dataset {name!r} ({split}) in {data_dir} "
                              f"({type(e).__name__}); {HOW_TO[name]}") from None
        out[f"{split}_images"] = np.stack([it["image"] for it in items])[..., 0]
        out[f"{split}_labels"] = np.asarray([it["label"] for it in items])
    return out


def load(name: str, data_dir: str = "", tfds_data_dir: str = "") -> Dataset:
    """Loads ``mnist`` or ``fashion_mnist``: images [N, 28, 28, 1] float32, normalized."""
    if data_dir:
        if not os.path.isdir(data_dir):
            raise ConfigError("data.data_dir", f"{data_dir} is not a directory; {HOW_TO[name]}")
        try:
            arrays = idx.read_split_files(data_dir)
        except idx.IdxError as e:
            raise ConfigError("data.data_dir", str(e)) from None
    elif tfds_data_dir:
        arrays = _from_tfds(name, tfds_data_dir)
    else:
        found = [d for d in DEFAULT_DIRS[name] if idx.find_files(d)]
        if not found:
            raise ConfigError("data.data_dir", f"{name} is not on this machine; {HOW_TO[name]}")
        try:
            arrays = idx.read_split_files(found[0])
        except idx.IdxError as e:
            raise ConfigError("data.data_dir", str(e)) from None
    for split in ("train", "test"):
        shape, labels = arrays[f"{split}_images"].shape, arrays[f"{split}_labels"]
        if len(shape) != 3 or shape[1:] != (28, 28) or labels.ndim != 1 or (labels.size and labels.max() > 9):
            raise ConfigError("data.data_dir", f"{name} {split} files hold images {shape} and labels {labels.shape} "
                                               f"(max {labels.max() if labels.size else '-'}); expected [N, 28, 28] and [N] in 0..9")
    mean, std = NORMALIZATION[name]

    def prep(images):
        return jnp.asarray(((images.astype(np.float32) / 255.0 - mean) / std)[..., None])

    return Dataset(
        name=name,
        x_train=prep(arrays["train_images"]),
        y_train=jnp.asarray(arrays["train_labels"], jnp.int32),
        x_test=prep(arrays["test_images"]),
        y_test=jnp.asarray(arrays["test_labels"], jnp.int32),
        num_classes=10,
    )
