"""Reader for the IDX format of MNIST and Fashion-MNIST (gzip-compressed or raw).

The format: two zero bytes, a dtype code, the number of dimensions, then each dimension
as a big-endian uint32, then the data in row-major order (big-endian for multi-byte types).
"""
from __future__ import annotations

import gzip
import zlib
import os

import numpy as np

_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class IdxError(ValueError):
    """A file that is missing, truncated or not in the IDX format."""


def read_idx(path: str) -> np.ndarray:
    """Reads one IDX file (``.gz`` detected by its magic bytes, not its name)."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise IdxError(f"cannot read {path}: {e.strerror}") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as e:  # zlib.error: a corrupt body (BadGzipFile is an OSError)
            raise IdxError(f"{path} is a truncated or corrupt gzip file ({e})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES:
        raise IdxError(f"{path} is not an IDX file (bad magic number)")
    dtype = np.dtype(_DTYPES[raw[2]])
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise IdxError(f"{path} is truncated (header)")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", ndim, 4))
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise IdxError(f"{path} is truncated or padded: {len(raw) - header} data bytes, expected {expected} for shape {shape}")
    return np.frombuffer(raw, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


# File stems of the four files, in the names the original distributions use.
SPLIT_FILES = {
    "train_images": ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
    "train_labels": ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
    "test_images": ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
    "test_labels": ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
}


def find_files(directory: str) -> dict[str, str] | None:
    """Paths of the four IDX files in ``directory`` (raw or ``.gz``), or None if any is absent."""
    found = {}
    for part, stems in SPLIT_FILES.items():
        for stem in stems:
            for name in (stem + ".gz", stem):
                p = os.path.join(directory, name)
                if os.path.isfile(p):
                    found[part] = p
                    break
            if part in found:
                break
        if part not in found:
            return None
    return found


def read_split_files(directory: str) -> dict[str, np.ndarray]:
    """Reads train/test images [N, 28, 28] uint8 and labels [N] uint8 from ``directory``."""
    files = find_files(directory)
    if files is None:
        raise IdxError(f"{directory} lacks one of the IDX files {[s[0] for s in SPLIT_FILES.values()]} (.gz or raw)")
    arrays = {part: read_idx(p) for part, p in files.items()}
    for split in ("train", "test"):
        ni, nl = len(arrays[f"{split}_images"]), len(arrays[f"{split}_labels"])
        if ni != nl:
            raise IdxError(f"{directory}: {split} has {ni} images but {nl} labels")
    return arrays
