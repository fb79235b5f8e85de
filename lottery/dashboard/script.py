"""The dashboard page's own JavaScript (inlined by page.py): state, requests to the local server, the views and
the selection flow between them.

Each view is embedded with vega-embed once per structure (the answer carries a spec only when its structure
key differs from the one the page holds); afterwards an answer only sets the spec's params (its `signals`)
and replaces the view's named datasets (sent by column; `view.data(name, rows)`, then `runAsync`). The table
and the similarity view are asked again only when their own query changes: the chosen models' highlights
are params the page sets. Models come from the table, the similarity view and the model search (click =
that model, shift-click / "add" = one more; A = the first, B = the second), samples from the geometry brushes
(computed on the server over all samples), one sample into the attribution view. The state lives in the URL
hash, so a link reopens the same view. `window.dash` exposes the state, the redraw timings with their steps
(requests, embeds, updates) and the exports for the browser tests.

Why one file over 400 lines: the script is a single closure (one IIFE) whose functions share the page state
`S`, the request helper and the embed/replace-data step; cut into several Python strings it would only be
concatenated again, and each part would read names defined in another. Its sections (URL state; models,
eval sets and classes; the five views; exports; start-up) are marked by `// ---- … ----` lines.
"""

APP_JS = r"""
(function () {
  const S = {meta: null, models: [], evalSet: 'clean', evalSetB: '', embSet: '', colour: 'method', expand: null,
             rows: [], samples: null, selSource: '', selView: '', sample: null, classes: [], k: 10, rank: '',
             xm: 'angle_own', ym: 'length', brushes: {local: {}, global: null}, shown: {local: [], global: []},
             views: {}, specs: {}, asked: {}, structure: {}, version: {}, embeds: {}, columns: [], tableCells: [], timings: [], steps: [],
             loaded: false, errors: [], static: !!window.DASH_STATIC};
  window.dash = S;
  const $ = (id) => document.getElementById(id);
  const live = !S.static;

  async function api(name, q) {
    if (S.static) {
      const hit = window.DASH_STATIC[name];
      if (!hit) throw new Error('not in this snapshot: start the server (python -m lottery.dashboard --workdir=DIR)');
      return hit;
    }
    const t0 = performance.now();
    const r = await fetch('/api/' + name, {method: 'POST', headers: {'Content-Type': 'application/json'},
                                           body: JSON.stringify(q || {})});
    const j = await r.json();
    if (!r.ok) throw new Error(j.error || ('HTTP ' + r.status));
    step('request ' + name, t0);
    return j;
  }
  // Where a redraw's time goes: requests (sent → answer parsed), embeds and updates (params, data, render) of
  // each view, with their start (ms since navigation start), for the timings the tests print.
  function step(what, t0) { S.steps.push({what: what, start: t0, ms: performance.now() - t0}); }

  function note(id, text) { const el = $(id + '-note'); if (el) el.textContent = text || ''; }
  function guard(id, fn) {
    return fn().catch((e) => { S.errors.push(id + ': ' + e.message); note(id, 'Could not draw: ' + e.message); });
  }
  S.busy = 0;  // redraws in flight (the tests wait for 0)
  async function timed(what, fn) {
    const t0 = performance.now();
    S.busy++;
    try { await fn(); } finally { S.busy--; }
    S.timings.push({what: what, start: t0, ms: performance.now() - t0});
  }

  // A dataset sent by column ({field: [values]}) as the rows vega takes.
  function rows(columns) {
    const fields = Object.keys(columns), n = fields.length ? columns[fields[0]].length : 0, out = new Array(n);
    for (let i = 0; i < n; i++) { const row = {}; for (const f of fields) row[f] = columns[f][i]; out[i] = row; }
    return out;
  }
  // Expression functions the specs call: the local view's tooltip (the point's fields, x and y under their
  // axes' titles, which are params).
  const FUNCTIONS = {localTooltip: (d, xTitle, yTitle) =>
    ({sample: d.sample, label: d.label, category: d.category, [xTitle]: d.x, [yTitle]: d.y})};

  // Embed the answer's spec when it brings one (a new structure), then set its params (r.signals: titles and
  // other texts that change without a new spec, and the page's own o.signals) and replace the view's datasets.
  // r null: the view's data stand, only the page's params change. Options o: renderer, hook (on a new view),
  // patch (of the spec before embedding), fresh (embed the held spec again: the local brushes moved panels).
  async function show(id, r, o) {
    if (r && r.spec) S.specs[id] = r.spec;
    if ((r && r.spec) || o.fresh || !S.views[id]) {
      const t0 = performance.now();
      if (S.views[id]) S.views[id].finalize();
      const spec = S.specs[id];
      const res = await vegaEmbed('#' + id, o.patch ? o.patch(spec) : spec,
                                  {actions: false, renderer: o.renderer, expressionFunctions: FUNCTIONS});
      S.views[id] = res; S.structure[id] = r.structure; S.embeds[id] = (S.embeds[id] || 0) + 1;
      if (o.hook) o.hook(res.view);
      step('embed ' + id, t0);
    }
    const t0 = performance.now(), view = S.views[id].view;
    for (const [name, value] of Object.entries(Object.assign({}, r && r.signals, o.signals))) view.signal(name, value);
    for (const [name, columns] of Object.entries(r ? r.data : {})) view.data(name, rows(columns));
    await view.runAsync();
    step('update ' + id, t0);
    S.version[id] = (S.version[id] || 0) + 1;
    $(id).dataset.version = S.version[id];
  }
  // A facet grid's row and column values as a key. Vega's facet keeps an (empty) cell for every value it has
  // seen since the view was embedded, so new rows whose facet values differ would leave stale cells that shift
  // the grid: a view whose facet values change is embedded again (the table's columns, the attribution's models).
  function facetKeys(values) { return JSON.stringify(values || []); }
  function have(id) { return S.views[id] ? S.structure[id] : null; }
  // The answer of endpoint `name` to query q for view id, or null when the view already shows the answer to q
  // (the table and the similarity view: choosing models only changes their params).
  async function ask(id, name, q) {
    const key = JSON.stringify(q);
    if (S.views[id] && S.asked[id] === key) return null;
    const r = await api(name, Object.assign({structure: have(id)}, q));
    S.asked[id] = key;
    return r;
  }
  function drop(id) { if (S.views[id]) { S.views[id].finalize(); delete S.views[id]; } }

  // Set the initial value of a named selection param anywhere in a spec (restores brushes from the URL).
  function withValues(spec, values) {
    const walk = (o) => {
      if (Array.isArray(o)) { o.forEach(walk); return; }
      if (!o || typeof o !== 'object') return;
      if (o.name && o.select && values[o.name]) o.value = values[o.name];
      Object.values(o).forEach(walk);
    };
    spec = JSON.parse(JSON.stringify(spec)); walk(spec); return spec;
  }

  const modelQ = () => ({models: S.models, eval_set: S.evalSet, interactive: live});
  const classQ = () => ({k: S.k, classes: S.classes, rank: S.rank || null});
  const label = (id) => S.meta.models[id].label;
  const className = (c) => S.meta.class_names[c] === undefined ? String(c) : S.meta.class_names[c];

  // ---- URL state -----------------------------------------------------------------------------------------------
  function writeHash() {
    if (S.static) return;
    const p = new URLSearchParams();
    p.set('m', S.models.join(',')); p.set('e', S.evalSet);
    if (S.evalSetB) p.set('eb', S.evalSetB);
    p.set('es', S.embSet); p.set('c', S.colour);
    if (S.expand) p.set('x', S.expand);
    if (S.classes.length) p.set('cl', S.classes.join(','));
    p.set('k', S.k); if (S.rank) p.set('r', S.rank);
    p.set('xm', S.xm); p.set('ym', S.ym);
    if (S.sample !== null) p.set('s', S.sample);
    if (Object.keys(S.brushes.local).length) p.set('lb', JSON.stringify(S.brushes.local));
    if (S.brushes.global) p.set('gb', JSON.stringify(S.brushes.global));
    history.replaceState(null, '', '#' + p.toString());
  }
  function readHash() {
    const p = new URLSearchParams(location.hash.slice(1));
    const ids = (p.get('m') || '').split(',').filter((v) => v !== '').map(Number)
      .filter((i) => Number.isInteger(i) && i >= 0 && i < S.meta.models.length);
    if (ids.length) S.models = ids;
    if (S.meta.eval_sets.includes(p.get('e'))) S.evalSet = p.get('e');
    if (S.meta.eval_sets.includes(p.get('eb'))) S.evalSetB = p.get('eb');
    if (p.has('es')) S.embSet = p.get('es');
    if (p.get('c') === 'architecture') S.colour = 'architecture';
    if (p.get('x')) S.expand = p.get('x');
    if (p.get('cl')) S.classes = p.get('cl').split(',').map(Number).filter((c) => c >= 0 && c < S.meta.n_classes);
    if (p.get('k')) S.k = Math.max(1, Math.min(40, Number(p.get('k')) || 10));
    if (p.get('r')) S.rank = p.get('r');
    if (S.meta.measures.includes(p.get('xm'))) S.xm = p.get('xm');
    if (S.meta.measures.includes(p.get('ym'))) S.ym = p.get('ym');
    if (p.get('s')) S.sample = Number(p.get('s'));
    try { if (p.get('lb')) S.brushes.local = JSON.parse(p.get('lb')); } catch (e) { S.brushes.local = {}; }
    try { if (p.get('gb')) S.brushes.global = JSON.parse(p.get('gb')); } catch (e) { S.brushes.global = null; }
  }

  // ---- models, eval sets, classes -------------------------------------------------------------------------------
  function rowsOf(id) {
    const m = S.meta.models[id];
    return m.method === 'dense' ? S.meta.methods.map((x) => m.architecture + ' · ' + x) : [m.architecture + ' · ' + m.method];
  }
  function chooseModel(id, row, add) {
    if (id === null || id === undefined) return;
    if (add) {
      S.models = S.models.includes(id) ? (S.models.length > 1 ? S.models.filter((x) => x !== id) : S.models) : [...S.models, id];
    } else S.models = [id];
    S.rows = [...new Set(S.models.flatMap((i) => (i === id && row) ? [row] : rowsOf(i)))];
    return timed('model', refreshAll);
  }
  function chips() {
    $('chosen').innerHTML = '';
    S.models.forEach((id, i) => {
      const c = document.createElement('span'); c.className = 'chip';
      c.textContent = String.fromCharCode(65 + i) + ': ' + label(id);
      if (S.models.length > 1 && live) {
        const x = document.createElement('button'); x.textContent = '×'; x.title = 'remove';
        x.onclick = () => { S.models = S.models.filter((m) => m !== id); S.rows = S.models.flatMap(rowsOf); timed('model', refreshAll); };
        c.appendChild(x);
      }
      $('chosen').appendChild(c);
    });
    $('pinned').innerHTML = '';
    for (const cl of S.classes) {
      const c = document.createElement('span'); c.className = 'chip'; c.textContent = className(cl);
      const x = document.createElement('button'); x.textContent = '×'; x.title = 'unpin';
      x.onclick = () => pinClass(cl); c.appendChild(x); $('pinned').appendChild(c);
    }
    fillRank();
  }
  function pinClass(c) {
    S.classes = S.classes.includes(c) ? S.classes.filter((x) => x !== c) : [...S.classes, c];
    return timed('classes', () => Promise.all([guard('local', renderLocal), guard('global', renderGlobal)]).then(() => { chips(); writeHash(); }));
  }
  function setEvalSet(e) {
    if (!S.meta.eval_sets.includes(e)) return;
    S.evalSet = e; $('eval-set').value = e;
    if (S.meta.embedding_sets.includes(e)) { S.embSet = e; $('emb-set').value = e; }
    return timed('eval set', () => Promise.all([guard('embedding', renderEmbedding), guard('local', renderLocal),
                                                guard('global', renderGlobal), guard('attribution', renderAttribution)]).then(writeHash));
  }

  function selectionText() {
    if (S.samples === null) return 'No sample selection: the table shows the whole test set.';
    return S.samples.length + ' samples selected (' + S.selSource + ').';
  }

  // ---- 1 · table --------------------------------------------------------------------------------------------------
  async function renderTable() {
    const r = await ask('table', 'table', {samples: S.samples, expand: S.expand, interactive: live});
    // Other columns (a drill-down or its collapse): embed the held spec again (facetKeys).
    const fresh = !!(r && S.views.table && facetKeys(r.columns.map((c) => c.key)) !== facetKeys(S.columns.map((c) => c.key)));
    if (r) {
      S.tableCells = rows(r.data.cells).filter((c) => c.mark !== 'header'); S.columns = r.columns; S.tableAnswer = {n_bars: r.n_bars, n_dense: r.n_dense};
      note('table', r.note);
    }
    $('selection').textContent = selectionText();
    $('collapse').style.display = S.expand ? '' : 'none';
    await show('table', r, {renderer: 'svg', fresh: fresh, signals: {highlight_rows: S.rows}, hook: (view) => {
      if (!live) return;
      view.addEventListener('click', (ev, item) => {
        for (let it = item; it; it = it.mark && it.mark.group) {
          const d = it.datum;
          if (d && d.model_id !== undefined && d.model_id !== null) return guard('table', () => chooseModel(d.model_id, d.row, ev.shiftKey));
          if (d && d.mark === 'header') return guard('table', () => clickColumn(d.column));
        }
      });
    }});
  }
  function clickColumn(text) {
    const col = S.columns.find((c) => c.label === text);
    if (!col) return Promise.resolve();
    if (col.role === 'family') { S.expand = col.key; return timed('drill-down', () => renderTable().then(writeHash)); }
    const e = col.role === 'clean' ? 'clean' : col.key + '-' + S.meta.geometry_severity;
    return setEvalSet(e) || Promise.resolve();
  }

  // ---- 2 · similarity ---------------------------------------------------------------------------------------------
  async function renderEmbedding() {
    const r = await ask('embedding', 'embedding', {eval_set: S.embSet, colour: S.colour});
    if (r) note('embedding', r.n_points + ' models × eval sets, ' + r.n_edges + ' MST edges (a tree per eval set, built over the geometry vectors, drawn on the 2-D layout).' +
                (live ? ' Click a point: that model (shift-click adds it); A, B, … mark the chosen models.' : ''));
    await show('embedding', r, {renderer: 'svg', signals: {highlight_rows: S.rows, chosen_models: S.models}, hook: (view) => {
      if (!live) return;
      view.addEventListener('click', (ev, item) => {
        const d = item && item.datum;
        if (d && d.model_id !== undefined) guard('embedding', () => chooseModel(d.model_id, null, ev.shiftKey));
      });
    }});
  }

  // ---- 3 · local --------------------------------------------------------------------------------------------------
  let brushTimer = null;
  const lastBrush = {local: '', global: ''};
  async function renderLocal() {
    const q = Object.assign(modelQ(), classQ(), {x: S.xm, y: S.ym, samples: S.selView === 'local' ? null : S.samples,
                            structure: have('local'), ranking_structure: have('ranking')});
    const r = await api('local', q);
    const changed = JSON.stringify(r.classes) !== JSON.stringify(S.shown.local);
    const moved = changed && Object.keys(S.brushes.local).length > 0;  // brushes to draw on other panels
    S.shown.local = r.classes;
    if (changed) {  // other classes: brushes on classes no longer shown are dropped, the others follow their class
      const kept = {};
      for (const c of r.classes) if (S.brushes.local[c]) kept[c] = S.brushes.local[c];
      S.brushes.local = kept;
    }
    lastBrush.local = JSON.stringify(S.brushes.local);
    note('local', r.note + (live ? ' Brush a class panel to select samples; click a point for the attribution view; click a ranking bar to pin its class.' : ''));
    const values = {};
    r.classes.forEach((c, i) => { if (S.brushes.local[c]) values['brush_' + i] = S.brushes.local[c]; });
    await Promise.all([
      show('local', r, {renderer: 'canvas', hook: hookLocal, patch: (spec) => withValues(spec, values), fresh: moved}),
      show('ranking', r.ranking, {renderer: 'svg', hook: (view) => {
        if (live) view.addEventListener('click', (ev, item) => { const d = item && item.datum; if (d && d.label !== undefined) guard('local', () => pinClass(d.label)); });
      }})]);
  }
  function hookLocal(view) {
    const n = S.shown.local.length;
    const onBrush = () => {
      clearTimeout(brushTimer);
      brushTimer = setTimeout(() => guard('local', async () => {
        const brushes = {};
        for (let i = 0; i < n; i++) {
          const v = view.signal('brush_' + i);
          if (v && (v.x || v.y)) brushes[S.shown.local[i]] = {x: v.x, y: v.y};
        }
        if (JSON.stringify(brushes) === lastBrush.local) return;
        S.brushes.local = brushes; lastBrush.local = JSON.stringify(brushes);
        await timed('local brush', applyLocal);
      }), 120);
    };
    if (!live) return;
    for (let i = 0; i < n; i++) view.addSignalListener('brush_' + i, onBrush);
    view.addEventListener('click', (ev, item) => { const d = item && item.datum; if (d && d.sample !== undefined) chooseSample(d.sample); });
  }
  // Brushing one geometry view replaces the other's selection: the other's brushes go, and its view is embedded
  // afresh without them (a brush left drawn would show a selection that no longer holds).
  function dropBrushes(id) {
    const had = id === 'local' ? Object.keys(S.brushes.local).length > 0 : S.brushes.global !== null;
    if (id === 'local') S.brushes.local = {}; else S.brushes.global = null;
    lastBrush[id] = JSON.stringify(S.brushes[id]);  // 'no brush': what the view's listener then reads
    if (had) drop(id);
  }
  async function applyLocal() {
    if (!Object.keys(S.brushes.local).length) { S.samples = null; S.selSource = ''; }
    else {
      const sel = await api('select_local', Object.assign(modelQ(), {brushes: S.brushes.local, x: S.xm, y: S.ym}));
      S.samples = sel.samples; S.selSource = 'local geometry brush on ' + Object.keys(S.brushes.local).map((c) => className(Number(c))).join(', ');
    }
    S.selView = 'local'; dropBrushes('global');
    await Promise.all([guard('table', renderTable), guard('global', renderGlobal)]);
    writeHash();
  }

  // ---- 4 · global -------------------------------------------------------------------------------------------------
  async function renderGlobal() {
    const q = Object.assign(modelQ(), classQ(), {eval_set_b: S.evalSetB, samples: S.selView === 'global' ? null : S.samples,
                            structure: have('global')});
    const r = await api('global', q);
    S.shown.global = r.classes; S.series = r.series;
    note('global', Object.entries(r.series).map(([k, v]) => k + ' = ' + v).join('; ') + '. ' + r.note +
         (live ? ' Drag a box over axes to select the samples whose angles to every boxed class lie in its range; click a line for the attribution view.' : ''));
    const values = {};
    if (S.brushes.global && r.spec) values.pbrush = {x: S.brushes.global.x, y: S.brushes.global.y};
    await show('global', r, {renderer: 'canvas', hook: hookGlobal, patch: (spec) => withValues(spec, values)});
  }
  function hookGlobal(view) {
    if (!live) return;
    view.addSignalListener('pbrush', () => {
      clearTimeout(brushTimer);
      brushTimer = setTimeout(() => guard('global', async () => {
        const v = view.signal('pbrush');
        const b = v && v.slot && v.angle ? {x: v.slot, y: v.angle} : null;
        if (JSON.stringify(b) === lastBrush.global) return;
        lastBrush.global = JSON.stringify(b); S.brushes.global = b;
        await timed('global brush', applyGlobal);
      }), 120);
    });
    view.addEventListener('click', (ev, item) => { const d = item && item.datum; if (d && d.sample !== undefined) chooseSample(d.sample); });
  }
  // The series a global brush is on (A's axes on the left, B's right of the gap: the side of the box's centre)
  // and the shown classes of that series' axes inside the box.
  function brushedAxes(b) {
    const k = S.shown.global.length, lo = Math.min(...b.x), hi = Math.max(...b.x);
    const series = S.series.B !== undefined && (lo + hi) / 2 > k ? 'B' : 'A', first = series === 'B' ? k + 1 : 0;
    const axes = [];
    for (let i = Math.max(Math.ceil(lo), first); i <= Math.min(Math.floor(hi), first + k - 1); i++) axes.push(S.shown.global[i - first]);
    return {series: series, axes: axes};
  }
  async function applyGlobal() {
    const b = S.brushes.global, on = b ? brushedAxes(b) : {series: 'A', axes: []};
    if (!on.axes.length) { S.samples = null; S.selSource = ''; }
    else {
      const sel = await api('select_global', Object.assign(modelQ(), {eval_set_b: S.evalSetB, axes: on.axes, series: [on.series],
                                                           lo: Math.min(...b.y), hi: Math.max(...b.y)}));
      S.samples = sel.samples; S.selSource = 'global geometry brush on ' + on.series + ', classes ' + on.axes.map(className).join(', ');
    }
    S.selView = 'global'; dropBrushes('local');
    await Promise.all([guard('table', renderTable), guard('local', renderLocal)]);
    writeHash();
  }

  // ---- 5 · attribution --------------------------------------------------------------------------------------------
  async function renderAttribution() {
    if (S.sample === null) S.sample = S.meta.occlusion_samples.length ? S.meta.occlusion_samples[0] : 0;
    const sel = $('sample');
    if (![...sel.options].some((o) => o.value === String(S.sample))) {
      const o = document.createElement('option'); o.value = String(S.sample); o.textContent = S.sample + ' (no maps)';
      sel.appendChild(o);
    }
    sel.value = String(S.sample);
    const r = await api('attribution', Object.assign(modelQ(), {sample: S.sample, structure: have('attribution')}));
    note('attribution', r.note);
    $('attribution-title').textContent = r.title;
    const f = (v) => v === null || v === undefined ? '' : Number(v).toFixed(3);
    $('attribution-values').innerHTML = r.values.length ? '<table class="values"><tr><th>model (unoccluded)</th><th>prediction</th>' +
      '<th>angle_own</th><th>length</th><th>margin</th><th>prob_own</th></tr>' + r.values.map((v) =>
        `<tr><td>${v.model}</td><td>${v.pred}${v.correct ? '' : ' ✗'}</td><td>${f(v.angle_own)}</td><td>${f(v.length)}</td>` +
        `<td>${f(v.margin)}</td><td>${f(v.prob_own)}</td></tr>`).join('') + '</table>' : '';
    const fresh = !!(S.views.attribution && S.attribution && facetKeys(r.models_with_maps) !== facetKeys(S.attribution.models_with_maps));
    S.attribution = {values: r.values, models_with_maps: r.models_with_maps};
    await show('attribution', r, {renderer: 'canvas', fresh: fresh});  // thousands of cells: canvas redraws them faster than SVG elements
  }
  function chooseSample(sample) { S.sample = sample; return timed('sample', () => guard('attribution', renderAttribution).then(writeHash)); }

  function refreshAll() {
    chips();
    return Promise.all([guard('table', renderTable), guard('embedding', renderEmbedding), guard('local', renderLocal),
                        guard('global', renderGlobal), guard('attribution', renderAttribution)]).then(writeHash);
  }

  // ---- exports ----------------------------------------------------------------------------------------------------
  function download(name, url) { const a = document.createElement('a'); a.href = url; a.download = name; document.body.appendChild(a); a.click(); a.remove(); }
  S.exportView = async function (id, format, save) {
    const view = S.views[id].view;
    const out = format === 'svg' ? await view.toSVG() : await view.toImageURL('png', 2);
    if (save !== false) download('dashboard-' + id + '.' + format, format === 'svg' ? URL.createObjectURL(new Blob([out], {type: 'image/svg+xml'})) : out);
    return out;
  };
  S.csv = function () {
    const pos = new Map(S.meta.sample_ids.map((s, i) => [s, i]));
    const lines = ['sample,label,class,source'];
    for (const s of (S.samples || [])) {
      const l = S.meta.labels[pos.get(s)];
      lines.push([s, l, '"' + String(className(l)).replace(/"/g, '""') + '"', '"' + S.selSource.replace(/"/g, '""') + '"'].join(','));
    }
    return lines.join('\n') + '\n';
  };

  function fillSelect(id, items, withNone) {
    const sel = $(id); sel.innerHTML = '';
    if (withNone !== null && withNone !== undefined) { const o = document.createElement('option'); o.value = ''; o.textContent = withNone; sel.appendChild(o); }
    for (const [value, text] of items) {
      const o = document.createElement('option'); o.value = String(value); o.textContent = text; sel.appendChild(o);
    }
  }
  function fillRank() {
    const opts = S.models.length > 1 ? S.meta.rankings_two : S.meta.rankings_one;
    const cur = $('rank').value;
    fillSelect('rank', Object.entries(opts), null);
    if (opts[S.rank]) $('rank').value = S.rank; else if (opts[cur]) $('rank').value = cur;
  }

  async function start() {
    const t0 = performance.now();
    S.meta = await api('meta', {});
    const m = S.meta;
    $('run').textContent = (m.experiment ? m.experiment + ' — ' : '') + 'run ' + m.run_id + ': ' + m.models.length +
      ' models × ' + m.n_samples + ' samples, ' + m.n_classes + ' classes' + (m.dataset ? ' (' + m.dataset + ')' : '');
    if (S.static) document.body.classList.add('static');
    $('model-list').innerHTML = m.models.map((x) => `<option value="${x.label}"></option>`).join('');
    $('class-list').innerHTML = m.class_names.map((c, i) => `<option value="${c}">${i}</option>`).join('');
    fillSelect('eval-set', m.eval_sets.map((e) => [e, e]), null);
    fillSelect('eval-set-b', m.eval_sets.map((e) => [e, e]), '— same —');
    fillSelect('emb-set', m.embedding_sets.map((e) => [e, e]), 'all eval sets');
    fillSelect('sample', m.occlusion_samples.map((s) => [s, s + ' (has maps)']), null);
    fillSelect('local-x', m.measures.map((x) => [x, x]), null); fillSelect('local-y', m.measures.map((x) => [x, x]), null);
    const pruned = m.models.filter((x) => x.method !== 'dense');
    S.models = [(pruned.length ? pruned[0] : m.models[0]).id];
    S.embSet = m.embedding_sets.includes('clean') ? 'clean' : '';
    S.k = m.top_k;
    if (live) readHash();
    S.rows = S.models.flatMap(rowsOf);
    $('eval-set').value = S.evalSet; $('eval-set-b').value = S.evalSetB; $('emb-set').value = S.embSet; $('colour').value = S.colour;
    $('local-x').value = S.xm; $('local-y').value = S.ym; $('top-k').value = S.k;
    const byLabel = (text) => m.models.find((x) => x.label === text);
    $('model-search').onchange = (e) => { const x = byLabel(e.target.value); if (x) chooseModel(x.id, null, false); };
    $('model-add').onclick = () => { const x = byLabel($('model-search').value); if (x) chooseModel(x.id, null, true); };
    $('eval-set').onchange = (e) => setEvalSet(e.target.value);
    $('eval-set-b').onchange = (e) => { S.evalSetB = e.target.value; timed('eval set B', () => guard('global', renderGlobal).then(writeHash)); };
    $('emb-set').onchange = (e) => { S.embSet = e.target.value; timed('embedding set', () => guard('embedding', renderEmbedding).then(writeHash)); };
    $('colour').onchange = (e) => { S.colour = e.target.value; guard('embedding', renderEmbedding).then(writeHash); };
    const relocal = () => timed('classes', () => Promise.all([guard('local', renderLocal), guard('global', renderGlobal)]).then(writeHash));
    // Other axes: the brushes (ranges of the old measures) go, and the view is embedded afresh without them.
    const setAxes = (x, y) => { S.xm = x; S.ym = y; S.brushes.local = {}; drop('local'); relocal(); };
    $('local-x').onchange = (e) => setAxes(e.target.value, S.ym);
    $('local-y').onchange = (e) => setAxes(S.xm, e.target.value);
    $('top-k').onchange = (e) => { S.k = Math.max(1, Math.min(40, Number(e.target.value) || 10)); relocal(); };
    $('rank').onchange = (e) => { S.rank = e.target.value; relocal(); };
    $('class-search').onchange = (e) => {
      const v = e.target.value.trim(); let c = m.class_names.indexOf(v);
      if (c < 0 && /^\d+$/.test(v)) c = Number(v);
      if (c >= 0 && c < m.n_classes && !S.classes.includes(c)) pinClass(c);
      e.target.value = '';
    };
    $('sample').onchange = (e) => chooseSample(Number(e.target.value));
    $('sample-any').onchange = (e) => { const v = Number(e.target.value); if (Number.isInteger(v) && v >= 0) chooseSample(v); };
    $('collapse').onclick = () => { S.expand = null; timed('drill-down', () => renderTable().then(writeHash)); };
    $('clear').onclick = () => {
      S.samples = null; S.selSource = ''; S.selView = ''; S.rows = []; S.brushes = {local: {}, global: null};
      lastBrush.local = ''; lastBrush.global = ''; drop('local'); drop('global');
      timed('clear', refreshAll);
    };
    $('csv').onclick = () => download('selection.csv', URL.createObjectURL(new Blob([S.csv()], {type: 'text/csv'})));
    for (const b of document.querySelectorAll('[data-export]')) b.onclick = () => guard(b.dataset.export, () => S.exportView(b.dataset.export, b.dataset.format));
    await refreshAll();
    // Brushes from the URL: draw them (set as the params' initial values above) and recompute their selection.
    if (live && Object.keys(S.brushes.local).length) await applyLocal();
    else if (live && S.brushes.global) { lastBrush.global = JSON.stringify(S.brushes.global); await applyGlobal(); }
    S.loadMs = performance.now() - t0;
    S.readyMs = performance.now();  // since navigation start: page, scripts, requests, every view drawn
    S.loaded = true;
    document.body.dataset.loaded = '1';
  }

  window.addEventListener('DOMContentLoaded', () => {
    start().catch((e) => { S.errors.push(e.message); $('run').textContent = 'Could not load: ' + e.message;
                            S.loaded = true; document.body.dataset.loaded = '1'; });
  });
})();
"""
