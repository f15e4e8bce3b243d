"""Clear outputs, execution counts and run-time metadata of notebooks (before committing).

    python tools/strip_outputs.py                 every notebook under book/
    python tools/strip_outputs.py FILE.ipynb ...  just these

Notebooks are committed without outputs; the book build executes them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from setup_cell import ROOT, notebooks  # noqa: E402

# cell metadata written by running a notebook, not by its author
RUNTIME_CELL_METADATA = ("execution", "collapsed", "scrolled")


def strip(nb) -> bool:
    """Strip ``nb`` in place; return True if anything changed."""
    changed = False
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if cell.outputs or cell.execution_count is not None:
            cell.outputs, cell.execution_count = [], None
            changed = True
        for key in RUNTIME_CELL_METADATA:
            if key in cell.metadata:
                del cell.metadata[key]
                changed = True
    if "widgets" in nb.metadata:  # saved widget state
        del nb.metadata["widgets"]
        changed = True
    if "version" in nb.metadata.get("language_info", {}):  # the Python that last ran it
        del nb.metadata["language_info"]["version"]
        changed = True
    return changed


def main(argv: list[str]) -> int:
    paths = [Path(a).resolve() for a in argv] or notebooks()
    for p in paths:
        nb = nbformat.read(p, as_version=4)
        if strip(nb):
            nbformat.write(nb, p)
            print(f"stripped {p.relative_to(ROOT) if p.is_relative_to(ROOT) else p}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
