"""Common corruptions (lottery/data/corruptions.py), the corrupted-set readers and the example grid.

Every call uses batches of N = 4 images of 32×32×3 or 28×28×1 so that each (type, shape) compiles once."""
import os
import sys
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import ndimage

from lottery.data import corrupted_sets as sets
from lottery.data import corruption_ops as ops
from lottery.data import corruptions as C
from lottery.core.errors import ConfigError

N = 4
SHAPES = {"rgb32": (32, 32, 3), "gray28": (28, 28, 1)}
RANDOM = {"gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise", "glass_blur", "motion_blur", "snow",
          "frost", "fog", "spatter", "elastic_transform", "shear", "rotate", "translate", "dotted_line", "zigzag"}


def natural(shape, seed=0, n=N) -> np.ndarray:
    """Smooth stand-ins for photos: blurred noise + a bright disk + a dark bar, uint8 [n, H, W, C]."""
    rng = np.random.default_rng(seed)
    h, w, c = shape
    out = []
    for _ in range(n):
        img = ndimage.gaussian_filter(rng.normal(size=(h, w, c)), (2.5, 2.5, 0))
        img = (img - img.min()) / (np.ptp(img) + 1e-9) * 0.5 + 0.2
        yy, xx = np.mgrid[:h, :w]
        cy, cx, r = rng.uniform(0.3, 0.7) * h, rng.uniform(0.3, 0.7) * w, rng.uniform(0.15, 0.3) * h
        img[(yy - cy) ** 2 + (xx - cx) ** 2 < r ** 2] += rng.uniform(0.2, 0.4, size=c)
        top = rng.integers(2, h // 2)
        img[top:top + h // 6, w // 5:w // 2] -= 0.2
        out.append(np.clip(img, 0, 1))
    return np.round(np.stack(out) * 255).astype(np.uint8)


@pytest.fixture(scope="module")
def outputs():
    """(shape name, type, severity) → uint8 output for the natural images, key 0."""
    res = {}
    for sname, shape in SHAPES.items():
        x = natural(shape)
        for name in C.ALL:
            for s in C.SEVERITIES:
                res[sname, name, s] = C.corrupt_images(x, name, s, jax.random.key(0))
    return res


@pytest.mark.parametrize("sname", SHAPES)
def test_shape_dtype_range_uint8(outputs, sname):
    x = natural(SHAPES[sname])
    for name in C.ALL:
        for s in C.SEVERITIES:
            y = outputs[sname, name, s]
            assert isinstance(y, np.ndarray) and y.shape == x.shape and y.dtype == np.uint8, (name, s)


@pytest.mark.parametrize("sname", SHAPES)
def test_float32_matches_uint8(outputs, sname):
    """float32 in [0, 1] gives float32 in [0, 1], and (JPEG aside) the uint8 result after rounding."""
    x = natural(SHAPES[sname])
    xf = jnp.asarray(x, jnp.float32) / 255
    for name in C.ALL:
        s = 3
        y = C.corrupt_images(xf, name, s, jax.random.key(0))
        assert isinstance(y, jax.Array) and y.shape == x.shape and y.dtype == jnp.float32, name
        assert float(y.min()) >= 0 and float(y.max()) <= 1, name
        diff = np.abs(np.round(np.asarray(y) * 255) - outputs[sname, name, s].astype(float))
        assert diff.mean() < 0.05, (name, diff.mean())


def test_deterministic_and_keys_matter(outputs):
    x = natural(SHAPES["rgb32"])
    for name in C.ALL:
        again = C.corrupt_images(x, name, 3, jax.random.key(0))
        assert np.array_equal(again, outputs["rgb32", name, 3]), name
        if name in RANDOM:  # shear/rotate draw only a sign per image: try a few keys
            assert any(not np.array_equal(C.corrupt_images(x, name, 3, jax.random.key(k)), again) for k in (1, 2, 3)), name


def test_images_get_independent_noise():
    x = np.repeat(natural(SHAPES["gray28"], n=1), N, axis=0)
    y = C.corrupt_images(x, "gaussian_noise", 3, jax.random.key(0))
    assert not np.array_equal(y[0], y[1])
    # image i's corruption does not depend on the rest of the batch
    z = C.corrupt_images(np.concatenate([x[:1], natural(SHAPES["gray28"], seed=5, n=N - 1)]), "gaussian_noise", 3,
                  jax.random.key(0))
    assert np.array_equal(y[0], z[0])


# Blur-like types are measured by 1 − correlation with the clean image, the rest by mean |difference|.
BY_CORRELATION = {"defocus_blur", "glass_blur", "motion_blur", "zoom_blur", "gaussian_blur", "frost"}
# Exceptions, all from the reference table itself (numbers measured on these images, 1 − corr):
# - saturate: 0.3×, 0.1× saturation, then 1.5×, 2×, 2.5× (severity 3 is closer than 2);
# - elastic_transform: the random affine shrinks (±0.08 → ±0.03 of the size) while the elastic α grows;
#   at 32 px the affine dominates, so the distance falls with severity (≈ 0.21 → 0.09);
# - glass_blur: severities 1–3 differ only by a larger σ, which smooths the shuffled pixels back
#   (≈ 0.085, 0.085, 0.070), 4–5 take two shuffling passes (≈ 0.16, 0.14): checked 4, 5 > 1, 2, 3;
# - spatter: water at 1–3, mud at 4–5 (two effects): checked monotone within each.
EXCEPTIONS = {"saturate", "elastic_transform", "glass_blur", "spatter"}


def distance(x, y, name):
    if name in BY_CORRELATION:
        return np.mean([1 - np.corrcoef(a.ravel(), b.ravel())[0, 1] for a, b in zip(x, y.astype(float))])
    return np.abs(y.astype(float) - x).mean()


def nondecreasing(d, tol):
    return all(b >= a - tol for a, b in zip(d, d[1:]))


@pytest.mark.parametrize("sname", SHAPES)
def test_severity_monotone(outputs, sname):
    x = natural(SHAPES[sname]).astype(float)
    bad = []
    for name in C.ALL:
        if name in ("saturate", "elastic_transform"):
            continue
        d = []
        for s in C.SEVERITIES:
            ys = [outputs[sname, name, s]]
            if name in RANDOM:
                ys += [C.corrupt_images(x.astype(np.uint8), name, s, jax.random.key(k)) for k in (1, 2)]
            d.append(np.mean([distance(x, y, name) for y in ys]))
        tol = 0.02 * max(d)
        if name == "glass_blur":
            ok = min(d[3:]) > max(d[:3])
        elif name == "spatter":
            ok = nondecreasing(d[:3], tol) and nondecreasing(d[3:], tol)
        else:
            ok = nondecreasing(d, tol)
        if not ok:
            bad.append((name, np.round(d, 3).tolist()))
    assert not bad, bad


def test_saturate_gray_is_identity_at_low_severity(outputs):
    x = natural(SHAPES["gray28"])
    for s in (1, 2, 3):
        assert np.array_equal(outputs["gray28", "saturate", s], x)


# ---------------------------------------------------------------- against imagecorruptions

# imagecorruptions holds the ImageNet-C tables (make_imagenet_c.py); our ops run with the same values.
IMAGENET_C = {
    "gaussian_noise": [(0.08,), (0.12,), (0.18,), (0.26,), (0.38,)],
    "shot_noise": [(60,), (25,), (12,), (5,), (3,)],
    "impulse_noise": [(0.03,), (0.06,), (0.09,), (0.17,), (0.27,)],
    "contrast": [(0.4,), (0.3,), (0.2,), (0.1,), (0.05,)],
    "brightness": [(0.1,), (0.2,), (0.3,), (0.4,), (0.5,)],
    "saturate": [(0.3, 0), (0.1, 0), (2, 0), (5, 0.1), (20, 0.2)],
    "pixelate": [(0.6,), (0.5,), (0.4,), (0.3,), (0.25,)],
    "gaussian_blur": [(1,), (2,), (3,), (4,), (6,)],
    "defocus_blur": [(3, 0.1), (4, 0.5), (6, 0.5), (8, 0.5), (10, 0.5)],
    "motion_blur": [(10, 3), (15, 5), (15, 8), (15, 12), (20, 15)],
    "jpeg_compression": [(25,), (18,), (15,), (10,), (7,)],
}


@pytest.fixture(scope="module")
def imagecorruptions():
    if "pkg_resources" not in sys.modules:
        try:
            import pkg_resources  # noqa: F401
        except ImportError:  # setuptools ≥ 81 dropped it; imagecorruptions only needs resource_filename
            shim = types.ModuleType("pkg_resources")
            shim.resource_filename = lambda pkg, name: os.path.join(
                os.path.dirname(sys.modules[pkg].__file__), name)
            sys.modules["pkg_resources"] = shim
    return pytest.importorskip("imagecorruptions")


@pytest.mark.parametrize("name", sorted(IMAGENET_C))
def test_matches_imagecorruptions(imagecorruptions, name):
    """Mean |corrupted − clean| agrees within 15 % (+0.5 grey level) at every ImageNet-C severity."""
    x = natural(SHAPES["rgb32"], seed=3)
    table = IMAGENET_C[name]
    hi = tuple(float(v) for v in np.max(table, axis=0))
    if name not in ("gaussian_blur", "defocus_blur", "motion_blur"):
        hi = C._bounds(name, x.shape[1:])  # unused by these ops: reuse the compilation of the other tests
    np.random.seed(0)  # imagecorruptions draws from numpy's global generator
    for s, p in enumerate(table, start=1):
        if name == "jpeg_compression":
            ours = np.round(C._jpeg(x.astype(np.float32) / 255, p[0]) * 255)
        else:
            ours = np.round(np.asarray(C._run(jnp.asarray(x, jnp.float32) / 255, jax.random.key(s),
                                              jnp.asarray(p, jnp.float32), name=name, hi=hi)) * 255)
        try:
            theirs = np.stack([np.asarray(imagecorruptions.corrupt(img, corruption_name=name, severity=s), float)
                               for img in x])
        except TypeError as e:  # e.g. gaussian_blur passes multichannel=, gone from scikit-image ≥ 0.19
            pytest.skip(f"imagecorruptions' {name} fails with this scikit-image: {e}")
        d_ours, d_theirs = np.abs(ours - x).mean(), np.abs(np.round(theirs) - x).mean()
        assert abs(d_ours - d_theirs) <= 0.15 * d_theirs + 0.5, (name, s, d_ours, d_theirs)


# ---------------------------------------------------------------- geometry against scipy.ndimage

def clipped_zoom_scipy(img, z):
    h = img.shape[0]
    ch = int(np.ceil(h / z))
    top = (h - ch) // 2
    out = ndimage.zoom(img[top:top + ch, top:top + ch], (z, z, 1), order=1)
    trim = (out.shape[0] - h) // 2
    return out[trim:trim + h, trim:trim + h]


def test_zoom_equals_scipy_zoom_then_crop():
    x = natural((32, 32, 3), n=1)[0].astype(np.float32) / 255
    for z in (1.0, 1.03, 1.1, 1.17, 1.25, 1.75, 2.25):
        np.testing.assert_allclose(np.asarray(ops.zoom(jnp.asarray(x), z)), clipped_zoom_scipy(x, z), atol=1e-4)


def scipy_affine_xy(img, a, center=True):
    """skimage-style inverse map on (x, y) with the centre fixed, by scipy.ndimage.affine_transform."""
    h, w = img.shape[:2]
    cx, cy = (w - 1) / 2, (h - 1) / 2
    t = np.array([cx, cy]) - a @ np.array([cx, cy])
    matrix = np.array([[a[1, 1], a[1, 0]], [a[0, 1], a[0, 0]]])
    offset = np.array([t[1], t[0]])
    return np.stack([ndimage.affine_transform(img[..., c], matrix, offset, order=1, mode="grid-constant")
                     for c in range(img.shape[-1])], -1)


@pytest.mark.parametrize("which", ["rotate", "shear", "scale"])
def test_warps_equal_scipy_affine_transform(which):
    x = natural((28, 28, 1), n=1)[0].astype(np.float32) / 255
    for angle in (0.4, -0.8):
        a = {"rotate": C.rotate_matrix, "shear": C.shear_matrix, "scale": lambda v: jnp.eye(2) / abs(v) * 0.6}[which](angle)
        ours = np.asarray(C._warp_xy(jnp.asarray(x), a))
        np.testing.assert_allclose(ours, scipy_affine_xy(x, np.asarray(a, np.float64)), atol=1e-4)


def test_elastic_equals_scipy_with_the_same_fields():
    x = natural((32, 32, 3), n=1)[0].astype(np.float32) / 255
    for s in (2, 5):
        p = C.parameters("elastic_transform", s, x.shape)
        hi = C._bounds("elastic_transform", x.shape)
        key = jax.random.key(7)
        matrix, offset, d_row, d_col = (np.asarray(v, np.float64) for v in
                                        C.elastic_fields(key, x.shape[:2], jnp.asarray(p, jnp.float32), hi))
        warped = np.stack([ndimage.affine_transform(x[..., c], matrix, offset, order=1, mode="mirror")
                           for c in range(3)], -1)
        rr, cc = np.mgrid[:32, :32].astype(np.float64)
        ref = np.stack([ndimage.map_coordinates(warped[..., c], [rr + d_row, cc + d_col], order=1, mode="reflect")
                        for c in range(3)], -1)
        ours = np.asarray(C._elastic_transform(jnp.asarray(x), key, jnp.asarray(p, jnp.float32), hi))
        np.testing.assert_allclose(ours, ref, atol=1e-4)
        assert np.abs(d_row).max() > 0 or s == 1


# ---------------------------------------------------------------- errors

def one_line(excinfo, *words):
    msg = str(excinfo.value)
    assert "\n" not in msg and all(w in msg for w in words), msg


def test_bad_inputs_are_one_line_value_errors():
    x = natural((28, 28, 1), n=1)
    with pytest.raises(ValueError) as e:
        C.corrupt_images(x, "fgsm", 1, jax.random.key(0))
    one_line(e, "corruption", "unknown 'fgsm'", "allowed: gaussian_noise")
    for s in (0, 6):
        with pytest.raises(ValueError) as e:
            C.corrupt_images(x, "fog", s, jax.random.key(0))
        one_line(e, "severity", f"{s} is outside 1–5")
    with pytest.raises(ValueError) as e:
        C.corrupt_images(x[0], "fog", 1, jax.random.key(0))
    one_line(e, "images")
    with pytest.raises(ValueError) as e:
        C.corrupt_images(x.astype(np.int64), "fog", 1, jax.random.key(0))
    one_line(e, "images", "int64")


def test_tables():
    assert len(C.CIFAR_C) == 19 and len(C.MNIST_C) == 9 and C.ALL == C.CIFAR_C + C.MNIST_C
    assert set(C.RGB32) == set(C.CIFAR_C) == set(C.GRAY28) and set(C.MNIST28) == set(C.MNIST_C)
    assert C.parameters("gaussian_blur", 5, (28, 28, 1)) == (0.875,)
    assert C.parameters("motion_blur", 5, (28, 28, 1)) == (8.0, 2.1875)
    assert C.parameters("motion_blur", 5, (64, 64, 3)) == (18.0, 5.0)
    assert C.parameters("defocus_blur", 4, (28, 28, 1)) == (1.0, 0.2)
    assert C.parameters("elastic_transform", 2, (28, 28, 1)) == pytest.approx((1.4, 5.6, 1.96))


# ---------------------------------------------------------------- readers

def test_cifar10_c_reader(tmp_path):
    n = 6
    images = np.arange(5 * n * 32 * 32 * 3, dtype=np.int64).reshape(5 * n, 32, 32, 3).astype(np.uint8)
    images[:, 0, 0, 0] = np.repeat(np.arange(1, 6), n)  # severity marker
    np.save(tmp_path / "glass_blur.npy", images)
    np.save(tmp_path / "labels.npy", np.tile(np.arange(n) % 10, 5).astype(np.uint8))
    x, y = sets.load_cifar10_c(str(tmp_path), "glass_blur", 4)
    assert x.shape == (n, 32, 32, 3) and x.dtype == np.uint8 and (x[:, 0, 0, 0] == 4).all()
    assert y.tolist() == list(range(n))
    with pytest.raises(ValueError) as e:
        sets.load_cifar10_c(str(tmp_path), "fog", 1)
    one_line(e, "fog.npy is missing", "zenodo")
    with pytest.raises(ValueError) as e:
        sets.load_cifar10_c(str(tmp_path), "glass_blur", 6)
    one_line(e, "severity")


def test_mnist_c_reader(tmp_path):
    d = tmp_path / "mnist_c" / "zigzag"
    d.mkdir(parents=True)
    np.save(d / "test_images.npy", np.full((3, 28, 28, 1), 7, np.uint8))
    np.save(d / "test_labels.npy", np.array([1, 2, 3], np.uint8))
    for where in (tmp_path, tmp_path / "mnist_c"):
        x, y = sets.load_mnist_c(str(where), "zigzag")
        assert x.shape == (3, 28, 28, 1) and x.dtype == np.uint8 and y.tolist() == [1, 2, 3]
    with pytest.raises(ValueError) as e:
        sets.load_mnist_c(str(tmp_path), "stripe")
    one_line(e, "test_images.npy is missing", "mnist_c.zip")
    with pytest.raises(ValueError) as e:
        sets.load_mnist_c(str(tmp_path), "inverse")
    one_line(e, "MNIST-C has no 'inverse'")


def test_tfds_names_and_missing_data(tmp_path):
    assert sets.tfds_config("cifar10_corrupted", "glass_blur", 3) == "cifar10_corrupted/frosted_glass_blur_3"
    assert sets.tfds_config("cifar10_corrupted", "elastic_transform", 1) == "cifar10_corrupted/elastic_1"
    assert sets.tfds_config("cifar10_corrupted", "fog", 5) == "cifar10_corrupted/fog_5"
    assert sets.tfds_config("mnist_corrupted", "canny_edges", None) == "mnist_corrupted/canny_edges"
    assert sets.from_tfds_name("frosted_glass_blur") == "glass_blur" and sets.from_tfds_name("elastic") == "elastic_transform"
    with pytest.raises(ValueError) as e:
        sets.load_tfds_corrupted("cifar10_corrupted", "fog", 2, str(tmp_path / "nowhere"))
    one_line(e, "nowhere is not a directory", "cifar10_corrupted/fog_2")
    pytest.importorskip("tensorflow_datasets")
    with pytest.raises(ValueError) as e:
        sets.load_tfds_corrupted("mnist_corrupted", "zigzag", None, str(tmp_path))
    one_line(e, "no prepared TFDS dataset", "mnist_corrupted/zigzag")


# ---------------------------------------------------------------- figure

def test_grid_png(tmp_path, outputs):
    from PIL import Image

    from lottery.report import corruption_grid

    for sname in SHAPES:
        rows = {name: [outputs[sname, name, s][0] for s in C.SEVERITIES] for name in C.ALL[:4]}
        path = tmp_path / f"{sname}.png"
        corruption_grid.plot(rows, natural(SHAPES[sname], n=1)[0], str(path), cell_inches=0.9, dpi=100)
        w, h = Image.open(path).size
        assert abs(w - 540) <= 2 and abs(h - 360) <= 2, (w, h)
