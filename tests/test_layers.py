"""Imports point down: every module under lottery/ imports only from its own layer or the layers below it
(ARCHITECTURE.md lists the layers), and the dashboard, the benchmark and the planner, which share the top layer,
import only what their own rules allow. Walks the imports of every module with ``ast``, including imports inside
functions and ``importlib.import_module("lottery…")`` / ``__import__("lottery…")`` strings."""
import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1] / "lottery"

# Bottom to top; a module belongs to the first entry that is a prefix of its dotted name (longest match wins).
LAYERS = [
    ["lottery.core"],
    ["lottery.models", "lottery.data"],
    ["lottery.analysis", "lottery.prune"],
    ["lottery.train"],
    ["lottery.store"],
    ["lottery.configs", "lottery.validate", "lottery.report"],
    ["lottery.studies"],
    ["lottery.api", "lottery.results", "lottery.sweeps"],
    ["lottery.cli"],
    ["lottery.main", "lottery.sweeps.__main__", "lottery.report.__main__", "lottery.bench", "lottery.dashboard",
     "lottery.planner", "lottery"],
]


# The top layer's programs that are not the engine's commands import only these modules (a name covers the modules
# under it), whatever the layers allow: the longest key that is a prefix of a module's name gives its rule.
OWN_RULES = {
    # a reader of a finished run's files, never of the engine: the store's readers of DIR/config.json
    # (store.workdir: config_path, read_config) and of DIR/analysis/ (store.analysis: table_path, read_table,
    # table_columns, eval_set_images), and cli.fail for its one-line errors
    "lottery.dashboard": ["lottery.dashboard", "lottery.store.analysis", "lottery.store.workdir", "lottery.cli"],
    # times the engine's trainers (models, data, train; the base config of configs; IMP levels and the imp
    # section of studies.imp.bucket_levels) and writes its JSON atomically (store.files); no study, api or report
    "lottery.bench": ["lottery.bench", "lottery.cli", "lottery.configs", "lottery.models", "lottery.data",
                      "lottery.train", "lottery.studies.imp.bucket_levels", "lottery.store.files"],
    # asks the run's study for its buckets and trainers on a stand-in dataset (api: the study of a config and its
    # checks; Study.plan) and prices them with the benchmark's FLOP formula and sgemm peak; writes nothing
    "lottery.planner": ["lottery.planner", "lottery.api", "lottery.validate", "lottery.core.errors", "lottery.data",
                        "lottery.train", "lottery.bench.flops", "lottery.bench.peak"],
    # the command line of the planner
    "lottery.planner.__main__": ["lottery.planner", "lottery.cli", "lottery.core.errors"],
}


def _longest_prefix(module: str, names) -> str | None:
    """The longest of ``names`` that is ``module`` or a package above it."""
    hits = [n for n in names if module == n or module.startswith(n + ".")]
    return max(hits, key=len) if hits else None


def layer_of(module: str) -> int:
    best, level = -1, None
    for i, names in enumerate(LAYERS):
        for name in names:
            if (module == name or module.startswith(name + ".")) and len(name) > best:
                best, level = len(name), i
    assert level is not None, f"{module} is in no layer: add it to LAYERS and to ARCHITECTURE.md"
    return level


def modules():
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        yield name, path


def _imported_string(node: ast.Call) -> str | None:
    """The module a call ``importlib.import_module(S)`` / ``import_module(S)`` / ``__import__(S)`` imports when S
    is a string constant, or the package an f-string ``f"lottery.x.{kind}"`` imports from; else None."""
    f = node.func
    called = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else None
    if called not in ("import_module", "__import__") or not node.args:
        return None
    arg = node.args[0]
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    if isinstance(arg, ast.JoinedStr) and arg.values and isinstance(arg.values[0], ast.Constant):
        head = arg.values[0].value
        return head.rsplit(".", 1)[0] if "." in head else head
    return None


def imports(name: str, path: pathlib.Path):
    """(line, imported module) of every ``lottery`` import of a module, relative ones resolved; an importlib /
    ``__import__`` string counts as an import."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            target = _imported_string(node)
            if target and target.split(".")[0] == "lottery":
                yield node.lineno, target
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "lottery":
                    yield node.lineno, a.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1] + ([base] if base else []))
            if base.split(".")[0] != "lottery":
                continue
            for a in node.names:  # ``from lottery.x import y``: y may be a module of its own
                yield node.lineno, f"{base}.{a.name}" if _is_module(f"{base}.{a.name}") else base


def _is_module(dotted: str) -> bool:
    p = ROOT.parent.joinpath(*dotted.split("."))
    return p.with_suffix(".py").exists() or (p / "__init__.py").exists()


def test_every_module_has_a_layer():
    for name, _ in modules():
        layer_of(name)


@pytest.mark.parametrize("name,path", list(modules()), ids=lambda v: v if isinstance(v, str) else "")
def test_imports_point_down(name, path):
    mine = layer_of(name)
    upward = [f"line {line}: {target} (layer {layer_of(target)} > {mine})"
              for line, target in imports(name, path) if layer_of(target) > mine]
    assert not upward, f"{name} imports from a layer above it: " + "; ".join(upward)


def allowed(module: str, target: str) -> bool:
    """Whether ``module`` may import ``target`` under its own rule (True for a module without one)."""
    rule = _longest_prefix(module, OWN_RULES)
    return rule is None or _longest_prefix(target, OWN_RULES[rule]) is not None


@pytest.mark.parametrize("name,path", [(n, p) for n, p in modules() if _longest_prefix(n, OWN_RULES)],
                         ids=lambda v: v if isinstance(v, str) else "")
def test_the_top_layers_own_rules(name, path):
    outside = [f"line {line}: {target}" for line, target in imports(name, path) if not allowed(name, target)]
    assert not outside, (f"{name} imports what its rule ({_longest_prefix(name, OWN_RULES)} in OWN_RULES) does not "
                         f"allow: " + "; ".join(outside))


def test_every_own_rule_names_modules_that_exist():
    for names in OWN_RULES.values():
        for n in names:
            assert _is_module(n), f"{n} (OWN_RULES) is no module or package"


def test_the_walker_sees_an_upward_import(tmp_path):
    """The check itself: a module of the train layer importing a study is caught."""
    src = tmp_path / "x.py"
    src.write_text("def f():\n    from lottery.studies import imp\n")
    found = [t for _, t in imports("lottery.train.x", src)]
    assert found == ["lottery.studies.imp"] and layer_of(found[0]) > layer_of("lottery.train.x")


def test_the_walker_sees_a_dashboard_import_of_the_engine(tmp_path):
    """The dashboard sits in the top layer, so the layers allow it a study; its own rule does not, nor a store
    module that is not one of its readers."""
    src = tmp_path / "x.py"
    src.write_text("from lottery.studies import robustness\nfrom lottery.store import checkpoints, analysis\n")
    found = [t for _, t in imports("lottery.dashboard.x", src)]
    assert found == ["lottery.studies.robustness", "lottery.store.checkpoints", "lottery.store.analysis"]
    assert layer_of(found[0]) <= layer_of("lottery.dashboard.x")
    assert [allowed("lottery.dashboard.x", t) for t in found] == [False, False, True]


def test_the_walker_sees_importlib_strings(tmp_path):
    """``importlib.import_module("lottery…")``, ``import_module(…)``, ``__import__(…)`` and an f-string's fixed
    package are imports; a string that is not a constant and imports of other packages are not."""
    src = tmp_path / "x.py"
    src.write_text("import importlib\nfrom importlib import import_module\n"
                   "def f(kind, name):\n"
                   "    importlib.import_module('lottery.studies.imp')\n"
                   "    import_module('lottery.api')\n"
                   "    __import__('lottery.report.study')\n"
                   "    importlib.import_module(f'lottery.sweeps.{kind}')\n"
                   "    importlib.import_module(name)\n"
                   "    importlib.import_module('torch')\n")
    found = [(line, t) for line, t in imports("lottery.train.x", src)]
    assert found == [(4, "lottery.studies.imp"), (5, "lottery.api"), (6, "lottery.report.study"),
                     (7, "lottery.sweeps")]
    assert all(layer_of(t) > layer_of("lottery.train.x") for _, t in found)
