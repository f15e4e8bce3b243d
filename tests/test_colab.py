"""Colab, against Colab's own package set (tests/data/colab, its published pip freezes).

Installing lmtheory in a running Colab session must replace none of the packages Colab already has:
each requirement of lmtheory, and of every package pip would newly install for it, that names a
package Colab has must be satisfied by Colab's version, so pip leaves that package alone. The check
reads package metadata only (no pip, no network) and evaluates environment markers for Colab's
Python (3.13) on Linux. Then the widget tests run again under Colab's ipywidgets (7.x), and the
package and tools are checked for Python 3.10 to 3.13. Those two fetch a few small wheels from
PyPI once (cached under ``$LMTHEORY_CACHE``, by default ``~/.cache/lmtheory``); mark ``pypi``.
"""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from conftest import ROOT
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name, parse_sdist_filename, parse_wheel_filename
from packaging.version import Version

COLAB = ROOT / "tests" / "data" / "colab"
FREEZES = ("pip-freeze.txt", "pip-freeze.gpu.txt")  # the CPU and the GPU runtime
OLDEST_PYTHON = "3.10"  # pyproject.toml's requires-python


def read_freeze(path: Path) -> dict[NormalizedName, Version | None]:
    """The packages of a ``pip freeze`` file and their versions.

    ``name==version`` lines give their version; ``name @ URL`` lines give the version in the URL's wheel or
    sdist file name (``torch @ https://.../torch-2.11.0%2Bcpu-cp313-...whl``), or None when the URL names
    none (a git checkout). Example: ``read_freeze(COLAB / "pip-freeze.txt")["numpy"]``.
    """
    packages = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "-")):
            continue
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        if requirement.url:
            file = unquote(urlsplit(requirement.url).path.rsplit("/", 1)[-1])
            if file.endswith(".whl"):
                packages[name] = parse_wheel_filename(file)[1]
            elif file.endswith((".tar.gz", ".zip")):
                packages[name] = parse_sdist_filename(file)[1]
            else:
                packages[name] = None
        else:
            pins = [s for s in requirement.specifier if s.operator in ("==", "===")]
            assert len(pins) == 1, f"{path.name}: cannot read a version from {line!r}"
            packages[name] = Version(pins[0].version)
    return packages


def colab_markers() -> dict[str, str]:
    """Environment-marker values of Colab's runtime: its Python (from ``os-info.txt``) on x86-64 Linux."""
    found = re.search(r"^Python (\d+)\.(\d+)\.(\d+)\s*$", (COLAB / "os-info.txt").read_text(encoding="utf-8"), re.M)
    assert found, "tests/data/colab/os-info.txt names no Python version"
    major, minor, micro = found.groups()
    return {"python_version": f"{major}.{minor}", "python_full_version": f"{major}.{minor}.{micro}",
            "implementation_name": "cpython", "platform_python_implementation": "CPython",
            "implementation_version": f"{major}.{minor}.{micro}", "os_name": "posix", "sys_platform": "linux",
            "platform_system": "Linux", "platform_machine": "x86_64"}


def replaced_in_colab(requirements, colab, markers, requires=importlib.metadata.requires) -> list[str]:
    """What pip would replace in Colab when installing something with these ``requirements``.

    Walks the requirements (strings, as in ``pyproject.toml``) whose markers hold in ``markers``: one that
    names a package in ``colab`` (from :func:`read_freeze`) must be satisfied by Colab's version; a
    package Colab lacks is new, and its own requirements (``requires(name)``, by default this
    environment's installed metadata) are walked too. Returns one sentence per problem; empty when pip
    would only add packages. Example: ``replaced_in_colab(["ipywidgets>=8"], colab, markers)``.
    """
    problems, seen = [], set()
    todo = [("lmtheory", text, ()) for text in requirements]
    while todo:
        wanted_by, text, extras = todo.pop()
        requirement = Requirement(text)
        if requirement.marker and not any(requirement.marker.evaluate({**markers, "extra": e}) for e in extras or ("",)):
            continue
        name = canonicalize_name(requirement.name)
        if name in colab:
            version = colab[name]
            if version is None:
                problems.append(f"{wanted_by} needs {requirement}; Colab installs {name} from a URL without a "
                                f"version, so whether pip keeps it cannot be read")
            elif not requirement.specifier.contains(version, prereleases=True):
                problems.append(f"{wanted_by} needs {requirement}; Colab has {name} {version}, which pip would replace")
            elif requirement.extras:
                problems.append(f"{wanted_by} needs {requirement}: the requirements of extras of a package Colab "
                                f"has are not checked here")
            continue
        if (name, tuple(sorted(requirement.extras))) in seen:
            continue
        seen.add((name, tuple(sorted(requirement.extras))))
        try:
            own = requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            problems.append(f"{wanted_by} needs {requirement}, which Colab lacks and this environment has not "
                            f"installed, so its own requirements cannot be read")
            continue
        todo.extend((name, sub, ("", *sorted(requirement.extras))) for sub in own)
    return sorted(problems)


def lmtheory_requirements() -> list[str]:
    """``[project] dependencies`` of pyproject.toml."""
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]


@pytest.mark.parametrize("freeze", FREEZES)
def test_installing_lmtheory_in_colab_replaces_nothing_colab_has(freeze):
    colab = read_freeze(COLAB / freeze)
    assert len(colab) > 300 and colab.get("torch"), f"{freeze}: read {len(colab)} packages, torch {colab.get('torch')}"
    problems = replaced_in_colab(lmtheory_requirements(), colab, colab_markers())
    assert not problems, (f"installing lmtheory in Colab ({freeze}) would replace what Colab has; lower these "
                          f"bounds in pyproject.toml and requirements.txt:\n" + "\n".join(problems))


def test_the_colab_check_sees_what_pip_would_replace():
    """The check itself: a bound above Colab's version, directly or through a newly installed package
    (under a marker that holds on Colab's Python), is reported; one under a marker that does not is not."""
    colab = {"ipywidgets": Version("7.7.1"), "numpy": Version("2.1.3"), "torch": Version("2.11.0+cu128")}
    new = {"newpkg": ['numpy>=3; python_version >= "3.13"', 'numpy>=9; python_version < "3.13"', "torch>=2.11"]}
    problems = replaced_in_colab(["ipywidgets>=8", "torch>=2.0", "newpkg"], colab, colab_markers(), new.get)
    assert problems == ["lmtheory needs ipywidgets>=8; Colab has ipywidgets 7.7.1, which pip would replace",
                        'newpkg needs numpy>=3; python_version >= "3.13"; Colab has numpy 2.1.3, which pip would '
                        "replace"], problems


# Colab's ipywidgets and Colab's Python ---------------------------------------------------------

def pypi_folder(*specs: str) -> Path:
    """A folder holding these exact wheels from PyPI (``pip install --no-deps --target``), made once and kept
    in the lmtheory cache; put it on ``PYTHONPATH`` to use them. Example: ``pypi_folder("vermin==1.9.2")``."""
    from lmtheory.offline import cache_dir

    folder = cache_dir() / "pypi-for-tests" / "_".join(specs).replace("==", "-")
    if not folder.is_dir():
        folder.parent.mkdir(exist_ok=True)
        work = Path(tempfile.mkdtemp(dir=folder.parent))  # filled, then renamed: never seen half made
        result = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--only-binary",
                                 ":all:", "--target", str(work), *specs], capture_output=True, text=True)
        if result.returncode != 0:
            shutil.rmtree(work, ignore_errors=True)
            pytest.fail(f"pip could not fetch {specs} from PyPI:\n{result.stderr[-3000:]}")
        try:
            work.rename(folder)
        except OSError:  # another run made it first
            shutil.rmtree(work, ignore_errors=True)
    return folder


@pytest.mark.pypi
def test_the_widget_tests_pass_under_colabs_ipywidgets():
    """tests/test_widgets.py again, in a fresh process whose ipywidgets stack (ipywidgets, its notebook
    and JupyterLab extensions, ipython_genutils) is Colab's, at the versions of Colab's CPU freeze."""
    colab = read_freeze(COLAB / "pip-freeze.txt")
    stack = [f"{name}=={colab[canonicalize_name(name)]}"
             for name in ("ipywidgets", "widgetsnbextension", "jupyterlab-widgets", "ipython-genutils")]
    folder = pypi_folder(*stack)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")]))
    script = (f"import sys, ipywidgets, pytest; assert ipywidgets.__version__ == {str(colab['ipywidgets'])!r}, "
              f"ipywidgets.__file__; sys.exit(pytest.main(['-q', '-p', 'no:cacheprovider', 'tests/test_widgets.py']))")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"under {stack}:\n{result.stdout[-4000:]}\n{result.stderr[-3000:]}"


def _python_files() -> list[Path]:
    return sorted([*(ROOT / "lmtheory").rglob("*.py"), *(ROOT / "tools").glob("*.py")])


@pytest.mark.pypi
def test_lmtheory_and_tools_run_on_python_3_10_to_3_13():
    """vermin finds the oldest Python each file needs (at most 3.10, pyproject's requires-python), and
    no file imports a standard-library module that Colab's Python (3.13) no longer has (stdlib-list's
    list of 3.13; this Python's own list tells standard modules from the rest)."""
    folder = pypi_folder("vermin==1.9.2", "stdlib-list==0.12.0")
    # --exclude long: vermin reads torch's Tensor.long() as Python 2's long builtin
    command = [sys.executable, "-c", "import sys; from vermin import main; sys.exit(main())", "--no-tips",
               "--violations", "--eval-annotations", "--exclude", "long", f"-t={OLDEST_PYTHON}-",
               *map(str, _python_files())]
    result = subprocess.run(command, env=dict(os.environ, PYTHONPATH=str(folder)), capture_output=True, text=True)
    assert result.returncode == 0, f"code that needs a Python newer than {OLDEST_PYTHON}:\n{result.stdout}{result.stderr}"

    sys.path.insert(0, str(folder))
    try:
        from stdlib_list import stdlib_list
    finally:
        sys.path.remove(str(folder))
    colab_python = colab_markers()["python_version"]
    in_colab = set(stdlib_list(colab_python))
    gone = []
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else [])
            gone += [f"{path.relative_to(ROOT)}: import {n}" for n in names
                     if n.split(".")[0] in sys.stdlib_module_names and n.split(".")[0] not in in_colab]
    assert not gone, f"standard modules that Python {colab_python} removed:\n" + "\n".join(gone)
