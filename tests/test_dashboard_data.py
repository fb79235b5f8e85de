"""The dashboard's data layer against hand computations on the tables (pandas / numpy loops), the
missing-workdir page, and the command line's bad-flag exit."""

import json
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dashboard_fixture import write_workdir

pytest.importorskip("altair", reason="needs altair (pip install altair vl-convert-python)")

from lottery.dashboard import data  # noqa: E402
from lottery.dashboard.endpoints import Endpoints  # noqa: E402
from lottery.dashboard.server import make_server  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    return data.load(write_workdir(tmp_path_factory.mktemp("dash") / "run"))


def test_whole_table_is_the_mean_over_severities_and_seeds(study):
    table = data.whole_table(study.evaluation).set_index(["architecture", "method", "ratio", "column"])["accuracy"]
    ev = study.evaluation
    rows = ev[(ev.architecture == "fcn-w2") & (ev.method == "snip") & (ev.ratio == 0.8) & (ev.corruption == "fog")]
    assert len(rows) == 3
    assert table[("fcn-w2", "snip", 0.8, "fog")] == pytest.approx(rows.accuracy.mean())
    clean = ev[(ev.architecture == "lenet5-w1") & (ev.method == "dense") & (ev.eval_set == "clean")]
    assert table[("lenet5-w1", "dense", 0.0, "clean")] == pytest.approx(clean.accuracy.iloc[0])


def test_selection_accuracy_and_gain_loss_by_hand(study):
    selection = [3, 17, 17, 40, 41, 99, 150, 199, 5000]  # a repeat and an unknown id are ignored
    table = data.selection_table(study.models, study.sample_ids, study.matrices, selection)
    table = table.set_index(["architecture", "method", "ratio", "column"])
    chosen = {3, 17, 40, 41, 99, 150, 199}
    sc, sa = study.scores, study.samples
    for arch, method, ratio in [("fcn-w2", "random", 0.95), ("lenet5-w1", "dense", 0.0)]:
        m = sc[(sc.architecture == arch) & (sc.method == method) & (sc.ratio == ratio)]
        for c in ("gaussian_noise", "rotate"):
            sel = np.mean([v / 3 for s, v in zip(m["sample"], m[f"correct_{c}"]) if s in chosen])
            whole = m[f"correct_{c}"].mean() / 3
            row = table.loc[(arch, method, ratio, c)]
            assert row.accuracy == pytest.approx(sel, abs=1e-6) and row.whole == pytest.approx(whole, abs=1e-6)
            assert row.delta == pytest.approx(sel - whole, abs=1e-6)
        clean = sa[(sa.architecture == arch) & (sa.method == method) & (sa.ratio == ratio) & (sa.eval_set == "clean")]
        sel = np.mean([bool(v) for s, v in zip(clean["sample"], clean["correct"]) if s in chosen])
        assert table.loc[(arch, method, ratio, "clean")].accuracy == pytest.approx(sel, abs=1e-6)
    # On all samples the scores route equals evaluation.parquet's mean over severities.
    everything = data.selection_table(study.models, study.sample_ids, study.matrices, study.sample_ids)
    whole = data.whole_table(study.evaluation).merge(everything, on=["architecture", "method", "ratio", "column"])
    np.testing.assert_allclose(whole.accuracy_x, whole.accuracy_y, atol=1e-6)
    np.testing.assert_allclose(everything.delta, 0, atol=1e-6)


def test_table_cells_colours_and_dense_bar():
    table = pd.DataFrame({"architecture": ["a"] * 3, "method": ["dense", "m", "m"], "ratio": [0.0, 0.5, 0.9],
                          "column": ["clean"] * 3, "accuracy": [0.9, 0.7, 0.5], "whole": [0.8, 0.75, 0.5]})
    table["delta"] = table.accuracy - table.whole
    cells = data.table_cells(table, ["m"]).set_index("ratio")
    assert list(cells.index) == [0.0, 0.5, 0.9] and set(cells.row) == {"a · m"}
    assert list(cells.change) == ["gain", "loss", "none"]
    assert list(cells.low) == [0.8, 0.7, 0.5] and list(cells.high) == [0.9, 0.75, 0.5]


def test_delta_categories_and_local_frame(study):
    assert list(data.delta_category([1, 1, 0, 0], [1, 0, 1, 0])) == list(data.CATEGORIES)
    a, b = study.model_samples(3, "fog-3"), study.model_samples(7, "fog-3")
    frame = data.local_frame(a, b).set_index("sample")
    for s in (0, 57, 199):
        ra, rb = a[a["sample"] == s].iloc[0], b[b["sample"] == s].iloc[0]
        assert frame.loc[s, "x"] == pytest.approx(float(rb.angle_own) - float(ra.angle_own), abs=1e-4)
        assert frame.loc[s, "y"] == pytest.approx(float(rb.length) - float(ra.length), abs=1e-4)
        want = ("correct" if ra.correct else "wrong") + "→" + ("correct" if rb.correct else "wrong")
        assert frame.loc[s, "category"] == want
    acc = data.class_accuracy(a, b).set_index("label")
    assert acc.loc[4, "accuracy_b"] == pytest.approx(b[b.label == 4].correct.mean())


def test_brush_and_axes_selection_by_hand(study):
    a = study.model_samples(2, "clean")
    frame = data.local_frame(a)
    got = data.brush_select(frame, {1: {"x": [60, 20], "y": [0, 8]}, 4: {"x": [30, 50]}})
    want = sorted(int(r.sample) for r in a.itertuples()
                  if (r.label == 1 and 20 <= r.angle_own <= 60 and 0 <= r.length <= 8) or (r.label == 4 and 30 <= r.angle_own <= 50))
    assert list(got) == want and want
    b = study.model_samples(5, "rotate-3")
    got = data.axes_select([a, b], [2, 3], 75.0, 105.0)
    want = sorted({int(r.sample) for f in (a, b) for r in f.itertuples() if 75 <= r.angle_2 <= 105 and 75 <= r.angle_3 <= 105})
    assert list(got) == want and want


def test_aggregation_of_10000_samples_is_bounded_and_exact():
    rng = np.random.default_rng(1)
    n = 10_000
    frame = pd.DataFrame({"sample": np.arange(n), "label": rng.integers(0, 10, n), "length": rng.gamma(2, 2, n),
                          "margin": rng.normal(0, 1, n), "prob_own": rng.random(n)})
    shown = data.subsample(frame, 300, "label")
    assert len(shown) == 3000 and shown.label.value_counts().max() == 300
    assert shown.equals(data.subsample(frame, 300, "label"))  # the same points on every reload
    assert len(data.subsample(frame, 300, None)) == 300
    other = frame.assign(length=frame.length * 2)
    dens = data.densities({"A": frame, "B": other}, bins=40)
    assert len(dens) == 2 * 3 * 40
    for (series, measure), d in dens.groupby(["series", "measure"]):
        width = d.x.diff().iloc[1]
        assert (d.density * width).sum() == pytest.approx(1.0)
    lo, hi = min(frame.length.min(), other.length.min()), max(frame.length.min(), other.length.max())
    a = dens[(dens.series == "A") & (dens.measure == "length")]
    edges = np.linspace(lo, hi, 41)
    np.testing.assert_allclose(a.density, np.histogram(frame.length, edges, density=True)[0])


def test_embedding_edges_between_shown_points(study):
    points, lines = data.embedding(study.points, study.edges, "fog-3")
    assert set(points.eval_set) == {"fog-3"} and len(points) == 20
    shown = set(points.point)
    inner = study.edges[study.edges.source.isin(shown) & study.edges.target.isin(shown)]
    assert len(lines) == len(inner)
    xy = study.points.set_index("point")
    first = inner.iloc[0]
    assert (lines.x.iloc[0], lines.y2.iloc[0]) == (xy.loc[first.source, "x"], xy.loc[first.target, "y"])


def test_occlusion_maps_and_image(study):
    maps = data.occlusion_maps(study.occlusion, study.models, 1, [0, 4])
    assert set(maps.measure) == set(data.MEASURES) and maps.model.nunique() == 2 and len(maps) == 2 * 4 * 14 * 14
    occ = study.occlusion
    m = study.models.loc[4]
    row = occ[(occ.architecture == m.architecture) & (occ.method == m.method) & (occ.ratio == m.ratio)
              & (occ["sample"] == 1) & (occ.measure == "margin")].iloc[0]
    got = maps[(maps.model == m.label) & (maps.measure == "margin") & (maps.row == 3) & (maps.col == 5)].value
    assert float(got.iloc[0]) == pytest.approx(row["map"][3 * 14 + 5])
    assert len(data.occlusion_maps(study.occlusion, study.models, 150, [0])) == 0
    pixels = data.image_pixels(study.images("clean"), 7)
    img = np.load(study.workdir / "analysis" / "corrupted" / "clean-0.npy")[7]
    assert len(pixels) == 784 and pixels.gray.iloc[30] == img[1, 2, 0]
    assert pixels.rgb.iloc[30] == "#%02x%02x%02x" % ((int(img[1, 2, 0]),) * 3)


def test_endpoints_answer_json(study):
    e = Endpoints(study)
    for name, q in e.defaults().items():
        json.dumps(e.answer(name, q), allow_nan=False, default=lambda v: v.tolist())
    note = e.answer("attribution", {"sample": 150, "a": 0})["note"]
    assert "precomputed for 3 samples only" in note and "Sample 150 has none" in note


def _serve(workdir):
    server = make_server(workdir, 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_missing_workdir_and_missing_table_pages(tmp_path):
    for workdir in (tmp_path / "nothing", write_workdir(tmp_path / "partial", n_samples=20)):
        if workdir.exists():
            (workdir / "analysis" / "scores.parquet").unlink()
        server = _serve(workdir)
        try:
            base = f"http://127.0.0.1:{server.server_port}"
            with pytest.raises(urllib.error.HTTPError) as page:
                urllib.request.urlopen(base + "/")
            text = page.value.read().decode()
            assert page.value.code == 503
            assert "python -m lottery.main --config=experiments/robustness_lottery_mnist.py:quick" in text
            assert f"--workdir={workdir}" in text
            assert ("scores.parquet" in text) == workdir.exists() and "Traceback" not in text
            with pytest.raises(urllib.error.HTTPError) as api:
                urllib.request.urlopen(base + "/api/meta")
            assert api.value.code == 503 and "command" in json.loads(api.value.read())
        finally:
            server.shutdown()
            server.server_close()
    assert server.server_address[0] == "127.0.0.1"


def test_command_line_bad_flags_one_line_exit_2(tmp_path):
    for args in (["--port=x", "--workdir=" + str(tmp_path)], [], ["--workdir=" + str(tmp_path), "--port=70000"]):
        r = subprocess.run([sys.executable, "-m", "lottery.dashboard", *args], cwd=ROOT, capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_out_writes_a_self_contained_snapshot(tmp_path):
    workdir = write_workdir(tmp_path / "run", n_samples=50)
    out = tmp_path / "dash.html"
    r = subprocess.run([sys.executable, "-m", "lottery.dashboard", f"--workdir={workdir}", f"--out={out}"], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    assert "window.DASH_STATIC" in text and "vegaEmbed" in text and "<script src" not in text
