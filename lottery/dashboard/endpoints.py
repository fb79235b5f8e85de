"""The dashboard's JSON endpoints: request parameters → data layer → the rows of each view's named datasets.

`Endpoints(analysis)` answers POST /api/<name> {…} with a JSON-able dict. A view's answer is
{structure, data: {dataset: rows}, note, …} and carries `spec` only when the request's `structure` (the key
of the spec the page already has) differs from the answer's: the page embeds a spec once per structure and
afterwards only replaces datasets. Bounds that keep the page responsive at 50 models × 10,000 samples live
here and are reported in each answer's `note`. Every method only reads the LoadedAnalysis: requests run concurrently.
"""

from __future__ import annotations

import functools
import json

import numpy as np
import pandas as pd

from lottery.dashboard import (accuracy_table, attribution, class_ranking, loading, model_index, sample_frames,
                               spanning_tree, views)

LOCAL_PER_CLASS = 300  # points drawn per class in the local view
GLOBAL_LINES = 300  # lines drawn per series in the parallel coordinates
TOP_K = 10  # classes shown by default
RANKED = 25  # bars in the ranking chart (the shown classes are always among them)
MEASURE_TITLES = {"angle_own": "angle_own (°)", "length": "length", "margin": "margin", "prob_own": "prob_own"}


def _model(analysis: loading.LoadedAnalysis, value):
    """A model id from a request value ('' / None → None); unknown ids raise ValueError."""
    if value in (None, "", "null"):
        return None
    i = int(value)
    if not 0 <= i < len(analysis.models):
        raise ValueError(f"no model {i}")
    return i


def _records(frame: pd.DataFrame) -> list[dict]:
    """DataFrame rows as JSON-able dicts with NaN → None."""
    frame = frame.astype(object)
    return frame.where(frame.notna(), None).to_dict(orient="records")


def _columns(frame: pd.DataFrame) -> dict:
    """A view's dataset as JSON-able columns {field: [values]} with NaN → None: about a third of the bytes of one
    object per row, and quicker to build; the page turns them into the rows vega takes."""
    return {name: (col.astype(object).where(col.notna(), None) if col.hasnans else col).tolist()
            for name, col in frame.items()}


@functools.lru_cache(maxsize=64)
def _cached_spec(builder: str, args: str) -> dict:
    """views.<builder>(**json args), cached: a structure's spec is built once per process."""
    return getattr(views, builder)(**json.loads(args))


class Endpoints:
    """The answers to the page's requests against one LoadedAnalysis (read-only: safe from many threads)."""

    def __init__(self, analysis: loading.LoadedAnalysis):
        self.analysis = analysis
        s = analysis
        first = s.samples[["sample", "label"]].drop_duplicates("sample").set_index("sample")["label"]
        self.labels = first.reindex(s.sample_ids).fillna(-1).astype(int).to_numpy()
        self.whole = accuracy_table.whole_table(s.evaluation)

    # -- shared request parsing -------------------------------------------------------------------------------
    def _chosen(self, q: dict) -> list[int]:
        """The chosen model ids in order (q['models'], or the legacy q['a'] / q['b']), unknown ids rejected."""
        raw = q.get("models")
        if raw is None:
            raw = [q.get("a"), q.get("b")]
        ids = [_model(self.analysis, v) for v in raw]
        return list(dict.fromkeys(i for i in ids if i is not None))

    def _ab(self, q: dict):
        """Models A (the first chosen) and B (the second, or None)."""
        chosen = self._chosen(q)
        if not chosen:
            raise ValueError("choose a model")
        return chosen[0], (chosen[1] if len(chosen) > 1 else None)

    def _answer(self, q: dict, builder: str, args: dict, payload: dict, signals: dict | None = None) -> dict:
        """A view's answer: payload plus the structure key, the values of the spec's params (`signals`: texts
        that change without a new spec) and the spec when the page lacks it."""
        key = json.dumps([builder, args], sort_keys=True)
        payload["signals"] = signals or {}
        if q.get("structure") != key:
            payload["spec"] = _cached_spec(builder, json.dumps(args, sort_keys=True))
        payload["structure"] = key
        return payload

    def _local_frames(self, q: dict):
        """Samples rows of models A and B (None) on q['eval_set'] (all samples)."""
        s = self.analysis
        a, b = self._ab(q)
        eval_set = q.get("eval_set") or "clean"
        return s.model_samples(a, eval_set), (s.model_samples(b, eval_set) if b is not None else None)

    def _classes(self, q: dict, fa, fb):
        """The class ranking of A (vs B) by q['rank'] and the shown classes (q['k'], pinned q['classes'])."""
        ranking = class_ranking.class_ranking(fa, fb, q.get("rank"), self.analysis.n_classes)
        k = max(1, min(int(q.get("k") or TOP_K), 40))
        pinned = [int(c) for c in q.get("classes") or []]
        shown = class_ranking.shown_classes(ranking, self.analysis.n_classes, k, pinned)
        return ranking, shown

    # -- endpoints ---------------------------------------------------------------------------------------------
    def meta(self, q: dict) -> dict:
        """Models (id, label, keys), eval sets, table columns, classes (names), labels per sample, samples with
        occlusion maps, run id."""
        s = self.analysis
        cfg = s.config.get("config", {})
        return {
            "run_id": s.config.get("run_id", ""),
            "experiment": cfg.get("experiment", ""),
            "dataset": cfg.get("data", {}).get("name", ""),
            "models": s.models[model_index.MODEL + ["id", "label"]].to_dict(orient="records"),
            "eval_sets": s.eval_sets, "corruptions": s.corruptions, "methods": s.methods,
            "families": {c: accuracy_table.family_of(c) for c in s.corruptions},
            "geometry_severity": int(cfg.get("robustness", {}).get("geometry_severity") or 0),
            "n_classes": s.n_classes, "class_names": s.class_names, "n_samples": int(len(s.sample_ids)),
            "sample_ids": s.sample_ids.tolist(), "labels": self.labels.tolist(), "n_severities": s.n_severities,
            "occlusion_samples": s.occlusion_samples,
            "embedding_sets": sorted(set(s.points["eval_set"])), "measures": list(model_index.MEASURES),
            "rankings_one": class_ranking.RANKINGS_ONE, "rankings_two": class_ranking.RANKINGS_TWO, "top_k": TOP_K,
        }

    def table(self, q: dict) -> dict:
        """The evaluation table for a sample selection (q['samples'], None = whole test set), corruption
        families as columns with q['expand'] drilled down (the page highlights the chosen models' rows through
        the spec's param, so choosing models needs no new answer)."""
        s = self.analysis
        selection = q.get("samples")
        if selection is None:
            table = self.whole
            note = ("Accuracy on the whole test set (corruption families: mean over their corruptions, severities "
                    "and seeds).")
        else:
            table = accuracy_table.selection_table(s.models, s.sample_ids, s.matrices, selection)
            note = (f"Bars: accuracy on the {len(selection)} selected samples; green / red segment: gain / loss "
                    "against the whole test set.")
        columns = accuracy_table.table_columns(s.corruptions, q.get("expand") or None)
        cells = accuracy_table.table_cells(accuracy_table.group_columns(table, columns), s.methods, s.models)
        cells["ratio_label"] = [f"{r:g}" for r in cells["ratio"]]
        cols = ["mark", "row", "architecture", "method", "ratio", "ratio_label", "column", "column_key", "order",
                "accuracy", "whole", "delta", "low", "high", "change", "model_id"]
        out = cells[cols].copy()
        out[["accuracy", "whole", "delta", "low", "high"]] = out[["accuracy", "whole", "delta", "low", "high"]].round(5)
        first_row = sorted(out["row"])[0] if len(out) else ""
        headers = pd.DataFrame({"mark": "header", "row": first_row, "column": [c["label"] for c in columns],
                                "column_key": [c["key"] for c in columns], "order": [c["order"] for c in columns]})
        out = pd.concat([out, headers], ignore_index=True)
        payload = {"data": {"cells": _columns(out)}, "note": note, "columns": columns,
                   "n_bars": int((cells["mark"] == "bar").sum()), "n_dense": int((cells["mark"] == "dense").sum())}
        return self._answer(q, "table_chart", {"ratios": s.ratios, "interactive": bool(q.get("interactive", True))}, payload)

    def embedding(self, q: dict) -> dict:
        """The similarity view for one eval set (q['eval_set'], '' = all) coloured by q['colour'], the minimum
        spanning tree per eval set (the page rings and letters the chosen models through the spec's params)."""
        s = self.analysis
        points, lines = spanning_tree.embedding(s.points, s.edges, q.get("eval_set") or None)
        points = points.merge(s.models[model_index.MODEL + ["id", "label"]], on=model_index.MODEL, how="left")
        points = points.rename(columns={"id": "model_id"})
        points["row"] = points["architecture"].astype(str) + " · " + points["method"].astype(str)
        colour = "architecture" if q.get("colour") == "architecture" else "method"
        points["colour"] = points[colour].astype(str)
        cols = ["architecture", "method", "eval_set", "point", "x", "y", "model_id", "label", "row", "colour"]
        payload = {"data": {"points": _columns(points[cols]), "edges": _columns(lines[["x", "y", "x2", "y2"]])},
                   "n_points": int(len(points)), "n_edges": int(len(lines)), "n_sets": int(points["eval_set"].nunique())}
        return self._answer(q, "similarity_chart", {"colour_title": colour}, payload)

    def local(self, q: dict) -> dict:
        """The local geometry view of the shown classes (top q['k'] by q['rank'], pinned q['classes'] first):
        q['x'] against q['y'] (two of model_index.MEASURES), at most LOCAL_PER_CLASS points per class; the class
        accuracies, ranking and brushes use all samples. Also the ranking chart's rows."""
        s = self.analysis
        fa, fb = self._local_frames(q)
        xm, ym = q.get("x") or "angle_own", q.get("y") or "length"
        frame = sample_frames.local_frame(fa, fb, xm, ym)
        ranking, shown = self._classes(q, fa, fb)
        slot = {c: i for i, c in enumerate(shown)}
        frame = frame[frame["label"].isin(shown)]
        drawn = sample_frames.subsample(frame, LOCAL_PER_CLASS, "label")
        drawn = drawn.assign(slot=[slot[int(c)] for c in drawn["label"]], x=drawn["x"].round(4), y=drawn["y"].round(4),
                             selected=sample_frames.is_selected(drawn["sample"], q.get("samples")))
        acc = ranking.set_index("label")
        delta = fb is not None
        panels = pd.DataFrame({"slot": range(len(shown)), "text": [
            (f"{acc.loc[c, 'accuracy']:.0%}→{acc.loc[c, 'accuracy_b']:.0%}" if delta else f"{acc.loc[c, 'accuracy']:.0%}")
            if acc.loc[c, "n"] else "no samples" for c in shown]})
        names = s.class_names
        ranked = ranking.head(RANKED)
        ranked = pd.concat([ranked, ranking[ranking["label"].isin(shown) & ~ranking["label"].isin(ranked["label"])]])
        ranked = ranked.assign(name=[names[int(c)] for c in ranked["label"]], rank=np.arange(len(ranked)),
                               shown=ranked["label"].isin(shown), score=ranked["score"].round(5))
        by = ranking["by"].iloc[0] if len(ranking) else "errors"
        rank_title = {**class_ranking.RANKINGS_ONE, **class_ranking.RANKINGS_TWO}.get(by, by)
        note = (f"Classes: {len(shown)} of {s.n_classes} shown"
                + (f" (ranked by {rank_title}; pinned first)" if s.n_classes > len(shown) or q.get("classes") else "")
                + f". Drawn: {len(drawn)} of {len(frame)} samples of these classes (at most {LOCAL_PER_CLASS} per class, "
                "uniform at random); class accuracies, ranking and brushes use all samples.")
        if q.get("samples") is not None:
            note += f" Ringed: the drawn ones among the {len(q['samples'])} selected samples."
        titles = [f"{names[c]}" for c in shown]
        x_title, y_title = (("Δ " if delta else "") + MEASURE_TITLES[xm], ("Δ " if delta else "") + MEASURE_TITLES[ym])
        payload = {"data": {"points": _columns(drawn[["sample", "label", "slot", "x", "y", "category", "selected"]]),
                            "panels": _columns(panels)},
                   "classes": shown, "note": note, "n_shown": int(len(drawn)), "n_total": int(len(frame)),
                   "ranking": {"data": {"ranking": _columns(ranked[["label", "name", "score", "rank", "shown", "accuracy",
                                                                    "accuracy_b", "n"]])},
                               "by": by, "title": rank_title}}
        payload["ranking"] = self._answer({"structure": q.get("ranking_structure")}, "ranking_chart", {},
                                          payload["ranking"], views.ranking_signals(rank_title))
        return self._answer(q, "local_chart", {"n": len(shown), "interactive": bool(q.get("interactive", True))}, payload,
                            views.local_signals(titles, x_title, y_title, delta))

    def select_local(self, q: dict) -> dict:
        """Samples inside the local view's brushes (q['brushes']: class → {x, y} ranges), over all samples."""
        fa, fb = self._local_frames(q)
        frame = sample_frames.local_frame(fa, fb, q.get("x") or "angle_own", q.get("y") or "length")
        chosen = sample_frames.brush_select(frame, {int(k): v for k, v in (q.get("brushes") or {}).items()})
        return {"samples": [int(v) for v in chosen]}

    def _series(self, q: dict) -> dict:
        """The global view's series: A = model A on eval_set; B = model B (or A) on eval_set_b (or eval_set),
        absent when it would equal A. name → (samples rows, label)."""
        s = self.analysis
        a, b = self._ab(q)
        set_a = q.get("eval_set") or "clean"
        set_b = q.get("eval_set_b") or set_a
        label = lambda i, e: f"{s.models.loc[i, 'label']} on {e}"  # noqa: E731
        series = {"A": (a, set_a, label(a, set_a))}
        mb = b if b is not None else a
        if (mb, set_b) != (a, set_a):
            series["B"] = (mb, set_b, label(mb, set_b))
        return {k: (s.model_samples(m, e), name) for k, (m, e, name) in series.items()}

    def global_(self, q: dict) -> dict:
        """The global geometry view on the shown classes' axes (A's, then B's: views.series_offset): GLOBAL_LINES
        sampled lines per series among the samples of those classes (coloured by class; each line as its
        segments between neighbouring axes), densities over all samples."""
        s = self.analysis
        series = self._series(q)
        _, shown = self._classes(q, *self._local_frames(q))  # the local view's classes
        cols = [f"angle_{c}" for c in shown]
        parts = []
        for k, (f, _) in series.items():
            f = f[["sample", "label", *cols]]
            f = sample_frames.subsample(f[f["label"].isin(shown)], GLOBAL_LINES, None)
            seg = sample_frames.polyline_segments(f, cols)
            offset = views.series_offset(k, len(cols))
            parts.append(seg.assign(series=k, slot=seg["slot"] + offset, slot2=seg["slot2"] + offset,
                                    **{"class": [s.class_names[int(c)] for c in seg["label"]]}))
        lines = pd.concat(parts, ignore_index=True).drop(columns="label")
        lines["selected"] = sample_frames.is_selected(lines["sample"], q.get("samples"))
        dens = sample_frames.densities({k: f for k, (f, _) in series.items()})
        names = {k: name for k, (_, name) in series.items()}
        totals = {k: int(len(f)) for k, (f, _) in series.items()}
        note = (f"Axes: the {len(shown)} shown classes; lines: at most {GLOBAL_LINES} samples of these classes per series, "
                f"uniform at random, coloured by class; densities and brushes use all samples "
                f"({', '.join(f'{k}: {n}' for k, n in totals.items())}).")
        if q.get("samples") is not None:
            note += f" Black: the drawn ones among the {len(q['samples'])} selected samples."
        payload = {"data": {"lines": _columns(lines), "dens": _columns(dens.round(5))}, "note": note, "series": names,
                   "classes": shown}
        return self._answer(q, "global_chart", {"interactive": bool(q.get("interactive", True))}, payload,
                            views.global_signals([s.class_names[c] for c in shown], "B" in series))

    def select_global(self, q: dict) -> dict:
        """Samples whose angles to the brushed classes (q['axes'], class labels) lie in [q['lo'], q['hi']] in
        the brushed series (q['series'], default both)."""
        series = self._series(q)
        wanted = q.get("series") or list(series)
        frames = [f for k, (f, _) in series.items() if k in wanted]
        chosen = sample_frames.axes_select(frames, q.get("axes") or [], float(q["lo"]), float(q["hi"]))
        return {"samples": [int(v) for v in chosen]}

    def attribution(self, q: dict) -> dict:
        """The attribution view of sample q['sample'] for every chosen model: the image on q['eval_set'] (clean
        when its images are absent), the precomputed occlusion maps, the unoccluded measures and prediction."""
        s = self.analysis
        sample = int(q["sample"])
        ids = self._chosen(q)
        eval_set = q.get("eval_set") or "clean"
        images = s.images(eval_set)
        if images is None:
            eval_set, images = "clean", s.images("clean")
        if not 0 <= sample < len(images):
            raise ValueError(f"no sample {sample}")
        rows = [s.model_samples(i, "clean")[["sample", "pred", "correct", *model_index.MEASURES]] for i in ids]
        rows = [r[r["sample"] == sample].assign(label_model=s.models.loc[i, "label"]) for r, i in zip(rows, ids)]
        rows = [r for r in rows if len(r)]
        values = attribution.unoccluded(pd.concat(rows, ignore_index=True), s.class_names) if rows else None
        maps = attribution.occlusion_maps(s.occlusion(sample), s.models, sample, ids)
        pos = np.searchsorted(s.sample_ids, sample)
        label = int(self.labels[pos]) if pos < len(s.sample_ids) and s.sample_ids[pos] == sample else None
        title = f"Sample {sample} on {eval_set}" + (f", label {s.class_names[label]}" if label is not None else "")
        have = sorted(set(maps["model"])) if len(maps) else []
        wanted = [s.models.loc[i, "label"] for i in ids]
        lacking = [w for w in wanted if w not in have]
        occ_samples = s.occlusion_samples
        if len(occ_samples) == len(s.sample_ids):
            note = f"Occlusion maps are precomputed for every one of the {len(occ_samples)} analysed samples."
        else:
            note = (f"Occlusion maps are precomputed for {len(occ_samples)} samples only "
                    f"({', '.join(map(str, occ_samples[:20]))}{' …' if len(occ_samples) > 20 else ''}).")
        if lacking:
            note += f" Sample {sample} has no map for: {', '.join(lacking)}."
        payload = {"data": {"pixels": _columns(attribution.image_pixels(images, sample)),
                            "maps": _columns(maps.assign(value=maps["value"].astype(float).round(5)) if len(maps) else maps)},
                   "note": note, "title": title, "models_with_maps": have,
                   "values": _records(values.round(4)) if values is not None else []}
        return self._answer(q, "attribution_chart", {}, payload)

    ROUTES = {"meta": meta, "table": table, "embedding": embedding, "local": local, "select_local": select_local,
              "global": global_, "select_global": select_global, "attribution": attribution}

    def defaults(self, interactive: bool = True) -> dict:
        """The page's first requests (model A = the first pruned model, clean set, first sample with maps):
        endpoint name → query; the --out snapshot holds their answers (built without brushes)."""
        s = self.analysis
        pruned = s.models[s.models["method"] != "dense"]
        a = int((pruned if len(pruned) else s.models)["id"].iloc[0])
        sample = s.occlusion_samples[0] if s.occlusion_samples else 0
        emb = "clean" if "clean" in set(s.points["eval_set"]) else ""
        model = {"models": [a], "eval_set": "clean", "interactive": interactive}
        return {"meta": {}, "table": {"samples": None, "rows": [], "expand": None, "interactive": interactive},
                "embedding": {"eval_set": emb, "colour": "method", "rows": [], "models": [a]},
                "local": {**model, "k": TOP_K, "classes": [], "rank": None, "x": "angle_own", "y": "length"},
                "global": {**model, "eval_set_b": "", "k": TOP_K, "classes": [], "rank": None},
                "attribution": {**model, "sample": sample}}

    def warm(self) -> None:
        """Answer the page's first requests once: the specs they need are built (and cached) before the page
        asks, so no first view waits for an Altair build (0.1–0.5 s each). Later selections need no other spec
        but the local view's for another number of panels (a copy of the cached panel)."""
        for name, q in self.defaults().items():
            self.answer(name, q)

    def answer(self, name: str, q: dict) -> dict:
        """Dispatch /api/<name>; KeyError for an unknown endpoint."""
        return self.ROUTES[name](self, q)
