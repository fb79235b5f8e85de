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
header { display: flex; flex-wrap: wrap; gap: 10px 18px; align-items: center; margin-bottom: 8px; }
header h1 { font-size: 17px; margin: 0 12px 0 0; }
label { white-space: nowrap; } select { max-width: 260px; }
.grid { display: grid; grid-template-columns: minmax(600px, 1fr) minmax(600px, 1fr); gap: 12px; }
section { border: 1px solid #ddd; border-radius: 6px; padding: 8px 10px; overflow: auto; }
section h2 { font-size: 14px; margin: 0 0 4px 0; } .note { color: #555; margin: 2px 0 6px 0; font-size: 12px; }
#selection { font-weight: 600; } .wide { grid-column: 1 / span 2; }
"""

BODY = """
<header>
  <h1>Robustness study</h1><span id="run">loading the analysis tables…</span>
  <label>Model A <select id="model-a"></select></label>
  <label>Model B <select id="model-b"></select></label>
  <label>Eval set <select id="eval-set"></select></label>
  <label>Global B on <select id="eval-set-b"></select></label>
  <button id="clear">Clear selections</button> <span id="selection"></span>
</header>
<div class="grid">
 <section><h2>1 · Evaluation table</h2><p class="note" id="table-note"></p>
   <p class="note">Rows architecture · method, columns clean + each corruption, bars over prune ratios (0 = dense).
   Click a bar: model A (shift-click: model B).</p><div id="table"></div></section>
 <section><h2>2 · Geometric similarity (UMAP + MST)</h2>
   <label>Eval set <select id="emb-set"></select></label>
   <label>Colour by <select id="colour"><option value="method">method</option>
   <option value="architecture">architecture</option></select></label>
   <p class="note" id="embedding-note"></p><div id="embedding"></div></section>
 <section><h2>3 · Local geometry (per class)</h2><p class="note" id="local-note"></p><div id="local"></div></section>
 <section><h2>4 · Global geometry</h2><p class="note" id="global-note"></p><div id="global"></div></section>
 <section class="wide"><h2>5 · Attribution (occlusion)</h2>
   <label>Sample <select id="sample"></select></label>
   <p class="note" id="attribution-note"></p><div id="attribution"></div></section>
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
