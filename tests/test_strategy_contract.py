"""Training strategies defined here train a bucket through ``BucketTrainer``: the worked example of
ARCHITECTURE.md's "Adding a training strategy" (one Strategy subclass + its class in STRATEGIES), and a strategy
that keeps every default of the contract, which is all the trainer asks of it."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lottery import configs
from lottery.data import gmm
from lottery.models import registry as model_registry
from lottery.train import strategies
from lottery.train.state import Member
from lottery.train.eval_set import EvalSet
from lottery.train.strategies import Bucket, Strategy
from lottery.train.strategies.vmapped import VmappedScan
from lottery.train.trainer import BucketTrainer, build_bucket


class Halves(VmappedScan):
    """The population as two vmapped halves, each scanned on its own (members are independent, so each half
    must train as it does in the whole population)."""

    name = "halves"
    used = 0

    @classmethod
    def applies(cls, bucket: Bucket) -> bool:
        return len(bucket.members) % 2 == 0 and not bucket.shared_order

    def chunk(self, pop, idx):
        Halves.used += 1
        b = self.bucket
        k = len(b.members) // 2
        out = []
        for part in (slice(0, k), slice(k, None)):
            half = jax.tree.map(lambda a: a[part], pop)
            out.append(self._run(half, b.x_train, b.labels, b.label_set[part], idx[:, part], None))
        state = jax.tree.map(lambda a, c: jnp.concatenate([a, c]), out[0][0], out[1][0])
        return state, jnp.concatenate([out[0][1], out[1][1]], axis=1)


class Between(Strategy):
    """Only what the contract requires (``applies``, ``chunk``, ``cache_size``): the vmapped scan's chunk program,
    with every default kept — its orders, no curves inside (measured between chunks), K × padded hidden units."""

    name = "between"

    @classmethod
    def applies(cls, bucket: Bucket) -> bool:
        return True

    def __init__(self, bucket: Bucket):
        super().__init__(bucket)
        self.inner = VmappedScan(bucket)

    def chunk(self, state, idx):
        return self.inner.chunk(state, idx)

    def cache_size(self) -> int:
        return self.inner.cache_size()


def data(n=64):
    x, y = gmm.sample(gmm.linear(6, 1.0), jax.random.PRNGKey(0), n)
    return x, jnp.asarray(y, jnp.int32)


def bucket(widths=(3, 5), seeds=(0, 1), curve_every=0):
    c = configs.base()
    c.train.epochs, c.train.batch_size, c.train.pack = 3, 16, False
    x, y = data()
    members = [Member(w, s) for w in widths for s in seeds]
    return BucketTrainer(build_bucket(model_registry.get("gmm_fcn"), x, y[None], members, c.train, c.optimizer, 2,
                                      curve_every=curve_every))


def test_a_registered_strategy_is_chosen_and_trains_like_the_default(monkeypatch):
    default = bucket()
    assert isinstance(default.strategy, VmappedScan) and default.strategy.name == "vmapped"
    monkeypatch.setattr(strategies, "STRATEGIES", (Halves, *strategies.STRATEGIES))
    mine = bucket()
    assert isinstance(mine.strategy, Halves) and mine.chunk == default.chunk
    a, la, _ = default.train(default.init(), 0, default.total_steps)
    b, lb, _ = mine.train(mine.init(), 0, mine.total_steps)
    assert Halves.used == default.total_steps // default.chunk
    assert la.shape == lb.shape == (default.total_steps, 4)
    np.testing.assert_allclose(la, lb, rtol=1e-5, atol=1e-6)
    for x, y in zip(jax.tree.leaves(a.params), jax.tree.leaves(b.params)):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("pack,expected", [(True, "packed"), (False, "vmapped")])
def test_the_factory_takes_the_first_strategy_that_applies(pack, expected):
    c = configs.base()
    c.train.pack, c.optimizer.momentum = pack, 0.0  # plain SGD: a packable optimizer
    x, y = data(32)
    t = BucketTrainer(build_bucket(model_registry.get("gmm_fcn"), x, y[None], [Member(2, 0), Member(3, 0)], c.train,
                                   c.optimizer, 2))
    assert t.strategy.name == expected


def test_the_trainer_asks_a_strategy_only_through_the_contract(monkeypatch):
    """A strategy with the defaults: the trainer cuts chunks at every measurement (its curves are measured between
    chunks), counts K × the padded width hidden units, and the run — losses, weights, learning curves — is the
    vmapped scan's (which measures inside its program)."""
    every = 2  # steps; an epoch is 64 / 16 = 4 steps, the run 12
    default = bucket(curve_every=every)
    monkeypatch.setattr(strategies, "STRATEGIES", (Between,))
    mine = bucket(curve_every=every)
    assert type(mine.strategy) is Between and not mine.strategy.curves_inside and default.strategy.curves_inside
    assert (default.chunk, mine.chunk) == (12, 2)
    assert mine.strategy.hidden_units == default.strategy.hidden_units == 4 * 5  # 4 members, padded width 5
    assert mine.strategy.orders() == [0, 1, 0, 1]  # every member's own seed
    x, y = data()
    sets = [EvalSet("train", x, jnp.broadcast_to(y, (4, 1, 64)), ("train_clean",))]
    runs = []
    for t in (default, mine):
        seen = {}
        pop, losses, _ = t.train(t.init(), 0, t.total_steps, probe=t.probe(sets), observe=seen.__setitem__)
        runs.append((pop, losses, seen))
    (a, la, ca), (b, lb, cb) = runs
    assert sorted(ca) == sorted(cb) == list(range(every, 13, every))
    np.testing.assert_allclose(la, lb, rtol=1e-5, atol=1e-6)
    for x, y in zip(jax.tree.leaves(a.params), jax.tree.leaves(b.params)):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)
    for step in ca:
        for key in ("loss", "error"):
            np.testing.assert_allclose(ca[step]["train_clean"][key], cb[step]["train_clean"][key], rtol=1e-5,
                                       atol=1e-6)
