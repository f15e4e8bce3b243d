"""The reference list's labels (tools/sphinx_author_year.py): as the chapters cite each work."""

from __future__ import annotations

import sys

import pytest
from pybtex.database import parse_file, parse_string
from pybtex.plugin import find_plugin

from conftest import ROOT, book_config

sys.path.insert(0, str(ROOT / "tools"))
import sphinx_author_year  # noqa: E402


@pytest.fixture(scope="module")
def style():
    sphinx_author_year.setup(None)
    return find_plugin("pybtex.style.formatting", sphinx_author_year.NAME)()


def labels(style, bibliography) -> dict[str, str]:
    entries = style.sort(bibliography.entries.values())
    return {entry.key: label for entry, label in zip(entries, style.format_labels(entries))}


def test_the_books_works_get_author_year_labels_one_each(style):
    found = labels(style, parse_file(str(ROOT / "book" / "references.bib")))
    assert found["saunshi2021mathematical"] == "Saunshi et al., 2021"
    assert "Pang and Lee, 2005" in found.values() and "Pinsker, 1964" in found.values()
    assert "Hoffmann et al., 2022" in found.values()  # eleven authors, "others" among them
    assert len(set(found.values())) == len(found)


def test_two_works_with_one_label_get_letters_after_the_year(style):
    bib = parse_string("""
        @article{a, author = {Ma, Tengyu and Lee, Jason}, title = {One}, year = {2020}}
        @article{b, author = {Ma, Tengyu and Lee, Jason}, title = {Two}, year = {2020}}
        @book{c, author = {{de} Las Casas, Diego}, title = {Three}, year = {2019}}
        @misc{d, title = {No author}, year = {2018}}
    """, "bibtex")
    assert labels(style, bib) == {"a": "Ma and Lee, 2020a", "b": "Ma and Lee, 2020b",
                                  "c": "de Las Casas, 2019", "d": "No author, 2018"}


def test_the_book_uses_the_style():
    config = book_config()["sphinx"]
    assert config["local_extensions"]["sphinx_author_year"] == "tools/"
    assert config["config"]["bibtex_default_style"] == sphinx_author_year.NAME
    assert config["config"]["bibtex_reference_style"] == "author_year"
