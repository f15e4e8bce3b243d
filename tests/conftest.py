"""Shared by the tests: the book's table of contents, its Colab launch URLs, and ONE build of the
whole book per test session (the `html` fixture), used by the build test and the browser test.

Set ``LMTHEORY_BUILT_BOOK`` to the ``_build`` folder of a book you already built (``make book``
writes ``./_build``) to check that build instead of building again.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def book_config() -> dict:
    """The parsed ``_config.yml``."""
    return yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))


def toc_entries() -> list[str]:
    """Every page of ``_toc.yml`` (root first), as paths without suffix, e.g. ``book/ch04_sqrt_eps``."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    entries = [toc["root"]]

    def walk(node):  # parts, chapters and sections, in reading order
        if isinstance(node, dict):
            entries.extend([node["file"]] if "file" in node else [])
            for key in ("parts", "chapters", "sections"):
                walk(node.get(key, []))
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({key: value for key, value in toc.items() if key != "root"})
    return [str(Path(e).with_suffix("")) if Path(e).suffix in (".md", ".ipynb") else e for e in entries]


def notebook_entries() -> list[str]:
    """The toc entries that are notebooks (the chapters with a Colab button)."""
    return [e for e in toc_entries() if (ROOT / f"{e}.ipynb").exists()]


def colab_url(entry: str) -> str:
    """The Colab launch URL of a chapter, built from ``_config.yml`` the way sphinx-book-theme does:
    ``{colab_url}/github/{org}/{repo}/blob/{branch}/{path_to_book/}{entry}.ipynb``."""
    config = book_config()
    repo = config["repository"]
    org, name = repo["url"].split("github.com/")[-1].strip("/").split("/")[:2]
    book = str(repo.get("path_to_book", "") or "").strip("/")
    path = f"{book}/{entry}.ipynb" if book else f"{entry}.ipynb"
    base = config["launch_buttons"]["colab_url"].strip("/")
    return f"{base}/github/{org}/{name}/blob/{repo.get('branch', 'main')}/{quote(path)}"


def jupyter_book() -> str:
    """The jupyter-book command of the Python running the tests."""
    local = Path(sys.executable).parent / "jupyter-book"
    found = str(local) if local.exists() else shutil.which("jupyter-book")
    if found is None:
        pytest.fail("jupyter-book is not installed (pip install -r requirements.txt)")
    return found


@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> Path:
    """The ``_build`` folder of one full build of the book (quick sizes unless LMTHEORY_QUICK says
    otherwise), executed once per session; it holds ``html/`` and ``jupyter_execute/``."""
    given = os.environ.get("LMTHEORY_BUILT_BOOK")
    if given:
        folder = Path(given).resolve()
        assert (folder / "html" / "index.html").is_file(), f"LMTHEORY_BUILT_BOOK={given}: no html/index.html there"
        return folder
    out = tmp_path_factory.mktemp("book")
    env = dict(os.environ, LMTHEORY_QUICK=os.environ.get("LMTHEORY_QUICK", "1"))
    cmd = [jupyter_book(), "build", str(ROOT), "--path-output", str(out),
           "--builder", "html", "-W", "-n", "--keep-going"]
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    log = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)  # drop colours
    assert result.returncode == 0, f"jupyter-book build failed ({result.returncode}):\n{log[-8000:]}"
    # Sphinx ends with "build succeeded, N warnings." when anything warned
    assert "build succeeded." in log, f"the build warned:\n{log[-8000:]}"
    return out / "_build"


@pytest.fixture(scope="session")
def html(built_book) -> Path:
    """The built site, ``_build/html``."""
    return built_book / "html"
