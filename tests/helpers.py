"""Small builders shared by the tests (configs, a tiny GMM, numpy forward passes)."""
import numpy as np

from lottery import studies


def tiny_config(kind: str = "imp", **overrides):
    """A GMM config of study ``kind`` small enough to train in a second."""
    c = studies.defaults(kind)
    c.experiment = "test"
    c.data.dim = 6
    c.data.train_size = 64
    c.data.test_size = 32
    c.data.noise.fraction = 0.1
    c.model.widths = (2, 3)
    c.train.seeds = (0, 1)
    c.train.epochs = 4
    c.train.batch_size = 16
    c.report.figures = False
    return override(c, overrides)


def override(c, overrides: dict):
    """Sets dotted keys (``{"train.epochs": 5}``) on config ``c``; returns ``c``."""
    for k, v in overrides.items():
        node = c
        *path, last = k.split(".")
        for p in path:
            node = getattr(node, p)
        setattr(node, last, v)
    return c


def numpy_fcn_logits(params: dict, x: np.ndarray) -> np.ndarray:
    """Forward pass of a dense ReLU net in float64 numpy: params {dense_i: {kernel, bias?}}."""
    h = np.asarray(x, np.float64).reshape(len(x), -1)
    names = sorted(params)
    for i, name in enumerate(names):
        h = h @ np.asarray(params[name]["kernel"], np.float64)
        if "bias" in params[name]:
            h = h + np.asarray(params[name]["bias"], np.float64)
        if i < len(names) - 1:
            h = np.maximum(h, 0)
    return h


def numpy_cross_entropy(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    z = logits - logits.max(-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    return -logp[np.arange(len(y)), y]


def block_network(monkeypatch) -> list:
    """Makes every socket connection fail for the rest of the test; returns the list of attempts made."""
    import socket

    attempts = []

    def no_network(self, *args, **kwargs):
        attempts.append(args)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket.socket, "connect_ex", no_network)
    return attempts


def instances_of(monkeypatch, cls) -> list:
    """Every ``cls`` constructed while the test runs, in order (its ``__init__`` wrapped through ``monkeypatch``)."""
    made = []
    original = cls.__init__

    def keep(self, *a, **kw):
        original(self, *a, **kw)
        made.append(self)

    monkeypatch.setattr(cls, "__init__", keep)
    return made
