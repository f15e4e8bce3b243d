"""Repository hygiene: notebooks committed clean, one setup cell, a complete table of contents,
and no exact pins."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"


def _load_tool(name):
    """tools/<name>.py, loaded as a module."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


setup_cell = _load_tool("setup_cell")
NOTEBOOKS = setup_cell.notebooks()


def toc_files() -> list[str]:
    """Every file named in _toc.yml (root included), without extension, relative to the root."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    found = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                found.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({k: v for k, v in toc.items() if k != "root"})
    return [str(Path(f).with_suffix("")) if Path(f).suffix in (".md", ".ipynb") else f for f in found]


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found under book/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_valid_and_clean(path):
    nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    assert nb.nbformat == 4, f"{path.name}: nbformat {nb.nbformat}, expected 4"
    nbformat.validate(nb)
    dirty = [
        i for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, (
        f"{path.name}: cells {dirty} have outputs or execution counts; "
        "run `python tools/strip_outputs.py` before committing"
    )


def test_every_notebook_starts_with_the_setup_cell():
    stale = setup_cell.stale(NOTEBOOKS)
    assert not stale, (
        f"first code cell differs from the template in {[p.name for p in stale]}; "
        "run `python tools/setup_cell.py`"
    )


def test_every_solution_cell_is_behind_a_show_solution_toggle():
    solution_cells = _load_tool("solution_cells")
    bad = solution_cells.unmarked(NOTEBOOKS)
    assert not bad, (
        f"solution cells without the site's 'Show solution' toggle: {[(p.name, i) for p, i in bad]}; "
        "run `python tools/solution_cells.py`"
    )
    assert sum(solution_cells.is_solution_cell(c) for p in NOTEBOOKS for c in nbformat.read(p, 4).cells) >= 10


def test_toc_and_book_files_match():
    listed = toc_files()
    chapters = sorted(
        str(p.relative_to(ROOT).with_suffix(""))
        for p in list(BOOK.rglob("*.md")) + NOTEBOOKS
        if ".ipynb_checkpoints" not in p.parts
    )
    missing_from_toc = sorted(set(chapters) - set(listed))
    assert not missing_from_toc, f"files under book/ not listed in _toc.yml: {missing_from_toc}"
    missing_files = [
        f for f in listed if not any((ROOT / f).with_suffix(ext).exists() for ext in (".md", ".ipynb"))
    ]
    assert not missing_files, f"_toc.yml entries with no .md or .ipynb file: {missing_files}"
    assert len(listed) == len(set(listed)), "_toc.yml lists a file twice"


@pytest.mark.parametrize("name", ["requirements.txt", "pyproject.toml"])
def test_no_exact_pins(name):
    text = (ROOT / name).read_text(encoding="utf-8")
    pins = [line.strip() for line in text.splitlines()
            if re.search(r"[^=!<>~]==[^=]", line) and not line.lstrip().startswith("#")]
    assert not pins, f"{name} pins exact versions (use lower bounds only): {pins}"


def test_every_exercise_has_a_title():
    untitled = [(p.name, m.group(1)) for p in NOTEBOOKS for c in nbformat.read(p, 4).cells if c.cell_type == "markdown"
                for m in re.finditer(r"```\{exercise\}[ \t]*\n:label: (\S+)", c.source)]
    assert not untitled, f"exercises without a title (write it after {{exercise}}): {untitled}"
