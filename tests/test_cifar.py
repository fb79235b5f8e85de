"""CIFAR-10 readers, class subsets, the synthetic generator and on-device augmentation (docs/science.md §1.3).

The batch files are written here byte by byte in the real formats: binary records of one label
byte then the red, green and blue 32×32 planes; pickled dicts with b"data" [n, 3072] uint8 and
b"labels". Pixel values encode (image, row, column, channel), so a transposed or channel-swapped
reader fails.
"""
from __future__ import annotations

import os
import pickle
import time

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from lottery import api, configs, studies
from lottery.data import augment, cifar, catalog as registry
from lottery.data.dataset import first_classes
from lottery.core.errors import ConfigError

from helpers import block_network

# The normalisation the reader promises (its docstring): CIFAR-10 training-set mean and std per channel.
MEAN = np.array([0.4914, 0.4822, 0.4465])
STD = np.array([0.2470, 0.2435, 0.2616])
TRAIN_SIZES = (2, 1, 3, 1, 2)  # images in data_batch_1 … data_batch_5
TEST_SIZE = 3
LABELS = np.array([0, 3, 1, 7, 2, 9, 4, 1, 8] + [1, 9, 0], np.uint8)  # training batches 1…5 in order, then test


def pictures(n: int, offset: int) -> np.ndarray:
    """[n, 32, 32, 3] uint8 whose value depends on image, row, column and channel asymmetrically."""
    i, y, x, c = np.meshgrid(np.arange(n) + offset, np.arange(32), np.arange(32), np.arange(3), indexing="ij")
    return ((i * 37 + y * 7 + x * 3 + c * 101) % 256).astype(np.uint8)


def record(label: int, image: np.ndarray) -> bytes:
    """One binary record, assembled plane by plane (red rows, then green, then blue)."""
    out = bytearray([label])
    for channel in range(3):
        for row in range(32):
            out += bytes(int(v) for v in image[row, :, channel])
    return bytes(out)


def pixel_rows(images: np.ndarray) -> np.ndarray:
    """[n, 32, 32, 3] → [n, 3072] in the files' channel-major order, one record at a time."""
    return np.stack([np.frombuffer(record(0, im)[1:], np.uint8) for im in images])


def splits():
    """Known images and labels: five training batches and a test batch."""
    parts, offset = [], 0
    for n in TRAIN_SIZES + (TEST_SIZE,):
        parts.append((pictures(n, offset), LABELS[offset:offset + n]))
        offset += n
    return parts


def write_binary(folder, parts=None) -> dict:
    parts = parts or splits()
    os.makedirs(folder, exist_ok=True)
    names = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
    for name, (images, labels) in zip(names, parts):
        with open(os.path.join(folder, name), "wb") as f:
            f.write(b"".join(record(int(l), im) for im, l in zip(images, labels)))
    return expected(parts)


def write_pickle(folder, parts=None) -> dict:
    parts = parts or splits()
    os.makedirs(folder, exist_ok=True)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name, (images, labels) in zip(names, parts):
        batch = {b"batch_label": name.encode(), b"labels": [int(l) for l in labels],
                 b"data": pixel_rows(images), b"filenames": [b"x.png"] * len(labels)}
        with open(os.path.join(folder, name), "wb") as f:
            pickle.dump(batch, f, protocol=2)
    return expected(parts)


def expected(parts) -> dict:
    return {"train_images": np.concatenate([p[0] for p in parts[:5]]),
            "train_labels": np.concatenate([p[1] for p in parts[:5]]),
            "test_images": parts[5][0], "test_labels": parts[5][1]}


def unnormalise(x) -> np.ndarray:
    return (np.asarray(x, np.float64) * STD + MEAN) * 255.0


def check(ds, arrays):
    assert ds.x_train.shape == (sum(TRAIN_SIZES), 32, 32, 3) and ds.x_test.shape == (TEST_SIZE, 32, 32, 3)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int32 and ds.num_classes == 10
    for split in ("train", "test"):
        pixels = unnormalise(getattr(ds, f"x_{split}"))
        np.testing.assert_allclose(pixels, arrays[f"{split}_images"], atol=1e-3)
        np.testing.assert_array_equal(np.asarray(getattr(ds, f"y_{split}")), arrays[f"{split}_labels"])


def data_cfg(**overrides):
    c = configs.base().data
    c.name = "cifar10"
    c.update(overrides)
    return c


def config_error(field: str, **overrides) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        registry.load(data_cfg(**overrides))
    assert info.value.field == field
    assert "\n" not in str(info.value)
    return info.value


# ---------------------------------------------------------------- readers

@pytest.mark.parametrize("parent", [False, True], ids=["folder", "parent"])
@pytest.mark.parametrize("fmt", ["binary", "pickle"])
def test_reader_exact_pixels_labels_and_split(tmp_path, fmt, parent):
    folder = tmp_path / ("cifar-10-batches-bin" if fmt == "binary" else "cifar-10-batches-py")
    arrays = (write_binary if fmt == "binary" else write_pickle)(folder)
    ds = registry.load(data_cfg(data_dir=str(tmp_path if parent else folder)))
    assert ds.name == "cifar10"
    check(ds, arrays)


def test_normalisation_numbers(tmp_path):
    """A black and a white image give -mean/std and (1-mean)/std per channel."""
    parts = splits()
    images = parts[0][0].copy()
    images[0], images[1] = 0, 255
    parts[0] = (images, parts[0][1])
    write_binary(tmp_path, parts)
    x = np.asarray(registry.load(data_cfg(data_dir=str(tmp_path))).x_train)
    np.testing.assert_allclose(x[0], np.broadcast_to(-MEAN / STD, (32, 32, 3)), rtol=1e-5)
    np.testing.assert_allclose(x[1], np.broadcast_to((1 - MEAN) / STD, (32, 32, 3)), rtol=1e-5)
    np.testing.assert_allclose(cifar.BLACK, -MEAN / STD, rtol=1e-6)


def test_binary_record_layout_by_hand(tmp_path):
    """One record: label 7, red plane all 1, green 2, blue 3 except pixel (row 0, column 1) of blue = 200."""
    plane = lambda v: bytes([v] * 1024)
    blue = bytearray(plane(3))
    blue[1] = 200
    path = tmp_path / "one.bin"
    path.write_bytes(bytes([7]) + plane(1) + plane(2) + bytes(blue))
    images, labels = cifar.read_binary_batch(str(path))
    assert images.shape == (1, 32, 32, 3) and labels.tolist() == [7]
    assert images[0, 5, 5].tolist() == [1, 2, 3] and images[0, 0, 1, 2] == 200 and images[0, 1, 0, 2] == 3


@pytest.mark.parametrize("cut", [1, cifar.RECORD - 1, cifar.RECORD + 5])
def test_truncated_binary_file(tmp_path, cut):
    write_binary(tmp_path)
    path = tmp_path / "data_batch_3.bin"
    raw = path.read_bytes()
    path.write_bytes(raw[:-cut])
    err = config_error("data.data_dir", data_dir=str(tmp_path))
    assert "data_batch_3.bin" in str(err) and "truncated" in str(err)


def test_pickle_written_by_python3_with_str_keys(tmp_path):
    """A batch re-saved by Python 3 (str keys, newest protocol, labels as an array) reads the same."""
    arrays = write_pickle(tmp_path)
    with open(tmp_path / "test_batch", "wb") as f:
        pickle.dump({"data": pixel_rows(arrays["test_images"]), "labels": arrays["test_labels"].astype(np.int64)}, f,
                    protocol=pickle.HIGHEST_PROTOCOL)
    check(registry.load(data_cfg(data_dir=str(tmp_path))), arrays)


def test_truncated_pickle_file(tmp_path):
    write_pickle(tmp_path)
    path = tmp_path / "test_batch"
    path.write_bytes(path.read_bytes()[:-100])
    err = config_error("data.data_dir", data_dir=str(tmp_path))
    assert "test_batch" in str(err) and "truncated" in str(err)


def test_pickle_that_would_run_code_is_refused(tmp_path):
    write_pickle(tmp_path)

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    with open(tmp_path / "data_batch_2", "wb") as f:
        pickle.dump({b"data": Evil(), b"labels": [0]}, f)
    err = config_error("data.data_dir", data_dir=str(tmp_path))
    assert "data_batch_2" in str(err) and "refusing" in str(err)


def test_pickle_with_wrong_content(tmp_path):
    write_pickle(tmp_path)
    with open(tmp_path / "data_batch_1", "wb") as f:
        pickle.dump({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}, f)
    assert "data_batch_1" in str(config_error("data.data_dir", data_dir=str(tmp_path)))


def test_label_out_of_range(tmp_path):
    parts = splits()
    parts[5] = (parts[5][0], np.array([0, 10, 1], np.uint8))
    write_binary(tmp_path, parts)
    assert "0..9" in str(config_error("data.data_dir", data_dir=str(tmp_path)))


def test_missing_directory(tmp_path):
    err = config_error("data.data_dir", data_dir=str(tmp_path / "nope"))
    assert "not a directory" in str(err) and "cifar-10-batches-bin" in str(err)


def test_empty_directory(tmp_path):
    err = config_error("data.data_dir", data_dir=str(tmp_path))
    assert "no CIFAR-10 batches" in str(err) and "data.tfds_data_dir" in str(err)


def test_archive_not_extracted(tmp_path):
    (tmp_path / "cifar-10-binary.tar.gz").write_bytes(b"\x1f\x8b")
    assert "extract it" in str(config_error("data.data_dir", data_dir=str(tmp_path)))


@pytest.mark.parametrize("drop", ["data_batch_4.bin", "test_batch.bin"])
def test_directory_missing_one_file(tmp_path, drop):
    folder = tmp_path / "cifar-10-batches-bin"
    write_binary(folder)
    os.remove(folder / drop)
    err = config_error("data.data_dir", data_dir=str(tmp_path))
    assert f"lacks {drop}" in str(err)


def test_no_source_at_all():
    assert "data.data_dir is empty" in str(config_error("data.data_dir"))


def test_tfds_dir_without_data_fails_fast_and_offline(tmp_path, monkeypatch):
    """A TFDS data_dir without a prepared cifar10 is a ConfigError naming it; nothing is downloaded."""
    attempts = block_network(monkeypatch)
    t0 = time.monotonic()
    err = config_error("data.tfds_data_dir", tfds_data_dir=str(tmp_path))
    assert "'cifar10'" in str(err)
    # a data_dir holding an (empty) TFDS cifar10/ folder instead of the batches is read through tfds too
    (tmp_path / "cifar10").mkdir()
    assert "'cifar10'" in str(config_error("data.data_dir", data_dir=str(tmp_path)))
    assert time.monotonic() - t0 < 20
    assert not attempts, f"tried to open network connections: {attempts}"
    assert not any(files for _, _, files in os.walk(tmp_path))


# ---------------------------------------------------------------- class subsets

@pytest.mark.parametrize("k", [2, 3, 7])
def test_first_k_classes(tmp_path, k):
    arrays = write_binary(tmp_path)
    ds = registry.load(data_cfg(data_dir=str(tmp_path), classes=k))
    assert ds.num_classes == k and ds.name == f"cifar10_k{k}"
    for split in ("train", "test"):
        keep = arrays[f"{split}_labels"] < k  # the first k classes, in file order, labels unchanged
        np.testing.assert_array_equal(np.asarray(getattr(ds, f"y_{split}")), arrays[f"{split}_labels"][keep])
        np.testing.assert_allclose(unnormalise(getattr(ds, f"x_{split}")), arrays[f"{split}_images"][keep], atol=1e-3)
        assert np.asarray(getattr(ds, f"y_{split}")).max() < k


def test_all_classes_when_zero_or_ten(tmp_path):
    write_binary(tmp_path)
    full = registry.load(data_cfg(data_dir=str(tmp_path)))
    assert first_classes(full, 0) is full and first_classes(full, 10) is full


@pytest.mark.parametrize("value", [1, 11, -2, 2.5, True, "5"])
def test_classes_validation(value):
    c = studies.defaults("imp")
    c.data = ml_collections.ConfigDict({**c.data.to_dict(), "name": "cifar10", "classes": value})  # any type
    with pytest.raises(ConfigError) as info:
        api.check(c)
    assert info.value.field == "data.classes"


def test_classes_valid_values_and_gmm():
    c = studies.defaults("imp")
    c.data.name = "cifar10"
    for k in (0, 2, 5, 10):
        c.data.classes = k
        api.check(c)
    c.data.name = "gmm_linear"
    with pytest.raises(ConfigError) as info:
        api.check(c)
    assert info.value.field == "data.classes"


# ---------------------------------------------------------------- synthetic generator

def read_records(path) -> tuple[np.ndarray, np.ndarray]:
    """The binary format read independently: [n, 3073] records → labels, NHWC images."""
    raw = np.frombuffer(open(path, "rb").read(), np.uint8).reshape(-1, 3073)
    images = np.stack([np.stack([r[1 + 1024 * ch:1 + 1024 * (ch + 1)].reshape(32, 32) for ch in range(3)], -1) for r in raw])
    return raw[:, 0], images


def test_synthetic_files_roundtrip(tmp_path):
    folder = cifar.write_synthetic_cifar10(str(tmp_path), train=23, test=7, seed=3)
    assert folder == str(tmp_path / "cifar-10-batches-bin")
    sizes = [os.path.getsize(os.path.join(folder, f"data_batch_{i}.bin")) // 3073 for i in range(1, 6)]
    assert sizes == [5, 5, 5, 4, 4] and os.path.getsize(os.path.join(folder, "test_batch.bin")) == 7 * 3073
    ds = registry.load(data_cfg(data_dir=str(tmp_path)))
    labels, images = zip(*(read_records(os.path.join(folder, f"data_batch_{i}.bin")) for i in range(1, 6)))
    np.testing.assert_array_equal(np.asarray(ds.y_train), np.concatenate(labels))
    np.testing.assert_allclose(unnormalise(ds.x_train), np.concatenate(images), atol=1e-3)
    assert np.bincount(np.asarray(ds.y_train), minlength=10).tolist() == [3, 3, 3, 2, 2, 2, 2, 2, 2, 2]
    # the same seed writes the same bytes; another seed does not
    again = cifar.write_synthetic_cifar10(str(tmp_path / "again"), train=23, test=7, seed=3)
    other = cifar.write_synthetic_cifar10(str(tmp_path / "other"), train=23, test=7, seed=4)
    same = open(os.path.join(folder, "test_batch.bin"), "rb").read()
    assert open(os.path.join(again, "test_batch.bin"), "rb").read() == same
    assert open(os.path.join(other, "test_batch.bin"), "rb").read() != same


def test_synthetic_blob_carries_the_class_colour(tmp_path):
    """The most coloured pixel of most images is nearest its class's palette colour."""
    folder = cifar.write_synthetic_cifar10(str(tmp_path), train=50, test=10, seed=0)
    labels, images = read_records(os.path.join(folder, "test_batch.bin"))
    pixels = images.astype(np.float64).reshape(len(labels), -1, 3)
    # the pixel farthest from grey is inside the blob
    most_coloured = (pixels.max(-1) - pixels.min(-1)).argmax(1)
    picked = pixels[np.arange(len(labels)), most_coloured]
    nearest = np.argmin(((picked[:, None, :] - cifar.PALETTE[None]) ** 2).sum(-1), axis=1)
    assert (nearest == labels).mean() >= 0.8


def test_synthetic_data_name(tmp_path):
    ds = registry.load(data_cfg(name="cifar10_synthetic", train_size=20, test_size=10, seed=1, classes=4))
    assert ds.name == "cifar10_synthetic_k4" and ds.num_classes == 4
    assert ds.x_train.shape[1:] == (32, 32, 3) and np.asarray(ds.y_train).max() < 4
    whole = registry.load(data_cfg(name="cifar10_synthetic", train_size=20, test_size=10, seed=1))
    assert whole.name == "cifar10_synthetic" and whole.train_size == 20 and whole.x_test.shape[0] == 10
    c = studies.defaults("imp")
    c.data.name, c.data.train_size = "cifar10_synthetic", 4
    with pytest.raises(ConfigError) as info:
        api.check(c)
    assert info.value.field == "data.train_size"


# ---------------------------------------------------------------- augmentation

def batch(n=6, h=8, w=10, c=3, seed=0):
    return np.random.default_rng(seed).standard_normal((n, h, w, c)).astype(np.float32)


def numpy_augment(images, offsets, flips, pad, fill=0.0):
    fill = np.broadcast_to(np.asarray(fill, np.float32), (images.shape[-1],))
    n, h, w, c = images.shape
    out = []
    for im, (dy, dx), f in zip(images, offsets, flips):
        padded = np.empty((h + 2 * pad, w + 2 * pad, c), np.float32)
        padded[:] = fill
        padded[pad:pad + h, pad:pad + w] = im
        crop = padded[dy:dy + h, dx:dx + w]
        out.append(np.flip(crop, axis=1) if f else crop)
    return np.stack(out)


@pytest.mark.parametrize("pad,fill", [(4, 0.0), (2, (1.5, -2.0, 7.0))])
def test_augment_equals_numpy_pad_slice_flip(pad, fill):
    x = batch()
    key = jax.random.PRNGKey(5)
    offsets, flips = augment.draw(key, len(x), pad)
    offsets, flips = np.asarray(offsets), np.asarray(flips)
    assert offsets.shape == (len(x), 2) and flips.shape == (len(x),)
    assert offsets.min() >= 0 and offsets.max() <= 2 * pad
    out = np.asarray(jax.jit(augment.augment, static_argnums=2)(key, x, pad, jnp.asarray(fill)))
    assert out.shape == x.shape and out.dtype == x.dtype
    np.testing.assert_array_equal(out, numpy_augment(x, offsets, flips, pad, fill))


def test_apply_crop_and_flip_cases():
    x = batch(n=3)
    offsets = np.array([[4, 4], [0, 8], [4, 4]])
    out = np.asarray(augment.apply(x, offsets, np.array([False, False, True])))
    np.testing.assert_array_equal(out[0], x[0])  # centred, no flip: unchanged
    np.testing.assert_array_equal(out[2], np.flip(x[2], axis=1))  # centred + flip = np.flip
    # window at padded (0, 8) of a 16 × 18 padded image: the image moves 4 down and 4 left
    np.testing.assert_array_equal(out[1, 4:, :6], x[1, :4, 4:])
    assert (out[1, :4] == 0).all() and (out[1, :, 6:] == 0).all()


def test_augment_determinism_and_key_dependence():
    x = batch(n=16, h=32, w=32)
    a = np.asarray(augment.augment(jax.random.PRNGKey(0), x))
    b = np.asarray(augment.augment(jax.random.PRNGKey(0), x))
    c = np.asarray(augment.augment(jax.random.PRNGKey(1), x))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    o0, f0 = map(np.asarray, augment.draw(jax.random.PRNGKey(0), 16))
    o1, f1 = map(np.asarray, augment.draw(jax.random.PRNGKey(1), 16))
    assert not np.array_equal(o0, o1) and not np.array_equal(f0, f1)
    assert 0 < f0.sum() < 16 and len({tuple(o) for o in o0}) > 4  # both flips and many crops within a batch


def test_augment_vmaps_over_models():
    """Each model of a population augments from its own key: vmap equals per-model calls, models differ."""
    keys = jax.random.split(jax.random.PRNGKey(2), 4)
    shared = batch(n=5)
    per_model = np.stack([batch(n=5, seed=s) for s in range(4)])
    out_shared = np.asarray(jax.jit(jax.vmap(augment.augment, in_axes=(0, None)))(keys, shared))
    out_own = np.asarray(jax.vmap(augment.augment)(keys, per_model))
    assert out_shared.shape == (4, 5, 8, 10, 3) and out_own.shape == (4, 5, 8, 10, 3)
    for m in range(4):
        np.testing.assert_array_equal(out_shared[m], np.asarray(augment.augment(keys[m], shared)))
        np.testing.assert_array_equal(out_own[m], np.asarray(augment.augment(keys[m], per_model[m])))
    assert len({out_shared[m].tobytes() for m in range(4)}) == 4


# ---------------------------------------------------------------- CIFAR-100

FINE = np.array([0, 99, 42, 7, 63, 18, 5], np.uint8)  # 5 training images, then 2 test images
COARSE = FINE % 20


def write_cifar100(folder, meta: bool = True) -> dict:
    """The cifar-100-python layout: pickled train / test dicts (protocol 2, bytes keys, as distributed) with
    b'data', b'fine_labels', b'coarse_labels', and a meta pickle with the label names."""
    os.makedirs(folder, exist_ok=True)
    images = pictures(len(FINE), 11)
    out = {}
    for split, idx in (("train", slice(0, 5)), ("test", slice(5, 7))):
        batch = {b"filenames": [b"x.png"] * len(FINE[idx]), b"batch_label": split.encode(),
                 b"fine_labels": [int(v) for v in FINE[idx]], b"coarse_labels": [int(v) for v in COARSE[idx]],
                 b"data": pixel_rows(images[idx])}
        with open(os.path.join(folder, split), "wb") as f:
            pickle.dump(batch, f, protocol=2)
        out[split] = (images[idx], FINE[idx], COARSE[idx])
    if meta:
        with open(os.path.join(folder, "meta"), "wb") as f:
            pickle.dump({b"fine_label_names": [f"fine{k}".encode() for k in range(100)],
                         b"coarse_label_names": [f"coarse{k}".encode() for k in range(20)]}, f, protocol=2)
    return out


@pytest.mark.parametrize("parent", [False, True], ids=["folder", "parent"])
@pytest.mark.parametrize("kind", ["fine", "coarse"])
def test_cifar100_pickles_fine_or_coarse_labels(tmp_path, kind, parent):
    folder = tmp_path / "cifar-100-python"
    written = write_cifar100(folder)
    ds = registry.load(data_cfg(name="cifar100", label_kind=kind, data_dir=str(tmp_path if parent else folder)))
    assert ds.name == "cifar100" and ds.num_classes == (100 if kind == "fine" else 20)
    mean, std = np.array([0.5071, 0.4865, 0.4409]), np.array([0.2673, 0.2564, 0.2762])  # CIFAR-100's statistics
    for split in ("train", "test"):
        images, fine, coarse = written[split]
        pixels = (np.asarray(getattr(ds, f"x_{split}"), np.float64) * std + mean) * 255.0
        np.testing.assert_allclose(pixels, images, atol=1e-3)
        np.testing.assert_array_equal(np.asarray(getattr(ds, f"y_{split}")), fine if kind == "fine" else coarse)
    assert cifar.cifar100_names(str(folder), kind)[3] == f"{kind}3"
    np.testing.assert_allclose(ds.black, -mean / std, rtol=1e-6)


def test_cifar100_errors_are_one_line(tmp_path):
    assert "no CIFAR-100 pickles" in str(config_error("data.data_dir", name="cifar100", data_dir=str(tmp_path)))
    folder = tmp_path / "cifar-100-python"
    write_cifar100(folder, meta=False)  # meta is optional
    assert registry.load(data_cfg(name="cifar100", data_dir=str(folder))).num_classes == 100
    os.remove(folder / "test")
    assert "lacks test" in str(config_error("data.data_dir", name="cifar100", data_dir=str(folder)))
    write_cifar100(folder)
    with open(folder / "meta", "wb") as f:
        pickle.dump({b"fine_label_names": [b"a"] * 10}, f, protocol=2)
    assert "meta" in str(config_error("data.data_dir", name="cifar100", data_dir=str(folder)))
    write_cifar100(folder)
    with open(folder / "train", "wb") as f:  # CIFAR-10's keys: no fine_labels
        pickle.dump({b"data": pixel_rows(pictures(2, 0)), b"labels": [0, 1]}, f, protocol=2)
    assert "b'fine_labels'" in str(config_error("data.data_dir", name="cifar100", data_dir=str(folder)))
    with open(folder / "train", "wb") as f:
        pickle.dump({b"data": pixel_rows(pictures(2, 0)), b"fine_labels": [0, 100]}, f, protocol=2)
    assert "outside 0..99" in str(config_error("data.data_dir", name="cifar100", data_dir=str(folder)))


def test_cifar100_tfds_features_and_missing_data(tmp_path, monkeypatch):
    """A prepared TFDS cifar100 is read through tfds.data_source: `label` (fine) or `coarse_label`; an
    empty TFDS dir is a one-line ConfigError naming cifar100, with no network."""
    import tensorflow_datasets as tfds

    attempts = block_network(monkeypatch)
    assert "'cifar100'" in str(config_error("data.tfds_data_dir", name="cifar100", tfds_data_dir=str(tmp_path)))
    assert not attempts
    images = pictures(4, 3)
    items = [{"image": images[i], "label": int(FINE[i]), "coarse_label": int(COARSE[i])} for i in range(4)]
    calls = []

    def source(name, split, data_dir, download):
        calls.append((name, split, data_dir, download))
        return items
    monkeypatch.setattr(tfds, "data_source", source)
    for kind, want in (("fine", FINE[:4]), ("coarse", COARSE[:4])):
        ds = registry.load(data_cfg(name="cifar100", label_kind=kind, tfds_data_dir=str(tmp_path)))
        np.testing.assert_array_equal(np.asarray(ds.y_test), want)
    assert {c[0] for c in calls} == {"cifar100"} and not any(c[3] for c in calls)


@pytest.mark.parametrize("overrides,needle", [
    ({"label_kind": "superclass"}, "must be 'fine' or 'coarse'"),
    ({"name": "cifar10", "label_kind": "coarse"}, "coarse labels are cifar100's"),
])
def test_label_kind_is_validated_in_one_line(overrides, needle):
    from lottery import validate

    c = studies.defaults("imp")
    c.data.name = "cifar100"
    c.data.update(overrides)
    with pytest.raises(ConfigError, match=needle) as info:
        validate.common(c)
    assert info.value.field == "data.label_kind" and "\n" not in str(info.value)


def test_label_kind_at_its_default_keeps_run_ids():
    """data.label_kind came after runs were made: 'fine' leaves the run id as it was; 'coarse' changes it."""
    c = studies.defaults("imp").to_dict()
    before = {**c, "data": {k: v for k, v in c["data"].items() if k != "label_kind"}}
    assert api.run_id(c) == api.run_id(before)
    assert api.run_id({**c, "data": {**c["data"], "label_kind": "coarse"}}) != api.run_id(c)
