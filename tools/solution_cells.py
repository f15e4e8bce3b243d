"""On the site, a code solution sits behind a "Show solution" toggle, not above its dropdown.

    python tools/solution_cells.py           mark every solution cell of the notebooks under book/
    python tools/solution_cells.py FILE ...  just these notebooks
    python tools/solution_cells.py --check   exit 1, listing the solution cells that are not marked

A solution cell is a code cell holding a ``# BEGIN SOLUTION`` region (see tools/student_copies.py).
Marked, it carries the tag ``hide-input`` and myst-nb's cell-level prompts ``code_prompt_show`` /
``code_prompt_hide`` (metadata ``mystnb``), so the rendered page shows the cell's output (the reader's
result, then the check's ``correct:`` line below it) and a "Show solution" button where the code was.
The cell still runs in the build. Jupyter and Colab ignore the tag: there the cell shows as written,
and the student copies (tools/student_copies.py) replace the region with a stub and drop the tag.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from setup_cell import ROOT, notebooks  # noqa: E402
from student_copies import BEGIN  # noqa: E402

TAG = "hide-input"
PROMPTS = {"code_prompt_show": "Show solution", "code_prompt_hide": "Hide solution"}


def is_solution_cell(cell) -> bool:
    """True for a code cell that holds a solution region."""
    return cell.cell_type == "code" and BEGIN in cell.source


def is_marked(cell) -> bool:
    """True when ``cell`` carries the tag and both prompts."""
    prompts = cell.metadata.get("mystnb", {})
    return TAG in cell.metadata.get("tags", []) and all(prompts.get(k) == v for k, v in PROMPTS.items())


def mark(nb) -> int:
    """Mark every unmarked solution cell of ``nb`` in place; return how many changed."""
    changed = 0
    for cell in nb.cells:
        if is_solution_cell(cell) and not is_marked(cell):
            tags = cell.metadata.setdefault("tags", [])
            if TAG not in tags:
                tags.append(TAG)
            cell.metadata.setdefault("mystnb", {}).update(PROMPTS)
            changed += 1
    return changed


def unmarked(paths: list[Path]) -> list[tuple[Path, int]]:
    """``(notebook, cell index)`` of every solution cell among ``paths`` that is not marked."""
    found = []
    for p in paths:
        nb = nbformat.read(p, as_version=4)
        found += [(p, i) for i, c in enumerate(nb.cells) if is_solution_cell(c) and not is_marked(c)]
    return found


def main(argv: list[str]) -> int:
    paths = [Path(a).resolve() for a in argv if a != "--check"] or notebooks()
    if "--check" in argv:
        bad = unmarked(paths)
        for p, i in bad:
            print(f"{p.relative_to(ROOT)}, cell {i}: a solution cell without the 'Show solution' toggle "
                  f"(run: python tools/solution_cells.py)")
        return 1 if bad else 0
    for p in paths:
        nb = nbformat.read(p, as_version=4)
        if n := mark(nb):
            nbformat.write(nb, p)
            print(f"{p.relative_to(ROOT)}: {n} solution cell(s) now behind 'Show solution'")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
