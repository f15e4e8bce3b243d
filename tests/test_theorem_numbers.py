"""The book's theorems, numbered the way the built pages number them, and every place that names one.

sphinx-proof numbers the theorems of each chapter: the first ``{prf:theorem}`` of chapter 4 renders as
"Theorem 4.1", whatever the paper calls it (its Theorem 1). Markdown refers to a theorem with
``{prf:ref}`label```, which renders the same number and cannot drift. Code comments, printed strings,
table columns, figure legends, captions and docstrings have to type the number instead. :data:`THEOREMS`
lists those numbers, and the tests here check, without building anything:

* that the notebooks' sources give each theorem the listed number (the chapter's place in the numbered
  table of contents, and the theorem's place among its chapter's ``prf:theorem`` directives);
* that every "Theorem 4.1" or "Thm 4.1" a reader can see (notebook sources and captions, the pages,
  ``lmtheory``'s code and docstrings) names a listed theorem, and that a number without a chapter, the
  paper's, appears only as "the paper's Theorem 2" (or "Theorem 2 of the paper");
* that each theorem's chapter says once which theorem of the paper it is.

``tests/test_book_build.py`` checks the listed numbers against the built pages themselves.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Theorem:
    entry: str  #: the chapter's page, as in _toc.yml (``book/ch04_sqrt_eps``)
    number: str  #: as the built page numbers it (``"4.1"``)
    paper: str | None  #: its number in Saunshi, Malladi & Arora (2021), if the paper states it


#: label -> the theorem; code and captions type these numbers
THEOREMS: dict[str, Theorem] = {
    "ch4-thm-any-lm": Theorem("book/ch04_sqrt_eps", "4.1", "1"),
    "ch5-thm-conditional-mean": Theorem("book/ch05_conditional_means", "5.1", "2"),
    "ch6-thm-features": Theorem("book/ch06_quadratic_logz", "6.1", "3"),
    "ch8-thm-minimiser": Theorem("book/ch08_quad", "8.1", None),
}

_DIRECTIVE = re.compile(r"^(`{3,}|:{3,})\{prf:theorem\}[^\n]*\n(?:[ \t]*:(?!label:)[\w-]+:[^\n]*\n)*"
                        r"[ \t]*:label:[ \t]*(\S+)", re.M)
#: "Theorem 4.1", "Thm 2", "Theorems 1 and 2", "Theorems 4.1, 5.1 and 6.1"
_MENTION = re.compile(r"\b(?:Theorems?|Thms?)\s+(\d+(?:\.\d+)?(?:(?:\s*,\s*|\s+and\s+|\s+or\s+)\d+(?:\.\d+)?)*)")
_PAPERS_BEFORE = re.compile(r"paper[’']s\s+$")
_PAPERS_AFTER = re.compile(r"\s+of\s+(?:the\s+paper\b|\{cite\}`)")


def numbered_chapters() -> dict[str, int]:
    """Each chapter of a numbered part of ``_toc.yml`` -> its chapter number (counted across parts)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    chapters = [c["file"] for part in toc["parts"] if part.get("numbered") for c in part["chapters"]]
    return {str(Path(entry).with_suffix("")): i for i, entry in enumerate(chapters, start=1)}


def theorems_in_sources() -> dict[str, tuple[str, str]]:
    """label -> (chapter entry, the number sphinx-proof will give it), read from the notebooks."""
    found = {}
    for entry, chapter in numbered_chapters().items():
        path = ROOT / f"{entry}.ipynb"
        if not path.exists():
            continue
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        markdown = "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
        for k, match in enumerate(_DIRECTIVE.finditer(markdown), start=1):
            found[match.group(2)] = (entry, f"{chapter}.{k}")
    return found


@functools.cache
def seen_texts() -> dict[str, str]:
    """Everything a reader can see that may type a theorem's number: path -> text. For a notebook, its
    cells' sources and metadata (captions), one after another; for ``lmtheory``, the code and docstrings."""
    texts = {}
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        texts[path] = "\n\n".join("".join(c["source"]) + "\n" + json.dumps(c["metadata"], ensure_ascii=False)
                                  for c in cells)
    for path in [*sorted((ROOT / "book").glob("*.md")), *sorted((ROOT / "lmtheory").rglob("*.py"))]:
        texts[path] = path.read_text(encoding="utf-8")
    return {str(path.relative_to(ROOT)): text for path, text in texts.items()}


def wrong_numbers(text: str) -> list[str]:
    """The theorem numbers in ``text`` that are neither a listed theorem's nor marked as the paper's."""
    listed = {t.number for t in THEOREMS.values()}
    wrong = []
    for match in _MENTION.finditer(text):
        numbers = re.findall(r"\d+(?:\.\d+)?", match.group(1))
        papers = (_PAPERS_BEFORE.search(text[max(0, match.start() - 12):match.start()])
                  or _PAPERS_AFTER.match(text, match.end()))
        for number in numbers:
            if ("." in number and number not in listed) or ("." not in number and not papers):
                line = text.count("\n", 0, match.start()) + 1
                wrong.append(f"line {line}: {match.group(0)!r}")
    return wrong


# -------------------------------------------------------------------------------- the scanner's tests


@pytest.mark.parametrize("text", [
    "the bound of Theorem 4.1", "(e) Thm 5.1 bound", "Theorems 4.1 and 5.1", "the paper's Theorem 1",
    "the paper's Theorems 1\nand 2", "the paper’s Theorem 3", "Theorem 2 of the paper", "Theorem 2 of {cite}`x`",
    "{prf:ref}`ch4-thm-any-lm`", "bound_thm2", "f\"(Thm {point['theorem']})\"", "the theorem of chapter 5",
])
def test_the_books_numbers_and_the_papers_pass(text):
    assert wrong_numbers(text) == []


@pytest.mark.parametrize("text, found", [
    ("the bound of Theorem 2", ["line 1: 'Theorem 2'"]),
    ("(e) Thm 2 bound", ["line 1: 'Thm 2'"]),
    ("x\nTheorems 1 and 2 give", ["line 2: 'Theorems 1 and 2'"] * 2),
    ("Theorem 7.3 of this book", ["line 1: 'Theorem 7.3'"]),
    ("Theorems 4.1 and 9.9", ["line 1: 'Theorems 4.1 and 9.9'"]),
    ("the newspaper's editor; Theorem 2", ["line 1: 'Theorem 2'"]),
])
def test_a_papers_number_or_an_unknown_one_is_flagged(text, found):
    assert wrong_numbers(text) == found


# ---------------------------------------------------------------------------------------- the book


def test_the_sources_number_each_theorem_as_listed():
    """The numbers code types are the ones sphinx-proof gives (the book build checks the pages too)."""
    listed = {label: (t.entry, t.number) for label, t in THEOREMS.items()}
    assert theorems_in_sources() == listed, (
        "a theorem was added, moved or relabelled: update THEOREMS and every 'Theorem N.M' typed in code, "
        "captions and docstrings (markdown should use {prf:ref})")


@pytest.mark.parametrize("path", sorted(seen_texts()), ids=lambda p: p)
def test_a_reader_sees_the_books_theorem_numbers(path):
    wrong = wrong_numbers(seen_texts()[path])
    assert not wrong, (
        f"{path} names theorems by numbers the book does not use: {wrong}. In markdown write "
        "{prf:ref}`label`; in code, captions and docstrings the book's number from THEOREMS "
        "(tests/test_theorem_numbers.py); the paper's number only as \"the paper's Theorem N\".")


@pytest.mark.parametrize("label", [label for label, t in THEOREMS.items() if t.paper], ids=str)
def test_each_theorem_says_which_of_the_papers_it_is(label):
    theorem = THEOREMS[label]
    cells = json.loads((ROOT / f"{theorem.entry}.ipynb").read_text(encoding="utf-8"))["cells"]
    stated = [c for c in cells if f":label: {label}" in "".join(c["source"])]
    assert len(stated) == 1, f"{label} is stated in {len(stated)} cells"
    text = "".join(stated[0]["source"])
    after = text[text.index(f":label: {label}"):]
    assert f"paper's Theorem {theorem.paper} " in after, (
        f"the cell that states {label} should say, after it, that it is the paper's Theorem {theorem.paper}")
