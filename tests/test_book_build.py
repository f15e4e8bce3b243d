"""Build the whole book (executing every chapter) as `make book` does, and check the pages a reader
gets. The build is the session fixture `html` of conftest.py, shared with the browser test
(test_site.py). Slow; run alone with `python -m pytest -m book`."""

from __future__ import annotations

import pytest
from conftest import colab_url, notebook_entries, toc_entries

pytestmark = pytest.mark.book


@pytest.mark.parametrize("entry", toc_entries())
def test_every_toc_entry_has_a_page(html, entry):
    assert (html / f"{entry}.html").is_file(), f"no page for {entry}"


@pytest.mark.parametrize("entry", notebook_entries())
def test_chapter_page_has_math_and_colab_link(html, entry):
    page = (html / f"{entry}.html").read_text(encoding="utf-8")
    assert "mathjax" in page.lower(), f"{entry}: the page does not load MathJax"
    assert 'class="math' in page and "\\(" in page, f"{entry}: no rendered math on the page"
    assert f'href="{colab_url(entry)}"' in page, f"{entry}: no Colab launch link {colab_url(entry)}"


def test_the_reference_list_labels_each_work_as_the_text_cites_it(html):
    from bs4 import BeautifulSoup

    listed = [label.get_text().strip("[]") for label in
              BeautifulSoup((html / "book" / "references.html").read_text(encoding="utf-8"), "html.parser")
              .select("div.citation span.label")]
    assert len(listed) >= 10 and len(set(listed)) == len(listed), listed
    cited = {}
    for entry in toc_entries():
        soup = BeautifulSoup((html / f"{entry}.html").read_text(encoding="utf-8"), "html.parser")
        for citation in soup.select("span.bibtex-citation"):
            for link in citation.select("a"):
                cited[link.get_text()] = entry
    assert len(cited) >= 5, f"too few citations found: {cited}"
    unmatched = {text: entry for text, entry in cited.items() if text not in listed}
    assert not unmatched, f"cited in the text but labelled otherwise in the list: {unmatched}; list: {listed}"


def test_the_front_door_redirects_to_the_root_page_and_names_the_books_icon(html):
    from bs4 import BeautifulSoup

    soup = BeautifulSoup((html / "index.html").read_text(encoding="utf-8"), "html.parser")
    refresh = soup.find("meta", attrs={"http-equiv": "Refresh"})
    assert refresh is not None, "index.html does not redirect"
    target = refresh["content"].split("url=", 1)[1]
    assert target == f"{toc_entries()[0]}.html" and (html / target).is_file(), target
    icon = soup.find("link", rel="icon")
    assert icon is not None and (html / icon["href"]).is_file(), f"index.html names no icon that exists: {icon}"
    assert soup.title.get_text().strip() and soup.find("a", href=target), "no title or no link to follow by hand"


def test_theorems_render_with_the_numbers_that_code_and_captions_type(html):
    """Each theorem box reads "Theorem 4.1" and so on, as listed in test_theorem_numbers.THEOREMS (the
    numbers code, legends and captions type), and every link to it (``{prf:ref}``) reads the same."""
    from bs4 import BeautifulSoup
    from test_theorem_numbers import THEOREMS

    pages = {entry: BeautifulSoup((html / f"{entry}.html").read_text(encoding="utf-8"), "html.parser")
             for entry in notebook_entries()}
    for label, theorem in THEOREMS.items():
        box = pages[theorem.entry].find(id=label)
        assert box is not None and "theorem" in box.get("class", []), f"{theorem.entry}: no theorem box {label}"
        number = box.select_one(".admonition-title .caption-number")
        assert number is not None and number.get_text(strip=True) == f"Theorem {theorem.number}", (
            f"{label} renders as {number and number.get_text(strip=True)!r}, but code and captions type "
            f"'Theorem {theorem.number}': update THEOREMS and them")
        links = [a for soup in pages.values() for a in soup.select("a.reference.internal")
                 if a.get("href", "").endswith(f"#{label}")]
        assert {a.get_text(strip=True) for a in links} <= {f"Theorem {theorem.number}"}, (
            f"links to {label} read {sorted({a.get_text(strip=True) for a in links})}")
