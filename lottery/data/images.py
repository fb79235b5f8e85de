"""MNIST-format image datasets: IDX files from a directory, or a prepared TFDS data_dir.

Nothing here downloads: a dataset that is not on disk is an error that says how to
provide it. Fashion-MNIST is found automatically where the Debian package
``dataset-fashion-mnist`` installs it.
"""
from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import numpy as np

from lottery.data import idx
from lottery.data.dataset import Dataset
from lottery.core.errors import ConfigError

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


def from_tfds(name: str, data_dir: str, how_to: str, field: str = "data.tfds_data_dir",
              label_key: str = "label") -> dict[str, np.ndarray]:
    """Reads a prepared TFDS dataset without downloading (and without TensorFlow).

    Returns ``{train,test}_images`` [N, H, W, C] uint8 and ``{train,test}_labels`` [N] (the feature
    ``label_key``, e.g. cifar100's ``coarse_label``). tfds reports a
    dataset that is not there with misleading errors (a ``NotImplementedError`` about
    ``FileFormat.TFRECORD``, assertions, missing files): any of them becomes a ConfigError on ``field``
    that says what is missing and ``how_to`` provide it.
    """
    try:
        import tensorflow_datasets as tfds  # heavy import, only when asked for
    except ImportError as e:  # pragma: no cover - it is a dependency
        raise ConfigError(field, f"tensorflow-datasets is not importable ({e})") from None
    out = {}
    for split in ("train", "test"):
        try:
            source = tfds.data_source(name, split=split, data_dir=data_dir, download=False)
            items = [source[i] for i in range(len(source))]
        except Exception as e:  # tfds raises NotImplementedError/AssertionError/FileNotFoundError for missing data
            raise ConfigError(field, f"no prepared TFDS dataset {name!r} ({split}) in {data_dir} "
                                     f"({type(e).__name__}); {how_to}") from None
        out[f"{split}_images"] = np.stack([it["image"] for it in items])
        out[f"{split}_labels"] = np.asarray([it[label_key] for it in items])
    return out


def check_splits(name: str, arrays: dict[str, np.ndarray], image_shape: tuple[int, ...], field: str,
                 num_classes: int = 10) -> None:
    """ConfigError on ``field`` unless every split holds images [N, *image_shape] and labels [N] in 0…num_classes−1."""
    for split in ("train", "test"):
        shape, labels = arrays[f"{split}_images"].shape, arrays[f"{split}_labels"]
        if (len(shape) != 1 + len(image_shape) or shape[1:] != tuple(image_shape) or labels.shape != shape[:1]
                or (labels.size and not 0 <= labels.min() <= labels.max() < num_classes)):
            raise ConfigError(field, f"{name} {split} files hold images {shape} and labels {labels.shape} "
                                     f"(max {labels.max() if labels.size else '-'}); expected [N, "
                                     f"{', '.join(map(str, image_shape))}] and [N] in 0..{num_classes - 1}")


def normalize(images: np.ndarray, mean, std) -> jax.Array:
    """uint8 images [N, H, W, C] → float32 (x/255 − mean)/std on device; mean, std: scalars or per channel [C]."""
    mean, std = np.asarray(mean, np.float32), np.asarray(std, np.float32)
    return jnp.asarray((images.astype(np.float32) / np.float32(255.0) - mean) / std)


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
        arrays = from_tfds(name, tfds_data_dir, HOW_TO[name])
        arrays = {k: v[..., 0] if k.endswith("images") else v for k, v in arrays.items()}
    else:
        found = [d for d in DEFAULT_DIRS[name] if idx.find_files(d)]
        if not found:
            raise ConfigError("data.data_dir", f"{name} is not on this machine; {HOW_TO[name]}")
        try:
            arrays = idx.read_split_files(found[0])
        except idx.IdxError as e:
            raise ConfigError("data.data_dir", str(e)) from None
    check_splits(name, arrays, (28, 28), "data.data_dir")
    mean, std = NORMALIZATION[name]
    return Dataset(
        name=name,
        x_train=normalize(arrays["train_images"][..., None], mean, std),
        y_train=jnp.asarray(arrays["train_labels"], jnp.int32),
        x_test=normalize(arrays["test_images"][..., None], mean, std),
        y_test=jnp.asarray(arrays["test_labels"], jnp.int32),
        num_classes=10,
        black=(-mean / std,),
        pixels=((mean,), (std,)),
    )
