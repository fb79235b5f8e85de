"""Vega-Lite specs (built with Altair) of the dashboard's views, over named datasets without values.

A spec depends only on the view's structure (the study's ratios, the number of class panels, the chosen
axes), never on a selection: the page embeds it once and then replaces the named datasets through the
vega View API (`view.data(name, rows)`). Each function's docstring names its datasets (with their fields),
its selection params and what a click carries. `interactive=False` leaves out the brushes (the --out
snapshot, which has no server to answer them).
"""

from __future__ import annotations

import functools
import json
import re

import altair as alt

GAIN, LOSS, BAR, DENSE = "#2ca02c", "#d62728", "#4c78a8", "#222222"
SERIES = ("A", "B")
SERIES_COLOURS = ("#1f77b4", "#ff7f0e")
CATEGORY_COLOURS = {"correct": "#9e9e9e", "incorrect": "#d62728", "correct→correct": "#b0b0b0",
                    "correct→wrong": "#d62728", "wrong→correct": "#2ca02c", "wrong→wrong": "#3a3a3a"}
# Paper B's convention for attribution maps: red where occluding the patch increases the measure, blue where
# it decreases it, white at no change.
DIVERGING = ("#2166ac", "#f7f7f7", "#b2182b")


def _spec(chart) -> dict:
    """The chart as a Vega-Lite dict, laid out again whenever its datasets change (autosize resize)."""
    spec = chart.to_dict(validate=False)  # the specs are fixed and tested; validation costs ~0.5 s per spec
    spec["autosize"] = {"type": "pad", "resize": True}
    return spec


def _data(name: str):
    """A named dataset the page fills (vega `view.data(name, rows)`)."""
    return alt.NamedData(name=name)


def _interval(name: str, encodings, interactive: bool):
    """An interval selection param, or None in a non-interactive spec."""
    return alt.selection_interval(name=name, encodings=list(encodings)) if interactive else None


def table_chart(ratios, interactive: bool = True) -> dict:
    """The evaluation table: a facet grid (rows 'architecture · method', columns in the field `order`), each
    cell one bar per prune ratio and the unpruned model as a dashed rule across the cell. Dataset `cells`
    (accuracy_table.table_cells plus ratio_label and highlight): bars where kind = 'bar' (height = the lower of the
    selection's and the whole test set's accuracy, the segment between them green (gain) / red (loss)),
    the rule where kind = 'dense', the column's header text where kind = 'header' (one row per column, in the
    first row). Clicks carry the datum (model_id, or kind 'header' and column). Highlighted rows are opaque,
    the others faded."""
    ratio_order = [f"{r:g}" for r in ratios]
    tooltip = [alt.Tooltip("row:N"), alt.Tooltip("column:N"), alt.Tooltip("ratio:Q"),
               alt.Tooltip("accuracy:Q", format=".3f"), alt.Tooltip("whole:Q", format=".3f", title="whole test set"),
               alt.Tooltip("delta:Q", format="+.3f")]
    x = alt.X("ratio_label:N", sort=ratio_order, scale=alt.Scale(domain=ratio_order), title=None,
              axis=alt.Axis(labelAngle=-90, labelFontSize=7, ticks=False))
    y = alt.Y("low:Q", scale=alt.Scale(domain=[0, 1]), title=None, stack=None, axis=alt.Axis(tickCount=3, labelFontSize=8))
    opacity = alt.condition("datum.highlight", alt.value(1.0), alt.value(0.25))
    base = alt.Chart()
    bars = base.mark_bar(color=BAR).encode(x=x, y=y, opacity=opacity, tooltip=tooltip).transform_filter("datum.kind == 'bar'")
    change = base.mark_bar().encode(
        x=x, y=alt.Y("low:Q", stack=None), y2="high:Q", opacity=opacity, tooltip=tooltip,
        color=alt.Color("change:N", scale=alt.Scale(domain=["gain", "loss"], range=[GAIN, LOSS]),
                        legend=alt.Legend(title="selection vs whole", orient="top")),
    ).transform_filter("datum.kind == 'bar' && datum.change != 'none'")
    dense = base.mark_rule(color=DENSE, strokeDash=[3, 2], strokeWidth=2).encode(
        y=alt.Y("accuracy:Q", stack=None), opacity=opacity,
        tooltip=[alt.Tooltip("row:N"), alt.Tooltip("column:N"), alt.Tooltip("accuracy:Q", format=".3f", title="unpruned"),
                 alt.Tooltip("whole:Q", format=".3f", title="unpruned, whole test set")],
    ).transform_filter("datum.kind == 'dense'")
    width = max(70, 6 + 9 * len(ratio_order))
    # Column headers as text marks of the first row (kind 'header'): Vega's own facet headers take no clicks.
    header = base.mark_text(baseline="bottom", fontSize=11, fontWeight="bold", limit=width,
                            color="#1a4f8b" if interactive else "#222222").encode(
        x=alt.value(width / 2), y=alt.value(-5), text="column:N").transform_filter("datum.kind == 'header'")
    layered = alt.layer(bars, change, dense, header, data=_data("cells")).properties(width=width, height=56)
    chart = layered.facet(
        row=alt.Row("row:N", title=None, header=alt.Header(labelAngle=0, labelAlign="left", labelFontSize=11)),
        column=alt.Column("column:N", sort=alt.EncodingSortField("order", op="min"), title=None,
                          header=alt.Header(labels=False)),
        spacing={"row": 6, "column": 4})
    return _spec(chart)


def similarity_chart(colour_title: str = "method") -> dict:
    """The geometric similarity view: UMAP points (dataset `points`: x, y, colour, eval_set, label, model_id,
    highlight, chosen) coloured by `colour`, shaped by eval set, and the minimum spanning tree of each eval
    set (dataset `edges`: x, y, x2, y2). Chosen models are ringed and lettered. Clicks carry model_id."""
    edges = alt.Chart(_data("edges")).mark_rule(color="#bbbbbb", strokeWidth=1).encode(x="x:Q", y="y:Q", x2="x2:Q", y2="y2:Q")
    base = alt.Chart(_data("points"))
    dots = base.mark_point(filled=True, opacity=0.85, stroke="black").encode(
        x=alt.X("x:Q", scale=alt.Scale(zero=False, padding=12), title="UMAP 1"),
        y=alt.Y("y:Q", scale=alt.Scale(zero=False, padding=12), title="UMAP 2"),
        color=alt.Color("colour:N", legend=alt.Legend(orient="right", title=colour_title)),
        shape=alt.Shape("eval_set:N", legend=alt.Legend(orient="right", title="eval set")),
        size=alt.condition("datum.highlight", alt.value(140), alt.value(45)),
        strokeWidth=alt.condition("datum.chosen != ''", alt.value(2.5), alt.value(0)),
        tooltip=["label:N", "eval_set:N", "point:Q"])
    names = base.mark_text(dy=-11, fontWeight="bold").encode(x="x:Q", y="y:Q", text="chosen:N").transform_filter(
        "datum.chosen != ''")
    return _spec(alt.layer(edges, dots, names).properties(width=420, height=300))


def local_chart(titles, x_title: str, y_title: str, delta: bool, interactive: bool = True) -> dict:
    """The local geometry view (see _local_chart): the texts filled into a template cached per number of panels,
    so other classes or axes cost a walk over the spec (~1 ms) instead of an Altair build (~0.5 s)."""
    texts = {f"\x01{i}\x01": str(t) for i, t in enumerate(titles)}
    texts.update({"\x01x\x01": str(x_title), "\x01y\x01": str(y_title)})
    return _fill(_local_template(len(titles), delta, interactive), texts)


@functools.lru_cache(maxsize=32)
def _local_template(n: int, delta: bool, interactive: bool) -> dict:
    """The local chart of n panels with placeholders \x01i\x01 (panel titles), \x01x\x01 / \x01y\x01 (axis titles)."""
    return _local_chart([f"\x01{i}\x01" for i in range(n)], "\x01x\x01", "\x01y\x01", delta, interactive)


def _fill(spec, texts: dict):
    """A copy of a spec with every placeholder (a key of texts) inside its strings replaced by its text."""
    if isinstance(spec, dict):
        return {k: _fill(v, texts) for k, v in spec.items()}
    if isinstance(spec, list):
        return [_fill(v, texts) for v in spec]
    if isinstance(spec, str) and "\x01" in spec:
        return re.sub("\x01[^\x01]*\x01", lambda m: texts[m.group(0)], spec)
    return spec


def _local_chart(titles, x_title: str, y_title: str, delta: bool, interactive: bool = True) -> dict:
    """The local geometry view: one scatter panel per shown class (slot i has title titles[i] and, when
    interactive, the interval selection brush_i on x and y), x against y (correct grey, incorrect red, or
    with a second model the four Δ categories), scales shared by the panels. Datasets `points` (sample,
    label, slot, x, y, category, selected) and `panels` (slot, text: the class accuracy A → B)."""
    domain = list(CATEGORY_COLOURS)[2:] if delta else ["correct", "incorrect"]
    colour = alt.Color("category:N", scale=alt.Scale(domain=domain, range=[CATEGORY_COLOURS[d] for d in domain]),
                       legend=alt.Legend(orient="top", title=None))
    charts = []
    for i, title in enumerate(titles):
        brush = _interval(f"brush_{i}", ["x", "y"], interactive)
        dots = alt.Chart(_data("points")).mark_circle(size=14).encode(
            x=alt.X("x:Q", scale=alt.Scale(zero=False, nice=False), title=x_title, axis=alt.Axis(tickCount=4)),
            y=alt.Y("y:Q", scale=alt.Scale(zero=False, nice=False), title=y_title, axis=alt.Axis(tickCount=4)),
            color=colour,
            opacity=alt.condition(brush, alt.value(0.8), alt.value(0.12)) if brush is not None else alt.value(0.8),
            stroke=alt.condition("datum.selected", alt.value("black"), alt.value(None)),
            strokeWidth=alt.condition("datum.selected", alt.value(1.2), alt.value(0)),
            tooltip=["sample:Q", "label:Q", "category:N", alt.Tooltip("x:Q", title=x_title), alt.Tooltip("y:Q", title=y_title)],
        ).transform_filter(f"datum.slot == {i}")
        if brush is not None:
            dots = dots.add_params(brush)
        text = alt.Chart(_data("panels")).mark_text(align="right", baseline="top", fontSize=9, color="#444").encode(
            x=alt.value(74), y=alt.value(2), text="text:N").transform_filter(f"datum.slot == {i}")
        charts.append(alt.layer(dots, text).properties(width=76, height=64, title=title))
    if not charts:
        charts = [alt.Chart(_data("points")).mark_circle().properties(width=86, height=70, title="no class")]
    chart = alt.concat(*charts, columns=4).resolve_scale(x="shared", y="shared")
    return _spec(chart.configure_title(fontSize=10, limit=100).configure_axis(titleFontSize=9, labelFontSize=8))


def ranking_chart(title: str) -> dict:
    """The class ranking: a horizontal bar per ranked class (dataset `ranking`: label, name, score, rank,
    shown), in rank order, shown classes dark. Clicks carry label (the page pins / unpins the class)."""
    chart = alt.Chart(_data("ranking")).mark_bar().encode(
        y=alt.Y("name:N", sort=alt.EncodingSortField("rank", op="min"), title=None, axis=alt.Axis(labelLimit=110, labelFontSize=9)),
        x=alt.X("score:Q", title=title),
        color=alt.condition("datum.shown", alt.value("#4c78a8"), alt.value("#c6d4e6")),
        tooltip=["name:N", "label:Q", alt.Tooltip("score:Q", format=".3f"), alt.Tooltip("accuracy:Q", format=".3f"),
                 alt.Tooltip("accuracy_b:Q", format=".3f"), "n:Q"])
    return _spec(chart.properties(width=110, height=alt.Step(11)))


def global_chart(names, has_b: bool, interactive: bool = True) -> dict:
    """The global geometry view: parallel coordinates, one axis per shown class (axis slot i labelled names[i]),
    the reference A and the compared B side by side on a shared angle scale (interval params pbrush_A /
    pbrush_B over slot × angle), lines coloured by the sample's class, the selected samples drawn bold and
    black on top; below, densities of length, margin and prob_own of both series. Datasets `lines`
    (series, sample, slot, angle, class, selected) and `dens` (series, measure, x, density)."""
    k = max(1, len(names))
    labels = json.dumps([str(n)[:14] for n in names])
    x = alt.X("slot:Q", scale=alt.Scale(domain=[-0.3, k - 0.7], nice=False), title="angle to class (°)",
              axis=alt.Axis(values=list(range(k)), labelExpr=f"{labels}[datum.value] || ''", grid=True, labelAngle=-40, labelOverlap=False,
                            labelFontSize=8))
    y = alt.Y("angle:Q", scale=alt.Scale(zero=False), title="angle (°)")
    panels = []
    for s in SERIES[: 2 if has_b else 1]:
        brush = _interval(f"pbrush_{s}", ["x", "y"], interactive)
        lines = alt.Chart(_data("lines")).transform_filter(f"datum.series == '{s}'").mark_line(strokeWidth=0.8).encode(
            x=x, y=y, color=alt.Color("class:N", legend=alt.Legend(orient="right", title="class", symbolLimit=20)),
            detail="sample:N", order="slot:Q",
            opacity=alt.condition(brush, alt.value(0.45), alt.value(0.05)) if brush is not None else alt.value(0.45))
        if brush is not None:
            lines = lines.add_params(brush)
        bold = alt.Chart(_data("lines")).transform_filter(f"datum.series == '{s}' && datum.selected").mark_line(
            strokeWidth=1.8, color="black", opacity=0.9).encode(x=x, y=y, detail="sample:N", order="slot:Q")
        title = "A · reference" if s == "A" else "B · compared"
        panels.append(alt.layer(lines, bold).properties(width=300 if has_b else 560, height=200, title=title))
    colour = alt.Color("series:N", scale=alt.Scale(domain=list(SERIES), range=list(SERIES_COLOURS)),
                       legend=alt.Legend(orient="top", title="series"))
    plots = []
    for measure in ("length", "margin", "prob_own"):
        plots.append(alt.Chart(_data("dens")).transform_filter(f"datum.measure == '{measure}'").mark_area(
            opacity=0.3, interpolate="step", line=True).encode(
            x=alt.X("x:Q", title=measure), y=alt.Y("density:Q", stack=None, title="density"), color=colour,
        ).properties(width=170, height=90))
    top = alt.hconcat(*panels).resolve_scale(y="shared")
    return _spec(alt.vconcat(top, alt.hconcat(*plots)).resolve_scale(color="independent"))


def attribution_chart() -> dict:
    """The attribution view: the input image (dataset `pixels`: row, col, rgb, gray) beside the occlusion maps
    (dataset `maps`: model, measure, row, col, value = occluded − unoccluded), one column per measure and
    one row per model, any number of models. Each measure has its own colour scale, diverging at 0:
    red = the measure increases when the patch is occluded, blue = it decreases (paper B's convention)."""
    axis_off = dict(axis=None)
    image = alt.Chart(_data("pixels")).mark_rect().encode(
        x=alt.X("col:O", **axis_off), y=alt.Y("row:O", **axis_off), color=alt.Color("rgb:N", scale=None),
        tooltip=["row:O", "col:O", "gray:Q"]).properties(width=112, height=112, title="input")
    cells = []
    for i, measure in enumerate(("angle_own", "length", "margin", "prob_own")):
        cells.append(alt.Chart(_data("maps")).transform_filter(f"datum.measure == '{measure}'").mark_rect().encode(
            x=alt.X("col:O", **axis_off), y=alt.Y("row:O", **axis_off),
            color=alt.Color("value:Q", scale=alt.Scale(type="linear", domainMid=0, range=list(DIVERGING)),
                            legend=alt.Legend(title=f"Δ {measure}", orient="bottom", gradientLength=90, format=".2g")),
            tooltip=["model:N", alt.Tooltip("value:Q", format=".3g")],
        ).properties(width=92, height=92).facet(
            row=alt.Row("model:N", title=None, header=alt.Header(labelAngle=0, labelAlign="left", labels=i == 0,
                                                                  labelLimit=240, labelFontSize=10)),
            column=alt.Column("measure:N", title=None)))
    return _spec(alt.hconcat(image, *cells).resolve_scale(color="independent"))
