"""Shared by the tests: the book's table of contents, its Colab launch URLs, and ONE build of the
whole book per test session. That build is also the run of every chapter that the tests check
(tests/test_chapters.py): jupyter-book executes each notebook alone, in a fresh kernel, in its own
folder, so each chapter runs once per test session, not once for a notebook test and again for the
book.

The build starts in the background as soon as the tests are collected, if any of them needs it, and
the tests that need it run last: the unit tests run meanwhile. The build itself executes two
chapters at a time (tools/sphinx_parallel_chapters.py), and every process (this one, the build's
kernels) uses one thread: three single-threaded processes share two cores well, while processes
that each spread over both cores slow each other down several times over. (Kernels beside kernels
once made the build wait for ever on a reply that had arrived: tools/sphinx_kernel_wakeup.py.)

Set ``LMTHEORY_BUILT_BOOK`` to the ``_build`` folder of a book you already built (``make book``
writes ``./_build``) to check that build instead of building again.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
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


def unwrapped(text: str) -> str:
    """``text`` as printed before :func:`lmtheory.prose.say` wrapped it (continuations start with two spaces)."""
    return text.replace("\n  ", " ")


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


@dataclass
class BookBuild:
    """One run of ``jupyter-book build``: its ``_build`` folder, exit status and log (colours removed)."""

    folder: Path
    returncode: int
    log: str

    @property
    def succeeded(self) -> bool:
        # Sphinx ends with "build succeeded, N warnings." when anything warned; -W makes that fail too
        return self.returncode == 0 and "build succeeded." in self.log


def _needs_book(item) -> bool:
    return "book_build" in getattr(item, "fixturenames", ())


def pytest_configure(config):
    """Notebooks that tests run in this process, beside the build's kernels, get the build's kernel
    waker too (tools/sphinx_kernel_wakeup.py): a reply that has arrived is never waited on for ever."""
    from nbclient import NotebookClient

    sys.path.insert(0, str(ROOT / "tools"))
    from sphinx_kernel_wakeup import nudged

    NotebookClient.async_execute_cell = nudged(NotebookClient.async_execute_cell)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Tests that need the book build go last (after ``-m`` and ``-k`` have chosen the tests)."""
    items.sort(key=_needs_book)  # a stable sort: the order is otherwise kept


def pytest_collection_finish(session):
    """Start the book build in the background if a chosen test needs it (not for ``--collect-only``)."""
    if session.config.option.collectonly or os.environ.get("LMTHEORY_BUILT_BOOK"):
        return
    needs = [_needs_book(item) for item in session.items]
    if not any(needs):
        return
    threads = {}
    if not all(needs):  # other tests run meanwhile: one thread for each process, theirs and the kernels'
        from sphinx_parallel_chapters import THREAD_VARIABLES  # tools/, on sys.path since pytest_configure

        threads = dict.fromkeys(THREAD_VARIABLES, "1")
        os.environ.update(threads)
        import torch

        torch.set_num_threads(1)
    session.config.stash[_BUILD] = _start_build(session.config._tmp_path_factory.mktemp("book"), threads)


_BUILD = pytest.StashKey()


def _start_build(out: Path, threads: dict):
    """Start ``jupyter-book build`` into ``out`` (``threads``: variables limiting its kernels' threads);
    returns (process, out, log file, start time)."""
    env = dict(os.environ, LMTHEORY_QUICK=os.environ.get("LMTHEORY_QUICK", "1"), **threads)
    cmd = [jupyter_book(), "build", str(ROOT), "--path-output", str(out),
           "--builder", "html", "-W", "-n", "--keep-going"]
    log = out / "build.log"
    with open(log, "w") as handle:
        process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, text=True)
    return process, out, log, time.time()


def pytest_terminal_summary(terminalreporter, config):
    """How long the session's book build took, and each chapter in it (the build's own log says)."""
    started = config.stash.get(_BUILD, None)
    if started is None or started[0].poll() is None:  # no build, or one that was never waited for
        return
    _, _, log, start = started
    text = re.sub(r"\x1b\[[0-9;]*m", "", log.read_text(errors="replace"))
    chapters = re.findall(r"([\w-]+)\.ipynb: Executed notebook in ([\d.]+) seconds", text)
    terminalreporter.section("the book build")
    terminalreporter.line(f"{log.stat().st_mtime - start:.0f} s from its start to its last line; chapters (as the "
                          f"log lists them): " + ", ".join(f"{name} {float(s):.0f} s" for name, s in chapters))


@pytest.fixture(scope="session")
def offline_lm():
    """The offline model (SmolLM2-135M from the registry), loaded once per session with HF_HUB_OFFLINE=1."""
    from lmtheory.models import OFFLINE_MODEL, load_model
    from lmtheory.offline import hub_reachable

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        hub_reachable.cache_clear()
        model = load_model(OFFLINE_MODEL, verbose=False)
    hub_reachable.cache_clear()
    return model


@pytest.fixture(scope="session")
def tiny(offline_lm):
    """A random 2-layer GPT-2 of width 32 with the offline model's tokenizer: fast on any CPU."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from lmtheory.models import from_model

    torch.manual_seed(0)
    config = GPT2Config(vocab_size=offline_lm.vocab_size, n_positions=128, n_embd=32, n_layer=2, n_head=2)
    return from_model(GPT2LMHeadModel(config), offline_lm.tokenizer, "tiny-gpt2")


@pytest.fixture
def own_cache(monkeypatch, tmp_path) -> Path:
    """A fresh, empty lmtheory cache for one test (models are loaded from the shared one before it)."""
    monkeypatch.setenv("LMTHEORY_CACHE", str(tmp_path))
    return tmp_path


@pytest.fixture(scope="session")
def book_build(request) -> BookBuild:
    """One full build of the book (quick sizes unless LMTHEORY_QUICK says otherwise), executing every
    chapter, whether or not it succeeds: the chapter tests read each chapter's run from it."""
    given = os.environ.get("LMTHEORY_BUILT_BOOK")
    if given:
        folder = Path(given).resolve()
        assert (folder / "html" / "index.html").is_file(), f"LMTHEORY_BUILT_BOOK={given}: no html/index.html there"
        return BookBuild(folder, 0, "build succeeded. (LMTHEORY_BUILT_BOOK: built before the tests)")
    process, out, log, _ = request.config.stash[_BUILD]
    returncode = process.wait()
    text = re.sub(r"\x1b\[[0-9;]*m", "", log.read_text(errors="replace"))  # drop colours
    return BookBuild(out / "_build", returncode, text)


@pytest.fixture(scope="session")
def built_book(book_build) -> Path:
    """The ``_build`` folder of the session's build, which must have succeeded without a warning; it
    holds ``html/`` and ``jupyter_execute/``."""
    assert book_build.succeeded, (f"jupyter-book build failed or warned (exit status {book_build.returncode}):\n"
                                  f"{book_build.log[-8000:]}")
    return book_build.folder


@pytest.fixture(scope="session")
def html(built_book) -> Path:
    """The built site, ``_build/html``."""
    return built_book / "html"
