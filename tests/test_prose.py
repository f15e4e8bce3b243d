"""Measured numbers in the prose come from the cells that measured them.

A chapter's markdown states a measured number (an accuracy, a gap, a slope, a ratio, a correlation)
only through myst-nb's glue role, ``{glue:text}`ch4_tau:.3f```, filled in from the value that a code
cell stored with :func:`lmtheory.glue` (see :mod:`lmtheory.prose`). A number typed by hand goes stale
the first time the sizes, the model or a seed change, and nothing would notice.

The scanner below removes from each markdown cell what may legitimately hold a decimal number and is
not prose: display and inline math (``$$...$$``, ``$...$``, amsmath environments), roles (glue,
``{math}``, ``{cite}``, ``{ref}``, ``{numref}``, ...), code spans, fenced code blocks (the content of
a directive such as ``{note}`` or ``{prf:theorem}`` is prose and stays), directive option lines
(``:label: ...``), link targets and URLs. Whatever decimal number is left is flagged: ``0.426``,
``3.5``, ``2.8e-4``, ``1,234.5``, ``83.2%``, ``.5``. A number that is not a measurement (a software
version, a section of the paper) goes on :data:`ALLOWED` with its reason.

Limitations: integers typed by hand ("21 of 25 runs", "a 40% drop") are not caught, because prose
is full of legitimate integers (chapter numbers, counts of words in a list, the paper's d = 768);
neither is a measured number written inside math (``$\\approx 37.8$``) or a code span. Those stay
the reviewer's job, helped by the convention that a number measured by the chapter is glued.

The test also checks every glue role against the notebook's code, without running anything: the
key is stored by a ``glue("key", ...)`` call of the same notebook (a key built with an f-string,
``glue(f"ch4_slope_{name}", ...)``, counts for every key it can spell), its format spec formats a
number, and a role outside a worked solution is filled by a cell before the first exercise (the
student edition clears the outputs from the first exercise on, see ``tools/student_copies.py``).
"""

from __future__ import annotations

import functools
import importlib.util
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
NOTEBOOKS = sorted(p for p in BOOK.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
PAGES = sorted(BOOK.glob("*.md"))

#: Numbers in the prose that are not measurements: (file name, exact text, why it may stay).
#: The exact text is removed from that file's markdown before the scan; an entry whose text no longer
#: occurs fails the test, so the list cannot go stale.
ALLOWED: list[tuple[str, str, str]] = [
    ("intro.md", "Python 3.10 or newer", "a software version, not a measurement"),
]

# --------------------------------------------------------------------------------------- the scanner

_FENCE = re.compile(r"^\s*(`{3,}|~{3,}|:{3,})\s*(.*)$")
_CODE_DIRECTIVES = {"code", "code-block", "code-cell", "sourcecode", "math", "raw", "csv-table"}
_OPTION = re.compile(r"^\s*:[\w-]+:(\s.*)?$")
_DISPLAY_MATH = re.compile(r"\$\$.*?\$\$", re.S)
_AMS = re.compile(r"\\begin\{(\w+\*?)\}.*?\\end\{\1\}", re.S)
_INLINE_MATH = re.compile(r"\$(?:[^$\n]|\n(?![ \t]*\n))+?\$")  # may span lines, not paragraphs
_ROLE = re.compile(r"\{[\w:.+-]+\}(`+).*?\1", re.S)
_CODE_SPAN = re.compile(r"(`+).+?\1", re.S)
_LINK_TARGET = re.compile(r"\]\([^)\s]*\)")
_URL = re.compile(r"<?\b(?:https?|ftp)://[^\s>)]+>?|<[^>\s]+@[^>\s]+>")
_COMMENT = re.compile(r"<!--.*?-->", re.S)
#: A decimal number: optional integer part (with thousands separators), a decimal part, an optional
#: exponent and percent sign. Not inside a word or after another dot (``v2.1``, ``x.5``).
NUMBER = re.compile(r"(?<![\w.])(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)+(?:[eE][+-]?\d+)?%?")


def _drop_code_blocks(text: str) -> str:
    """``text`` without fenced code blocks and directive option lines; directive content is kept."""
    out, stack = [], []  # stack of (fence character, fence length, is code)
    for line in text.splitlines():
        match = _FENCE.match(line)
        if stack and stack[-1][2]:  # inside a code block: only its closing fence ends it
            char, length, _ = stack[-1]
            if match and match.group(1)[0] == char and len(match.group(1)) >= length and not match.group(2):
                stack.pop()
            out.append("")
            continue
        if match:
            fence, info = match.groups()
            if stack and fence[0] == stack[-1][0] and len(fence) >= stack[-1][1] and not info:
                stack.pop()  # closes the innermost directive
                out.append("")
                continue
            directive = re.match(r"\{([\w:.+-]+)\}\s*(.*)", info)
            is_code = directive is None or directive.group(1) in _CODE_DIRECTIVES
            stack.append((fence[0], len(fence), is_code))
            out.append("" if is_code else directive.group(2))  # a directive's title is prose
            continue
        out.append("" if stack and _OPTION.match(line) else line)
    return "\n".join(out)


def prose_only(markdown: str) -> str:
    """The prose of a markdown cell: math, roles, code, directive options, link targets and URLs removed.

    Lines are kept (emptied where needed), so line numbers in the result match the input's.
    """
    blank = lambda m: re.sub(r"[^\n]", " ", m.group(0))  # noqa: E731 (keeps line numbers)
    text = _COMMENT.sub(blank, markdown)
    text = _drop_code_blocks(text)
    text = text.replace(r"\$", "  ")
    for pattern in (_DISPLAY_MATH, _AMS, _ROLE, _CODE_SPAN, _INLINE_MATH, _LINK_TARGET, _URL):
        text = pattern.sub(blank, text)
    return text


def hand_typed_numbers(markdown: str, allowed=()) -> list[tuple[int, str, str]]:
    """Decimal numbers in the prose of ``markdown``: ``(line number from 1, number, the line)``.

    ``allowed``: exact texts that are removed first (the allow-list's entries for this file).
    """
    for text in allowed:
        markdown = markdown.replace(text, " " * len(text))
    found = []
    for number, line in enumerate(prose_only(markdown).splitlines(), start=1):
        for match in NUMBER.finditer(line):
            found.append((number, match.group(0), markdown.splitlines()[number - 1].strip()))
    return found


def markdown_cells(path: Path) -> list[tuple[int, str]]:
    """``(cell index, source)`` of every markdown cell of a notebook; a page is one cell, index 0."""
    if path.suffix == ".md":
        return [(0, path.read_text(encoding="utf-8"))]
    nb = nbformat.read(path, as_version=4)
    return [(i, cell.source) for i, cell in enumerate(nb.cells) if cell.cell_type == "markdown"]


def violations(path: Path) -> list[str]:
    """One line per hand-typed decimal number in the file's prose, naming the cell and the text."""
    allowed = [text for name, text, _ in ALLOWED if name == path.name]
    lines = []
    for index, source in markdown_cells(path):
        for line, number, context in hand_typed_numbers(source, allowed):
            where = f"cell {index}, line {line}" if path.suffix == ".ipynb" else f"line {line}"
            lines.append(f"{path.relative_to(ROOT)} {where}: {number!r} in {context[:140]!r}")
    return lines


# -------------------------------------------------------------------------------- the scanner's tests


def test_a_hand_typed_number_is_flagged():
    found = hand_typed_numbers("The probe reaches 0.426 on the test set.")
    assert [(line, number) for line, number, _ in found] == [(1, "0.426")]
    text = "gap 2.8e-4, then 1,234.5 tokens, 83.2% accuracy, .5 nats and a ratio of 3.5x\nversion 4.57.1"
    assert [number for _, number, _ in hand_typed_numbers(text)] == ["2.8e-4", "1,234.5", "83.2%", ".5", "3.5",
                                                                    "4.57.1"]


@pytest.mark.parametrize("text", [
    "The probe reaches $0.426$ on the test set.",
    "A score of $v^\\top\np(s) = 0.5$ spans two lines.",
    "The probe reaches {glue:text}`ch1_acc:.3f` on the test set.",
    "The probe reaches {glue}`ch1_acc` and costs $$\n\\tau + 0.5\n$$ nats.",
    "Run `python -m pytest -k 0.5` or {math}`e^{0.5}`; see {numref}`fig-1.2` and {cite}`a2.0`.",
    "See [the table](https://example.org/v1.2/table.html) and <https://arxiv.org/abs/2010.03648>.",
    "```python\nx = 0.426\n```\nno number here",
    "```{prf:theorem} Bound\n:label: ch4-thm-1.2\n:class: 0.5\n\nIt holds with $\\epsilon = 0.1$.\n```",
    "\\begin{align}\nx &= 0.426\n\\end{align}",
    "Integers typed by hand, such as 21 of 25, are not caught (see the module's docstring).",
])
def test_numbers_outside_prose_pass(text):
    assert hand_typed_numbers(text) == []


def test_an_escaped_dollar_is_not_math():
    assert [number for _, number, _ in hand_typed_numbers(r"It costs \$3.50, and \$2 more.")] == ["3.50"]


def test_directive_content_is_prose():
    text = "```{note}\nThe bound is 0.426 here.\n```\n\n````{prf:proof}\n```python\ny = 1.5\n```\nso 2.5 it is\n````"
    assert [(line, number) for line, number, _ in hand_typed_numbers(text)] == [(2, "0.426"), (9, "2.5")]


def test_the_allow_list_removes_exact_texts_only():
    text = "With Python 3.10 or newer; the loss is 3.10 nats."
    assert [n for _, n, _ in hand_typed_numbers(text, allowed=["Python 3.10 or newer"])] == ["3.10"]
    assert all(len(entry) == 3 and all(isinstance(x, str) and x.strip() for x in entry) for entry in ALLOWED)


# ---------------------------------------------------------------------------------------- the book


@pytest.mark.parametrize("path", NOTEBOOKS + PAGES, ids=lambda p: p.name)
def test_no_hand_typed_decimal_numbers(path):
    """Each decimal number in a chapter's prose is glued from the cell that computed it (or allow-listed)."""
    text = "\n".join(source for _, source in markdown_cells(path))
    stale = [text_ for name, text_, _ in ALLOWED if name == path.name and text_ not in text]
    assert not stale, f"{path.name}: allow-list entries whose text no longer occurs (remove them): {stale}"
    found = violations(path)
    assert not found, (
        f"{len(found)} decimal number(s) typed by hand into the prose of {path.name}: glue them from the cell "
        f"that computed them (lmtheory.glue + {{glue:text}}`key:.3f`), write them as math if they are not "
        f"measurements, or add them to tests/test_prose.py's ALLOWED with a reason:\n" + "\n".join(found))


@functools.cache
def _student_copies():
    """``tools/student_copies.py`` as a module (for its parser of ``{solution}`` blocks)."""
    spec = importlib.util.spec_from_file_location("student_copies", ROOT / "tools" / "student_copies.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_GLUE_ROLE = re.compile(r"\{glue(?::(?:text|any|md))?\}`([^`]+)`")
_GLUE_CALL = re.compile(r"""\bglue\(\s*(?:name\s*=\s*)?(f?)(["'])([^"'\n]+)\2""")


def _glue_keys(source: str) -> list[re.Pattern]:
    """The keys that the ``glue(...)`` calls of a code cell store, as patterns (an f-string's fields match any word)."""
    patterns = []
    for is_f, _, key in _GLUE_CALL.findall(source):
        parts = re.split(r"\{[^}]*\}", key) if is_f else [key]
        patterns.append(re.compile(r"\w+".join(map(re.escape, parts)) + r"\Z"))
    return patterns


def test_glue_keys_of_a_code_cell():
    source = 'x = glue("ch1_acc", 0.5)\nfor name in names:\n    glue(f"ch4_slope_{name.split()[0]}", 1.0)'
    patterns = _glue_keys(source)
    assert [bool(p.match(k)) for p in patterns for k in ("ch1_acc", "ch4_slope_random", "ch1_acc_f")] == [
        True, False, False, False, True, False]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_glue_roles_name_glued_values(path):
    """Every glue role names a key that a code cell of the same notebook stores, with a usable format."""
    remove_solution_blocks = _student_copies().remove_solution_blocks
    nb = nbformat.read(path, as_version=4)
    stored = [(pattern, i) for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
              for pattern in _glue_keys(cell.source)]  # (key pattern, index of the code cell)
    first_exercise = next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"
                           and re.search(r"[`:]{3,}\{exercise\}", c.source)), len(nb.cells))
    problems = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        outside_solutions = remove_solution_blocks(cell.source, f"cell {i}")[0]
        for match in _GLUE_ROLE.finditer(cell.source):
            key, _, spec = match.group(1).partition(":")
            cells = [j for pattern, j in stored if pattern.match(key)]
            if not cells:
                problems.append(f"cell {i}: {match.group(0)} names no glue(\"{key}\", ...) in a code cell")
                continue
            if spec:
                # what myst-nb formats: an int for d/x/..., a float for e/f/g/%, the text for s
                sample = {"s": "text"}.get(spec[-1], 1 if spec[-1] in "bcdoxX" else 0.5)
                try:
                    format(sample, spec)
                except ValueError as error:
                    problems.append(f"cell {i}: {match.group(0)}: format spec {spec!r} does not format a number "
                                    f"({error})")
            if match.group(0) in outside_solutions and min(cells) > first_exercise:
                problems.append(f"cell {i}: {match.group(0)} is glued in cell {min(cells)}, after the first exercise "
                                f"(cell {first_exercise}), whose outputs the student edition clears")
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


def test_glue_stores_a_number_quietly_and_returns_it():
    """lmtheory.glue: the value comes back usable and unechoed; bad names and values are refused."""
    import numpy as np

    from lmtheory import glue

    value = glue("ch0_value", np.float64(0.25))
    assert value == 0.25 and isinstance(value, float) and repr(value) == "0.25"
    assert hasattr(value, "_ipython_display_")  # a cell ending with glue(...) shows nothing
    assert glue("ch0_count", np.int64(3)) + 1 == 4 and glue("ch0_word", "Paris").upper() == "PARIS"
    with pytest.raises(ValueError, match="a glue name must be an identifier such as 'ch4_tau', got 'ch4 tau'"):
        glue("ch4 tau", 1.0)
    with pytest.raises(TypeError, match="glue 'ch0_list': a number or a string is expected, got list"):
        glue("ch0_list", [1, 2])


def test_how_often_counts_in_words():
    import numpy as np
    import pandas as pd

    from lmtheory.prose import how_often

    assert how_often([True, True, True]) == "in every seed"
    assert how_often(np.array([False, False])) == "in none of the seeds"
    assert how_often(pd.Series([True, False, True])) == "in 2 of the 3 seeds"
    assert how_often([False, True], unit="task") == "in 1 of the 2 tasks"
    with pytest.raises(ValueError, match="at least one flag"):
        how_often([])
