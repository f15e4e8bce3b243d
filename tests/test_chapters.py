"""Every chapter runs from top to bottom, alone, in a fresh kernel, without an error.

The run checked is the session's book build (conftest.py's ``book_build``): jupyter-book executes
each notebook by itself, in a fresh kernel started in the notebook's folder, with errors not
allowed. Reading that run, instead of executing every notebook a second time, halves what the
chapters cost the test session. A failing chapter fails its own test here, with its traceback.
"""

from __future__ import annotations

import nbformat
import pytest
from conftest import notebook_entries

pytestmark = pytest.mark.book


def failure_report(book_build, entry: str) -> str:
    """What the build recorded about a chapter that failed: myst-nb's saved traceback, or else the
    lines of the build log that name the chapter."""
    saved = book_build.folder / "html" / "reports" / f"{entry}.err.log"
    if saved.is_file():
        return saved.read_text(encoding="utf-8", errors="replace")[-6000:]
    name = entry.rsplit("/", 1)[-1]
    lines = [line for line in book_build.log.splitlines() if name in line]
    return "\n".join(lines[-40:]) or book_build.log[-4000:]


@pytest.mark.parametrize("entry", notebook_entries())
def test_chapter_ran_without_error(book_build, entry):
    executed = book_build.folder / "jupyter_execute" / f"{entry}.ipynb"
    assert executed.is_file(), f"{entry}: the book build wrote no executed notebook\n{failure_report(book_build, entry)}"
    nb = nbformat.read(executed, as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    errors = [output for cell in code for output in cell.get("outputs", []) if output.output_type == "error"]
    assert not errors, (f"{entry}: a cell raised {errors[0].ename}: {errors[0].evalue}\n"
                        f"{failure_report(book_build, entry)}")
    not_run = [i for i, cell in enumerate(code) if cell.get("execution_count") is None]
    assert not not_run, (f"{entry}: code cells {not_run} of {len(code)} did not run\n"
                         f"{failure_report(book_build, entry)}")
