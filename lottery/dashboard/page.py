"""The dashboard's HTML: the page (vega, vega-lite and vega-embed inlined from vl-convert's bundle, the app
script from script.py), the page that says what to run when the workdir lacks tables, and the static
snapshot written by --out."""

from __future__ import annotations

import functools
import html
import json

from lottery.dashboard.script import APP_JS

STYLE = """
body { font: 13px system-ui, sans-serif; margin: 12px; color: #222; }
header { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: center; margin-bottom: 8px; }
header h1 { font-size: 17px; margin: 0 12px 0 0; }
label { white-space: nowrap; } select { max-width: 240px; } input[type=search] { width: 230px; }
.grid { display: grid; grid-template-columns: minmax(560px, 1fr) minmax(560px, 1fr); gap: 12px; }
section { border: 1px solid #ddd; border-radius: 6px; padding: 8px 10px; overflow: auto; }
section h2 { font-size: 14px; margin: 0 6px 4px 0; display: inline-block; }
.note { color: #555; margin: 2px 0 6px 0; font-size: 12px; }
#selection { font-weight: 600; } .wide { grid-column: 1 / span 2; }
.export button { font-size: 11px; padding: 0 5px; } .export { display: inline-block; }
.chip { display: inline-block; background: #eef2f7; border-radius: 9px; padding: 0 7px; margin: 0 3px; font-size: 12px; }
.chip button { border: none; background: none; cursor: pointer; padding: 0 0 0 3px; color: #a33; }
.row { display: flex; gap: 10px; align-items: flex-start; } .controls { margin: 2px 0 4px 0; display: flex; flex-wrap: wrap; gap: 6px 14px; }
table.values { border-collapse: collapse; font-size: 12px; margin: 4px 0; } table.values td, table.values th { padding: 1px 8px; border-bottom: 1px solid #eee; text-align: right; }
table.values td:first-child, table.values th:first-child { text-align: left; }
#static-note { display: none; background: #fff6d9; padding: 4px 8px; border-radius: 4px; }
body.static #static-note { display: block; } body.static .live { display: none !important; }
"""


def _export(view: str) -> str:
    """The PNG / SVG export buttons of one view."""
    return (f"<span class='export'><button data-export='{view}' data-format='png'>PNG</button>"
            f"<button data-export='{view}' data-format='svg'>SVG</button></span>")


BODY = f"""
<header>
  <h1>Robustness study</h1><span id="run">loading the analysis tables…</span>
  <label class="live">Model <input type="search" id="model-search" list="model-list" placeholder="search models…"></label>
  <datalist id="model-list"></datalist><button class="live" id="model-add" title="add the searched model">add</button>
  <span>Models <span id="chosen"></span></span>
  <label class="live">Eval set <select id="eval-set"></select></label>
  <label class="live">Global B on <select id="eval-set-b"></select></label>
  <button class="live" id="clear">Clear selections</button> <button class="live" id="csv">Selection CSV</button>
  <span id="selection"></span>
</header>
<p id="static-note">Snapshot: choosing models, eval sets, classes and samples, brushing and clicking need the server
 (python -m lottery.dashboard --workdir=DIR); here only the tooltips and the PNG / SVG exports work.</p>
<div class="grid">
 <section class="wide"><h2>1 · Evaluation table</h2>{_export("table")}
   <button class="live" id="collapse" style="display:none">collapse family</button><p class="note" id="table-note"></p>
   <p class="note">Rows architecture · method, columns clean + corruption families, one bar per prune ratio, dashed line:
   the unpruned model. <span class="live">Click a bar or the dashed line: that model (shift-click adds it); click a
   family header (▸) to drill down, a corruption header to show that eval set everywhere.</span></p>
   <div id="table"></div></section>
 <section><h2>2 · Geometric similarity (UMAP + MST per eval set)</h2>{_export("embedding")}
   <div class="controls live"><label>Eval set <select id="emb-set"></select></label>
   <label>Colour by <select id="colour"><option value="method">method</option>
   <option value="architecture">architecture</option></select></label></div>
   <p class="note" id="embedding-note"></p><div id="embedding"></div></section>
 <section><h2>3 · Local geometry (per class)</h2>{_export("local")}
   <div class="controls live"><label>x <select id="local-x"></select></label><label>y <select id="local-y"></select></label>
   <label>top k <input type="number" id="top-k" min="1" max="40" style="width:3.5em"></label>
   <label>rank by <select id="rank"></select></label>
   <label>class <input type="search" id="class-search" list="class-list" placeholder="pin a class…"></label>
   <datalist id="class-list"></datalist><span id="pinned"></span></div>
   <p class="note" id="local-note"></p>
   <div class="row"><div id="ranking"></div><div id="local"></div></div></section>
 <section><h2>4 · Global geometry</h2>{_export("global")}<p class="note" id="global-note"></p><div id="global"></div></section>
 <section><h2>5 · Attribution (occlusion)</h2>{_export("attribution")}
   <div class="controls live"><label>Sample <select id="sample"></select></label>
   <label>any sample <input type="number" id="sample-any" min="0" style="width:5em"></label></div>
   <p class="note" id="attribution-title"></p><p class="note" id="attribution-note"></p>
   <div id="attribution-values"></div><div id="attribution"></div></section>
</div>
"""


@functools.cache
def vega_bundle() -> str:
    """vega + vega-lite + vega-embed as one script (window.vega, window.vegaLite, window.vegaEmbed), from the
    vl-convert-python package: nothing is fetched from the network."""
    import vl_convert

    return vl_convert.javascript_bundle().replace("</script", "<\\/script")


def _inline_json(value) -> str:
    """JSON safe to place inside a <script> element."""
    return json.dumps(value, separators=(",", ":")).replace("</", "<\\/")


def dashboard_page(static: dict | None = None) -> str:
    """The dashboard page. With `static` (endpoint name → answer) the page reads those answers instead of
    asking the server (the --out snapshot)."""
    data = f"<script>window.DASH_STATIC = {_inline_json(static)};</script>" if static is not None else ""
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>Robustness dashboard</title>"
            f"<style>{STYLE}</style><script>{vega_bundle()}</script>{data}<script>{APP_JS}</script></head>"
            f"<body>{BODY}</body></html>")


def missing_page(workdir: str, missing: list, command: str) -> str:
    """The page shown when the workdir or its analysis tables are missing: what is absent and what to run."""
    items = "".join(f"<li><code>{html.escape(m)}</code></li>" for m in missing)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>Robustness dashboard: no data</title>"
            f"<style>{STYLE}</style></head><body><h1>No analysis tables in <code>{html.escape(workdir)}</code></h1>"
            f"<p>The dashboard reads the robustness study's analysis tables, and these are missing:</p><ul>{items}</ul>"
            f"<p>Write them with</p><pre id='command'>{html.escape(command)}</pre>"
            f"<p>then start the dashboard again.</p></body></html>")
