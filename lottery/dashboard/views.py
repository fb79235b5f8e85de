"""Vega-Lite specs (built with Altair) of the dashboard's views, over named datasets without values.

A spec depends only on the view's structure (the run's ratios, the number of class panels), never on a
selection: the page embeds it once and then replaces the named datasets through the vega View API
(`view.data(name, rows)`) and sets its value params (`view.signal(name, value)`: titles, axis names, colour
categories, the chosen models; their values come from the *_signals functions or the page). Each function's
docstring names its datasets (with their fields), its params and what a click carries. `interactive=False`
leaves out the brushes (the --out snapshot, which has no server to answer them).
"""

from __future__ import annotations

import functools
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
    """The chart as a Vega-Lite dict, laid out again whenever its datasets change (autosize resize), with the
    _expr placeholders turned into expressions."""
    spec = _with_exprs(chart.to_dict(validate=False))  # the specs are fixed and tested; validation costs ~0.5 s per spec
    spec["autosize"] = {"type": "pad", "resize": True}
    return spec


def _expr(expression: str) -> str:
    """A placeholder for {"expr": expression} where Altair accepts only text (an axis title): _spec swaps it in.
    Vega-Lite compiles it to a signal, so the page changes the text through a param, not a new spec."""
    return f"\x02{expression}\x02"


def _with_exprs(spec):
    """A copy of a spec with every _expr placeholder string replaced by its {"expr": …}."""
    if isinstance(spec, dict):
        return {k: _with_exprs(v) for k, v in spec.items()}
    if isinstance(spec, list):
        return [_with_exprs(v) for v in spec]
    if isinstance(spec, str) and len(spec) > 1 and spec[0] == spec[-1] == "\x02":
        return {"expr": spec[1:-1]}
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
    (accuracy_table.table_cells plus ratio_label): bars where mark = 'bar' (height = the lower of the
    selection's and the whole test set's accuracy, the segment between them green (gain) / red (loss)),
    the rule where mark = 'dense', the column's header text where mark = 'header' (one row per column, in the
    first row). Clicks carry the datum (model_id, or mark 'header' and column). The rows named in the param
    highlight_rows are opaque, the others faded (all opaque when it is empty)."""
    ratio_order = [f"{r:g}" for r in ratios]
    tooltip = [alt.Tooltip("row:N"), alt.Tooltip("column:N"), alt.Tooltip("ratio:Q"),
               alt.Tooltip("accuracy:Q", format=".3f"), alt.Tooltip("whole:Q", format=".3f", title="whole test set"),
               alt.Tooltip("delta:Q", format="+.3f")]
    x = alt.X("ratio_label:N", sort=ratio_order, scale=alt.Scale(domain=ratio_order), title=None,
              axis=alt.Axis(labelAngle=-90, labelFontSize=7, ticks=False))
    y = alt.Y("low:Q", scale=alt.Scale(domain=[0, 1]), title=None, stack=None, axis=alt.Axis(tickCount=3, labelFontSize=8))
    opacity = alt.condition(f"length(highlight_rows) == 0 || {_among('highlight_rows', 'datum.row')}", alt.value(1.0), alt.value(0.25))
    base = alt.Chart()
    bars = base.mark_bar(color=BAR).encode(x=x, y=y, opacity=opacity, tooltip=tooltip).transform_filter("datum.mark == 'bar'")
    change = base.mark_bar().encode(
        x=x, y=alt.Y("low:Q", stack=None), y2="high:Q", opacity=opacity, tooltip=tooltip,
        color=alt.Color("change:N", scale=alt.Scale(domain=["gain", "loss"], range=[GAIN, LOSS]),
                        legend=alt.Legend(title="selection vs whole", orient="top")),
    ).transform_filter("datum.mark == 'bar' && datum.change != 'none'")
    dense = base.mark_rule(color=DENSE, strokeDash=[3, 2], strokeWidth=2).encode(
        y=alt.Y("accuracy:Q", stack=None), opacity=opacity,
        tooltip=[alt.Tooltip("row:N"), alt.Tooltip("column:N"), alt.Tooltip("accuracy:Q", format=".3f", title="unpruned"),
                 alt.Tooltip("whole:Q", format=".3f", title="unpruned, whole test set")],
    ).transform_filter("datum.mark == 'dense'")
    width = max(70, 6 + 9 * len(ratio_order))
    # Column headers as text marks of the first row (mark 'header'): Vega's own facet headers take no clicks.
    header = base.mark_text(baseline="bottom", fontSize=11, fontWeight="bold", limit=width,
                            color="#1a4f8b" if interactive else "#222222").encode(
        x=alt.value(width / 2), y=alt.value(-5), text="column:N").transform_filter("datum.mark == 'header'")
    layered = alt.layer(bars, change, dense, header, data=_data("cells")).properties(width=width, height=56)
    chart = layered.facet(
        row=alt.Row("row:N", title=None, header=alt.Header(labelAngle=0, labelAlign="left", labelFontSize=11)),
        column=alt.Column("column:N", sort=alt.EncodingSortField("order", op="min"), title=None,
                          header=alt.Header(labels=False)),
        spacing={"row": 6, "column": 4})
    return _spec(chart.add_params(*_value_params(HIGHLIGHT)))


def _among(param: str, value: str) -> str:
    """The expression 'value is an element of the array param'."""
    return f"indexof({param}, {value}) >= 0"


def similarity_chart(colour_title: str = "method") -> dict:
    """The geometric similarity view: UMAP points (dataset `points`: x, y, colour, eval_set, label, model_id,
    row) coloured by `colour`, shaped by eval set, and the minimum spanning tree of each eval set (dataset
    `edges`: x, y, x2, y2). The models of the param chosen_models are ringed and lettered A, B, … in its order,
    they and the rows of highlight_rows drawn large. Clicks carry model_id."""
    chosen = _among("chosen_models", "datum.model_id")
    edges = alt.Chart(_data("edges")).mark_rule(color="#bbbbbb", strokeWidth=1).encode(x="x:Q", y="y:Q", x2="x2:Q", y2="y2:Q")
    base = alt.Chart(_data("points"))
    dots = base.mark_point(filled=True, opacity=0.85, stroke="black").encode(
        x=alt.X("x:Q", scale=alt.Scale(zero=False, padding=12), title="UMAP 1"),
        y=alt.Y("y:Q", scale=alt.Scale(zero=False, padding=12), title="UMAP 2"),
        color=alt.Color("colour:N", legend=alt.Legend(orient="right", title=colour_title)),
        shape=alt.Shape("eval_set:N", legend=alt.Legend(orient="right", title="eval set")),
        size=alt.condition(f"{_among('highlight_rows', 'datum.row')} || {chosen}", alt.value(140), alt.value(45)),
        strokeWidth=alt.condition(chosen, alt.value(2.5), alt.value(0)),
        tooltip=["label:N", "eval_set:N", "point:Q"])
    letter = f"substring('{LETTERS}', indexof(chosen_models, datum.model_id), indexof(chosen_models, datum.model_id) + 1)"
    names = base.transform_filter(chosen).transform_calculate(letter=letter).mark_text(dy=-11, fontWeight="bold").encode(
        x="x:Q", y="y:Q", text="letter:N")
    chart = alt.layer(edges, dots, names).properties(width=420, height=300)
    return _spec(chart.add_params(*_value_params({**HIGHLIGHT, "chosen_models": []})))


# The local view's texts and colour categories are params the page sets (`view.signal`), so a spec depends only on
# its number of panels: other classes, axes or a second model change these values, not the spec.
CATEGORY_DOMAINS = {False: ("correct", "incorrect"), True: tuple(CATEGORY_COLOURS)[2:]}
SLOT = "\x01i\x01"  # the panel index placeholder of the local panel template
# The table's and the similarity view's params for the chosen models, set by the page (no request needed).
HIGHLIGHT = {"highlight_rows": []}
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # the chosen models' letters (the similarity view letters the first 26)


def local_signals(titles, x_title: str, y_title: str, delta: bool) -> dict:
    """The values of the local chart's params: the panel titles (one per slot), the axis titles, and the colour
    categories with their colours (correct / incorrect, or with a second model the four Δ categories)."""
    domain = list(CATEGORY_DOMAINS[bool(delta)])
    colours = [CATEGORY_COLOURS[d] for d in domain]
    return {"panel_titles": [str(t) for t in titles], "x_title": str(x_title), "y_title": str(y_title),
            "categories": domain, "category_colours": (colours * 4)[:4]}


def local_chart(n: int, interactive: bool = True) -> dict:
    """The local geometry view of n class panels (see _local_panel): one Altair-built panel (cached) repeated with
    its slot filled in, so any number of panels costs a copy (~1 ms) instead of an Altair build (~0.1 s per
    panel). Without panels, a single empty one titled 'no class'."""
    if n < 1:
        return _no_class_chart()
    template = _local_template(interactive)
    brushes = [p for p in template["params"] if "select" in p]
    values = [p for p in template["params"] if "select" not in p]
    panels = [_fill(template["concat"][0], {SLOT: str(i)}) for i in range(n)]
    return {**template, "concat": panels, "params": values + [_fill(b, {SLOT: str(i)}) for i in range(n) for b in brushes]}


def _fill(spec, texts: dict):
    """A copy of a spec with every placeholder (a key of texts) inside its strings replaced by its text."""
    if isinstance(spec, dict):
        return {k: _fill(v, texts) for k, v in spec.items()}
    if isinstance(spec, list):
        return [_fill(v, texts) for v in spec]
    if isinstance(spec, str) and "\x01" in spec:
        return re.sub("\x01[^\x01]*\x01", lambda m: texts[m.group(0)], spec)
    return spec


def _value_params(values: dict):
    """Top-level params with initial values (the page replaces them through view.signal)."""
    return [alt.param(name=k, value=v) for k, v in values.items()]


@functools.lru_cache(maxsize=4)
def _local_template(interactive: bool) -> dict:
    """The local chart of one panel in slot SLOT, with the params of local_signals."""
    chart = alt.concat(_local_panel(SLOT, interactive), columns=4).resolve_scale(x="shared", y="shared")
    chart = chart.add_params(*_value_params(local_signals([""], "x", "y", False)))
    return _spec(chart.configure_title(fontSize=10, limit=100).configure_axis(titleFontSize=9, labelFontSize=8))


@functools.lru_cache(maxsize=1)
def _no_class_chart() -> dict:
    """The local view when no class is shown."""
    return _spec(alt.Chart(_data("points")).mark_circle().properties(width=86, height=70, title="no class"))


def _local_panel(slot: str, interactive: bool):
    """One panel of the local geometry view: the points of `slot` (panel_titles[slot] as title and, when
    interactive, the interval selection brush_<slot> on x and y), x against y coloured by `category` (the
    params `categories` / `category_colours`), axis titles the params x_title / y_title; scales shared by the
    panels. Datasets `points` (sample, label, slot, x, y, category, selected) and `panels` (slot, text: the
    class accuracy A → B). The tooltip names the axes' measures through the page's localTooltip function."""
    colour = alt.Color("category:N", legend=alt.Legend(orient="top", title=None), scale=alt.Scale(
        domain=alt.ExprRef("categories"), range=[alt.ExprRef(f"category_colours[{j}]") for j in range(4)]))
    brush = _interval(f"brush_{slot}", ["x", "y"], interactive)
    axis = lambda title: alt.Axis(tickCount=4, title=_expr(title))  # noqa: E731
    dots = alt.Chart(_data("points")).mark_circle(size=14, tooltip=alt.ExprRef("localTooltip(datum, x_title, y_title)")).encode(
        x=alt.X("x:Q", scale=alt.Scale(zero=False, nice=False), axis=axis("x_title")),
        y=alt.Y("y:Q", scale=alt.Scale(zero=False, nice=False), axis=axis("y_title")),
        color=colour,
        opacity=alt.condition(brush, alt.value(0.8), alt.value(0.12)) if brush is not None else alt.value(0.8),
        stroke=alt.condition("datum.selected", alt.value("black"), alt.value(None)),
        strokeWidth=alt.condition("datum.selected", alt.value(1.2), alt.value(0)),
    ).transform_filter(f"datum.slot == {slot}").properties(name=f"panel_{slot}")
    if brush is not None:
        dots = dots.add_params(brush)
    text = alt.Chart(_data("panels")).mark_text(align="right", baseline="top", fontSize=9, color="#444").encode(
        x=alt.value(74), y=alt.value(2), text="text:N").transform_filter(f"datum.slot == {slot}")
    title = alt.TitleParams(text=alt.ExprRef(f"panel_titles[{slot}]"))
    return alt.layer(dots, text).properties(width=76, height=64, title=title)


def ranking_signals(title: str) -> dict:
    """The value of the ranking chart's param: its axis title (what the classes are ranked by)."""
    return {"rank_title": str(title)}


@functools.lru_cache(maxsize=1)
def ranking_chart() -> dict:
    """The class ranking: a horizontal bar per ranked class (dataset `ranking`: label, name, score, rank,
    shown), in rank order, shown classes dark; the axis title is the param rank_title. Clicks carry label (the
    page pins / unpins the class)."""
    chart = alt.Chart(_data("ranking")).mark_bar().encode(
        y=alt.Y("name:N", sort=alt.EncodingSortField("rank", op="min"), title=None, axis=alt.Axis(labelLimit=110, labelFontSize=9)),
        x=alt.X("score:Q", axis=alt.Axis(title=_expr("rank_title"))),
        color=alt.condition("datum.shown", alt.value("#4c78a8"), alt.value("#c6d4e6")),
        tooltip=["name:N", "label:Q", alt.Tooltip("score:Q", format=".3f"), alt.Tooltip("accuracy:Q", format=".3f"),
                 alt.Tooltip("accuracy_b:Q", format=".3f"), "n:Q"])
    return _spec(chart.properties(width=110, height=alt.Step(11)).add_params(*_value_params(ranking_signals(""))))


def series_offset(series: str, n_axes: int) -> int:
    """The slot of a series' first class axis in the global view: A's axes are slots 0 … k − 1, then a gap,
    then B's k + 1 … 2k."""
    return 0 if series == "A" else n_axes + 1


def global_signals(names, has_b: bool) -> dict:
    """The values of the global chart's params: the number k of class axes per series, whether B is drawn, and
    the label of every slot (A's axes, with B also the gap and B's axes)."""
    short = [str(n)[:14] for n in names]
    return {"n_axes": max(1, len(names)), "has_b": bool(has_b), "axis_names": short + ([""] + short if has_b else [])}


@functools.lru_cache(maxsize=4)
def global_chart(interactive: bool = True) -> dict:
    """The global geometry view: parallel coordinates over one class axis per shown class, the reference A's
    axes on the left and, with a compared B (the param has_b), B's on the right of a dashed gap, all on one
    shared angle scale (series_offset; the params n_axes, has_b, axis_names), so a second series needs no other
    spec; the interval param pbrush over slot × angle. Lines coloured by the sample's class, the selected
    samples drawn bold and black on top; below, densities of length, margin and prob_own of both series.
    Datasets `lines` (the lines' segments: series, sample, slot, angle, slot2, angle2, class, selected;
    sample_frames.polyline_segments, B's slots offset) and `dens` (series, measure, x, density)."""
    slots = lambda field: alt.X(  # noqa: E731 - every layer's x: the same scale and axis (layers merge them)
        field, title="angle to class (°)",
        scale=alt.Scale(domain=alt.ExprRef("[-0.3, has_b ? 2 * n_axes + 0.3 : n_axes - 0.7]"), nice=False),
        axis=alt.Axis(values=alt.ExprRef("sequence(has_b ? 2 * n_axes + 1 : n_axes)"), labelExpr="axis_names[datum.value] || ''",
                      grid=True, labelAngle=-40, labelOverlap=False, labelFontSize=8))
    x = slots("slot:Q")
    y = alt.Y("angle:Q", scale=alt.Scale(zero=False), title="angle (°)")
    brush = _interval("pbrush", ["x", "y"], interactive)
    lines = alt.Chart(_data("lines")).mark_rule(strokeWidth=0.8).encode(
        x=x, y=y, x2="slot2:Q", y2="angle2:Q",
        color=alt.Color("class:N", legend=alt.Legend(orient="right", title="class", symbolLimit=20)),
        opacity=alt.condition(brush, alt.value(0.45), alt.value(0.05)) if brush is not None else alt.value(0.45))
    if brush is not None:
        lines = lines.add_params(brush)
    bold = alt.Chart(_data("lines")).transform_filter("datum.selected").mark_rule(
        strokeWidth=1.8, color="black", opacity=0.9).encode(x=x, y=y, x2="slot2:Q", y2="angle2:Q")
    at = slots("at:Q")
    heads = alt.Chart(alt.Data(values=[{"series": "A", "text": "A · reference"}, {"series": "B", "text": "B · compared"}])
                      ).transform_filter("datum.series == 'A' || has_b").transform_calculate(
        at="datum.series == 'A' ? (n_axes - 1) / 2 : (3 * n_axes + 1) / 2").mark_text(
        baseline="bottom", dy=-4, fontWeight="bold", fontSize=11).encode(x=at, y=alt.value(0), text="text:N")
    gap = alt.Chart(alt.Data(values=[{}])).transform_filter("has_b").transform_calculate(at="n_axes").mark_rule(
        strokeDash=[4, 3], color="#666666").encode(x=at)
    top = alt.layer(lines, bold, gap, heads).properties(width=560, height=200)
    colour = alt.Color("series:N", scale=alt.Scale(domain=list(SERIES), range=list(SERIES_COLOURS)),
                       legend=alt.Legend(orient="top", title="series"))
    plots = []
    for measure in ("length", "margin", "prob_own"):
        plots.append(alt.Chart(_data("dens")).transform_filter(f"datum.measure == '{measure}'").mark_area(
            opacity=0.3, interpolate="step", line=True).encode(
            x=alt.X("x:Q", title=measure), y=alt.Y("density:Q", stack=None, title="density"), color=colour,
        ).properties(width=170, height=90))
    chart = alt.vconcat(top, alt.hconcat(*plots)).resolve_scale(color="independent")
    return _spec(chart.add_params(*_value_params(global_signals([""], False))))


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
