"""Vega-Lite specs (built with Altair) of the dashboard's five views, data inline.

Each function takes the DataFrames the data layer computed and returns a Vega-Lite dict; the page embeds
it with vega-embed and listens to the named selections / clicks listed in each docstring.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

alt.data_transformers.disable_max_rows()  # the server bounds what it sends (sampling / aggregation)

GAIN, LOSS, BAR = "#2ca02c", "#d62728", "#4c78a8"
SERIES = ("A", "B")
SERIES_COLOURS = ("#1f77b4", "#ff7f0e")
CATEGORY_COLOURS = {"correct": "#9e9e9e", "incorrect": "#d62728", "correct→correct": "#b0b0b0",
                    "correct→wrong": "#d62728", "wrong→correct": "#2ca02c", "wrong→wrong": "#3a3a3a"}


def _spec(chart) -> dict:
    """The chart as a Vega-Lite dict with its data inline."""
    return chart.to_dict()


def _domain(values, pad: float = 0.03) -> list[float]:
    """A [lo, hi] scale domain covering finite values with a little padding."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if not len(v):
        return [0.0, 1.0]
    lo, hi = float(v.min()), float(v.max())
    span = hi - lo or 1.0
    return [lo - pad * span, hi + pad * span]


def table_chart(cells: pd.DataFrame, columns: list, highlight_rows=()) -> dict:
    """The evaluation table: a facet grid, rows 'architecture · method', columns clean + corruptions, each
    cell bars of accuracy over prune ratios (ratio 0 = dense). Bars show the selection's accuracy when a
    selection exists, with the segment to the whole-test-set accuracy green (gain) or red (loss).
    Highlighted rows are opaque, the others faded when any row is highlighted. Clicks carry the datum."""
    cells = cells.assign(highlight=cells["row"].isin(list(highlight_rows)) if len(highlight_rows) else True)
    cells = cells.assign(ratio_label=[f"{r:g}" for r in cells["ratio"]])
    ratio_order = [f"{r:g}" for r in sorted(cells["ratio"].unique())]
    tooltip = [alt.Tooltip("row:N"), alt.Tooltip("column:N"), alt.Tooltip("ratio:Q"),
               alt.Tooltip("accuracy:Q", format=".3f"), alt.Tooltip("whole:Q", format=".3f", title="whole test set"),
               alt.Tooltip("delta:Q", format="+.3f")]
    x = alt.X("ratio_label:N", sort=ratio_order, title="prune ratio", axis=alt.Axis(labelAngle=0, labelFontSize=8))
    opacity = alt.condition("datum.highlight", alt.value(1.0), alt.value(0.25))
    bars = alt.Chart().mark_bar(color=BAR).encode(
        x=x, y=alt.Y("low:Q", scale=alt.Scale(domain=[0, 1]), title="accuracy"), opacity=opacity, tooltip=tooltip)
    change = alt.Chart().mark_bar().encode(
        x=x, y="low:Q", y2="high:Q", opacity=opacity, tooltip=tooltip,
        color=alt.Color("change:N", scale=alt.Scale(domain=["gain", "loss"], range=[GAIN, LOSS]),
                        legend=alt.Legend(title="selection vs whole", orient="top")),
    ).transform_filter("datum.change != 'none'")
    layered = alt.layer(bars, change, data=cells).properties(width=34 + 14 * len(ratio_order), height=60)
    chart = layered.facet(
        row=alt.Row("row:N", title=None, header=alt.Header(labelAngle=0, labelAlign="left", labelFontSize=11)),
        column=alt.Column("column:N", sort=list(columns), title=None, header=alt.Header(labelFontSize=11)),
        spacing=6)
    return _spec(chart)


def similarity_chart(points: pd.DataFrame, lines: pd.DataFrame, colour_by: str = "method") -> dict:
    """The geometric similarity view: UMAP points (one per model × eval set) with the MST edges, coloured by
    method or architecture, shape by architecture; `highlight` points large, models A/B labelled.
    Clicks carry the point's datum (model_id, row)."""
    edges = alt.Chart(lines).mark_rule(color="#bbbbbb", strokeWidth=1).encode(x="x:Q", y="y:Q", x2="x2:Q", y2="y2:Q")
    base = alt.Chart(points)
    dots = base.mark_point(filled=True, opacity=0.85, stroke="black").encode(
        x=alt.X("x:Q", scale=alt.Scale(domain=_domain(points["x"], 0.08)), title="UMAP 1"),
        y=alt.Y("y:Q", scale=alt.Scale(domain=_domain(points["y"], 0.08)), title="UMAP 2"),
        color=alt.Color(f"{colour_by}:N", legend=alt.Legend(orient="right")),
        shape=alt.Shape("architecture:N"),
        size=alt.condition("datum.highlight", alt.value(140), alt.value(45)),
        strokeWidth=alt.condition("datum.chosen != ''", alt.value(2), alt.value(0)),
        tooltip=["label:N", "eval_set:N", "point:Q"])
    names = base.mark_text(dy=-11, fontWeight="bold").encode(x="x:Q", y="y:Q", text="chosen:N").transform_filter("datum.chosen != ''")
    return _spec(alt.layer(edges, dots, names).properties(width=380, height=300))


def local_chart(points: pd.DataFrame, accuracy: pd.DataFrame, n_classes: int, delta: bool, x_domain, y_domain) -> dict:
    """The local geometry view: one scatter per class (params brush_0 … brush_{C−1}, interval selections on
    x and y), angle_own against length (correct grey, incorrect red) or, with a second model, Δangle against
    Δlength in the four categories. Titles give the class accuracy (A → B)."""
    domain = ["correct→correct", "correct→wrong", "wrong→correct", "wrong→wrong"] if delta else ["correct", "incorrect"]
    colour = alt.Color("category:N", scale=alt.Scale(domain=domain, range=[CATEGORY_COLOURS[d] for d in domain]),
                       legend=alt.Legend(orient="top", title=None))
    acc = accuracy.set_index("label")
    charts = []
    for k in range(n_classes):
        brush = alt.selection_interval(name=f"brush_{k}", encodings=["x", "y"])
        if k in acc.index:
            a = acc.loc[k, "accuracy"]
            title = f"class {k}: {a:.0%} → {acc.loc[k, 'accuracy_b']:.0%}" if delta else f"class {k}: {a:.1%}"
        else:
            title = f"class {k}: no samples"
        charts.append(alt.Chart().mark_circle(size=14).encode(
            x=alt.X("x:Q", scale=alt.Scale(domain=list(x_domain)), title="Δ angle_own (°)" if delta else "angle_own (°)", axis=alt.Axis(tickCount=4)),
            y=alt.Y("y:Q", scale=alt.Scale(domain=list(y_domain)), title="Δ length" if delta else "length", axis=alt.Axis(tickCount=4)),
            color=colour,
            opacity=alt.condition(brush, alt.value(0.8), alt.value(0.12)),
            stroke=alt.condition("datum.selected", alt.value("black"), alt.value(None)),
            strokeWidth=alt.condition("datum.selected", alt.value(1.2), alt.value(0)),
            tooltip=["sample:Q", "label:Q", "category:N"],
        ).transform_filter(f"datum.label == {k}").add_params(brush).properties(width=72, height=66, title=title))
    return _spec(alt.concat(*charts, columns=5, data=points).configure_title(fontSize=10).configure_axis(titleFontSize=9, labelFontSize=8))


def global_chart(lines: pd.DataFrame, dens: pd.DataFrame, n_classes: int, names: dict) -> dict:
    """The global geometry view: parallel coordinates, one axis per class angle (axis k at x = k), the lines
    of two series overlaid in two colours (param `pbrush`, an interval over axes × angle), over density
    plots of length, margin and prob_own of the same series. `names` maps series 'A'/'B' to legend text."""
    angle_cols = [f"angle_{k}" for k in range(n_classes)]
    present = [s for s in SERIES if s in set(lines["series"]) | set(dens["series"])]
    colour = alt.Color("name:N", scale=alt.Scale(domain=[names[s] for s in present],
                                                 range=[SERIES_COLOURS[SERIES.index(s)] for s in present]),
                       legend=alt.Legend(orient="top", title=None, labelLimit=400))
    lines = lines.assign(name=lines["series"].map(names), key=lines["series"] + lines["sample"].astype(str))
    dens = dens.assign(name=dens["series"].map(names))
    brush = alt.selection_interval(name="pbrush", encodings=["x", "y"])
    x = alt.X("axis:Q", scale=alt.Scale(domain=[-0.3, n_classes - 0.7]), title="angle to class k (°)",
              axis=alt.Axis(values=list(range(n_classes)), format="d", grid=True))
    par = alt.Chart(lines).transform_fold(angle_cols, as_=["axis_name", "angle"]).transform_calculate(
        axis="toNumber(substring(datum.axis_name, 6))").mark_line().encode(
        x=x, y=alt.Y("angle:Q", scale=alt.Scale(zero=False), title="angle (°)"), color=colour, detail="key:N",
        order="axis:Q", opacity=alt.condition(brush, alt.value(0.35), alt.value(0.04)),
        strokeWidth=alt.condition("datum.selected", alt.value(2.0), alt.value(0.8)),
    ).add_params(brush).properties(width=540, height=210)
    plots = []
    for measure in ("length", "margin", "prob_own"):
        plots.append(alt.Chart(dens).transform_filter(f"datum.measure == '{measure}'").mark_area(
            opacity=0.35, interpolate="step", line=True).encode(
            x=alt.X("x:Q", title=measure), y=alt.Y("density:Q", stack=None, title="density"), color=colour,
        ).properties(width=150, height=100))
    return _spec(alt.vconcat(par, alt.hconcat(*plots)).resolve_scale(color="shared"))


def attribution_chart(pixels: pd.DataFrame, maps: pd.DataFrame, title: str) -> dict:
    """The attribution view: the input image (pixels' rgb) beside the occlusion maps of angle_own, length,
    margin and prob_own (rows: models), each measure on its own diverging colour scale centred at 0."""
    axis_off = dict(axis=None)
    image = alt.Chart(pixels).mark_rect().encode(
        x=alt.X("col:O", **axis_off), y=alt.Y("row:O", **axis_off), color=alt.Color("rgb:N", scale=None),
        tooltip=["row:O", "col:O", "gray:Q"]).properties(width=112, height=112, title=title)
    if not len(maps):
        return _spec(image)
    cells = []
    for i, measure in enumerate(("angle_own", "length", "margin", "prob_own")):
        sub = maps[maps["measure"] == measure]
        if not len(sub):
            continue
        lim = float(np.abs(sub["value"]).max()) or 1.0
        cells.append(alt.Chart(sub).mark_rect().encode(
            x=alt.X("col:O", **axis_off), y=alt.Y("row:O", **axis_off),
            color=alt.Color("value:Q", scale=alt.Scale(scheme="redblue", domain=[-lim, lim], reverse=True),
                            legend=alt.Legend(title=measure, orient="bottom", gradientLength=90, format=".2g")),
            tooltip=["model:N", "value:Q"],
        ).properties(width=96, height=96).facet(row=alt.Row("model:N", title=None, header=alt.Header(
            labelAngle=0, labelAlign="left", labels=i == 0, labelLimit=220)),
                                                column=alt.Column("measure:N", title=None)))
    return _spec(alt.hconcat(image, *cells).resolve_scale(color="independent"))
