"""What a reader of the site has to read: the code each chapter shows, measured on the built pages.

A chapter shows the code a student should read (the formula being taught, the experiment's few
calls, the exercise); plotting, caching and the assertions that guard the prose sit behind myst-nb's
``hide-input`` toggle, and code solutions behind "Show solution" (tools/solution_cells.py). On each
chapter's built HTML this counts the visible code lines (those not inside a collapsed ``<details>``),
the longest visible cell, and the lines of code (hidden or not: a reader can open them) and of
printed output wider than :data:`MAX_LINE` characters, which a phone or a narrow column cuts off.

The targets are the issue's (QuantEcon and d2l keep cells to 10-15 lines), and every chapter meets
them: plumbing lives in ``lmtheory``, and the chapter names the function it calls.

Functions: a chapter defines a function only when it teaches it; :data:`TAUGHT` lists each one with
the reason, and a test (on the notebooks, no build needed) fails on any other.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT, toc_entries

MAX_VISIBLE_LINES = 150  # per chapter
MAX_CELL_LINES = 25  # per visible code cell
MAX_LINE = 88  # characters per code or output line

#: (chapter, function) -> why the chapter itself defines it (functions in exercise solutions are the
#: student's answers and need no entry)
TAUGHT: dict[tuple[str, str], str] = {
    ("ch02_natural_tasks", "logistic_loss"): "the logistic loss l(z, y) the text defines, in one line",
    ("ch03_cross_entropy", "cross_entropy_of"): "the definition of the cross-entropy L(p), written out",
    ("ch03_cross_entropy", "kl_from_definition"): "KL term by term: the independent side of excess loss = E KL",
    ("ch04_sqrt_eps", "chain"): "the proof's chain of inequalities, one number per step",
    ("ch05_conditional_means", "rowspace_residual"): "the distance from the row space of Phi the text defines",
    ("ch05_conditional_means", "g"): "g_s(t) = L_s(f(s) + t lam), the one-dimensional loss of the proof",
    ("ch05_conditional_means", "var_v"): "Var_{p_theta}[v], the second derivative of g in the proof",
    ("ch05_conditional_means", "exact_line_minimum"): "min_t g_s(t) by bisection on g', the proof's step",
    ("ch07_linear_probes", "paired_gap"): "the paired standard error sqrt(b + c) / n the text derives",
    ("ch07_linear_probes", "centred"): "centring, which removes log Z (part c and the zero-sum exercise)",
    ("ch07_linear_probes", "subset_accuracy"): "the accuracy the word-subset exercise is graded on",
    ("ch09_eps_in_practice", "sqrt_fit"): "the least-squares fit of the theorem's shape a + b sqrt(CE - c)",
    ("ch10_limits", "hedging_lm"): "the hedging model the section defines",
    ("ch10_limits", "hedging_eps"): "the hedging model's excess loss, as the section derives it",
}

CHAPTERS = [entry for entry in toc_entries() if re.fullmatch(r"book/ch\d\d_\w+", entry)]


def budget(page: Path) -> dict[str, int]:
    """The reader's budget of one built chapter page."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    visible, longest, code_over, output_over = 0, 0, 0, 0
    for cell in soup.select("div.cell"):
        for source in cell.select("div.cell_input pre"):
            lines = source.get_text().rstrip("\n").split("\n")
            code_over += sum(len(line) > MAX_LINE for line in lines)
            if source.find_parent("details") is None:
                visible += len(lines)
                longest = max(longest, len(lines))
        for output in cell.select("div.cell_output pre"):
            output_over += sum(len(line) > MAX_LINE for line in output.get_text().split("\n"))
    return {"visible lines": visible, "longest visible cell": longest, "code lines too wide": code_over,
            "output lines too wide": output_over}


def targets() -> tuple[int, int, int, int]:
    return MAX_VISIBLE_LINES, MAX_CELL_LINES, 0, 0


@pytest.fixture(scope="module")
def budgets(html) -> dict[str, dict[str, int]]:
    return {entry: budget(html / f"{entry}.html") for entry in CHAPTERS}


@pytest.mark.book
def test_each_chapter_shows_no_more_code_than_a_reader_should_read(budgets):
    report = "\n".join(f"{entry}: {b}" for entry, b in budgets.items())
    print(report)
    for entry, b in budgets.items():
        for (name, value), limit in zip(b.items(), targets()):
            assert value <= limit, f"{entry}: {name} {value}, more than the {limit} allowed\n{report}"


def functions(notebook: Path) -> list[str]:
    """Names of the functions and classes a notebook's code cells define at top level, except in the
    cells that hold an exercise's solution (an answer the exercise asks the student to write)."""
    names = []
    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.cell_type == "code" and "# BEGIN SOLUTION" not in cell.source:
            source = re.sub(r"^(\s*)[%!].*$", r"\1pass", cell.source, flags=re.M)  # IPython magics
            names += [node.name for node in ast.parse(source).body
                      if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    return names


@pytest.mark.parametrize("entry", CHAPTERS)
def test_a_chapter_defines_only_the_functions_it_teaches(entry):
    stem = Path(entry).name
    extra = [name for name in functions(ROOT / f"{entry}.ipynb") if (stem, name) not in TAUGHT]
    assert not extra, (f"{stem} defines {extra}: move them into lmtheory (a chapter shows the code a student "
                       f"should read), or add each to TAUGHT with the reason the chapter shows it")


def test_the_lists_name_only_functions_that_exist():
    defined = {(Path(e).name, name) for e in CHAPTERS for name in functions(ROOT / f"{e}.ipynb")}
    assert set(TAUGHT) <= defined, f"TAUGHT names functions no chapter defines: {set(TAUGHT) - defined}"
