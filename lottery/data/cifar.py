"""CIFAR-10 and CIFAR-100: the original binary or Python-pickle batches from a directory, or a prepared TFDS
data_dir.

The two original distributions (https://www.cs.toronto.edu/~kriz/cifar.html), once extracted:

- ``cifar-10-batches-bin/``: ``data_batch_{1..5}.bin`` and ``test_batch.bin``, each a sequence of
  records of 1 label byte followed by 3072 pixel bytes, channel-major (1024 red, 1024 green,
  1024 blue, each 32 rows of 32 pixels).
- ``cifar-10-batches-py/``: ``data_batch_{1..5}`` and ``test_batch``, each a pickled dict with
  ``b"data"`` [10000, 3072] uint8 (the same channel-major layout) and ``b"labels"`` (10000 ints).
  They are unpickled with a restricted unpickler that builds numpy arrays and nothing else.

``data.data_dir`` may be either extracted folder or its parent. Nothing here downloads; files that
are missing or truncated are a ConfigError that says how to provide them.

Images come out as float32 [N, 32, 32, 3] (NHWC), each channel normalised as (x/255 − mean)/std
with the usual CIFAR-10 training-set statistics: mean (0.4914, 0.4822, 0.4465),
std (0.2470, 0.2435, 0.2616) for red, green, blue. (OpenLTH, study A's code, normalises CIFAR-10
with ImageNet's numbers, mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225); the difference
is an affine change of the input.) Labels are int32 in 0…9.

CIFAR-100 (:func:`load_cifar100`) comes as ``cifar-100-python/``: pickled ``train`` (50,000 images) and
``test`` (10,000) dicts with ``b"data"`` (the same layout), ``b"fine_labels"`` (0…99) and ``b"coarse_labels"``
(0…19, the superclasses), and ``meta`` with ``b"fine_label_names"`` / ``b"coarse_label_names"``; or a
prepared TFDS ``cifar100`` (features ``label`` and ``coarse_label``). ``data.label_kind`` picks fine or coarse;
it is normalised with CIFAR-100's statistics, mean (0.5071, 0.4865, 0.4409), std (0.2673, 0.2564, 0.2762).

:func:`write_synthetic_cifar10` writes SYNTHETIC files in the real binary format for smoke runs.
"""
from __future__ import annotations

import codecs
import functools
import glob
import os
import pickle
import tempfile

import jax.numpy as jnp
import numpy as np

from lottery.data import images
from lottery.data.dataset import Dataset
from lottery.core.errors import ConfigError

MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2470, 0.2435, 0.2616)
# A black pixel after normalisation, per channel: the padding value of torchvision's
# RandomCrop(32, padding=4) applied before Normalize (OpenLTH's order); see augment.py.
BLACK = tuple(-m / s for m, s in zip(MEAN, STD))
SHAPE = (32, 32, 3)
PIXELS = 32 * 32 * 3
RECORD = 1 + PIXELS  # bytes of one record in the binary format
NUM_CLASSES = 10
FIELD = "data.data_dir"

# format → (folder name in the archive, training batch files, test batch file)
LAYOUTS = {
    "binary": ("cifar-10-batches-bin", tuple(f"data_batch_{i}.bin" for i in range(1, 6)), "test_batch.bin"),
    "pickle": ("cifar-10-batches-py", tuple(f"data_batch_{i}" for i in range(1, 6)), "test_batch"),
}
HOW_TO = ("set data.data_dir to the extracted cifar-10-batches-bin or cifar-10-batches-py folder (or the folder "
          "holding it) of CIFAR-10 from https://www.cs.toronto.edu/~kriz/cifar.html, or data.tfds_data_dir to a "
          "prepared TFDS data_dir; or use data.name = cifar10_synthetic for a synthetic smoke-run stand-in")


def _channel_major(pixels: np.ndarray) -> np.ndarray:
    """[n, 3072] uint8, channel-major → [n, 32, 32, 3] (NHWC)."""
    return pixels.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)


def read_binary_batch(path: str) -> tuple[np.ndarray, np.ndarray]:
    """One file of the binary format → images [n, 32, 32, 3] uint8, labels [n] uint8."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise ConfigError(FIELD, f"cannot read {path}: {e.strerror}") from None
    if not raw or len(raw) % RECORD:
        raise ConfigError(FIELD, f"{path} is truncated or not a CIFAR-10 binary batch: {len(raw)} bytes is not a "
                                 f"positive multiple of the {RECORD}-byte record; {HOW_TO}")
    records = np.frombuffer(raw, np.uint8).reshape(-1, RECORD)
    return _channel_major(records[:, 1:]), records[:, 0].copy()


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles dicts, lists, bytes and numpy arrays only (the content of a CIFAR-10 batch).

    ``_codecs.encode`` is how Python 3 writes bytes at pickle protocol ≤ 2 (str → bytes, nothing else).
    """

    _ALLOWED = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype, ("_codecs", "encode"): codecs.encode}
    # numpy's array-rebuilding functions (protocols ≤ 4 and 5), whatever module this numpy keeps them in
    for _core in ("core", "_core"):
        _ALLOWED[f"numpy.{_core}.multiarray", "_reconstruct"] = np.ndarray(0).__reduce__()[0]
        _ALLOWED[f"numpy.{_core}.numeric", "_frombuffer"] = np.zeros(1, np.uint8).__reduce_ex__(5)[0]
    del _core

    def find_class(self, module, name):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return self._ALLOWED[module, name]


def _unpickle(path: str, what: str, how_to: str):
    """The restricted unpickling of one file; ConfigError (one line) when it cannot be read or is no pickle."""
    try:
        with open(path, "rb") as f:
            return _ArrayUnpickler(f, encoding="bytes").load()
    except OSError as e:
        raise ConfigError(FIELD, f"cannot read {path}: {e.strerror}") from None
    except Exception as e:  # truncated (EOFError, UnpicklingError) or not a pickle at all
        raise ConfigError(FIELD, f"{path} is truncated or not a {what} pickle ({type(e).__name__}: {e}); "
                                 f"{how_to}") from None


def read_pickle_batch(path: str, label_key: str = "labels", num_classes: int = NUM_CLASSES,
                      what: str = "CIFAR-10", how_to: str = HOW_TO) -> tuple[np.ndarray, np.ndarray]:
    """One file of the Python-pickle format → images [n, 32, 32, 3] uint8, labels [n] uint8 (``label_key``:
    CIFAR-10's ``labels``, CIFAR-100's ``fine_labels`` or ``coarse_labels``)."""
    batch = _unpickle(path, what, how_to)
    batch = batch if isinstance(batch, dict) else {}
    data, labels = (np.asarray(batch.get(k.encode(), batch.get(k))) for k in ("data", label_key))
    if not (data.dtype == np.uint8 and data.ndim == 2 and data.shape[1] == PIXELS and len(data)
            and labels.shape == data.shape[:1] and labels.dtype.kind in "iu"):
        raise ConfigError(FIELD, f"{path} is not a {what} pickle batch: expected a dict with b'data' [n, {PIXELS}] "
                                 f"uint8 and b'{label_key}' (n integers); {how_to}")
    if labels.min() < 0 or labels.max() >= num_classes:
        raise ConfigError(FIELD, f"{path} has {label_key} outside 0..{num_classes - 1}")
    return _channel_major(data), labels.astype(np.uint8)


READERS = {"binary": read_binary_batch, "pickle": read_pickle_batch}


def _missing(folder: str, fmt: str) -> list[str]:
    _, train, test = LAYOUTS[fmt]
    return [f for f in train + (test,) if not os.path.isfile(os.path.join(folder, f))]


def find(data_dir: str) -> tuple[str, str]:
    """(folder, format) of the CIFAR-10 batches in ``data_dir`` or its ``cifar-10-batches-{bin,py}``
    subfolder; a ConfigError naming what is missing otherwise."""
    if not os.path.isdir(data_dir):
        raise ConfigError(FIELD, f"{data_dir} is not a directory; {HOW_TO}")
    partial = []
    for fmt, (sub, train, test) in LAYOUTS.items():
        for folder in (data_dir, os.path.join(data_dir, sub)):
            missing = _missing(folder, fmt)
            if not missing:
                return folder, fmt
            if len(missing) < len(train) + 1:
                partial.append(f"{folder} lacks {', '.join(missing)}")
    if partial:
        raise ConfigError(FIELD, f"incomplete CIFAR-10 files: {'; '.join(partial)}; {HOW_TO}")
    archives = glob.glob(os.path.join(glob.escape(data_dir), "cifar-10-*.tar.gz"))
    hint = f" ({os.path.basename(archives[0])} is there: extract it with tar xzf)" if archives else ""
    raise ConfigError(FIELD, f"no CIFAR-10 batches (data_batch_1…5[.bin], test_batch[.bin]) in {data_dir} or its "
                             f"cifar-10-batches-bin/-py folder{hint}; {HOW_TO}")


def read_split_files(data_dir: str) -> dict[str, np.ndarray]:
    """Reads ``{train,test}_images`` [N, 32, 32, 3] uint8 and ``{train,test}_labels`` [N] uint8 from the batches
    under ``data_dir``; training batches in the order data_batch_1…5."""
    folder, fmt = find(data_dir)
    _, train, test = LAYOUTS[fmt]
    read = READERS[fmt]
    parts = [read(os.path.join(folder, f)) for f in train]
    test_images, test_labels = read(os.path.join(folder, test))
    return {"train_images": np.concatenate([p[0] for p in parts]),
            "train_labels": np.concatenate([p[1] for p in parts]),
            "test_images": test_images, "test_labels": test_labels}


def from_arrays(name: str, arrays: dict[str, np.ndarray], field: str = FIELD, num_classes: int = NUM_CLASSES,
                mean=MEAN, std=STD) -> Dataset:
    """uint8 arrays of :func:`read_split_files` (or :func:`read_cifar100_files`) → the normalised Dataset
    (images [N, 32, 32, 3] float32, (x/255 − mean)/std per channel; labels int32 [N] in 0…num_classes − 1)."""
    images.check_splits(name, arrays, SHAPE, field, num_classes)
    return Dataset(
        name=name,
        x_train=images.normalize(arrays["train_images"], mean, std),
        y_train=jnp.asarray(arrays["train_labels"], jnp.int32),
        x_test=images.normalize(arrays["test_images"], mean, std),
        y_test=jnp.asarray(arrays["test_labels"], jnp.int32),
        num_classes=num_classes,
        black=tuple(-m / s for m, s in zip(mean, std)),
        pixels=(tuple(mean), tuple(std)),
    )


def load(data_dir: str = "", tfds_data_dir: str = "") -> Dataset:
    """CIFAR-10 from the original batches in ``data_dir``, else from a prepared TFDS ``tfds_data_dir``.

    A ``data_dir`` that holds a prepared TFDS ``cifar10/`` folder instead of the batches is read through tfds.
    """
    if data_dir:
        try:
            arrays = read_split_files(data_dir)
        except ConfigError:
            if not os.path.isdir(os.path.join(data_dir, "cifar10")):
                raise
            return from_arrays("cifar10", images.from_tfds("cifar10", data_dir, HOW_TO, FIELD))
        return from_arrays("cifar10", arrays)
    if tfds_data_dir:
        return from_arrays("cifar10", images.from_tfds("cifar10", tfds_data_dir, HOW_TO), "data.tfds_data_dir")
    raise ConfigError(FIELD, f"CIFAR-10 is not on this machine (data.data_dir is empty); {HOW_TO}")


# ---------------------------------------------------------------- CIFAR-100

MEAN_100 = (0.5071, 0.4865, 0.4409)  # CIFAR-100 training-set statistics, red, green, blue
STD_100 = (0.2673, 0.2564, 0.2762)
FOLDER_100 = "cifar-100-python"
# label kind → (its key in the pickles, in the meta file, in TFDS's cifar100 features; number of classes)
LABEL_KINDS = {"fine": ("fine_labels", "fine_label_names", "label", 100),
               "coarse": ("coarse_labels", "coarse_label_names", "coarse_label", 20)}
HOW_TO_100 = ("set data.data_dir to the extracted cifar-100-python folder (or the folder holding it) of CIFAR-100 "
              "from https://www.cs.toronto.edu/~kriz/cifar.html, or data.tfds_data_dir to a prepared TFDS data_dir "
              "with cifar100")


def find_cifar100(data_dir: str) -> str:
    """The folder holding CIFAR-100's ``train`` and ``test`` pickles: ``data_dir`` or its ``cifar-100-python``;
    a ConfigError naming what is missing otherwise."""
    if not os.path.isdir(data_dir):
        raise ConfigError(FIELD, f"{data_dir} is not a directory; {HOW_TO_100}")
    for folder in (data_dir, os.path.join(data_dir, FOLDER_100)):
        missing = [f for f in ("train", "test") if not os.path.isfile(os.path.join(folder, f))]
        if not missing:
            return folder
        if len(missing) == 1:
            raise ConfigError(FIELD, f"incomplete CIFAR-100 files: {folder} lacks {missing[0]}; {HOW_TO_100}")
    archives = glob.glob(os.path.join(glob.escape(data_dir), "cifar-100-*.tar.gz"))
    hint = f" ({os.path.basename(archives[0])} is there: extract it with tar xzf)" if archives else ""
    raise ConfigError(FIELD, f"no CIFAR-100 pickles (train, test) in {data_dir} or its {FOLDER_100} folder{hint}; "
                             f"{HOW_TO_100}")


def cifar100_names(folder: str, label_kind: str) -> list[str] | None:
    """The class names of ``label_kind`` from the folder's ``meta`` pickle (None when there is no meta);
    a ConfigError when it does not hold as many names as the kind has classes."""
    path = os.path.join(folder, "meta")
    if not os.path.isfile(path):
        return None
    _, key, _, n = LABEL_KINDS[label_kind]
    meta = _unpickle(path, "CIFAR-100 meta", HOW_TO_100)
    names = meta.get(key.encode(), meta.get(key)) if isinstance(meta, dict) else None
    if not isinstance(names, list) or len(names) != n:
        raise ConfigError(FIELD, f"{path} is not CIFAR-100's meta: expected b'{key}' with {n} names")
    return [v.decode() if isinstance(v, bytes) else str(v) for v in names]


def read_cifar100_files(data_dir: str, label_kind: str = "fine") -> dict[str, np.ndarray]:
    """``{train,test}_images`` [N, 32, 32, 3] uint8 and ``{train,test}_labels`` [N] uint8 (fine 0…99 or coarse
    0…19) from the ``train`` / ``test`` pickles (keys b'data', b'fine_labels', b'coarse_labels') under
    ``data_dir``; its ``meta`` (when there) must name as many classes."""
    folder = find_cifar100(data_dir)
    key, _, _, n = LABEL_KINDS[label_kind]
    cifar100_names(folder, label_kind)
    out = {}
    for split in ("train", "test"):
        out[f"{split}_images"], out[f"{split}_labels"] = read_pickle_batch(
            os.path.join(folder, split), key, n, "CIFAR-100", HOW_TO_100)
    return out


def load_cifar100(data_dir: str = "", tfds_data_dir: str = "", label_kind: str = "fine") -> Dataset:
    """CIFAR-100 with its fine (100) or coarse (20) labels from the original pickles in ``data_dir``, else
    from a prepared TFDS ``cifar100`` in ``tfds_data_dir`` (or in ``data_dir``, as for CIFAR-10)."""
    _, _, tfds_key, n = LABEL_KINDS[label_kind]
    make = functools.partial(from_arrays, "cifar100", num_classes=n, mean=MEAN_100, std=STD_100)
    if data_dir:
        try:
            return make(read_cifar100_files(data_dir, label_kind))
        except ConfigError:
            if not os.path.isdir(os.path.join(data_dir, "cifar100")):
                raise
            return make(images.from_tfds("cifar100", data_dir, HOW_TO_100, FIELD, tfds_key))
    if tfds_data_dir:
        return make(images.from_tfds("cifar100", tfds_data_dir, HOW_TO_100, label_key=tfds_key),
                    field="data.tfds_data_dir")
    raise ConfigError(FIELD, f"CIFAR-100 is not on this machine (data.data_dir is empty); {HOW_TO_100}")


# ---------------------------------------------------------------- synthetic stand-in (smoke runs only)

# One colour per class (RGB); blobs of these colours on a noisy grey background.
PALETTE = np.array([[230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48],
                    [145, 30, 180], [70, 240, 240], [240, 50, 230], [250, 190, 190], [0, 128, 128]], np.float32)


def synthetic_images(rng: np.random.Generator, labels: np.ndarray) -> np.ndarray:
    """SYNTHETIC images [n, 32, 32, 3] uint8: a soft blob of the label's colour (jittered ±20 per channel) of
    random centre and radius on a background of uniform grey noise."""
    n = len(labels)
    yy, xx = np.mgrid[0:32, 0:32].astype(np.float32)
    centre = rng.uniform(8, 24, (n, 2, 1, 1)).astype(np.float32)
    sigma = rng.uniform(3, 7, (n, 1, 1)).astype(np.float32)
    alpha = np.exp(-((yy - centre[:, 0]) ** 2 + (xx - centre[:, 1]) ** 2) / (2 * sigma ** 2))[..., None]
    colour = np.clip(PALETTE[labels] + rng.uniform(-20, 20, (n, 3)), 0, 255)[:, None, None, :]
    background = rng.uniform(40, 160, (n, 32, 32, 1)) + rng.uniform(-15, 15, (n, 32, 32, 3))
    return np.clip(np.rint(alpha * colour + (1 - alpha) * background), 0, 255).astype(np.uint8)


def binary_batch_bytes(images_nhwc: np.ndarray, labels: np.ndarray) -> bytes:
    """images [n, 32, 32, 3] uint8 and labels [n] → the bytes of a CIFAR-10 binary batch file."""
    pixels = np.asarray(images_nhwc, np.uint8).transpose(0, 3, 1, 2).reshape(len(labels), PIXELS)
    return np.concatenate([np.asarray(labels, np.uint8)[:, None], pixels], axis=1).tobytes()


def write_synthetic_cifar10(directory: str, train: int = 1000, test: int = 200, seed: int = 0) -> str:
    """Writes SYNTHETIC (not CIFAR-10) data in the real binary format, for smoke runs and tests.

    Creates ``directory/cifar-10-batches-bin/`` with ``data_batch_{1..5}.bin`` (the ``train`` images split as
    evenly as possible, so ``train`` ≥ 5) and ``test_batch.bin`` (``test`` images), balanced classes in random
    order, images of :func:`synthetic_images` (a net can learn the class from the blob's colour).
    Returns the folder written.
    """
    if train < 5 or test < 1:
        raise ValueError(f"synthetic CIFAR-10 needs ≥ 5 training images (5 batch files) and ≥ 1 test image, "
                         f"got {train} and {test}")
    rng = np.random.default_rng(seed)
    folder = os.path.join(directory, LAYOUTS["binary"][0])
    os.makedirs(folder, exist_ok=True)
    _, train_files, test_file = LAYOUTS["binary"]
    for files, n in ((train_files, train), ((test_file,), test)):
        labels = rng.permutation(np.arange(n) % NUM_CLASSES)
        pictures = synthetic_images(rng, labels)
        for name, part in zip(files, np.array_split(np.arange(n), len(files))):
            with open(os.path.join(folder, name), "wb") as f:
                f.write(binary_batch_bytes(pictures[part], labels[part]))
    return folder


def load_synthetic(train: int, test: int, seed: int) -> Dataset:
    """SYNTHETIC CIFAR-format data (named ``cifar10_synthetic``): written to a temporary directory by
    :func:`write_synthetic_cifar10` and read back through the real reader, then deleted."""
    with tempfile.TemporaryDirectory(prefix="lottery-cifar10-synthetic-") as d:
        write_synthetic_cifar10(d, train, test, seed)
        return from_arrays("cifar10_synthetic", read_split_files(d))
