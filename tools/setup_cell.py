"""The first code cell of every chapter, from one template.

    python tools/setup_cell.py           write the template into every notebook under book/
    python tools/setup_cell.py --check   exit 1, listing the notebooks whose first code cell differs

A notebook's setup cell is its first code cell when that cell carries the tag ``setup`` or starts
with the template's first line; its source is replaced. Otherwise a new setup cell is inserted
before the first code cell (after the leading markdown), so no chapter code is ever overwritten.

In Colab the cell installs the release of lmtheory that matches this copy of the book: the git tag
``v<version>`` of the repository, never a branch, so a notebook saved to Drive keeps working as the
repository moves on. Both come from the one place each is written: the repository from
``repository.url`` in ``_config.yml`` (which the book's launch, repository and issue buttons use too),
the version from ``__version__`` in ``lmtheory/__init__.py`` (which pyproject.toml reads). A fork
edits the URL, runs this script, and tags its release (README, "Publishing a fork").
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
TAG = "setup"

CELL = """\
# Setup (every chapter): in Colab, install lmtheory; import, seed, report the device.
import sys
if "google.colab" in sys.modules:
    %pip install --quiet "{requirement}"
import lmtheory
device = lmtheory.setup(seed=0)"""


def repository_url(root: Path = ROOT) -> str:
    """``repository.url`` of ``root/_config.yml``, e.g. ``https://github.com/OWNER/REPO``."""
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    url = str((config.get("repository") or {}).get("url") or "").rstrip("/")
    if not url.startswith("https://"):
        raise ValueError(f"{root / '_config.yml'}: repository.url must be the repository's https URL, got {url!r}")
    return url


def package_version(root: Path = ROOT) -> str:
    """``__version__`` of ``root/lmtheory/__init__.py``, read without importing the package, e.g. ``0.1.0``."""
    path = root / "lmtheory" / "__init__.py"
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if (isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["__version__"]
                and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
            return node.value.value
    raise ValueError(f"{path}: no line __version__ = \"X.Y.Z\"")


def template(root: Path = ROOT) -> str:
    """The setup cell of the book at ``root``: it installs ``lmtheory @ git+<repository.url>@v<version>``."""
    return CELL.format(requirement=f"lmtheory @ git+{repository_url(root)}@v{package_version(root)}")


TEMPLATE = template()
FIRST_LINE = TEMPLATE.splitlines()[0]


def notebooks(root: Path = BOOK) -> list[Path]:
    """Every notebook under ``root`` (checkpoints excluded), sorted."""
    return sorted(p for p in root.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def first_code_cell(nb) -> int | None:
    """Index of the first code cell of ``nb``, or None."""
    return next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), None)


def has_template(nb) -> bool:
    """True when the first code cell of ``nb`` is exactly the template."""
    i = first_code_cell(nb)
    return i is not None and nb.cells[i].source == TEMPLATE


def apply_template(nb) -> bool:
    """Make the first code cell of ``nb`` the setup cell; return True if ``nb`` changed."""
    if has_template(nb):
        return False
    i = first_code_cell(nb)
    cell = nb.cells[i] if i is not None else None
    is_setup = cell is not None and (
        TAG in cell.metadata.get("tags", []) or cell.source.startswith(FIRST_LINE)
    )
    if is_setup:
        cell.source = TEMPLATE
    else:
        new = nbformat.v4.new_code_cell(TEMPLATE, metadata={"tags": [TAG]})
        if nb.nbformat_minor < 5:  # cell ids came with nbformat 4.5
            new.pop("id", None)
        nb.cells.insert(i if i is not None else len(nb.cells), new)
    return True


def stale(paths: list[Path]) -> list[Path]:
    """The notebooks among ``paths`` whose first code cell is not the template."""
    return [p for p in paths if not has_template(nbformat.read(p, as_version=4))]


def main(argv: list[str]) -> int:
    paths = notebooks()
    if "--check" in argv:
        bad = stale(paths)
        for p in bad:
            print(f"{p.relative_to(ROOT)}: first code cell is not the setup template "
                  f"(run: python tools/setup_cell.py)")
        return 1 if bad else 0
    for p in paths:
        nb = nbformat.read(p, as_version=4)
        if apply_template(nb):
            nbformat.write(nb, p)
            print(f"wrote the setup cell into {p.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
