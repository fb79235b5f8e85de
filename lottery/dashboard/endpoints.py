"""The dashboard's JSON endpoints: request parameters → data layer → chart spec + what the page shows.

`Endpoints(study)` answers GET /api/<name>?… and POST /api/<name> {…} with a JSON-able dict. Bounds that
keep the page responsive at 50 models × 10,000 samples live here and are reported in each answer's `note`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lottery.dashboard import data, views

LOCAL_PER_CLASS = 300  # points drawn per class in the local view
GLOBAL_LINES = 300  # lines drawn per series in the parallel coordinates


def _model(study: data.Study, value):
    """A model id from a request value ('' / None → None); unknown ids raise ValueError."""
    if value in (None, "", "null"):
        return None
    i = int(value)
    if not 0 <= i < len(study.models):
        raise ValueError(f"no model {i}")
    return i


class Endpoints:
    """The answers to the page's requests against one loaded Study."""

    def __init__(self, study: data.Study):
        self.study = study

    def meta(self, q: dict) -> dict:
        """Models (id, label, keys), eval sets, corruptions, classes, samples with occlusion maps, run id."""
        s = self.study
        occ = s.occlusion[data.MODEL + ["sample"]].drop_duplicates()
        return {
            "run_id": s.config.get("run_id", ""),
            "experiment": s.config.get("config", {}).get("experiment", ""),
            "models": s.models[data.MODEL + ["id", "label"]].to_dict(orient="records"),
            "eval_sets": s.eval_sets, "columns": ["clean", *s.corruptions], "methods": s.methods,
            "n_classes": s.n_classes, "n_samples": int(len(s.sample_ids)), "n_severities": s.n_severities,
            "occlusion_samples": sorted(int(v) for v in occ["sample"].unique()),
            "embedding_sets": sorted(set(s.points["eval_set"])),
        }

    def table(self, q: dict) -> dict:
        """The evaluation table for a sample selection (q['samples'], None/absent = whole test set) with the
        rows to highlight (q['rows'])."""
        s = self.study
        selection = q.get("samples")
        if selection is None:
            table = data.whole_table(s.evaluation)
            note = "Accuracy on the whole test set (corruptions: mean over severities and seeds)."
        else:
            table = data.selection_table(s.models, s.sample_ids, s.matrices, selection)
            note = (f"Bars: accuracy on the {len(selection)} selected samples; green / red segment: gain / loss "
                    "against the whole test set.")
        cells = data.table_cells(table, s.methods)
        columns = ["clean", *s.corruptions]
        spec = views.table_chart(cells, columns, q.get("rows") or ())
        summary = cells[["row", "column", "ratio", "accuracy", "change"]].round(6).astype(object)
        summary = summary.where(summary.notna(), None).to_dict(orient="records")
        return {"spec": spec, "note": note, "cells": summary}

    def embedding(self, q: dict) -> dict:
        """The similarity view for one eval set (q['eval_set'], '' = all) coloured by q['colour']."""
        s = self.study
        points, lines = data.embedding(s.points, s.edges, q.get("eval_set") or None)
        points = points.merge(s.models[data.MODEL + ["id", "label"]], on=data.MODEL, how="left")
        points = points.rename(columns={"id": "model_id"})
        points["row"] = points["architecture"].astype(str) + " · " + points["method"].astype(str)
        rows = set(q.get("rows") or ())
        chosen = {_model(s, q.get("a")): "A", _model(s, q.get("b")): "B"}
        points["highlight"] = points["row"].isin(rows)
        points["chosen"] = [chosen.get(int(i), "") if pd.notna(i) else "" for i in points["model_id"]]
        colour = "architecture" if q.get("colour") == "architecture" else "method"
        cols = data.MODEL + ["eval_set", "point", "x", "y", "model_id", "label", "row", "highlight", "chosen"]
        return {"spec": views.similarity_chart(points[cols], lines, colour), "n_points": int(len(points)),
                "n_edges": int(len(lines))}

    def _local(self, q: dict) -> pd.DataFrame:
        """The local-view frame of models q['a'] (and q['b']) on q['eval_set'], all samples."""
        s = self.study
        a, b, eval_set = _model(s, q.get("a")), _model(s, q.get("b")), q.get("eval_set") or "clean"
        if a is None:
            raise ValueError("choose a model")
        fa = s.model_samples(a, eval_set)
        fb = s.model_samples(b, eval_set) if b is not None else None
        return fa, fb

    def local(self, q: dict) -> dict:
        """The local geometry view: all samples' class accuracy, at most LOCAL_PER_CLASS points per class."""
        fa, fb = self._local(q)
        frame = data.local_frame(fa, fb)
        shown = data.subsample(frame, LOCAL_PER_CLASS, "label")
        shown = shown.assign(selected=data.is_selected(shown["sample"], q.get("samples")),
                             x=shown["x"].round(3), y=shown["y"].round(3))  # smaller JSON, sub-pixel anyway
        acc = data.class_accuracy(fa, fb)
        spec = views.local_chart(shown[["sample", "label", "x", "y", "category", "selected"]], acc, self.study.n_classes,
                                 fb is not None, views._domain(frame["x"]), views._domain(frame["y"]))
        note = (f"Drawn: {len(shown)} of {len(frame)} samples (at most {LOCAL_PER_CLASS} per class, uniform at random); "
                "class accuracies and brushes use all samples.")
        if q.get("samples") is not None:
            note += f" Ringed: the drawn ones among the {len(q['samples'])} samples selected in the global view."
        return {"spec": spec, "note": note, "n_shown": int(len(shown)), "n_total": int(len(frame))}

    def select_local(self, q: dict) -> dict:
        """Samples inside the local view's brushes (q['brushes']: class → {x, y} ranges), over all samples."""
        fa, fb = self._local(q)
        chosen = data.brush_select(data.local_frame(fa, fb), {int(k): v for k, v in (q.get("brushes") or {}).items()})
        return {"samples": [int(v) for v in chosen]}

    def _series(self, q: dict) -> dict:
        """The global view's series: A = model a on eval_set; B = model b (or a) on eval_set_b (or eval_set),
        absent when it would equal A."""
        s = self.study
        a, b = _model(s, q.get("a")), _model(s, q.get("b"))
        if a is None:
            raise ValueError("choose a model")
        set_a = q.get("eval_set") or "clean"
        set_b = q.get("eval_set_b") or set_a
        label = lambda i, e: f"{s.models.loc[i, 'label']} on {e}"  # noqa: E731
        series = {"A": (a, set_a, label(a, set_a))}
        mb = b if b is not None else a
        if (mb, set_b) != (a, set_a):
            series["B"] = (mb, set_b, label(mb, set_b))
        return {k: (s.model_samples(m, e), name) for k, (m, e, name) in series.items()}

    def global_(self, q: dict) -> dict:
        """The global geometry view: GLOBAL_LINES sampled lines per series, densities over all samples."""
        series = self._series(q)
        cols = ["sample"] + data.angle_columns(self.study.samples)
        lines = pd.concat([data.subsample(f[cols], GLOBAL_LINES, None).assign(series=k) for k, (f, _) in series.items()],
                          ignore_index=True)
        lines[cols[1:]] = lines[cols[1:]].round(2)  # degrees: sub-pixel anyway, smaller JSON
        lines["selected"] = data.is_selected(lines["sample"], q.get("samples"))
        dens = data.densities({k: f for k, (f, _) in series.items()})
        spec = views.global_chart(lines, dens, self.study.n_classes, {k: name for k, (_, name) in series.items()})
        totals = {k: int(len(f)) for k, (f, _) in series.items()}
        note = (f"Lines: at most {GLOBAL_LINES} samples per series, uniform at random; densities (40-bin histograms) "
                f"and brushes use all samples ({', '.join(f'{k}: {n}' for k, n in totals.items())}).")
        if q.get("samples") is not None:
            note += f" Bold: the drawn ones among the {len(q['samples'])} samples selected in the local view."
        return {"spec": spec, "note": note, "series": {k: name for k, (_, name) in series.items()}}

    def select_global(self, q: dict) -> dict:
        """Samples whose angles to the brushed axes (q['axes']) lie in [q['lo'], q['hi']] in either series."""
        series = self._series(q)
        chosen = data.axes_select([f for f, _ in series.values()], q.get("axes") or [], float(q["lo"]), float(q["hi"]))
        return {"samples": [int(v) for v in chosen]}

    def attribution(self, q: dict) -> dict:
        """The attribution view of sample q['sample'] for models a/b: the image on q['eval_set'] (clean when its
        images are absent) and the precomputed occlusion maps, saying which are missing."""
        s = self.study
        sample = int(q["sample"])
        ids = [i for i in (_model(s, q.get("a")), _model(s, q.get("b"))) if i is not None]
        eval_set = q.get("eval_set") or "clean"
        images = s.images(eval_set)
        if images is None:
            eval_set, images = "clean", s.images("clean")
        if not 0 <= sample < len(images):
            raise ValueError(f"no sample {sample}")
        maps = data.occlusion_maps(s.occlusion, s.models, sample, ids)
        label = s.samples.loc[s.samples["sample"] == sample, "label"]
        title = f"sample {sample} ({eval_set}" + (f", label {int(label.iloc[0])})" if len(label) else ")")
        have = sorted(set(maps["model"])) if len(maps) else []
        wanted = [s.models.loc[i, "label"] for i in ids]
        lacking = [w for w in wanted if w not in have]
        occ_samples = sorted(int(v) for v in s.occlusion["sample"].unique())
        note = (f"Occlusion maps are precomputed for {len(occ_samples)} samples only "
                f"({', '.join(map(str, occ_samples[:20]))}{' …' if len(occ_samples) > 20 else ''}).")
        if lacking:
            note += f" Sample {sample} has none for: {', '.join(lacking)}."
        return {"spec": views.attribution_chart(data.image_pixels(images, sample), maps, title), "note": note,
                "models_with_maps": have}

    ROUTES = {"meta": meta, "table": table, "embedding": embedding, "local": local, "select_local": select_local,
              "global": global_, "select_global": select_global, "attribution": attribution}

    def defaults(self) -> dict:
        """The page's first requests (model A = the first pruned model, clean set, first sample with maps):
        endpoint name → query; the --out snapshot holds their answers."""
        s = self.study
        pruned = s.models[s.models["method"] != "dense"]
        a = int((pruned if len(pruned) else s.models)["id"].iloc[0])
        sample = int(s.occlusion["sample"].min()) if len(s.occlusion) else 0
        emb = "clean" if "clean" in set(s.points["eval_set"]) else ""
        model = {"a": a, "b": None, "eval_set": "clean"}
        return {"meta": {}, "table": {"samples": None, "rows": []},
                "embedding": {"eval_set": emb, "colour": "method", "rows": [], "a": a, "b": None},
                "local": model, "global": {**model, "eval_set_b": ""},
                "attribution": {**model, "sample": sample}}

    def answer(self, name: str, q: dict) -> dict:
        """Dispatch /api/<name>; KeyError for an unknown endpoint."""
        return self.ROUTES[name](self, q)
