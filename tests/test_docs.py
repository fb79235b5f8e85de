"""The documentation holds together: every relative link in the Markdown files resolves (file and, for
``#anchor`` links, a heading of that file), every test a document names (``tests/test_x.py::test_name``)
exists, the README opens with its two commands, and docs/science.md keeps the section numbering that code
comments cite ("docs/science.md §N")."""
import ast
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = sorted([ROOT / "README.md", ROOT / "ARCHITECTURE.md", ROOT / "launch" / "README.md",
               *(ROOT / "docs").glob("*.md")])
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: pathlib.Path) -> set:
    text = FENCE.sub("", path.read_text())
    return {anchor(m.group(1)) for m in re.finditer(r"^#+\s+(.*)$", text, re.M)}


def links(path: pathlib.Path):
    text = FENCE.sub("", path.read_text())
    text = re.sub(r"`[^`\n]*`", "", text)  # inline code is not a link
    return [m.group(1) for m in LINK.finditer(text)]


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(path):
    bad = []
    for target in links(path):
        if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
            continue
        file, _, frag = target.partition("#")
        dest = (path.parent / file).resolve() if file else path
        if not dest.exists():
            bad.append(f"{target}: no file {dest}")
        elif frag and dest.suffix == ".md" and frag not in anchors(dest):
            bad.append(f"{target}: no heading #{frag} in {dest.name}")
    assert not bad, "\n".join(bad)


TEST_REFERENCE = re.compile(r"\btests/([\w/]+\.py)::(\w+)(?:\[[^\]\s`]*\])?")


def functions_defined(path: pathlib.Path) -> set:
    """The names of the functions defined at top level or in a top-level class of ``path``."""
    tree = ast.parse(path.read_text())
    names = set()
    for node in tree.body:
        bodies = node.body if isinstance(node, ast.ClassDef) else [node]
        names |= {n.name for n in bodies if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    return names


def test_named_tests_exist():
    """A claim backed by ``tests/<file>.py::<name>`` (``[param]`` allowed) names a test that is there: the file
    exists and defines that function, at top level or in a class (a parametrized one is one function)."""
    bad, seen = [], 0
    for path in DOCS:
        for m in TEST_REFERENCE.finditer(path.read_text()):
            seen += 1
            file, name = ROOT / "tests" / m.group(1), m.group(2)
            where = f"{path.relative_to(ROOT)}: {m.group(0)}"
            if not file.exists():
                bad.append(f"{where}: no file {file.relative_to(ROOT)}")
            elif name not in functions_defined(file):
                bad.append(f"{where}: {file.name} defines no {name}")
    assert seen >= 40  # docs/reliability.md alone names dozens
    assert not bad, "\n".join(bad)


def test_the_reference_pattern_and_the_checker():
    text = "(`tests/test_docs.py::test_named_tests_exist`, tests/test_docs.py::anchor[x-1] and tests/a.py::b)"
    assert [m.groups() for m in TEST_REFERENCE.finditer(text)] == [
        ("test_docs.py", "test_named_tests_exist"), ("test_docs.py", "anchor"), ("a.py", "b")]
    names = functions_defined(ROOT / "tests" / "test_strategy_contract.py")
    assert {"test_a_registered_strategy_is_chosen_and_trains_like_the_default", "chunk"} <= names  # top level, class
    assert "Halves" not in names and "TEST_REFERENCE" not in functions_defined(pathlib.Path(__file__))


def test_readme_opens_with_its_two_commands():
    blocks = re.findall(r"^```bash\n(.*?)^```", (ROOT / "README.md").read_text(), re.S | re.M)
    assert blocks[:2] == [
        "pip install -e . && python -m lottery.main --config=experiments/gmm_linear.py:quick --workdir=runs/gmm\n",
        "pip install -e '.[test]' && python -m pytest\n",
    ]


def test_science_keeps_the_spec_numbering():
    text = (ROOT / "docs" / "science.md").read_text()
    sections = re.findall(r"^## (\d+)\. ", text, re.M)
    assert sections == [str(i) for i in range(1, 11)]
    assert re.findall(r"^### (1\.\d) ", text, re.M) == ["1.1", "1.2", "1.3"]
