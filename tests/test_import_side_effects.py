"""Importing the package changes nothing: every ``lottery`` module (but the ``__main__`` modules and the commands
``lottery.main``, which are run, not imported) is imported in a fresh
interpreter, and after each one absl's logger level and verbosity, the root logger's level and every ``jax.config``
value are what they were, and jax reported no event (no tracing, lowering or compilation: ``jax.monitoring``).

A jitted function built at import compiles nothing until it is called, so the event check alone would pass it;
the ``ast`` check finds one: a call of ``jax.jit`` / ``jit`` / ``partial(jax.jit, …)`` run at import (module or
class body, outside any function). ``@jax.jit`` on a ``def`` is not counted: it is a function definition whose
compiled programs, like any function's, exist only once it is called."""
import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from test_layers import modules

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = ("lottery.main",)
IMPORTED = [(name, path) for name, path in modules() if not name.endswith("__main__") and name not in COMMANDS]

# Imports the modules named in argv one by one and prints, as JSON, each one after which the state differs.
PROBE = """
import importlib, json, logging, sys
import absl.logging, jax, jax.monitoring
events = []
jax.monitoring.register_event_listener(lambda name, **kw: events.append(name))
jax.monitoring.register_event_duration_secs_listener(lambda name, secs, **kw: events.append(name))
def state():
    return {"absl logger level": logging.getLogger("absl").level, "absl verbosity": absl.logging.get_verbosity(),
            "root logger level": logging.getLogger().level,
            **{f"jax.config {k}": repr(v) for k, v in jax.config.values.items()}}
before, changed = state(), []
for name in sys.argv[1:]:
    importlib.import_module(name)
    after = state()
    diff = {k: [before.get(k), after.get(k)] for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)}
    if diff or events:
        changed.append({"module": name, "changed": diff, "jax events": sorted(set(events))})
    before, events[:] = after, []
print(json.dumps(changed))
"""


def test_importing_every_module_changes_no_logging_or_jax_state():
    r = subprocess.run([sys.executable, "-c", PROBE, *[name for name, _ in IMPORTED]], cwd=ROOT, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads(r.stdout.strip().splitlines()[-1]) == []


def test_the_probe_sees_a_logger_level_and_a_compilation(tmp_path):
    """The check itself: a module that sets absl's logger level and one that compiles at import are both named."""
    (tmp_path / "quiet.py").write_text("import logging\nlogging.getLogger('absl').setLevel(logging.WARNING)\n")
    (tmp_path / "compiles.py").write_text("import jax\njax.jit(lambda x: x + 1)(1.0)\n")
    r = subprocess.run([sys.executable, "-c", PROBE, "quiet", "compiles"], cwd=tmp_path, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    quiet, compiles = json.loads(r.stdout.strip().splitlines()[-1])
    assert quiet["module"] == "quiet" and quiet["changed"]["absl logger level"][1] == 30
    assert compiles["module"] == "compiles" and "/jax/core/compile/backend_compile_duration" in compiles["jax events"]


def _is_jit(node: ast.expr) -> bool:
    """``jax.jit`` or a bare ``jit``."""
    return (isinstance(node, ast.Attribute) and node.attr == "jit") or (isinstance(node, ast.Name) and node.id == "jit")


def _is_partial_of_jit(node: ast.expr) -> bool:
    """``partial(jax.jit, …)`` / ``functools.partial(jit, …)``."""
    if not isinstance(node, ast.Call) or not node.args:
        return False
    f = node.func
    name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else None
    return name == "partial" and _is_jit(node.args[0])


def jit_calls_at_import(tree: ast.Module) -> list[int]:
    """The lines of calls ``jit(…)`` / ``jax.jit(…)`` / ``partial(jax.jit, …)(…)`` in code that runs at import: the
    module's and class bodies (inside any if / try / with / for), not function bodies nor a def's decorators."""
    lines = []

    def visit(node):
        if isinstance(node, ast.Lambda):
            return
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):  # only the defaults run at import
            for default in node.args.defaults + [d for d in node.args.kw_defaults if d is not None]:
                visit(default)
            return
        if isinstance(node, ast.Call) and (_is_jit(node.func) or _is_partial_of_jit(node.func)):
            lines.append(node.lineno)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return sorted(lines)


@pytest.mark.parametrize("name,path", IMPORTED, ids=lambda v: v if isinstance(v, str) else "")
def test_no_jitted_function_is_built_at_import(name, path):
    lines = jit_calls_at_import(ast.parse(path.read_text()))
    assert not lines, f"{name} builds a jitted function at import (lines {lines}): build it where it is first needed"


def test_the_jit_finder():
    src = ("import functools, jax\nfrom functools import partial\n"
           "f = jax.jit(abs)\n"                                        # 3: at import
           "g = functools.partial(jax.jit, static_argnums=0)(abs)\n"  # 4: at import
           "@jax.jit\ndef h(x):\n    return jax.jit(abs)(x)\n"         # 5: a decorator, 7: in a function body
           "@partial(jax.jit, static_argnames=('n',))\ndef k(x, n):\n    return x\n"  # 8: a decorator
           "class C:\n    m = jax.jit(abs)\n"                          # 12: a class body runs at import
           "if True:\n    n = jit(abs)\n")                             # 14: at import
    assert jit_calls_at_import(ast.parse(src)) == [3, 4, 12, 14]
