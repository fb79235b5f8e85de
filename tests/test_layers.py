"""Imports point down: every module under lottery/ imports only from its own layer or the layers below it
(ARCHITECTURE.md lists the layers). Walks the imports of every module with ``ast``, including imports inside
functions."""
import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1] / "lottery"

# Bottom to top; a module belongs to the first entry that is a prefix of its dotted name (longest match wins).
LAYERS = [
    ["lottery.errors", "lottery.distributed", "lottery.progress"],
    ["lottery.models", "lottery.data"],
    ["lottery.analysis", "lottery.prune"],
    ["lottery.train"],
    ["lottery.store"],
    ["lottery.configs", "lottery.validate", "lottery.report"],
    ["lottery.studies"],
    ["lottery.api", "lottery.results", "lottery.sweeps"],
    ["lottery.cli"],
    ["lottery.main", "lottery.sweep", "lottery.report.__main__", "lottery.bench", "lottery.dashboard", "lottery.plan",
     "lottery.planner",
     "lottery"],
]


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


def imports(name: str, path: pathlib.Path):
    """(line, imported module) of every ``lottery`` import of a module, relative ones resolved."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
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


def test_the_walker_sees_an_upward_import(tmp_path):
    """The check itself: a module of the train layer importing a study is caught."""
    src = tmp_path / "x.py"
    src.write_text("def f():\n    from lottery.studies import imp\n")
    found = [t for _, t in imports("lottery.train.x", src)]
    assert found == ["lottery.studies.imp"] and layer_of(found[0]) > layer_of("lottery.train.x")
