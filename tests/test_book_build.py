"""Build the whole book (executing every chapter) into a temporary folder, as `make book` does,
and check the pages a reader gets. Slow; run alone with `python -m pytest -m book`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COLAB = "https://colab.research.google.com/github/lmtheory/lmtheory/blob/main/"

pytestmark = pytest.mark.book


def toc_entries() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    entries = [toc["root"]]
    for part in toc.get("parts", []):
        entries += [chapter["file"] for chapter in part.get("chapters", [])]
    entries += [chapter["file"] for chapter in toc.get("chapters", [])]
    return entries


def jupyter_book() -> str:
    """The jupyter-book command of the Python running the tests."""
    local = Path(sys.executable).parent / "jupyter-book"
    found = str(local) if local.exists() else shutil.which("jupyter-book")
    if found is None:
        pytest.fail("jupyter-book is not installed (pip install -r requirements.txt)")
    return found


@pytest.fixture(scope="module")
def html(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("book")
    env = dict(os.environ, LMTHEORY_QUICK=os.environ.get("LMTHEORY_QUICK", "1"))
    cmd = [jupyter_book(), "build", str(ROOT), "--path-output", str(out),
           "--builder", "html", "-W", "-n", "--keep-going"]
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    log = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)  # drop colours
    assert result.returncode == 0, f"jupyter-book build failed ({result.returncode}):\n{log[-8000:]}"
    # Sphinx ends with "build succeeded, N warnings." when anything warned
    assert "build succeeded." in log, f"the build warned:\n{log[-8000:]}"
    return out / "_build" / "html"


@pytest.mark.parametrize("entry", toc_entries())
def test_every_toc_entry_has_a_page(html, entry):
    assert (html / f"{entry}.html").is_file(), f"no page for {entry}"


def notebook_entries() -> list[str]:
    return [e for e in toc_entries() if (ROOT / f"{e}.ipynb").exists()]


@pytest.mark.parametrize("entry", notebook_entries())
def test_chapter_page_has_math_and_colab_link(html, entry):
    page = (html / f"{entry}.html").read_text(encoding="utf-8")
    assert "mathjax" in page.lower(), f"{entry}: the page does not load MathJax"
    assert 'class="math' in page and "\\(" in page, f"{entry}: no rendered math on the page"
    assert f'href="{COLAB}{entry}.ipynb"' in page, f"{entry}: no Colab launch link {COLAB}{entry}.ipynb"


def test_chapter_four_exists(html):
    assert (html / "book" / "ch04_sqrt_eps.html").is_file()
