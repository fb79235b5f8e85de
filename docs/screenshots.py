"""Screenshots of the dashboard along the walkthrough of docs/dashboard.md: which classes did method B at a
ratio lose against method A at that ratio, and what does the geometry of those samples look like.

    python docs/screenshots.py --workdir=runs/rl --out=docs/dashboard
    python docs/screenshots.py --classes=100 --out=docs/dashboard   # a small synthetic 100-class workdir

Starts the dashboard on a free local port, drives headless Chromium (Debian's chromium + chromedriver, through
Selenium; nothing is downloaded) like a user — model search, table headers, ranking bar, a point of the local
view — and saves one PNG per view (the view's section only) into --out, printing what each step chose.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# A finder (JS) of the SVG element of a drawn item of view arguments[0] whose datum satisfies the body `test`.
SVG_ITEM = """
const view = window.dash.views[arguments[0]].view; let hit = null;
(function walk(n) { if (hit || !n) return; if (n.marktype && n.role === 'mark' && n.marktype !== 'group') {
    hit = n.items.find((i) => i.datum && (%s)); if (hit) return; }
  (n.items || []).forEach(walk); })(view.scenegraph().root);
return hit && hit._svg;
"""
# The local view's drawn point of class arguments[0] and category arguments[1] with the lowest sample id, and its
# position on the canvas: [sample, x, y] (null when there is none).
LOCAL_POINT = """
const v = window.dash.views.local.view, label = arguments[0], category = arguments[1]; let best = null;
(function walk(n) { if (!n) return; if (n.marktype === 'symbol' && n.role === 'mark') {
    for (const i of n.items) if (i.datum.label === label && i.datum.category === category
                                 && (!best || i.datum.sample < best.datum.sample)) best = i; return; }
  (n.items || []).forEach(walk); })(v.scenegraph().root);
if (!best) return null;
let x = best.x, y = best.y, g = best.mark.group;
while (g) { x += g.x || 0; y += g.y || 0; g = g.mark && g.mark.group; }
const o = v.origin(), pad = v.padding();
return [best.datum.sample, o[0] + (pad.left || 0) + x, o[1] + (pad.top || 0) + y];
"""
RANKING = "return window.dash.views.ranking.view.data('ranking').map((d) => [d.name, d.label, d.score, d.accuracy, d.accuracy_b])"


def fail(message: str):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def browser_binaries():
    """The installed chromium and chromedriver (Selenium's manager, which downloads browsers, is never asked)."""
    if importlib.util.find_spec("selenium") is None:
        fail("needs selenium (pip install selenium)")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not (chromium and driver):
        fail("needs chromium and chromedriver on PATH (Debian: apt-get install -y chromium chromium-driver)")
    return chromium, driver


def browser(chromium: str, driver: str):
    """Headless Chromium, 1600 px wide."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1600,2400",
                "--hide-scrollbars", "--no-first-run", "--disable-background-networking", "--disable-component-update"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(driver), options=options)


class Page:
    """The dashboard in the browser: user actions that wait until every view they redraw is drawn, and shots."""

    def __init__(self, driver, url: str, out: Path):
        self.driver, self.out = driver, out
        driver.get(url)
        self.wait("return window.dash && window.dash.loaded", 300)
        if driver.execute_script("return window.dash.errors"):
            fail(f"the page reports: {driver.execute_script('return window.dash.errors')}")

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def wait(self, script, timeout=60.0):
        end = time.time() + timeout
        while time.time() < end:
            if self.js(script):
                return
            time.sleep(0.1)
        fail(f"timed out waiting for: {script}")

    def act(self, what: str, action):
        """Run `action` and wait for the page's redraw named `what` to finish."""
        count = f"return window.dash.timings.filter((t) => t.what === '{what}').length"
        self.wait("return window.dash.busy === 0")
        n = self.js(count)
        action()
        self.wait(f"{count} > {n} && window.dash.busy === 0")

    def set_value(self, element_id: str, value):
        self.js("const e = document.getElementById(arguments[0]); e.value = arguments[1]; e.dispatchEvent(new Event('change'));",
                element_id, str(value))

    def click(self, element, x=None, y=None):
        """A real mouse click on an element (at offset x, y from its centre)."""
        from selenium.webdriver.common.action_chains import ActionChains

        self.js("arguments[0].scrollIntoView({block: 'center'})", element)
        chain = ActionChains(self.driver)
        (chain.move_to_element(element) if x is None else chain.move_to_element_with_offset(element, x, y)).click().perform()

    def header(self, start: str):
        """A table column header by the start of its text."""
        return self.js(f"return [...document.querySelectorAll('#table svg text')].find((t) => t.textContent.startsWith('{start}'))")

    def shot(self, view: str, name: str):
        """The section that holds view `view` as out/name.png (the mouse moved off the views: no tooltip)."""
        from selenium.webdriver.common.action_chains import ActionChains

        self.js("window.scrollTo(0, 0)")
        ActionChains(self.driver).move_to_element(self.driver.find_element("tag name", "h1")).perform()
        time.sleep(0.3)
        section = self.driver.find_element("css selector", f"section:has(#{view})")
        path = self.out / f"{name}.png"
        section.screenshot(str(path))
        print(f"  {path} ({path.stat().st_size / 1e3:.0f} kB)")


def pick(models, architecture, method, ratio):
    """The model of `method` on `architecture` whose prune ratio is nearest `ratio`."""
    found = [m for m in models if m["architecture"] == architecture and m["method"] == method]
    if not found:
        fail(f"no {method} model of {architecture} (architectures and methods: "
             f"{sorted({(m['architecture'], m['method']) for m in models})})")
    return min(found, key=lambda m: (abs(m["ratio"] - ratio), m["seed"], m["noise_seed"]))


def worst_eval_set(workdir: Path, a, b, eval_sets):
    """The corruption eval set (of the dashboard's) on which B loses most accuracy against A."""
    from lottery.store import analysis as store

    ev = store.load(str(workdir), "evaluation")
    ev = ev[ev["eval_set"].isin([e for e in eval_sets if e != "clean"])]
    acc = {m["method"]: ev[(ev["architecture"] == m["architecture"]) & (ev["method"] == m["method"])
                           & ((ev["ratio"] - m["ratio"]).abs() < 1e-6)].groupby("eval_set")["accuracy"].mean() for m in (a, b)}
    worst = (acc[b["method"]] - acc[a["method"]]).idxmin()
    return worst, acc[a["method"]][worst], acc[b["method"]][worst]


def walkthrough(page: Page, workdir: Path, args):
    """Model A and B, the eval set where B loses most, the ranking, the top class pinned, a sample it lost."""
    meta = page.js("return window.dash.meta")
    names = meta["class_names"]
    a, b = (pick(meta["models"], args.arch, m, args.ratio) for m in (args.a, args.b))
    off = any(abs(m["ratio"] - args.ratio) > 1e-6 for m in (a, b))
    print(f"A = {a['label']}, B = {b['label']}" + (f" (the nearest ratios to {args.ratio})" if off else ""))
    page.act("model", lambda: page.set_value("model-search", a["label"]))
    page.act("model", lambda: (page.js("document.getElementById('model-search').value = arguments[0]", b["label"]),
                               page.click(page.driver.find_element("id", "model-add"))))
    eval_set = args.eval_set
    if eval_set == "auto":
        eval_set, acc_a, acc_b = worst_eval_set(workdir, a, b, meta["eval_sets"])
        print(f"eval set {eval_set}: A {acc_a:.1%}, B {acc_b:.1%} (the largest loss of B against A among the corruptions)")
    corruption = eval_set.rsplit("-", 1)[0]
    if eval_set != "clean":
        page.act("drill-down", lambda: page.click(page.header(meta["families"][corruption])))
        page.act("eval set", lambda: page.click(page.header(corruption + " ")))
    page.shot("table", "1-table")
    page.shot("embedding", "2-similarity")
    ranking = page.js(RANKING)
    print("class ranking (accuracy B − A; A → B):")
    for name, _, score, acc_a, acc_b in ranking[:args.k]:
        print(f"  {name}: {score * 100:+.1f} points ({acc_a:.0%} → {acc_b:.0%})")
    page.act("classes", lambda: page.set_value("top-k", args.k))
    top = ranking[0][1]
    page.act("classes", lambda: page.click(page.js(SVG_ITEM % "i.datum.rank === 0", "ranking")))
    print(f"pinned {names[top]}; local and global views on {page.js('return window.dash.shown.local.map(String)')}")
    page.shot("ranking", "3-ranking-local")
    page.shot("global", "4-global")
    canvas = page.driver.find_element("css selector", "#local canvas")
    page.js("arguments[0].scrollIntoView({block: 'center'})", canvas)
    hit = page.js(LOCAL_POINT, top, "correct→wrong") or page.js(LOCAL_POINT, top, "wrong→wrong")
    if hit:  # a sample of the pinned class that B gets wrong
        sample, x, y = hit
        page.act("sample", lambda: page.click(canvas, x - canvas.size["width"] / 2, y - canvas.size["height"] / 2))
        print(f"sample {page.js('return window.dash.sample')} (clicked {sample}): "
              f"{page.driver.find_element('id', 'attribution-values').text!r}")
    page.shot("attribution", "5-attribution")


def many_classes(page: Page, args):
    """The 100-class fixture: two models, the ranking's top k classes in the local view."""
    meta = page.js("return window.dash.meta")
    a, b = meta["models"][1], meta["models"][2]
    page.act("model", lambda: page.set_value("model-search", a["label"]))
    page.act("model", lambda: (page.js("document.getElementById('model-search').value = arguments[0]", b["label"]),
                               page.click(page.driver.find_element("id", "model-add"))))
    print(f"{meta['n_classes']} classes; A = {a['label']}, B = {b['label']}; shown: {page.js('return window.dash.shown.local')}")
    page.shot("ranking", f"classes{meta['n_classes']}-ranking-local")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", help="a finished robustness run (python -m lottery.main … robustness_lottery_mnist.py:quick)")
    parser.add_argument("--classes", type=int, help="instead: a small synthetic workdir with this many classes")
    parser.add_argument("--out", default="docs/dashboard", help="folder for the PNGs")
    parser.add_argument("--arch", default="lenet5-w1")
    parser.add_argument("--a", default="magnitude", help="the reference method (model A)")
    parser.add_argument("--b", default="snip", help="the compared method (model B)")
    parser.add_argument("--ratio", type=float, default=0.7, help="prune ratio of A and B (the nearest one)")
    parser.add_argument("--eval-set", default="auto", help="auto: the corruption on which B loses most against A")
    parser.add_argument("-k", type=int, default=4, help="classes shown in the local and global views")
    args = parser.parse_args()
    if bool(args.workdir) == bool(args.classes):
        fail("give --workdir=DIR or --classes=N")
    binaries = browser_binaries()
    from lottery.dashboard.server import make_server

    start = time.time()
    temp = tempfile.TemporaryDirectory()
    workdir = Path(args.workdir or temp.name)
    if args.classes:
        sys.path.insert(0, str(ROOT / "tests"))
        from dashboard_fixture import write_large_workdir

        write_large_workdir(workdir, n_models=10, n_samples=2_000, n_classes=args.classes)
    server = make_server(workdir, 0)
    if server.missing is not None:
        fail(str(server.missing))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    driver = browser(*binaries)
    try:
        page = Page(driver, f"http://127.0.0.1:{server.server_port}/", out)
        print(f"page loaded after {time.time() - start:.0f} s")
        many_classes(page, args) if args.classes else walkthrough(page, workdir, args)
    finally:
        driver.quit()
        server.shutdown()
        server.server_close()
        temp.cleanup()
    print(f"done in {time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
