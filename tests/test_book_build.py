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
