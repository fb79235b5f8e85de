"""IDX reader and MNIST-format image loading (docs/science.md §1.3).

The IDX files are written here byte by byte in the real format (two zero bytes, dtype
code, ndim, big-endian uint32 dims, big-endian data), raw and gzip-compressed.
"""
from __future__ import annotations

import gzip
import os
import struct
import time

import numpy as np
import pytest

from lottery.data import idx, images
from lottery.core.errors import ConfigError

from helpers import block_network

# IDX dtype codes and the big-endian numpy dtype of their payload (from the format's definition)
CODES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def idx_bytes(arr: np.ndarray, code: int) -> bytes:
    arr = np.asarray(arr)
    header = struct.pack(">BBBB", 0, 0, code, arr.ndim)
    header += b"".join(struct.pack(">I", d) for d in arr.shape)
    return header + arr.astype(CODES[code]).tobytes(order="C")


def write_idx(path, arr: np.ndarray, code: int = 0x08, gz: bool = False) -> str:
    data = idx_bytes(arr, code)
    with open(path, "wb") as f:
        f.write(gzip.compress(data) if gz else data)
    return str(path)


# ---------------------------------------------------------------- read_idx round trips

def _arrays():
    rng = np.random.default_rng(0)
    return [
        (0x08, rng.integers(0, 256, (3, 5, 4)).astype(np.uint8)),
        (0x08, rng.integers(0, 256, (7,)).astype(np.uint8)),
        (0x09, rng.integers(-128, 128, (4, 3)).astype(np.int8)),
        (0x0B, rng.integers(-30000, 30000, (2, 3, 2)).astype(np.int16)),
        (0x0C, np.array([[0, 1, -1, 2**31 - 1], [-2**31, 258, -65536, 123456789]], np.int32)),
        (0x0D, rng.standard_normal((3, 2)).astype(np.float32)),
        (0x0E, rng.standard_normal((5,)).astype(np.float64)),
    ]


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gzip"])
@pytest.mark.parametrize("case", range(len(_arrays())))
def test_read_idx_roundtrip(tmp_path, case, gz):
    code, arr = _arrays()[case]
    path = write_idx(tmp_path / f"a{case}.idx", arr, code, gz)
    out = idx.read_idx(path)
    assert out.shape == arr.shape
    assert out.dtype.kind == arr.dtype.kind and out.dtype.itemsize == arr.dtype.itemsize
    np.testing.assert_array_equal(out, arr)
    # values are usable as native numbers (e.g. arithmetic gives the right answer)
    np.testing.assert_array_equal(out.astype(np.float64), arr.astype(np.float64))


def test_read_idx_int32_bytes_are_big_endian(tmp_path):
    """The value 258 = 0x00000102 stored as bytes 00 00 01 02 must read as 258."""
    raw = struct.pack(">BBBB", 0, 0, 0x0C, 1) + struct.pack(">I", 2) + bytes([0, 0, 1, 2, 0xFF, 0xFF, 0xFF, 0xFE])
    p = tmp_path / "i32"
    p.write_bytes(raw)
    np.testing.assert_array_equal(idx.read_idx(str(p)), [258, -2])


def test_gzip_detected_by_content_not_name(tmp_path):
    arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    a = write_idx(tmp_path / "compressed-without-suffix", arr, gz=True)
    b = write_idx(tmp_path / "raw-with-suffix.gz", arr, gz=False)
    np.testing.assert_array_equal(idx.read_idx(a), arr)
    np.testing.assert_array_equal(idx.read_idx(b), arr)


def test_empty_dimension(tmp_path):
    arr = np.zeros((0, 28, 28), np.uint8)
    np.testing.assert_array_equal(idx.read_idx(write_idx(tmp_path / "empty", arr)), arr)


# ---------------------------------------------------------------- corrupt files

def _assert_idx_error(path: str):
    with pytest.raises(idx.IdxError) as err:
        idx.read_idx(path)
    assert path in str(err.value)
    return err.value


@pytest.mark.parametrize("cut", [1, 7, 100])
def test_truncated_raw(tmp_path, cut):
    data = idx_bytes(np.arange(300, dtype=np.int32).reshape(10, 30) % 256, 0x08)
    p = tmp_path / "trunc.idx"
    p.write_bytes(data[:-cut])
    _assert_idx_error(str(p))


def test_truncated_header(tmp_path):
    data = idx_bytes(np.zeros((2, 3, 4), np.uint8), 0x08)
    p = tmp_path / "header"
    p.write_bytes(data[:9])  # magic plus part of the dimensions
    _assert_idx_error(str(p))
    p.write_bytes(data[:2])
    _assert_idx_error(str(p))
    p.write_bytes(b"")
    _assert_idx_error(str(p))


def test_padded_file(tmp_path):
    p = tmp_path / "padded"
    p.write_bytes(idx_bytes(np.zeros((2, 3), np.uint8), 0x08) + b"\x00")
    _assert_idx_error(str(p))


def test_truncated_gzip(tmp_path):
    rng = np.random.default_rng(1)
    comp = gzip.compress(idx_bytes(rng.integers(0, 256, (20, 28, 28)).astype(np.uint8), 0x08))
    p = tmp_path / "trunc.gz"
    p.write_bytes(comp[: len(comp) // 2])
    _assert_idx_error(str(p))
    p.write_bytes(comp[:-4])  # only the trailer's size field missing
    _assert_idx_error(str(p))


def test_gzip_of_truncated_idx(tmp_path):
    data = idx_bytes(np.zeros((4, 5), np.uint8), 0x08)
    p = tmp_path / "short.gz"
    p.write_bytes(gzip.compress(data[:-3]))
    _assert_idx_error(str(p))


@pytest.mark.parametrize("magic", [b"\x01\x00\x08\x01", b"\x00\x01\x08\x01", b"\x00\x00\x07\x01", b"\x00\x00\x0A\x01"])
def test_bad_magic(tmp_path, magic):
    p = tmp_path / "bad"
    p.write_bytes(magic + struct.pack(">I", 3) + b"\x01\x02\x03")
    _assert_idx_error(str(p))


def test_not_idx_text_file(tmp_path):
    p = tmp_path / "readme.txt"
    p.write_text("this is not an IDX file\n")
    _assert_idx_error(str(p))


def test_missing_file(tmp_path):
    _assert_idx_error(str(tmp_path / "does-not-exist"))


# ---------------------------------------------------------------- MNIST directory

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


def _mnist_dir(root, n_train=6, n_test=4, seed=0, layout=None):
    """The four files, mixing gzip and raw, tiny sizes."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, 28, 28)).astype(np.uint8),
        "train_labels": rng.integers(0, 10, n_train).astype(np.uint8),
        "test_images": rng.integers(0, 256, (n_test, 28, 28)).astype(np.uint8),
        "test_labels": rng.integers(0, 10, n_test).astype(np.uint8),
    }
    arrays["train_images"][0] = 0
    arrays["train_images"][1] = 255
    layout = layout or {
        "train_images": ("train-images-idx3-ubyte.gz", True),
        "train_labels": ("train-labels-idx1-ubyte.gz", True),
        "test_images": ("t10k-images-idx3-ubyte", False),
        "test_labels": ("t10k-labels-idx1-ubyte", False),
    }
    os.makedirs(root, exist_ok=True)
    for part, (name, gz) in layout.items():
        write_idx(os.path.join(root, name), arrays[part], 0x08, gz)
    return arrays


def _check_mnist(ds, arrays):
    assert ds.x_train.shape == (len(arrays["train_labels"]), 28, 28, 1)
    assert ds.x_test.shape == (len(arrays["test_labels"]), 28, 28, 1)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int32
    assert ds.num_classes == 10
    for split in ("train", "test"):
        x = np.asarray(getattr(ds, f"x_{split}"), np.float64)[..., 0]
        pixels = (x * MNIST_STD + MNIST_MEAN) * 255.0
        np.testing.assert_allclose(pixels, arrays[f"{split}_images"].astype(np.float64), atol=1e-3)
        np.testing.assert_array_equal(np.asarray(getattr(ds, f"y_{split}")), arrays[f"{split}_labels"])
    # the normalisation itself: pixel 0 → -mean/std, pixel 255 → (1-mean)/std
    x0 = np.asarray(ds.x_train)
    np.testing.assert_allclose(x0[0], -MNIST_MEAN / MNIST_STD, rtol=1e-5)
    np.testing.assert_allclose(x0[1], (1 - MNIST_MEAN) / MNIST_STD, rtol=1e-5)


def test_mnist_from_directory(tmp_path):
    arrays = _mnist_dir(tmp_path / "mnist")
    ds = images.load("mnist", data_dir=str(tmp_path / "mnist"))
    assert ds.posterior is None
    _check_mnist(ds, arrays)


def test_mnist_alternative_file_names(tmp_path):
    """The names some mirrors use (train-images.idx3-ubyte), the other gz/raw mix."""
    layout = {
        "train_images": ("train-images.idx3-ubyte", False),
        "train_labels": ("train-labels.idx1-ubyte", False),
        "test_images": ("t10k-images-idx3-ubyte.gz", True),
        "test_labels": ("t10k-labels.idx1-ubyte.gz", True),
    }
    arrays = _mnist_dir(tmp_path / "alt", seed=1, layout=layout)
    _check_mnist(images.load("mnist", data_dir=str(tmp_path / "alt")), arrays)


def _config_error(field: str, **kwargs) -> ConfigError:
    with pytest.raises(ConfigError) as err:
        images.load("mnist", **kwargs)
    assert err.value.field == field
    return err.value


def test_missing_directory(tmp_path):
    missing = str(tmp_path / "nowhere")
    e = _config_error("data.data_dir", data_dir=missing)
    assert missing in str(e)


def test_empty_directory(tmp_path):
    _config_error("data.data_dir", data_dir=str(tmp_path))


@pytest.mark.parametrize("drop", ["train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte"])
def test_directory_missing_one_file(tmp_path, drop):
    _mnist_dir(tmp_path)
    os.remove(tmp_path / drop)
    _config_error("data.data_dir", data_dir=str(tmp_path))


def test_directory_with_truncated_file(tmp_path):
    _mnist_dir(tmp_path)
    p = tmp_path / "t10k-images-idx3-ubyte"
    p.write_bytes(p.read_bytes()[:-10])
    e = _config_error("data.data_dir", data_dir=str(tmp_path))
    assert str(p) in str(e)


def test_directory_with_mismatched_counts(tmp_path):
    _mnist_dir(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(5, np.uint8), gz=True)  # 6 images
    _config_error("data.data_dir", data_dir=str(tmp_path))


def test_mnist_without_any_source():
    """No data_dir, no tfds_data_dir and no default location for MNIST."""
    _config_error("data.data_dir")


def test_tfds_dir_without_data_fails_fast_and_offline(tmp_path, monkeypatch):
    """An empty TFDS data_dir is a ConfigError; nothing is downloaded (network blocked here)."""
    attempts = block_network(monkeypatch)
    t0 = time.monotonic()
    _config_error("data.tfds_data_dir", tfds_data_dir=str(tmp_path))
    assert time.monotonic() - t0 < 20
    assert not attempts, f"tried to open network connections: {attempts}"
    # nothing was written into the directory either
    assert not any(files for _, _, files in os.walk(tmp_path))


# ---------------------------------------------------------------- Fashion-MNIST on this machine

FASHION = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"


@pytest.mark.skipif(not os.path.exists(FASHION), reason="dataset-fashion-mnist is not installed")
def test_fashion_mnist_autodetected():
    ds = images.load("fashion_mnist")
    assert ds.x_train.shape == (60000, 28, 28, 1)
    assert ds.x_test.shape == (10000, 28, 28, 1)
    y_train, y_test = np.asarray(ds.y_train), np.asarray(ds.y_test)
    assert y_train.min() == 0 and y_train.max() == 9
    assert set(np.unique(y_test).tolist()) == set(range(10))
    np.testing.assert_array_equal(np.bincount(y_train, minlength=10), np.full(10, 6000))
    np.testing.assert_array_equal(np.bincount(y_test, minlength=10), np.full(10, 1000))
    # Normalised with the training set's own mean and std, computed here from the raw file
    # (gzip + the 16-byte header) via the exact pixel histogram.
    with gzip.open(FASHION, "rb") as f:
        raw = f.read()
    assert raw[:4] == b"\x00\x00\x08\x03"
    assert struct.unpack(">III", raw[4:16]) == (60000, 28, 28)
    pixels = np.frombuffer(raw, np.uint8, offset=16).reshape(60000, 28, 28)
    hist = np.bincount(pixels.ravel(), minlength=256).astype(np.float64)
    levels = np.arange(256) / 255.0
    mean = (hist * levels).sum() / hist.sum()
    std = np.sqrt((hist * (levels - mean) ** 2).sum() / hist.sum())
    # every 37th image (all 60000 would cost seconds of float64 temporaries)
    x = np.asarray(ds.x_train[::37], np.float64)[..., 0]
    expected = (pixels[::37] / 255.0 - mean) / std
    np.testing.assert_allclose(x, expected, atol=2e-3)
    assert abs(x.mean()) < 0.02 and abs(x.std() - 1.0) < 0.02


def test_a_gzip_with_a_corrupt_body_is_the_data_dir_line(tmp_path):
    """A valid gzip header and a damaged deflate stream (zlib.error inside gzip): the documented one-line
    data.data_dir error naming the file, not a zlib traceback."""
    _mnist_dir(tmp_path / "mnist")
    path = tmp_path / "mnist" / "train-images-idx3-ubyte.gz"
    body = bytearray(path.read_bytes())
    assert body[:2] == b"\x1f\x8b"
    for i in range(12, len(body) - 8, 7):  # the header (10 bytes) stays valid
        body[i] ^= 0x5A
    path.write_bytes(bytes(body))
    e = _config_error("data.data_dir", data_dir=str(tmp_path / "mnist"))
    assert "corrupt gzip" in str(e) and str(path) in str(e) and "\n" not in str(e)
