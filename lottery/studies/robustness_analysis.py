"""The analysis of study B's robustness lottery (docs/science.md §8): for every architecture of
``robustness.architectures``, the populations of a pruning-method run (one dense model per seed,
every method at every ratio, the survivors fine-tuned), then every model analysed on the clean test examples
and on every corruption × severity through the geometry of its last feature layer.

Populations analysed per architecture: ``dense`` (the reference: the M dense models, fine-tuned exactly as the
pruned models are — see ``lottery.studies.method_populations``, matched budgets) and one per method (its M·R
models, ratio fastest). For each, on every evaluation set (clean, each corruption at each severity), one compiled
kernel gives every model's features and, per sample, the angle to every class direction, the length, the
margin, the prediction and its probability (:mod:`lottery.analysis.geometry`). What is kept (``DIR/analysis``):

* ``evaluation``: accuracy per model × evaluation set;
* ``samples``: per model × sample the geometry on the clean set and on each corruption at
  ``robustness.geometry_severity`` (the sets the similarity embedding and the dashboard compare);
* ``scores``: per model × sample the corruption robustness (B eq. 6: correct predictions over every
  configured corruption × severity), the count correct per corruption (0…#severities), the pruning
  vulnerability (B eq. 7: correct predictions over the method's prune ratios, the same for every ratio of a
  seed) and the PIE flag (the modal prediction over seeds at that ratio differs from the dense reference's);
* ``correlations``: Pearson r of angle to the own class / length / margin against robustness (each model,
  its own geometry) and against pruning vulnerability (the dense reference's geometry);
* ``cka`` (linear CKA between the clean features of every pair of models of an architecture),
  ``embedding_points`` / ``embedding_edges`` (UMAP of the per-(model, evaluation set) geometry vectors and
  a minimum spanning tree per evaluation set over its vectors), ``occlusion`` (change maps of the first ``occlusion_samples`` samples,
  −1: all; every model), ``dimensionality`` (the curse-of-dimensionality check).

Every population's files are one part (``lottery.store.analysis``): a killed run redoes only the population
it was in; the dense models are checkpointed by the pruning-method populations.
"""
from __future__ import annotations


import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pandas as pd

from lottery.analysis import dimensionality, embedding, geometry, occlusion, similarity
from lottery.analysis import robustness_measures as measures
from lottery.data import corruptions
from lottery.models import registry as model_registry
from lottery.store import analysis as store, workdir as wd
from lottery.store.result_tables import DENSE
from lottery.store.checkpoints import BucketCheckpoints
from lottery.studies.method_populations import MethodPopulations
from lottery.train.state import Member
from lottery.train.trainer import BucketTrainer, build_bucket

CORRUPTION_STREAM = 0xC0
KEYS = ["architecture", "method", "ratio", "seed", "noise_seed"]
METRICS = ("angle_own", "length", "margin")


def architectures(r) -> list[tuple[str, int]]:
    """``robustness.architectures`` ("name:width" strings) → [(model name, width)]."""
    out = []
    for a in r.architectures:
        name, _, width = str(a).partition(":")
        out.append((name, int(width) if width else 1))
    return out


def arch_tag(name: str, width: int) -> str:
    return f"{name}-w{width}"


def arch_config(config, name: str, width: int) -> ml_collections.ConfigDict:
    """``config`` with ``model.name`` / ``model.widths`` set to one architecture."""
    c = ml_collections.ConfigDict(config.to_dict())
    c.model.name, c.model.widths = name, (width,)
    return c


class EvalSets:
    """The clean test examples and their corrupted versions (uint8 pixels made once, cached in the workdir),
    normalised like the training data on demand."""

    def __init__(self, r, dataset, workdir: str):
        self.section, self.workdir = r, workdir
        self.mean, self.std = (np.asarray(v, np.float32) for v in dataset.pixels)
        self.x_clean = dataset.x_test
        self.labels = dataset.y_test
        self.pixels = np.clip(np.rint((np.asarray(dataset.x_test) * self.std + self.mean) * 255.0), 0, 255).astype(np.uint8)
        store.cached_images(store.corrupted_path(workdir, "clean", 0), lambda: self.pixels)
        self.names = tuple(r.corruptions)
        self.severities = tuple(int(s) for s in r.severities)

    def images(self, name: str, severity: int) -> np.ndarray:
        """uint8 [N, H, W, C] corrupted pixels of corruption ``name`` at ``severity`` (deterministic per
        ``robustness.seed``, type and severity)."""
        index = corruptions.ALL.index(name) * 8 + severity
        key = jax.random.fold_in(jax.random.fold_in(jax.random.PRNGKey(int(self.section.seed)), CORRUPTION_STREAM), index)
        return store.cached_images(store.corrupted_path(self.workdir, name, severity),
                                   lambda: np.asarray(corruptions.corrupt(self.pixels, name, severity, key)))

    def x(self, name: str, severity: int) -> jax.Array:
        return jnp.asarray((self.images(name, severity).astype(np.float32) / 255.0 - self.mean) / self.std)

    def sets(self):
        """(name, severity) of every corrupted set, corruption-major."""
        return [(n, s) for n in self.names for s in self.severities]


class Analyser:
    """One compiled kernel: every model's geometry on a batch of examples.

    __call__(params [K, ...], stats [K, ...], x [N, *input], labels [N]) → {"feats" [K, N, d], "angles"
    [K, N, C], "angle_own", "length", "margin", "prob_own" [K, N] float32, "pred" [K, N] int, "correct" [K, N]
    bool} as numpy, computed ``batch`` examples at a time (models vmapped, or mapped one after the other
    where XLA runs vmapped convolutions slowly: see ``lottery.train.strategies.member_loop``).
    """

    FIELDS = ("feats", "angles", "angle_own", "length", "margin", "prob_own", "pred", "correct")

    def __init__(self, module, head: str, loop: bool, batch: int):
        self.batch = batch

        def one(p, s, x, y):
            feats, _ = geometry.features(module, p, s, x)
            w, b = geometry.head(p, head)
            m = geometry.measures(feats, w, b, y)
            return {"feats": feats, **{k: m[k] for k in self.FIELDS[1:]}}

        def many(params, stats, x, y):
            f = lambda ps: one(ps[0], ps[1], x, y)
            return jax.lax.map(f, (params, stats)) if loop else jax.vmap(f)((params, stats))

        self._run = jax.jit(many)

    def __call__(self, params, stats, x, labels) -> dict:
        n = int(x.shape[0])
        chunks = []
        for start in range(0, n, self.batch):
            xb, yb = x[start:start + self.batch], labels[start:start + self.batch]
            pad = self.batch - xb.shape[0]
            if pad:
                xb = jnp.concatenate([xb, jnp.zeros((pad, *xb.shape[1:]), xb.dtype)])
                yb = jnp.concatenate([yb, jnp.zeros((pad,), yb.dtype)])
            out = self._run(params, stats, xb, yb)
            chunks.append({k: np.asarray(v)[:, :self.batch - pad] for k, v in out.items()})
        return {k: np.concatenate([c[k] for c in chunks], axis=1) for k in chunks[0]}


def _model_keys(arch: str, method: str, members: list[Member], ratios, noise_seeds) -> pd.DataFrame:
    """One row per model of a population (members × ratios, ratio fastest)."""
    rows = [{"architecture": arch, "method": method, "ratio": float(r), "seed": m.seed,
             "noise_seed": int(noise_seeds[m.label_set])} for m in members for r in ratios]
    return pd.DataFrame(rows, columns=KEYS)


def _sample_rows(keys: pd.DataFrame, out: dict, labels: np.ndarray, eval_set: str, corruption: str,
                 severity: int) -> pd.DataFrame:
    """Per model × sample geometry of one evaluation set (angles to every class as angle_0 … angle_{C−1})."""
    k, n = out["pred"].shape
    frame = keys.loc[keys.index.repeat(n)].reset_index(drop=True)
    frame = frame.assign(eval_set=eval_set, corruption=corruption, severity=severity,
                         sample=np.tile(np.arange(n), k), label=np.tile(labels, k),
                         pred=out["pred"].ravel().astype(np.int16), correct=out["correct"].ravel(),
                         **{m: out[m].ravel().astype(np.float32) for m in (*METRICS, "prob_own")})
    angles = out["angles"].reshape(k * n, -1).astype(np.float32)
    columns = pd.DataFrame(angles, columns=[f"angle_{c}" for c in range(angles.shape[1])])
    return pd.concat([frame, columns], axis=1)  # one block: 100 classes' columns one by one would fragment it


def analyse(analyser: Analyser, params, stats, sets: EvalSets, keys: pd.DataFrame, geometry_severity: int) -> dict:
    """Every model of a population on every evaluation set → {"evaluation", "samples" tables; "clean" (the
    clean-set outputs), "counts" uint8 [K, T, N] correct predictions per corruption over severities,
    "robustness" int [K, N] (eq. 6 over every corrupted set)}."""
    labels = np.asarray(sets.labels)
    clean = analyser(params, stats, sets.x_clean, sets.labels)
    evaluation = [keys.assign(eval_set="clean", corruption="clean", severity=0, accuracy=clean["correct"].mean(1))]
    samples = [_sample_rows(keys, clean, labels, "clean", "clean", 0)]
    correct = []
    for name, severity in sets.sets():
        out = analyser(params, stats, sets.x(name, severity), sets.labels)
        correct.append(out["correct"])
        evaluation.append(keys.assign(eval_set=f"{name}-{severity}", corruption=name, severity=severity,
                                      accuracy=out["correct"].mean(1)))
        if severity == geometry_severity:
            samples.append(_sample_rows(keys, out, labels, f"{name}-{severity}", name, severity))
    correct = np.stack(correct)  # [S, K, N], corruption-major
    counts = correct.reshape(len(sets.names), -1, *correct.shape[1:]).sum(1, dtype=np.uint8).transpose(1, 0, 2)
    robust = np.asarray(measures.corruption_robustness(correct.reshape(len(correct), -1)))
    return {"evaluation": pd.concat(evaluation, ignore_index=True), "samples": pd.concat(samples, ignore_index=True),
            "clean": clean, "counts": counts, "robustness": robust.reshape(len(keys), len(labels))}


def scores_table(keys: pd.DataFrame, names: tuple, counts: np.ndarray, robust: np.ndarray, pv: np.ndarray,
                 pie: np.ndarray) -> pd.DataFrame:
    """Per model × sample: robustness (eq. 6), correct count per corruption, pruning vulnerability (eq. 7), PIE.

    counts uint8 [K, T, N]; robust, pv int [K, N]; pie bool [K, N]."""
    k, t, n = counts.shape
    frame = keys.loc[keys.index.repeat(n)].reset_index(drop=True)
    return frame.assign(sample=np.tile(np.arange(n), k), robustness=robust.ravel().astype(np.int16),
                        pruning_vulnerability=pv.ravel().astype(np.int16), pie=pie.ravel(),
                        **{f"correct_{c}": counts[:, i].ravel() for i, c in enumerate(names)})


def correlations(keys: pd.DataFrame, clean: dict, robust: np.ndarray, dense: dict, pv: np.ndarray) -> pd.DataFrame:
    """Pearson r of each metric against robustness (per model, its own clean geometry) and against pruning
    vulnerability (per dense model: its geometry against the PV of its ratio sweep).

    robust [K, N]; pv [M, N] (one per dense model); dense: {metric: [M, N]}."""
    frames = []
    for k, row in keys.iterrows():
        t = measures.correlation_table({m: clean[m][k] for m in METRICS}, {"robustness": robust[k]})
        frames.append(t.assign(**row.to_dict()))
    ratios = keys.ratio.nunique()
    if ratios < 2:  # the dense population: no ratio sweep, no pruning vulnerability
        return pd.concat(frames, ignore_index=True)
    for i in range(pv.shape[0]):
        t = measures.correlation_table({m: dense[m][i] for m in METRICS}, {"pruning_vulnerability": pv[i]})
        frames.append(t.assign(**keys.iloc[i * ratios].to_dict()).assign(ratio=np.nan))
    return pd.concat(frames, ignore_index=True)


def occlusion_count(r, n: int) -> int:
    """How many of the n analysed test examples get occlusion maps: ``robustness.occlusion_samples`` (−1: all)."""
    k = int(r.occlusion_samples)
    return n if k < 0 else min(k, n)


def occlusion_batch_size(r, input_shape, eval_batch: int) -> int:
    """Images per occlusion batch: each brings 1 + #windows forward passes, so about ``eval_batch`` in all."""
    windows = len(occlusion.window_masks(int(input_shape[0]), int(input_shape[1]), int(r.occlusion_patch),
                                         int(r.occlusion_stride)))
    return max(1, int(eval_batch) // (1 + windows))


def occlusion_table(module, head: str, params, stats, sets: EvalSets, keys: pd.DataFrame, r, fill, loop: bool,
                    batch: int) -> pd.DataFrame:
    """Change maps of the first :func:`occlusion_count` clean samples for every model: rows sample × measure
    × model (sorted by sample, so the dashboard reads one sample's rows alone) with the map [H·W] (row-major)
    as a float16 list (changes beyond ±65,504 clipped there). The samples go ``batch`` images at a time
    through :func:`occlusion.occlusion_batch` (the last batch padded, so one compiled kernel)."""
    n = occlusion_count(r, int(sets.labels.shape[0]))
    frames = []
    limit = float(np.finfo(np.float16).max)
    for start in range(0, n, batch):
        idx = np.arange(start, min(start + batch, n))
        pad = np.concatenate([idx, np.full(batch - len(idx), idx[0])])  # padded with a repeat of the first
        maps = occlusion.occlusion_batch(module, params, stats, head, sets.x_clean[pad], np.asarray(sets.labels)[pad],
                                         int(r.occlusion_patch), int(r.occlusion_stride), fill, loop=loop)
        maps = {k: np.clip(np.asarray(v[:, :len(idx)]), -limit, limit).astype(np.float16) for k, v in maps.items()}
        for j, i in enumerate(idx):
            for measure, m in maps.items():  # m [K, B, H, W]
                frames.append(keys.assign(sample=int(i), measure=measure, height=m.shape[2], width=m.shape[3],
                                          map=list(m[:, j].reshape(m.shape[0], -1))))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


class Architecture:
    """One architecture of the study: its pruning-method populations, its analyser and the populations
    it analyses."""

    def __init__(self, config, run, name: str, width: int):
        dataset = run.dataset
        test_examples = int(dataset.y_test.shape[0])
        self.tag = arch_tag(name, width)
        self.config = arch_config(config, name, width)
        self.spec = model_registry.get(name, config.model.hidden, config.model.use_bias, config.model.init)
        self.populations = MethodPopulations(self.config, self.spec, run,
                                     BucketCheckpoints(wd.checkpoint_dir(run.workdir, f"robustness-{self.tag}")))
        self.noise_seeds = run.noise_seeds
        module = self.populations.trainer.module
        self.module = module
        self.head = geometry.head_name(module, _one_params(self.populations), tuple(dataset.input_shape))
        self.loop = self.populations.dense.member_loop
        # batches no larger than the analysed test set: a 500-example set padded to 2,048 costs 4× the work
        self.analyser = Analyser(module, self.head, self.loop, min(int(config.train.eval_batch_size), test_examples))

    def keys(self, method: str) -> pd.DataFrame:
        ratios = [0.0] if method == DENSE else self.populations.ratios
        return _model_keys(self.tag, method, self.populations.members, ratios, self.noise_seeds)


def _one_params(populations) -> dict:
    """One model's params (for the head's name: the layer names are the same at every width and seed)."""
    pop = populations.dense.init()
    return jax.tree.map(lambda a: a[0], pop.params)


def measures_pv(correct: np.ndarray) -> np.ndarray:
    """correct bool [M, R, N] (dense model × ratio × sample) → pruning vulnerability int [M, N] (eq. 7)."""
    return np.stack([np.asarray(measures.pruning_vulnerability(c)) for c in correct])


def pie_by_ratio(preds: np.ndarray, dense_preds: np.ndarray, num_classes: int) -> np.ndarray:
    """preds [M, R, N], dense_preds [M, N] → PIE flags bool [R, N] (modal over the M seeds at each ratio)."""
    return np.stack([np.asarray(measures.pie_flags(preds[:, i], dense_preds, num_classes))
                     for i in range(preds.shape[1])])


def finish(config, workdir: str, parts: list[str], dataset, sets: EvalSets, log) -> None:
    """The merged tables, the CKA matrices, the similarity embedding and the dimensionality check."""
    r = config.robustness
    for table in ("evaluation", "samples", "scores", "correlations"):
        store.write_table(workdir, table, store.gather(workdir, parts, table))
    occ = store.gather(workdir, parts, "occlusion")
    if len(occ):  # sample-major, one row group per sample: the dashboard reads one sample's maps alone
        occ = occ.sort_values("sample", kind="stable").reset_index(drop=True)
    store.write_table(workdir, "occlusion", occ, row_group_size=max(1, len(occ) // max(1, occ["sample"].nunique()))
                      if len(occ) else None)
    store.write_table(workdir, "cka", cka_table(workdir, parts))
    samples = store.load(workdir, "samples")
    points, edges = embed(samples, int(r.umap_seed))
    store.write_table(workdir, "embedding_points", points)
    store.write_table(workdir, "embedding_edges", edges)
    if not store.part_done(workdir, "dimensionality"):
        store.write_part(workdir, "dimensionality", {"dimensionality": dimension_table(config, dataset, sets, log)}, {})
    store.write_table(workdir, "dimensionality", store.part_table(workdir, "dimensionality", "dimensionality"))
    log(f"analysis tables: {store.root(workdir)}")


def cka_table(workdir: str, parts: list[str]) -> pd.DataFrame:
    """Linear CKA between the clean features of every pair of models of each architecture."""
    frames = []
    by_arch: dict[str, list[str]] = {}
    for part in parts:
        arch = part.rsplit("-", 1)[0]
        by_arch.setdefault(arch, []).append(part)
    for arch, names in by_arch.items():
        keys = pd.concat([store.part_table(workdir, n, "evaluation").query("eval_set == 'clean'")[KEYS]
                          for n in names], ignore_index=True)
        feats = np.concatenate([store.part_array(workdir, n, "feats") for n in names])
        matrix = np.asarray(similarity.cka_matrix(jnp.asarray(feats)))
        label = [f"{k.method}@{k.ratio:g}/s{k.seed}n{k.noise_seed}" for k in keys.itertuples()]
        i, j = np.indices(matrix.shape).reshape(2, -1)
        frames.append(pd.DataFrame({"architecture": arch, "model_a": np.asarray(label)[i],
                                    "model_b": np.asarray(label)[j], "cka": matrix.ravel()}))
    return pd.concat(frames, ignore_index=True)


def embed(samples: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The geometric-similarity embedding: one point per (model, evaluation set), its vector [3N] the set's
    standardised geometry (embedding.geometric_vectors over every point) → (points: keys, eval_set, point,
    x, y of one UMAP layout of all points; edges: source, target (point ids), distance, eval_set — one
    minimum spanning tree per evaluation set over that set's vectors in the original 3N-dimensional space,
    P_set − 1 edges each)."""
    group = KEYS + ["eval_set"]
    samples = samples.sort_values(group + ["sample"], kind="stable")
    points = samples.groupby(group, sort=False).size().reset_index()[group]
    n = samples["sample"].nunique()
    blocks = {m: samples[m].to_numpy(np.float32).reshape(len(points), n) for m in METRICS}
    vectors = np.asarray(embedding.geometric_vectors(blocks["angle_own"], blocks["length"], blocks["margin"]))
    xy = np.asarray(embedding.umap_2d(vectors, seed))
    points = points.assign(point=np.arange(len(points)), x=xy[:, 0], y=xy[:, 1])
    trees = []
    for name, idx in points.groupby("eval_set", sort=True).indices.items():
        edges, weights = embedding.minimum_spanning_tree(vectors[idx])
        trees.append(pd.DataFrame({"source": idx[edges[:, 0]], "target": idx[edges[:, 1]],
                                   "distance": np.asarray(weights), "eval_set": name}))
    return points, pd.concat(trees, ignore_index=True)


def dimension_table(config, dataset, sets: EvalSets, log) -> pd.DataFrame:
    """The curse-of-dimensionality check: angles between random vectors against their dimension, and of a
    LeNet-5's clean features to its class directions against the feature width (84·W), untrained and trained
    (``train.epochs`` on the run's training set, the first seed)."""
    r = config.robustness
    rnd = dimensionality.random_angles([int(d) for d in r.random_dims], 1000, jax.random.PRNGKey(int(r.seed)))
    rows = [{"kind": "random vectors", "dim": int(d), "mean": float(m), "std": float(s)}
            for d, m, s in zip(rnd["dim"], rnd["mean"], rnd["std"])]
    spec = model_registry.get("lenet5", (), True, "kaiming_normal")
    c = ml_collections.ConfigDict(config.train.to_dict())
    c.seeds = (int(config.train.seeds[0]),)
    c.shard = False
    for w in r.dimension_widths:
        member = Member(int(w), c.seeds[0], 0)
        trainer = BucketTrainer(build_bucket(spec, dataset.x_train, dataset.y_train[None], [member], c,
                                             config.optimizer, dataset.num_classes, pad_fill=dataset.black))
        pop = trainer.init()
        head = geometry.head_name(trainer.module, jax.tree.map(lambda a: a[0], pop.params), tuple(dataset.input_shape))
        for kind in ("untrained", "trained"):
            if kind == "trained":
                pop, _, _ = trainer.train(pop, 0, trainer.total_steps, lambda *a: None)
            p = jax.tree.map(lambda a: a[0], pop.params)
            s = jax.tree.map(lambda a: a[0], pop.stats)
            feats, _ = geometry.features(trainer.module, p, s, sets.x_clean)
            w_head, _ = geometry.head(p, head)
            mean, std = dimensionality.feature_angles(feats, w_head)
            rows.append({"kind": f"lenet5 {kind}", "dim": int(feats.shape[1]), "mean": float(mean), "std": float(std)})
        log(f"  dimensionality: LeNet-5 W={w} (feature width {rows[-1]['dim']}): untrained {rows[-2]['mean']:.1f}° ± "
            f"{rows[-2]['std']:.1f}°, trained {rows[-1]['mean']:.1f}° ± {rows[-1]['std']:.1f}°")
    return pd.DataFrame(rows, columns=["kind", "dim", "mean", "std"])
