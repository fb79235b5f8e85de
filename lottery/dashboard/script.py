"""The dashboard page's own JavaScript (inlined by page.py): state, requests to the local server, embedding
the Vega-Lite views and the selection flow between them. Models come from views 1–2 (click; shift-click
= model B), samples from views 3–4 (brushes), one sample into view 5 (click a point or a line).
`window.dash` exposes the state for the browser tests."""

APP_JS = r"""
(function () {
  const S = {meta: null, a: null, b: null, evalSet: 'clean', evalSetB: '', colour: 'method', embSet: '',
             rows: [], samples: null, selSource: '', sample: null, views: {}, version: {}, tableCells: [],
             loaded: false, errors: []};
  window.dash = S;
  const $ = (id) => document.getElementById(id);

  async function api(name, q) {
    if (window.DASH_STATIC) {
      const hit = window.DASH_STATIC[name];
      S.staticUsed = S.staticUsed || {};
      if (!hit || S.staticUsed[name]) throw new Error('this is a static snapshot: start the server (python -m lottery.dashboard --workdir=DIR) for this');
      S.staticUsed[name] = true;
      return hit;
    }
    const r = await fetch('/api/' + name, {method: 'POST', headers: {'Content-Type': 'application/json'},
                                           body: JSON.stringify(q || {})});
    const j = await r.json();
    if (!r.ok) throw new Error(j.error || ('HTTP ' + r.status));
    return j;
  }

  function note(id, text) { const el = $(id + '-note'); if (el) el.textContent = text || ''; }

  async function embed(id, spec, renderer) {
    if (S.views[id]) S.views[id].finalize();
    const res = await vegaEmbed('#' + id, spec, {actions: false, renderer: renderer});
    S.views[id] = res;
    S.version[id] = (S.version[id] || 0) + 1;
    $(id).dataset.version = S.version[id];
    return res.view;
  }

  function guard(id, fn) {
    return fn().catch((e) => { S.errors.push(id + ': ' + e.message); note(id, 'Could not draw: ' + e.message); });
  }

  function modelIdFor(arch, method, ratio) {
    const ms = S.meta.models.filter((m) => m.architecture === arch &&
      (ratio === 0 ? m.method === 'dense' : (m.method === method && Math.abs(m.ratio - ratio) < 1e-9)));
    return ms.length ? ms[0].id : null;
  }

  function chooseModel(id, row, second) {
    if (id === null || id === undefined) return;
    if (second) S.b = id; else S.a = id;
    const m = S.meta.models[id];
    // A dense model is the ratio-0 bar of every method row of its architecture.
    S.rows = row ? [row] : (m.method === 'dense' ? S.meta.methods.map((x) => m.architecture + ' · ' + x)
                                                  : [m.architecture + ' · ' + m.method]);
    $('model-a').value = S.a === null ? '' : String(S.a);
    $('model-b').value = S.b === null ? '' : String(S.b);
    refreshModels(true);
  }

  function selectionText() {
    if (S.samples === null) return 'No sample selection: the table shows the whole test set.';
    return S.samples.length + ' samples selected (' + S.selSource + ').';
  }

  async function renderTable() {
    const r = await api('table', {samples: S.samples, rows: S.rows});
    S.tableCells = r.cells;
    note('table', r.note);
    $('selection').textContent = selectionText();
    const view = await embed('table', r.spec, 'svg');
    view.addEventListener('click', (ev, item) => {
      const d = item && item.datum;
      if (!d || d.architecture === undefined) return;
      chooseModel(modelIdFor(d.architecture, d.method, d.ratio), d.row, ev.shiftKey);
    });
  }

  async function renderEmbedding() {
    const r = await api('embedding', {eval_set: S.embSet, colour: S.colour, rows: S.rows, a: S.a, b: S.b});
    note('embedding', r.n_points + ' models × eval sets, ' + r.n_edges + ' MST edges. Click a point: model A ' +
         '(shift-click: model B); its table row is highlighted.');
    const view = await embed('embedding', r.spec, 'svg');
    view.addEventListener('click', (ev, item) => {
      const d = item && item.datum;
      if (!d || d.model_id === undefined) return;
      chooseModel(d.model_id, null, ev.shiftKey);
    });
  }

  let brushTimer = null;
  async function renderLocal() {
    const q = {a: S.a, b: S.b, eval_set: S.evalSet};
    const r = await api('local', Object.assign({samples: S.selSourceView === 'local' ? null : S.samples}, q));
    note('local', r.note + ' Brush a class panel to select samples; click a point to show it in the attribution view.');
    const view = await embed('local', r.spec, 'canvas');
    const k = S.meta.n_classes;
    const onBrush = () => {
      clearTimeout(brushTimer);
      brushTimer = setTimeout(() => guard('local', async () => {
        const brushes = {};
        for (let c = 0; c < k; c++) {
          const v = view.signal('brush_' + c);
          if (v && (v.x || v.y)) brushes[c] = v;
        }
        if (!Object.keys(brushes).length) { S.samples = null; S.selSource = ''; }
        else {
          const sel = await api('select_local', Object.assign({brushes: brushes}, q));
          S.samples = sel.samples; S.selSource = 'local geometry brush';
        }
        S.selSourceView = 'local';
        await Promise.all([renderTable(), renderGlobal()]);
      }), 200);
    };
    for (let c = 0; c < k; c++) view.addSignalListener('brush_' + c, onBrush);
    view.addEventListener('click', (ev, item) => {
      const d = item && item.datum;
      if (d && d.sample !== undefined) chooseSample(d.sample);
    });
  }

  async function renderGlobal() {
    const q = {a: S.a, b: S.b, eval_set: S.evalSet, eval_set_b: S.evalSetB};
    const r = await api('global', Object.assign({samples: S.selSourceView === 'global' ? null : S.samples}, q));
    note('global', r.note + ' Drag a box over one or more axes to select the samples whose angles on every boxed axis lie in its range; click a line for the attribution view.');
    const view = await embed('global', r.spec, 'canvas');
    view.addSignalListener('pbrush', () => {
      clearTimeout(brushTimer);
      brushTimer = setTimeout(() => guard('global', async () => {
        const v = view.signal('pbrush');
        if (!v || !v.axis || !v.angle) { S.samples = null; S.selSource = ''; }
        else {
          const axes = [];
          for (let c = Math.ceil(Math.min(...v.axis)); c <= Math.floor(Math.max(...v.axis)); c++) axes.push(c);
          if (!axes.length) return;
          const sel = await api('select_global', Object.assign({axes: axes, lo: Math.min(...v.angle),
                                                                 hi: Math.max(...v.angle)}, q));
          S.samples = sel.samples; S.selSource = 'global geometry brush on axes ' + axes.join(', ');
        }
        S.selSourceView = 'global';
        await Promise.all([renderTable(), renderLocal()]);
      }), 200);
    });
    view.addEventListener('click', (ev, item) => {
      const d = item && item.datum;
      if (d && d.sample !== undefined) chooseSample(d.sample);
    });
  }

  async function renderAttribution() {
    if (S.sample === null) S.sample = S.meta.occlusion_samples.length ? S.meta.occlusion_samples[0] : 0;
    const sel = $('sample');
    if (![...sel.options].some((o) => o.value === String(S.sample))) {
      const o = document.createElement('option'); o.value = String(S.sample); o.textContent = S.sample + ' (no maps)';
      sel.appendChild(o);
    }
    sel.value = String(S.sample);
    const r = await api('attribution', {sample: S.sample, a: S.a, b: S.b, eval_set: S.evalSet});
    note('attribution', r.note);
    await embed('attribution', r.spec, 'svg');
  }

  function chooseSample(sample) { S.sample = sample; guard('attribution', renderAttribution); }

  function refreshModels(withTable) {
    const jobs = [guard('embedding', renderEmbedding), guard('local', renderLocal), guard('global', renderGlobal),
                  guard('attribution', renderAttribution)];
    if (withTable) jobs.push(guard('table', renderTable));
    return Promise.all(jobs);
  }

  function fillSelect(id, items, withNone) {
    const sel = $(id); sel.innerHTML = '';
    if (withNone) { const o = document.createElement('option'); o.value = ''; o.textContent = withNone; sel.appendChild(o); }
    for (const [value, text] of items) {
      const o = document.createElement('option'); o.value = String(value); o.textContent = text; sel.appendChild(o);
    }
  }

  async function start() {
    const t0 = performance.now();
    S.meta = await api('meta', {});
    const m = S.meta;
    $('run').textContent = (m.experiment ? m.experiment + ' — ' : '') + 'run ' + m.run_id + ': ' + m.models.length +
      ' models × ' + m.n_samples + ' samples, ' + m.n_classes + ' classes';
    const models = m.models.map((x) => [x.id, x.label]);
    fillSelect('model-a', models, null);
    fillSelect('model-b', models, '— none —');
    fillSelect('eval-set', m.eval_sets.map((e) => [e, e]), null);
    fillSelect('eval-set-b', m.eval_sets.map((e) => [e, e]), '— same —');
    fillSelect('emb-set', m.embedding_sets.map((e) => [e, e]), 'all eval sets');
    fillSelect('sample', m.occlusion_samples.map((s) => [s, s + ' (has maps)']), null);
    const pruned = m.models.filter((x) => x.method !== 'dense');
    S.a = (pruned.length ? pruned[0] : m.models[0]).id;
    $('model-a').value = String(S.a);
    $('emb-set').value = S.embSet = m.embedding_sets.includes('clean') ? 'clean' : '';
    $('model-a').onchange = (e) => { S.a = Number(e.target.value); refreshModels(false); };
    $('model-b').onchange = (e) => { S.b = e.target.value === '' ? null : Number(e.target.value); refreshModels(false); };
    $('eval-set').onchange = (e) => { S.evalSet = e.target.value; refreshModels(false); };
    $('eval-set-b').onchange = (e) => { S.evalSetB = e.target.value; guard('global', renderGlobal); };
    $('emb-set').onchange = (e) => { S.embSet = e.target.value; guard('embedding', renderEmbedding); };
    $('colour').onchange = (e) => { S.colour = e.target.value; guard('embedding', renderEmbedding); };
    $('sample').onchange = (e) => chooseSample(Number(e.target.value));
    $('clear').onclick = () => { S.samples = null; S.selSource = ''; S.selSourceView = ''; S.rows = [];
                                 refreshModels(true); };
    await refreshModels(true);
    S.loadMs = performance.now() - t0;
    S.loaded = true;
    document.body.dataset.loaded = '1';
  }

  window.addEventListener('DOMContentLoaded', () => {
    start().catch((e) => { S.errors.push(e.message); $('run').textContent = 'Could not load: ' + e.message;
                            S.loaded = true; document.body.dataset.loaded = '1'; });
  });
})();
"""
