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

from lottery.dashboard import (accuracy_table, attribution, class_ranking, loading, model_index,  # noqa: E402
                               sample_frames, spanning_tree)
from lottery.dashboard.endpoints import Endpoints  # noqa: E402
from lottery.dashboard.server import make_server  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def analysis(tmp_path_factory):
    return loading.load(write_workdir(tmp_path_factory.mktemp("dash") / "run"))


def test_whole_table_is_the_mean_over_severities_and_seeds(analysis):
    table = accuracy_table.whole_table(analysis.evaluation).set_index(["architecture", "method", "ratio", "column"])["accuracy"]
    ev = analysis.evaluation
    rows = ev[(ev.architecture == "fcn-w2") & (ev.method == "snip") & (ev.ratio == 0.8) & (ev.corruption == "fog")]
    assert len(rows) == 3
    assert table[("fcn-w2", "snip", 0.8, "fog")] == pytest.approx(rows.accuracy.mean())
    clean = ev[(ev.architecture == "lenet5-w1") & (ev.method == "dense") & (ev.eval_set == "clean")]
    assert table[("lenet5-w1", "dense", 0.0, "clean")] == pytest.approx(clean.accuracy.iloc[0])


def test_selection_accuracy_and_gain_loss_by_hand(analysis):
    selection = [3, 17, 17, 40, 41, 99, 150, 199, 5000]  # a repeat and an unknown id are ignored
    table = accuracy_table.selection_table(analysis.models, analysis.sample_ids, analysis.matrices, selection)
    table = table.set_index(["architecture", "method", "ratio", "column"])
    chosen = {3, 17, 40, 41, 99, 150, 199}
    sc, sa = analysis.scores, analysis.samples
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
    everything = accuracy_table.selection_table(analysis.models, analysis.sample_ids, analysis.matrices, analysis.sample_ids)
    whole = accuracy_table.whole_table(analysis.evaluation).merge(everything, on=["architecture", "method", "ratio", "column"])
    np.testing.assert_allclose(whole.accuracy_x, whole.accuracy_y, atol=1e-6)
    np.testing.assert_allclose(everything.delta, 0, atol=1e-6)


def test_table_cells_colours_and_dense_rule():
    models = pd.DataFrame({"architecture": ["a"] * 4, "method": ["dense", "m", "m", "m"], "ratio": [0.0, 0.0, 0.5, 0.9],
                           "seed": 0, "noise_seed": 0, "id": [0, 1, 2, 3]})
    table = pd.DataFrame({"architecture": ["a"] * 4, "method": ["dense", "m", "m", "m"], "ratio": [0.0, 0.0, 0.5, 0.9],
                          "column": ["clean"] * 4, "accuracy": [0.9, 0.85, 0.7, 0.5], "whole": [0.8, 0.85, 0.75, 0.5]})
    table["delta"] = table.accuracy - table.whole
    cells = accuracy_table.table_cells(table, ["m"], models)
    bars, dense = cells[cells.mark == "bar"].set_index("ratio"), cells[cells.mark == "dense"]
    # One bar per ratio, the ratio-0 bar is the method's own model; the unpruned model is one rule, not a bar.
    assert list(bars.index) == [0.0, 0.5, 0.9] and list(bars.model_id) == [1, 2, 3] and set(bars.row) == {"a · m"}
    assert list(bars.change) == ["none", "loss", "none"]
    assert list(bars.low) == [0.85, 0.7, 0.5] and list(bars.high) == [0.85, 0.75, 0.5]
    assert len(dense) == 1 and dense.model_id.iloc[0] == 0 and dense.accuracy.iloc[0] == 0.9
    assert dense.change.iloc[0] == "gain" and dense.row.iloc[0] == "a · m"


def test_table_marks_one_per_model_and_ratio_by_hand(analysis):
    """The fixture's table: 6 rows × 4 columns (clean + 3 families) × 4 ratios bars (0 included) and one
    unpruned rule per cell, each value the hand mean over evaluation rows."""
    columns = accuracy_table.table_columns(analysis.corruptions)
    assert [c["key"] for c in columns] == ["clean", "noise", "weather", "geometric"]
    cells = accuracy_table.table_cells(accuracy_table.group_columns(accuracy_table.whole_table(analysis.evaluation), columns), analysis.methods, analysis.models)
    bars, dense = cells[cells.mark == "bar"], cells[cells.mark == "dense"]
    assert len(bars) == 6 * 4 * 4 and len(dense) == 6 * 4
    assert not bars.duplicated(["row", "column", "ratio"]).any() and not dense.duplicated(["row", "column"]).any()
    ev = analysis.evaluation
    for (arch, method, ratio, corruption, key) in [("fcn-w2", "snip", 0.0, "fog", "weather"),
                                                   ("lenet5-w1", "random", 0.8, "rotate", "geometric")]:
        want = ev[(ev.architecture == arch) & (ev.method == method) & (ev.ratio == ratio) & (ev.corruption == corruption)]
        got = bars[(bars.architecture == arch) & (bars.method == method) & (bars.ratio == ratio) & (bars.column_key == key)]
        assert len(got) == 1 and got.accuracy.iloc[0] == pytest.approx(want.accuracy.mean())
        model = analysis.models.loc[got.model_id.iloc[0]]
        assert (model.architecture, model.method, model.ratio) == (arch, method, ratio)
    clean = ev[(ev.architecture == "fcn-w2") & (ev.method == "dense") & (ev.eval_set == "clean")].accuracy.iloc[0]
    rule = dense[(dense.row == "fcn-w2 · magnitude") & (dense.column_key == "clean")]
    assert rule.accuracy.iloc[0] == pytest.approx(clean) and analysis.models.loc[rule.model_id.iloc[0]].method == "dense"


REAL_CORRUPTIONS = ["gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise", "defocus_blur", "glass_blur",
                    "motion_blur", "zoom_blur", "gaussian_blur", "snow", "frost", "fog", "spatter", "brightness",
                    "contrast", "saturate", "elastic_transform", "pixelate", "jpeg_compression", "shear", "scale",
                    "rotate", "translate", "stripe", "dotted_line", "zigzag", "canny_edges", "inverse"]


def test_family_columns_and_drill_down():
    cols = accuracy_table.table_columns(REAL_CORRUPTIONS + ["mystery"])
    assert [c["key"] for c in cols] == ["clean", "noise", "blur", "weather", "digital", "geometric", "strokes", "other"]
    assert sum(len(c["members"]) for c in cols) == 1 + 29
    cols = accuracy_table.table_columns(REAL_CORRUPTIONS, expand="blur")
    assert [c["key"] for c in cols][2:7] == ["defocus_blur", "glass_blur", "motion_blur", "zoom_blur", "gaussian_blur"]
    assert len(cols) == 1 + 5 + 5 and [c["order"] for c in cols] == list(range(11))
    table = pd.DataFrame({"architecture": "a", "method": "m", "ratio": 0.5, "column": ["clean", "fog", "snow", "shear"],
                          "accuracy": [0.9, 0.6, 0.3, 0.5], "whole": [0.9, 0.5, 0.5, 0.5]})
    grouped = accuracy_table.group_columns(table, accuracy_table.table_columns(["fog", "snow", "shear"])).set_index("column_key")
    assert grouped.loc["weather", "accuracy"] == pytest.approx(0.45) and grouped.loc["weather", "delta"] == pytest.approx(-0.05)
    assert grouped.loc["geometric", "column"] == "geometric (1) ▸"


def _table_svg_width(n_ratios, corruptions, expand):
    """The rendered width (px) of the evaluation table of 2 architectures × 4 methods (vl-convert's SVG)."""
    import re

    import vl_convert

    from lottery.dashboard import views

    ratios = [round(0.1 * i, 1) for i in range(n_ratios)]
    rows = []
    for col in accuracy_table.table_columns(corruptions, expand):
        for arch in ("lenet5-w1", "mnist_fcn2-w100"):
            for method in ("random", "magnitude", "snip", "taylor1"):
                for r in ratios:
                    rows.append(dict(mark="bar", row=f"{arch} · {method}", column=col["label"], order=col["order"],
                                     ratio_label=f"{r:g}", low=0.5, high=0.6, accuracy=0.6, whole=0.5, change="gain"))
                rows.append(dict(mark="dense", row=f"{arch} · {method}", column=col["label"], order=col["order"],
                                 accuracy=0.9))
    spec = views.table_chart(ratios)
    spec["datasets"] = {"cells": rows}
    svg = vl_convert.vegalite_to_svg(spec)
    return float(re.search(r'<svg[^>]*width="([\d.]+)"', svg).group(1))


def test_table_fits_1600_px_at_29_columns_and_11_ratios():
    widths = [_table_svg_width(11, REAL_CORRUPTIONS, expand) for expand in (None, "blur", "strokes")]
    print(f"\ntable width at 11 ratios: families {widths[0]:.0f} px, blur drilled down {widths[1]:.0f} px, "
          f"strokes {widths[2]:.0f} px")
    assert all(w <= 1600 for w in widths), widths


def test_delta_categories_and_local_frame(analysis):
    assert list(sample_frames.delta_category([1, 1, 0, 0], [1, 0, 1, 0])) == list(sample_frames.CATEGORIES)
    a, b = analysis.model_samples(3, "fog-3"), analysis.model_samples(7, "fog-3")
    frame = sample_frames.local_frame(a, b).set_index("sample")
    for s in (0, 57, 199):
        ra, rb = a[a["sample"] == s].iloc[0], b[b["sample"] == s].iloc[0]
        assert frame.loc[s, "x"] == pytest.approx(float(rb.angle_own) - float(ra.angle_own), abs=1e-4)
        assert frame.loc[s, "y"] == pytest.approx(float(rb.length) - float(ra.length), abs=1e-4)
        want = ("correct" if ra.correct else "wrong") + "→" + ("correct" if rb.correct else "wrong")
        assert frame.loc[s, "category"] == want
    acc = class_ranking.class_accuracy(a, b).set_index("label")
    assert acc.loc[4, "accuracy_b"] == pytest.approx(b[b.label == 4].correct.mean())


def test_brush_and_axes_selection_by_hand(analysis):
    a = analysis.model_samples(2, "clean")
    frame = sample_frames.local_frame(a)
    got = sample_frames.brush_select(frame, {1: {"x": [60, 20], "y": [0, 8]}, 4: {"x": [30, 50]}})
    want = sorted(int(r.sample) for r in a.itertuples()
                  if (r.label == 1 and 20 <= r.angle_own <= 60 and 0 <= r.length <= 8) or (r.label == 4 and 30 <= r.angle_own <= 50))
    assert list(got) == want and want
    b = analysis.model_samples(5, "rotate-3")
    got = sample_frames.axes_select([a, b], [2, 3], 75.0, 105.0)
    want = sorted({int(r.sample) for f in (a, b) for r in f.itertuples() if 75 <= r.angle_2 <= 105 and 75 <= r.angle_3 <= 105})
    assert list(got) == want and want


def test_aggregation_of_10000_samples_is_bounded_and_exact():
    rng = np.random.default_rng(1)
    n = 10_000
    frame = pd.DataFrame({"sample": np.arange(n), "label": rng.integers(0, 10, n), "length": rng.gamma(2, 2, n),
                          "margin": rng.normal(0, 1, n), "prob_own": rng.random(n)})
    shown = sample_frames.subsample(frame, 300, "label")
    assert len(shown) == 3000 and shown.label.value_counts().max() == 300
    assert shown.equals(sample_frames.subsample(frame, 300, "label"))  # the same points on every reload
    assert len(sample_frames.subsample(frame, 300, None)) == 300
    other = frame.assign(length=frame.length * 2)
    dens = sample_frames.densities({"A": frame, "B": other}, bins=40)
    assert len(dens) == 2 * 3 * 40
    for (series, measure), d in dens.groupby(["series", "measure"]):
        width = d.x.diff().iloc[1]
        assert (d.density * width).sum() == pytest.approx(1.0)
    lo, hi = min(frame.length.min(), other.length.min()), max(frame.length.min(), other.length.max())
    a = dens[(dens.series == "A") & (dens.measure == "length")]
    edges = np.linspace(lo, hi, 41)
    np.testing.assert_allclose(a.density, np.histogram(frame.length, edges, density=True)[0])


def test_polyline_segments_by_hand():
    frame = pd.DataFrame({"sample": [5, 9], "label": [1, 0], "angle_3": [10.0, 40.0], "angle_0": [20.004, 50.0],
                          "angle_7": [30.0, 60.0]})
    seg = sample_frames.polyline_segments(frame, ["angle_3", "angle_0", "angle_7"])
    assert seg.to_dict(orient="list") == {"sample": [5, 5, 9, 9], "label": [1, 1, 0, 0], "slot": [0, 1, 0, 1],
                                          "angle": [10.0, 20.0, 40.0, 50.0], "slot2": [1, 2, 1, 2],
                                          "angle2": [20.0, 30.0, 50.0, 60.0]}
    assert len(sample_frames.polyline_segments(frame, ["angle_3"])) == 0  # one axis: no segment


def test_spanning_trees_are_the_engines_edges_drawn_on_the_layout(analysis):
    """The view draws embedding_edges (a tree per eval set, computed by the engine) between the points' 2-D
    positions; it computes no tree of its own. Each line joins two points of its set, with the edge's distance."""
    import pyarrow.parquet as pq

    edges = pq.read_table(analysis.workdir / "analysis" / "embedding_edges.parquet").to_pandas()
    points, lines = spanning_tree.embedding(analysis.points, analysis.edges, None)
    sets = sorted(set(points.eval_set))
    assert len(sets) == 4 and len(lines) == len(edges) == len(points) - len(sets)
    xy = points.set_index("point")[["x", "y"]]
    for name in sets:
        mine, theirs = lines[lines.eval_set == name], edges[edges.eval_set == name]
        assert len(mine) == (points.eval_set == name).sum() - 1
        assert mine.distance.sum() == pytest.approx(theirs.distance.sum())
        ends = {tuple(p) for p in xy[points.set_index("point").eval_set == name].to_numpy().round(9)}
        assert all((round(r.x, 9), round(r.y, 9)) in ends and (round(r.x2, 9), round(r.y2, 9)) in ends
                   for r in mine.itertuples())
    one, one_lines = spanning_tree.embedding(analysis.points, analysis.edges, "fog-3")
    assert set(one.eval_set) == {"fog-3"} and len(one) == 26 and len(one_lines) == 25
    assert set(one_lines.eval_set) == {"fog-3"}


def test_class_names_ranking_and_shown_classes(analysis):
    cfg = {"config": {"data": {"name": "fashion_mnist"}}}
    assert loading.class_names(cfg, 10)[6] == "Shirt" and loading.class_names(cfg, 3) == ["T-shirt/top", "Trouser", "Pullover"]
    assert loading.class_names({"config": {"data": {"name": "cifar100"}}}, 100)[99] == "worm"
    coarse = loading.class_names({"config": {"data": {"name": "cifar100", "label_kind": "coarse"}}}, 20)
    assert len(set(coarse)) == 20 and coarse[0] == "aquatic_mammals" and coarse[19] == "vehicles_2"
    assert loading.class_names({}, 2) == ["class 0", "class 1"]
    a, b = analysis.model_samples(3, "clean"), analysis.model_samples(9, "clean")
    for by in class_ranking.RANKINGS_TWO:
        ranking = class_ranking.class_ranking(a, b, by).set_index("label")
        for k in (0, 7):
            ra, rb = a[a.label == k].set_index("sample"), b[b.label == k].set_index("sample").loc[a[a.label == k]["sample"]]
            want = {"accuracy_change": rb.correct.mean() - ra.correct.mean(),
                    "angle_shift": float(np.mean(rb.angle_own.to_numpy(float) - ra.angle_own.to_numpy(float))),
                    "margin_shift": float(np.mean(rb.margin.to_numpy(float) - ra.margin.to_numpy(float))),
                    "changed": float(np.mean(ra.correct.to_numpy() != rb.correct.to_numpy()))}[by]
            assert ranking.loc[k, "score"] == pytest.approx(want, abs=1e-5)
        scores = class_ranking.class_ranking(a, b, by)["score"].abs().to_numpy()
        assert (np.diff(scores) <= 1e-12).all()  # sorted by |score|
    one = class_ranking.class_ranking(a, None).set_index("label")
    assert one.loc[2, "score"] == pytest.approx(1 - a[a.label == 2].correct.mean())
    ranking = pd.DataFrame({"label": [5, 3, 9, 0, 1]})
    assert class_ranking.shown_classes(ranking, 4, 10) == [0, 1, 2, 3]
    assert class_ranking.shown_classes(ranking, 100, 3) == [5, 3, 9]
    assert class_ranking.shown_classes(ranking, 100, 3, pinned=[1, 77]) == [1, 77, 5]


@pytest.mark.parametrize("n_classes", [100, 1000])
def test_many_classes_draw_only_the_top_k(tmp_path, n_classes):
    workdir = write_workdir(tmp_path / "run", architectures=("fcn-w2",), methods=("magnitude",), ratios=(0.5,),
                            corruptions=("fog",), severities=(3,), n_samples=1500, n_classes=n_classes,
                            occlusion_samples=(0,), dataset="cifar100" if n_classes == 100 else "imagenet")
    e = Endpoints(loading.load(workdir))
    q = {"models": [1, 0], "eval_set": "clean", "k": 10, "classes": [7], "rank": "changed"}
    local = e.answer("local", q)
    titles = local["signals"]["panel_titles"]
    assert len(local["classes"]) == 10 and local["classes"][0] == 7 and len(titles) == 10
    assert len(local["spec"]["concat"]) == 10
    assert set(local["data"]["points"]["slot"]) <= set(range(10))
    assert set(local["data"]["points"]["label"]) <= set(local["classes"])
    ranked = local["ranking"]["data"]["ranking"]
    assert len(ranked["label"]) <= 26 and sum(ranked["shown"]) == 10
    glob = e.answer("global", q)
    lines = pd.DataFrame(glob["data"]["lines"])  # A's 10 axes are slots 0-9, B's 11-20: segments start at 0-8, 11-19
    assert glob["classes"] == local["classes"] and set(lines[lines.series == "A"].slot) <= set(range(9))
    assert set(lines[lines.series == "B"].slot) <= set(range(11, 20))
    assert glob["signals"]["n_axes"] == 10 and glob["signals"]["axis_names"][0] == glob["signals"]["axis_names"][11] == titles[0][:14]
    if n_classes == 100:
        assert titles[0] == "beetle"  # class 7 of CIFAR-100
    else:
        assert titles[0] == "class 7"


def test_spec_only_when_the_structure_changes(analysis):
    e = Endpoints(analysis)
    first = e.answer("table", {"samples": None})
    again = e.answer("table", {"samples": [1, 2, 3], "structure": first["structure"]})
    assert "spec" in first and "spec" not in again and again["structure"] == first["structure"]
    assert again["data"]["cells"] != first["data"]["cells"]
    # The local view: other axes, classes or a second model change only the params' values; other k the spec.
    local = e.answer("local", {"models": [0]})
    assert len(local["spec"]["concat"]) == 10 and local["signals"]["x_title"] == "angle_own (°)"
    axes = e.answer("local", {"models": [0], "x": "margin", "structure": local["structure"]})
    assert "spec" not in axes and axes["signals"]["x_title"] == "margin"
    two = e.answer("local", {"models": [0, 3], "structure": local["structure"]})
    assert "spec" not in two and two["signals"]["x_title"] == "Δ angle_own (°)"
    assert two["signals"]["categories"] == ["correct→correct", "correct→wrong", "wrong→correct", "wrong→wrong"]
    assert local["signals"]["categories"] == ["correct", "incorrect"]
    fewer = e.answer("local", {"models": [0], "k": 4, "structure": local["structure"]})
    assert len(fewer["spec"]["concat"]) == 4 and [p["name"] for p in fewer["spec"]["params"] if "select" in p] == [
        "brush_0", "brush_1", "brush_2", "brush_3"]
    assert [p["views"] for p in fewer["spec"]["params"] if "select" in p] == [["panel_0"], ["panel_1"], ["panel_2"], ["panel_3"]]
    # The global view: other classes or a second series only change its params (B's axes right of A's).
    glob = e.answer("global", {"models": [0]})
    fewer = e.answer("global", {"models": [0], "k": 4, "structure": glob["structure"]})
    assert "spec" not in fewer and fewer["signals"]["n_axes"] == 4 and not fewer["signals"]["has_b"]
    two = e.answer("global", {"models": [0, 3], "k": 4, "structure": glob["structure"]})
    assert "spec" not in two and two["signals"]["has_b"] and len(two["signals"]["axis_names"]) == 2 * 4 + 1
    lines = pd.DataFrame(two["data"]["lines"])
    assert set(lines[lines.series == "A"].slot) == {0, 1, 2} and set(lines[lines.series == "B"].slot) == {5, 6, 7}
    assert (lines.slot2 == lines.slot + 1).all()


def test_attribution_values_are_the_unoccluded_rows(analysis):
    e = Endpoints(analysis)
    r = e.answer("attribution", {"sample": 1, "models": [4, 0, 9]})
    assert [v["model"] for v in r["values"]] == [analysis.models.loc[i, "label"] for i in (4, 0, 9)]
    sa = analysis.samples
    for v, i in zip(r["values"], (4, 0, 9)):
        m = analysis.models.loc[i]
        row = sa[(sa.architecture == m.architecture) & (sa.method == m.method) & (sa.ratio == m.ratio)
                 & (sa.eval_set == "clean") & (sa["sample"] == 1)].iloc[0]
        assert v["margin"] == pytest.approx(float(row.margin), abs=1e-4) and v["pred"] == str(int(row.pred))
    assert set(r["data"]["maps"]["model"]) == set(r["models_with_maps"]) and len(r["models_with_maps"]) == 3


def test_concurrent_requests_match_sequential_answers(tmp_path):
    import concurrent.futures
    import urllib.request

    server = _serve(write_workdir(tmp_path / "run", n_samples=60))
    try:
        base = f"http://127.0.0.1:{server.server_port}/api/"

        def ask(name_q):
            req = urllib.request.Request(base + name_q[0], data=json.dumps(name_q[1]).encode(), method="POST")
            return json.loads(urllib.request.urlopen(req, timeout=60).read())

        jobs = [("local", {"models": [i % 20]}) for i in range(12)] + [("table", {"samples": list(range(i))}) for i in range(1, 9)]
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            together = list(pool.map(ask, jobs))
        assert together == [ask(j) for j in jobs]
    finally:
        server.shutdown()
        server.server_close()


def test_occlusion_maps_and_image(analysis):
    assert analysis.occlusion_samples == [0, 1, 2]
    occ = analysis.occlusion(1)  # only that sample's row group is read
    assert set(occ["sample"]) == {1} and len(occ) == len(analysis.models) * 4
    maps = attribution.occlusion_maps(occ, analysis.models, 1, [0, 4])
    assert set(maps.measure) == set(model_index.MEASURES) and maps.model.nunique() == 2 and len(maps) == 2 * 4 * 14 * 14
    m = analysis.models.loc[4]
    row = occ[(occ.architecture == m.architecture) & (occ.method == m.method) & (occ.ratio == m.ratio)
              & (occ.measure == "margin")].iloc[0]
    got = maps[(maps.model == m.label) & (maps.measure == "margin") & (maps.row == 3) & (maps.col == 5)].value
    assert float(got.iloc[0]) == pytest.approx(row["map"][3 * 14 + 5])
    assert len(analysis.occlusion(150)) == 0
    assert len(attribution.occlusion_maps(analysis.occlusion(150), analysis.models, 150, [0])) == 0
    pixels = attribution.image_pixels(analysis.images("clean"), 7)
    img = np.load(analysis.workdir / "analysis" / "corrupted" / "clean-0.npy")[7]
    assert len(pixels) == 784 and pixels.gray.iloc[30] == img[1, 2, 0]
    assert pixels.rgb.iloc[30] == "#%02x%02x%02x" % ((int(img[1, 2, 0]),) * 3)


def test_the_store_readers_read_the_files_as_written(analysis):
    """What the dashboard reads through lottery.store (config.json, the analysis tables, the images) is what json,
    pandas and numpy read from the files at the paths the workdir layout names."""
    from lottery.store import analysis as store
    from lottery.store import workdir as wd

    w = str(analysis.workdir)
    assert wd.read_config(w) == json.loads((analysis.workdir / "config.json").read_text())
    direct = pd.read_parquet(analysis.workdir / "analysis" / "occlusion.parquet")
    assert store.table_columns(w, "occlusion") == list(direct.columns)
    got = store.read_table(w, "occlusion", columns=["sample", "measure"], filters=[("sample", "==", 2)])
    want = direct.loc[direct["sample"] == 2, ["sample", "measure"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want)
    samples = store.read_table(w, "samples", categorical=True)
    assert isinstance(samples["eval_set"].dtype, pd.CategoricalDtype)
    direct = pd.read_parquet(analysis.workdir / "analysis" / "samples.parquet")
    pd.testing.assert_frame_equal(samples.astype({c: direct[c].dtype for c in samples.select_dtypes("category")}), direct)
    clean = np.load(analysis.workdir / "analysis" / "corrupted" / "clean-0.npy")
    assert np.array_equal(store.eval_set_images(w, "clean"), clean)
    assert store.eval_set_images_path(w, "fog-3") == store.corrupted_path(w, "fog", 3) == str(
        analysis.workdir / "analysis" / "corrupted" / "fog-3.npy")
    assert store.eval_set_images(w, "no_such_set-9") is None


def test_endpoints_answer_json(analysis):
    e = Endpoints(analysis)
    for name, q in e.defaults().items():
        json.dumps(e.answer(name, q), allow_nan=False, default=lambda v: v.tolist())
    ranked = e.answer("local", {"models": [0]})["ranking"]["data"]["ranking"]  # datasets go by column
    assert len(ranked["label"]) == 10 and ranked["accuracy_b"] == [None] * 10  # no model B: NaN is sent as null
    note = e.answer("attribution", {"sample": 150, "a": 0})["note"]
    assert "precomputed for 3 samples only" in note and "Sample 150 has no map for" in note


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


def test_an_older_analysis_with_one_tree_over_every_set_is_named_as_missing(tmp_path):
    workdir = write_workdir(tmp_path / "old", n_samples=20)
    path = workdir / "analysis" / "embedding_edges.parquet"
    pd.read_parquet(path).drop(columns="eval_set").to_parquet(path, index=False)
    with pytest.raises(loading.MissingData) as info:
        loading.load(workdir)
    assert info.value.missing == ["analysis/embedding_edges.parquet's eval_set column (a tree per eval set; "
                                  "rerun the command)"]


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
