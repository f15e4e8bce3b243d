"""The small console fixes of tools/sphinx_console_fixes.py, without a build."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

from bs4 import BeautifulSoup

from conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import sphinx_console_fixes  # noqa: E402


def test_the_redirect_page_is_a_whole_page_with_an_icon_and_escapes_its_text():
    soup = BeautifulSoup(sphinx_console_fixes.redirect_page("book/intro.html", 'A "book" <1>', "_static/f.svg"),
                         "html.parser")
    assert soup.find("meta", attrs={"http-equiv": "Refresh"})["content"] == "0; url=book/intro.html"
    assert soup.title.get_text() == 'A "book" <1>'
    assert soup.find("link", rel="icon")["href"] == "_static/f.svg"
    assert soup.find("a", href="book/intro.html") is not None
    assert BeautifulSoup(sphinx_console_fixes.redirect_page("x.html", "t", None), "html.parser").find("link") is None


def fake_app(tmp_path, root_doc="book/intro", builder="html", favicon="book/_static/favicon.svg"):
    config = SimpleNamespace(root_doc=root_doc, html_favicon=favicon, html_title="The book")
    return SimpleNamespace(config=config, builder=SimpleNamespace(name=builder), outdir=str(tmp_path))


def test_the_front_door_is_written_only_for_an_html_build_whose_root_is_elsewhere(tmp_path):
    sphinx_console_fixes.write_front_door(fake_app(tmp_path), None)
    soup = BeautifulSoup((tmp_path / "index.html").read_text(encoding="utf-8"), "html.parser")
    assert soup.find("link", rel="icon")["href"] == "_static/favicon.svg" and soup.title.get_text() == "The book"
    for app, exception in [(fake_app(tmp_path / "a", root_doc="index"), None),
                           (fake_app(tmp_path / "b", builder="latex"), None),
                           (fake_app(tmp_path / "c"), RuntimeError("build failed"))]:
        sphinx_console_fixes.write_front_door(app, exception)
        assert not Path(app.outdir, "index.html").exists(), app
