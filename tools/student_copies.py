"""Student copies of every chapter, and the student edition of the site.

    python tools/student_copies.py DEST                    student copy of every chapter into DEST/
    python tools/student_copies.py --site OUT EXECUTED     the student edition's book folder, for `make book-student`

A student copy is the chapter with every region between ``# BEGIN SOLUTION`` and
``# END SOLUTION`` replaced by one line (indented like the region) that raises
``NotImplementedError("exercise <label>: ...")``, every ``{solution}`` block removed from the
markdown, the check cells kept, and no outputs. The label is that of the nearest ``{exercise}``
above the cell, so a student who runs all cells stops at the first exercise not done yet, and a
grader tells "not attempted" (NotImplementedError) from "wrong" (lmtheory.exercises.ExerciseError).

The student edition of the site is built from the chapters as ``make book`` executed them (folder
EXECUTED, ``_build/jupyter_execute/book``), each turned into its student copy with the outputs kept
up to the exercises, so the figures and numbers are on the pages while no solution is: neither the
code between the markers, nor a worked solution, nor the output of a check cell (which prints the
expected value). It is built without executing anything again.

The sources for nbgrader and otter-grader are written by ``tools/grading.py``, from the same cells.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import sys
from pathlib import Path

import nbformat
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from setup_cell import ROOT, notebooks  # noqa: E402
from strip_outputs import strip  # noqa: E402

BEGIN, END = "# BEGIN SOLUTION", "# END SOLUTION"
_EXERCISE_LABEL = re.compile(r"\{exercise\}[^\n]*\n(?:\s*:[\w-]+:[^\n]*\n)*?\s*:label:\s*(\S+)")
_FENCE = re.compile(r"^(\s*)(`{3,}|:{3,})\{solution\}")


def stub_solutions(source: str, label: str, where: str = "cell") -> tuple[str, int]:
    """``source`` with each solution region replaced by a ``raise NotImplementedError`` line.

    Returns ``(new source, number of regions)``. Raises ValueError, naming ``where``, for a region
    that is nested or not closed, an END without a BEGIN, or a marker written another way
    (``### BEGIN SOLUTION``).
    """
    out, regions, inside = [], 0, False
    for line in source.splitlines():
        marker = line.strip()
        if marker not in (BEGIN, END) and marker.lstrip("#").strip() in (BEGIN[2:], END[2:]):
            raise ValueError(f"{where}: write the marker {marker!r} as {BEGIN!r} or {END!r} (one hash, one space), "
                             f"the form nbgrader and otter-grader both read")
        if marker == BEGIN:
            if inside:
                raise ValueError(f"{where}: {BEGIN} inside another solution region")
            inside, regions = True, regions + 1
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f'{indent}raise NotImplementedError("exercise {label}: replace this line with your solution")')
        elif marker == END:
            if not inside:
                raise ValueError(f"{where}: {END} without a {BEGIN} before it")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{where}: {BEGIN} is never closed by {END}")
    return "\n".join(out), regions


def remove_solution_blocks(markdown: str, where: str = "cell") -> tuple[str, int]:
    """``markdown`` without its ``{solution}`` directives (backtick or colon fences).

    Returns ``(new text, number of blocks removed)``; raises ValueError for an unclosed block or for
    gated solutions (``{solution-start}``), which the student copies do not support.
    """
    if "{solution-start}" in markdown:
        raise ValueError(f"{where}: gated solutions ({{solution-start}}) are not supported; use a {{solution}} block")
    out, removed, closing = [], 0, None
    for line in markdown.splitlines():
        if closing is None:
            match = _FENCE.match(line)
            if match:
                closing, removed = match.group(2), removed + 1
            else:
                out.append(line)
        elif line.strip() == closing:
            closing = None
    if closing is not None:
        raise ValueError(f"{where}: a {{solution}} block is never closed by {closing}")
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip("\n"), removed


def labelled_cells(nb):
    """``(index, cell, label)`` for every cell of ``nb``: ``label`` is the last ``{exercise}`` label in
    the markdown cells up to this one (included), or None before the first exercise."""
    label = None
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            labels = _EXERCISE_LABEL.findall(cell.source)
            label = labels[-1] if labels else label
        yield i, cell, label


def student_notebook(nb, name: str = "notebook", *, keep_outputs: bool = False):
    """A student copy of ``nb`` (not modified): stubs for solutions, no solution blocks, no outputs.

    With ``keep_outputs`` (for an executed ``nb``), the outputs of the code cells before the first
    exercise are kept and those from the first exercise on are cleared: they belong to solutions
    and to check cells, which print the expected answers.

    Returns ``(copy, counts)`` with counts ``{"exercises", "stubs", "solutions removed"}``.
    """
    nb = copy.deepcopy(nb)
    cells = []
    counts = {"exercises": 0, "stubs": 0, "solutions removed": 0}
    for i, cell, label in labelled_cells(nb):
        where = f"{name}, cell {i}"
        if cell.cell_type == "markdown":
            counts["exercises"] += len(_EXERCISE_LABEL.findall(cell.source))
            cell.source, removed = remove_solution_blocks(cell.source, where)
            counts["solutions removed"] += removed
            if not cell.source.strip():
                continue
        elif cell.cell_type == "code" and BEGIN in cell.source:
            if label is None:
                raise ValueError(f"{where}: a solution region comes before any {{exercise}} with a :label:")
            cell.source, regions = stub_solutions(cell.source, label, where)
            counts["stubs"] += regions
            tags = [t for t in cell.metadata.get("tags", []) if t not in ("hide-input", "remove-input")]
            if tags:
                cell.metadata["tags"] = tags
            else:
                cell.metadata.pop("tags", None)
            cell.metadata.pop("mystnb", None)  # the site's "Show solution" prompts (tools/solution_cells.py)
        cells.append(cell)
    nb.cells = cells
    if keep_outputs:
        first = next((i for i, c in enumerate(cells) if c.cell_type == "markdown" and _EXERCISE_LABEL.search(c.source)),
                     len(cells))
        for cell in cells[first:]:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
    else:
        strip(nb)
    return nb, counts


def write_student_copies(dest: Path, paths: list[Path] | None = None) -> dict[str, dict]:
    """Write the student copy of every chapter (default: every notebook under book/) into ``dest``."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    report = {}
    for path in paths or notebooks():
        nb, counts = student_notebook(nbformat.read(path, as_version=4), path.name)
        nbformat.write(nb, dest / path.name)
        report[path.name] = counts
    return report


STUDENT_REPORT = """# Execution report

This is the student edition of the book. Its pages show the outputs of the instructors' build of
the site (`make book`), without the exercises' solutions and checks, and were not executed again:
the run time of each chapter is on the execution report of that build and on the page
{doc}`instructors`.
"""


def write_student_site(out: Path, executed: Path) -> Path:
    """Write the student edition's book folder into ``out`` (replaced if it exists).

    ``executed`` holds the chapters as the book build executed them (``_build/jupyter_execute/book``
    after ``make book``). Each becomes its student copy with outputs kept before the exercises
    (:func:`student_notebook`); the other pages, ``book/_static`` and ``_toc.yml`` are copied, the
    execution report is replaced by a note, and ``_config.yml`` has solutions hidden and execution
    off. Returns the path of that ``_config.yml``; build with ``jupyter-book build OUT``.
    """
    out, executed = Path(out), Path(executed)
    chapters = notebooks()
    missing = [path.name for path in chapters if not (executed / path.name).is_file()]
    if missing:
        raise FileNotFoundError(f"{executed} has no executed copy of {', '.join(missing)}: build the book first "
                                f"(make book writes them to _build/jupyter_execute/book)")
    if out.exists():
        shutil.rmtree(out)
    (out / "book").mkdir(parents=True)
    shutil.copy(ROOT / "_toc.yml", out / "_toc.yml")
    for path in (ROOT / "book").iterdir():
        if path.is_file() and path.suffix != ".ipynb":
            shutil.copy(path, out / "book" / path.name)
    shutil.copytree(ROOT / "book" / "_static", out / "book" / "_static")  # the site's CSS, JavaScript, favicon
    (out / "book" / "execution_report.md").write_text(STUDENT_REPORT, encoding="utf-8")
    for path in chapters:
        nb, _ = student_notebook(nbformat.read(executed / path.name, as_version=4), path.name, keep_outputs=True)
        restore_glue(nb, executed / f"{path.stem}.glue.json")
        nbformat.write(nb, out / "book" / path.name)
    return write_student_config(out / "_config.yml")


def restore_glue(nb, glue_file: Path) -> None:
    """Put back the values a chapter glued (``lmtheory.glue``) as outputs of its first code cell.

    The book build moves glued values out of the executed notebook into ``<chapter>.glue.json``; the
    student edition, built without executing, reads them from the notebook, so its prose keeps its
    numbers. A chapter without glued values has no such file and is left as it is.
    """
    if not glue_file.is_file():
        return
    first = next(cell for cell in nb.cells if cell.cell_type == "code")
    for key, output in json.loads(glue_file.read_text(encoding="utf-8")).items():
        prefix = output["metadata"]["scrapbook"]["mime_prefix"]
        first.outputs.append(nbformat.v4.new_output(
            "display_data", data={prefix + mime: value for mime, value in output["data"].items()},
            metadata=output["metadata"]))


def write_student_config(out: Path, source: Path = ROOT / "_config.yml") -> Path:
    """Write ``source`` (the book's _config.yml) to ``out`` with sphinx-exercise's ``hide_solutions`` on
    and notebook execution off (the student edition shows the outputs saved in its notebooks)."""
    config = yaml.safe_load(Path(source).read_text(encoding="utf-8"))
    sphinx = config.setdefault("sphinx", {})
    sphinx.setdefault("config", {})["hide_solutions"] = True
    # jupyter-book resolves local extensions relative to the config file, which now lives elsewhere
    for name, folder in (sphinx.get("local_extensions") or {}).items():
        sphinx["local_extensions"][name] = str((Path(source).parent / folder).resolve())
    config.setdefault("execute", {})["execute_notebooks"] = "off"
    config["title"] = f"{config.get('title', 'lmtheory')} (solutions hidden)"
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("# Written by tools/student_copies.py --config from _config.yml: do not edit.\n"
                   + yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return out


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "--site":
        print(f"wrote the student edition's book folder: {write_student_site(Path(argv[1]), Path(argv[2])).parent}")
        return 0
    if len(argv) != 1 or argv[0].startswith("-"):
        print(__doc__, file=sys.stderr)
        return 2
    dest = Path(argv[0])
    for name, counts in write_student_copies(dest).items():
        print(f"{dest / name}: {counts['exercises']} exercises, {counts['stubs']} code stubs, "
              f"{counts['solutions removed']} solutions removed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
