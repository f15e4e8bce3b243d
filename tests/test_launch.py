"""Colab: every chapter's launch button opens the right notebook on main, the chapters that run a
real language model ask Colab for a GPU and say what happens without one, and the setup cell installs
the release tag of this version from the repository named once, in _config.yml. Fast: reads files only
(one test runs pip offline)."""

from __future__ import annotations

import re
import subprocess
from urllib.parse import unquote, urlsplit

import nbformat
import pytest
from conftest import ROOT, book_config, colab_url, notebook_entries

CHAPTERS = notebook_entries()
GITHUB_PATH = re.compile(r"^/github/(?P<org>[\w.-]+)/(?P<repo>[\w.-]+)/blob/(?P<branch>[\w./-]+?)/(?P<path>.+\.ipynb)$")
USES_A_MODEL = re.compile(r"lmtheory\.models|from lmtheory import[^\n]*\bmodels\b|\bload_model\s*\(")


def tracked_by_git(path: str) -> bool:
    """Whether git tracks ``path`` (so a push to main carries it)."""
    result = subprocess.run(["git", "ls-files", "--error-unmatch", path], cwd=ROOT, capture_output=True)
    return result.returncode == 0


def test_there_are_chapters():
    assert CHAPTERS, "no notebook chapters in _toc.yml"


def test_config_names_the_repository_and_main():
    config = book_config()
    assert config["repository"]["branch"] == "main", "launch buttons must open the notebooks on main"
    assert config["repository"]["url"].startswith("https://github.com/"), config["repository"]["url"]
    assert config["launch_buttons"]["colab_url"].rstrip("/") == "https://colab.research.google.com"


@pytest.mark.parametrize("entry", CHAPTERS)
def test_colab_url_is_well_formed_and_names_an_existing_notebook(entry):
    url = colab_url(entry)
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc) == ("https", "colab.research.google.com"), url
    assert not parts.query and not parts.fragment and " " not in url, url
    match = GITHUB_PATH.match(parts.path)
    assert match, f"{url}: not of the form /github/ORG/REPO/blob/BRANCH/PATH.ipynb"
    assert match["branch"] == "main", url
    path = unquote(match["path"])
    assert "//" not in path and not path.startswith("/"), f"{url}: malformed notebook path {path!r}"
    assert (ROOT / path).is_file(), f"{url} names {path}, which does not exist"
    assert tracked_by_git(path), f"{url} names {path}, which git does not track (it would not be on main)"
    nbformat.validate(nbformat.read(ROOT / path, as_version=4))


def uses_a_language_model(nb) -> bool:
    return any(cell.cell_type == "code" and USES_A_MODEL.search(cell.source) for cell in nb.cells)


def _read(entry: str):
    return nbformat.read(ROOT / f"{entry}.ipynb", as_version=4)


MODEL_CHAPTERS = [e for e in CHAPTERS if uses_a_language_model(_read(e))]
GPU_CHAPTERS = [e for e in CHAPTERS if _read(e).metadata.get("accelerator") == "GPU"]


def test_some_chapters_run_a_real_language_model():
    assert MODEL_CHAPTERS, "no chapter imports lmtheory.models or calls load_model"


@pytest.mark.parametrize("entry", MODEL_CHAPTERS)
def test_real_model_chapters_ask_colab_for_a_gpu(entry):
    nb = _read(entry)
    assert nb.metadata.get("accelerator") == "GPU", f"{entry}: runs a language model; set metadata accelerator: GPU"
    assert nb.metadata.get("colab", {}).get("gpuType") == "T4", f"{entry}: set metadata colab.gpuType: T4"


@pytest.mark.parametrize("entry", sorted(set(MODEL_CHAPTERS) | set(GPU_CHAPTERS)))
def test_gpu_chapters_say_what_happens_without_a_gpu(entry):
    nb = _read(entry)
    notes = [c.source for c in nb.cells[:6] if c.cell_type == "markdown" and re.search(r"```\{(note|tip)\}", c.source)]
    assert notes, f"{entry}: wants a GPU; add a {{note}} near the top about running without one"
    text = " ".join(notes).lower()
    assert "cpu" in text and "gpu" in text and "runtime" in text, (
        f"{entry}: the note must say the chapter runs on a CPU too and how to choose a GPU runtime in Colab")


LIVE_WIDGET = re.compile(r"^import ipywidgets|^from ipywidgets|\bwidgets\.\w+_explorer\(|\binteract(ive)?\(", re.M)


@pytest.mark.parametrize("entry", CHAPTERS)
def test_live_widgets_stay_off_the_site(entry):
    """A cell that builds a live widget runs in Colab and Jupyter; on the site its output is removed
    (the chapter shows a static stand-in instead, see lmtheory.widgets)."""
    live = [i for i, c in enumerate(_read(entry).cells) if c.cell_type == "code" and LIVE_WIDGET.search(c.source)]
    untagged = [i for i in live if not {"remove-output", "remove-cell"} & set(_read(entry).cells[i].metadata.get("tags", []))]
    assert not untagged, f"{entry}: cells {untagged} build a live widget; tag them remove-output"


# Installing in Colab --------------------------------------------------------------------------

COLAB_HAS = ("torch", "transformers", "numpy", "matplotlib", "ipywidgets")


def _setup_cell_module():
    """tools/setup_cell.py, loaded as a module."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("setup_cell", ROOT / "tools" / "setup_cell.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _install_line(template: str) -> str:
    """The one ``%pip install`` line of a setup cell."""
    lines = [line for line in template.splitlines() if "pip install" in line]
    assert len(lines) == 1, f"the setup cell should install with one %pip line, got {lines}"
    return lines[0]


INSTALL = re.compile(r'%pip install --quiet "lmtheory @ git\+(?P<url>https://\S+?)@(?P<ref>[^"@\s]+)"$')


def test_the_colab_install_line_never_forces_a_reinstall():
    template = _setup_cell_module().TEMPLATE
    line = _install_line(template)
    assert "google.colab" in template, "the install must run in Colab only"
    flags = {"--upgrade", "-U", "--force-reinstall", "--ignore-installed", "-I", "--no-deps"}
    assert not flags & set(line.split()), f"the install line {line!r} must not use {flags}"


def test_the_setup_cell_installs_the_release_tag_of_this_version():
    """Not a branch: a notebook saved to Drive must install the lmtheory it was written for, from the
    repository the book's buttons name."""
    import lmtheory

    line = _install_line(_setup_cell_module().TEMPLATE).strip()
    match = INSTALL.match(line)
    assert match, f"the install line {line!r} is not %pip install --quiet \"lmtheory @ git+URL@REF\""
    assert match["ref"] == f"v{lmtheory.__version__}", (
        f"the setup cell installs {match['ref']}, not the tag v{lmtheory.__version__} of this version")
    assert match["url"] == book_config()["repository"]["url"].rstrip("/"), (
        f"the setup cell installs from {match['url']}, not _config.yml's repository.url")


def test_a_fork_edits_one_setting(tmp_path):
    """A fork changes repository.url in _config.yml and reruns tools/setup_cell.py: the install line follows
    (here, on copies of the two files it reads), and no other file the book, the package or the tools read
    writes the URL (the chapters carry it only in their generated setup cell)."""
    setup_cell = _setup_cell_module()
    config = (ROOT / "_config.yml").read_text(encoding="utf-8")
    url = book_config()["repository"]["url"].rstrip("/")
    assert config.count(url) == 1, f"_config.yml should name {url} once (repository.url)"
    (tmp_path / "lmtheory").mkdir()
    (tmp_path / "_config.yml").write_text(config.replace(url, "https://github.com/someone/fork"), encoding="utf-8")
    (tmp_path / "lmtheory" / "__init__.py").write_text('__version__ = "2.3.4"\n', encoding="utf-8")
    assert INSTALL.match(_install_line(setup_cell.template(tmp_path)).strip()).group("url", "ref") == (
        "https://github.com/someone/fork", "v2.3.4")

    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True)
    elsewhere = []
    for name in tracked.stdout.split("\0"):
        path = ROOT / name
        if not name or name == "_config.yml" or not path.is_file():
            continue
        if path.suffix == ".ipynb":
            cells = nbformat.read(path, as_version=4).cells
            first_code = next((i for i, c in enumerate(cells) if c.cell_type == "code"), None)
            elsewhere += [f"{name}, cell {i}" for i, c in enumerate(cells) if url in c.source and i != first_code]
        elif url in path.read_text(encoding="utf-8", errors="replace"):
            elsewhere.append(name)
    assert not elsewhere, f"{url} is written outside _config.yml, so a fork would have to edit: {elsewhere}"


def test_dependencies_have_no_upper_bounds_on_what_colab_has():
    import tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    for name in COLAB_HAS:
        spec = next((d for d in deps if re.match(rf"{name}\b", d)), None)
        assert spec is not None, f"pyproject.toml does not list {name}"
        assert "<" not in spec and "==" not in spec and "~=" not in spec, (
            f"{spec!r}: an upper bound or pin would make pip replace Colab's {name}")


def test_installing_lmtheory_where_its_dependencies_are_installed_installs_nothing_else(tmp_path):
    """pip's own resolver, offline: with every dependency already in this environment, installing the
    package (as Colab's setup cell does) would install lmtheory and nothing else, at the version that
    lmtheory.__version__ says (the setup cell's tag). (A copy of the package is resolved, so that
    setuptools leaves no build/ folder in the repository.)"""
    import json
    import shutil
    import sys

    import lmtheory

    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "lmtheory", tmp_path / "lmtheory", ignore=shutil.ignore_patterns("__pycache__"))
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--no-index", "--no-build-isolation", "--quiet",
         "--report", "-", str(tmp_path)], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, f"pip could not resolve lmtheory offline:\n{result.stderr[-3000:]}"
    installs = json.loads(result.stdout)["install"]
    would_install = sorted(item["metadata"]["name"] for item in installs)
    assert would_install == ["lmtheory"], f"pip would also install {would_install}"
    assert installs[0]["metadata"]["version"] == lmtheory.__version__, (
        f"pyproject.toml gives version {installs[0]['metadata']['version']}, lmtheory.__version__ is "
        f"{lmtheory.__version__}: the setup cell's tag would not match the package")


def test_the_execution_report_reads_the_setup_line(capsys, monkeypatch):
    """The site's execution report (tools/sphinx_exec_report.py) finds each chapter's device and sizes
    in the line the setup cell prints; a change to that line must not silently empty the report."""
    import sys

    import lmtheory

    monkeypatch.syspath_prepend(str(ROOT / "tools"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    report = __import__("sphinx_exec_report")
    device = lmtheory.setup(seed=0)
    line = report.SETUP_LINE.search("some output\n" + capsys.readouterr().out + "more output\n")
    assert line, "the setup line no longer matches sphinx_exec_report.SETUP_LINE"
    fields = report.setup_fields(line.group(0))
    assert fields["sizes"] == lmtheory.sizes.mode() and fields["models"].startswith("offline (")
    assert fields["torch"] == sys.modules["torch"].__version__
    assert fields["device"] == (device.type if device.type != "cuda" else fields["device"]) and fields["device"]


def test_the_execution_report_table(monkeypatch):
    """What every chapter shared goes into one sentence; the table keeps what differs."""
    from collections import defaultdict
    from types import SimpleNamespace

    monkeypatch.syspath_prepend(str(ROOT / "tools"))
    report = __import__("sphinx_exec_report")
    line = "lmtheory 0.1.0 | torch 2.5 | device: {} | sizes: quick | models: offline (m, HF_HUB_OFFLINE=1)"
    env = SimpleNamespace(nb_metadata=defaultdict(dict, {
        "book/ch01": {"exec_data": {"runtime": 12.34, "succeeded": True}, report.SETUP_KEY: line.format("cpu")},
        "book/ch02": {"exec_data": {"runtime": 1.0, "succeeded": False}, report.SETUP_KEY: line.format("Tesla T4")},
        "book/notation": {}}))
    summary, table = report.make_report(env, "book/execution_report")
    assert summary.astext() == ("2 chapters executed. Every one ran with sizes: quick, "
                                "models: offline (m, HF_HUB_OFFLINE=1), torch: 2.5.")
    rows = [[entry.astext() for entry in row.children] for row in table.findall(report.nodes.row)]
    assert rows == [["Chapter", "Run time (s)", "Status", "Device"], ["book/ch01", "12.3", "ran", "cpu"],
                    ["book/ch02", "1.0", "FAILED", "Tesla T4"], ["all chapters", "13.3", "", ""]]
