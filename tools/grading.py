"""Sources for nbgrader and otter-grader, written from the chapters with nothing to mark by hand.

    python tools/grading.py nbgrader COURSE [CHAPTER ...]   an nbgrader course: COURSE/source/<chapter>/<chapter>.ipynb
    python tools/grading.py otter DEST [CHAPTER ...]        otter-assign notebooks: DEST/<chapter>.ipynb

A CHAPTER is a notebook's name or its start (``ch03`` or ``ch03_cross_entropy``); by default every
chapter under book/. ``make nbgrader`` and ``make otter`` call this.

Both come from the convention of lmtheory/exercises.py: each code exercise is a *solution cell*
(its solution between ``# BEGIN SOLUTION`` and ``# END SOLUTION``) followed by a *check cell* that
calls ``grade("<label>", ...)``, and the exercise bank gives each label its ``points``.

* nbgrader: the solution cell becomes an autograded answer (``solution: true``, grade id
  ``<label>-answer``), the check cell autograder tests (``grade: true``, ``locked: true``, the bank's
  points, grade id ``<label>-check``), in nbgrader's cell metadata schema (version 3). The worked
  solutions (``{solution}`` blocks) are removed from the markdown. ``COURSE/nbgrader_config.py`` is
  written when missing: it lets a cell run for up to an hour (nbgrader's default stops a cell after
  30 s; the real-model chapters have cells that run for minutes on a CPU).
* otter-grader: each code exercise becomes a question named by its label and worth the bank's
  points, with the solution cell as its solution and one exception-based test that calls the same
  ``grade`` as the check cell; the check cell stays in the notebook, after the question, so
  students see the same feedback as in the book. The notebook needs no ``otter`` import: the
  assignment turns off otter's init, check and export cells.
"""

from __future__ import annotations

import ast
import builtins
import copy
import re
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import nbformat
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from setup_cell import notebooks  # noqa: E402
from student_copies import BEGIN, labelled_cells, remove_solution_blocks, stub_solutions  # noqa: E402

#: The version of nbgrader's cell metadata schema the sources are written in (nbgrader 0.6 and later).
NBGRADER_SCHEMA = 3
GRADE_CALL = re.compile(r"""\bgrade\(\s*["']([^"']+)["']""")
NBGRADER_CONFIG = '''\
# nbgrader's settings for the chapters of this book (written by tools/grading.py when missing).
c = get_config()
# A real-model chapter runs cells for minutes on a CPU; nbgrader's default stops a cell after 30 s.
c.Execute.timeout = 3600
'''


@dataclass(frozen=True)
class CodeExercise:
    """One code exercise of a chapter: its label, the indices of its solution and check cells, and
    the points the exercise bank gives it."""

    label: str
    solution: int
    check: int
    points: float


def code_exercises(nb, name: str = "notebook") -> list[CodeExercise]:
    """The code exercises of ``nb``, in order, checked against the convention of lmtheory/exercises.py.

    Raises ValueError, naming ``name`` and the cell, for markers that are broken, a solution before any
    ``{exercise}``, a solution whose next code cell does not call ``grade(<label>, ...)`` exactly once,
    a label used twice, or a label the exercise bank does not know.
    """
    from lmtheory.exercises import bank

    known = bank()
    found: list[CodeExercise] = []
    for i, cell, label in labelled_cells(nb):
        if cell.cell_type != "code" or BEGIN not in cell.source:
            continue
        where = f"{name}, cell {i}"
        if label is None:
            raise ValueError(f"{where}: a solution region comes before any {{exercise}} with a :label:")
        stub_solutions(cell.source, label, where)  # raises on broken markers
        check = next((k for k in range(i + 1, len(nb.cells)) if nb.cells[k].cell_type == "code"), None)
        if check is None or GRADE_CALL.findall(nb.cells[check].source) != [label]:
            raise ValueError(f"{where}: the code cell after the solution of {label} must call grade({label!r}, ...) "
                             f"once (the convention in lmtheory/exercises.py)")
        if any(ex.label == label for ex in found):
            raise ValueError(f"{where}: a second solution cell for {label}")
        if label not in known:
            raise ValueError(f"{where}: {label} is not registered in lmtheory/exercise_bank")
        found.append(CodeExercise(label, i, check, known[label].points))
    return found


def _without_worked_solutions(nb, name: str) -> list:
    """The cells of ``nb`` with the ``{solution}`` blocks removed from the markdown (cells left
    empty are dropped); the other cells are the same objects."""
    cells = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            cell.source, _ = remove_solution_blocks(cell.source, f"{name}, cell {i}")
            if not cell.source.strip():
                continue
        cells.append(cell)
    return cells


def nbgrader_metadata(grade_id: str, *, solution: bool = False, grade: bool = False, locked: bool = False,
                      points: float | None = None) -> dict:
    """A cell's ``nbgrader`` metadata in schema version 3; ``points`` only for a graded cell."""
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": NBGRADER_SCHEMA,
            "solution": solution, "task": False}
    if grade:
        meta["points"] = points
    return meta


def nbgrader_notebook(nb, name: str = "notebook"):
    """The nbgrader source of chapter ``nb`` (not modified). Returns ``(copy, code exercises)``."""
    nb = copy.deepcopy(nb)
    exercises = code_exercises(nb, name)
    for ex in exercises:
        nb.cells[ex.solution].metadata["nbgrader"] = nbgrader_metadata(f"{ex.label}-answer", solution=True)
        nb.cells[ex.check].metadata["nbgrader"] = nbgrader_metadata(f"{ex.label}-check", grade=True, locked=True,
                                                                    points=ex.points)
    nb.cells = _without_worked_solutions(nb, name)
    return nb, exercises


def _grade_statement(source: str, label: str) -> tuple[str, list[str]]:
    """The statement of a check cell that calls ``grade(label, ...)``, and the notebook names it reads
    (sorted; not builtins, ``grade`` itself or the parameters of lambdas inside it)."""
    for node in ast.parse(source).body:
        call = node.value if isinstance(node, ast.Expr) else None
        if (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "grade"
                and call.args and isinstance(call.args[0], ast.Constant) and call.args[0].value == label):
            local = {arg.arg for lam in ast.walk(call) if isinstance(lam, ast.Lambda) for arg in lam.args.args}
            names = {n.id for n in ast.walk(call) if isinstance(n, ast.Name)}
            return ast.get_source_segment(source, node), sorted(names - local - set(dir(builtins)) - {"grade"})
    raise ValueError(f"no statement grade({label!r}, ...) at the top level of the check cell")


def otter_test(label: str, check_source: str) -> str:
    """An otter-grader exception-based test for exercise ``label``: a function that takes the notebook
    names the check cell's ``grade`` call reads (otter passes them from the submission) and makes
    that call, so it fails exactly when the check cell raises."""
    statement, names = _grade_statement(check_source, label)
    body = textwrap.indent(f"from lmtheory.exercises import grade\n\n{statement}", "    ")
    return f"def test_{label.replace('-', '_')}({', '.join(names)}):\n{body}"


def _raw(text: str):
    return nbformat.v4.new_raw_cell(text)


def otter_notebook(nb, name: str, assignment: str):
    """The otter-assign notebook of chapter ``nb`` (not modified), for the assignment ``assignment``.
    Returns ``(notebook, code exercises)``."""
    nb = copy.deepcopy(nb)
    exercises = code_exercises(nb, name)
    config = {"name": assignment, "init_cell": False, "check_all_cell": False, "export_cell": False,
              "run_tests": False, "generate": True, "tests": {"files": False, "ok_format": False}}
    cells = {id(cell): [cell] for cell in nb.cells}
    for ex in exercises:
        question = {"name": ex.label, "points": ex.points, "check_cell": False}
        cells[id(nb.cells[ex.solution])] = [
            _raw("# BEGIN QUESTION\n" + yaml.safe_dump(question, sort_keys=False).strip()),
            _raw("# BEGIN SOLUTION"), nb.cells[ex.solution], _raw("# END SOLUTION"),
            _raw("# BEGIN TESTS"), nbformat.v4.new_code_cell(otter_test(ex.label, nb.cells[ex.check].source)),
            _raw("# END TESTS"), _raw("# END QUESTION")]
    nb.cells = [_raw("# ASSIGNMENT CONFIG\n" + yaml.safe_dump(config, sort_keys=False).strip())] + [
        new for cell in _without_worked_solutions(nb, name) for new in cells[id(cell)]]
    return nb, exercises


def chapters(names: list[str]) -> list[Path]:
    """The chapter notebooks named (by name or start of name, e.g. ``ch03``); every one if none."""
    every = notebooks()
    if not names:
        return every
    chosen = []
    for name in names:
        matches = [p for p in every if p.stem == name or p.stem.startswith(name)]
        if len(matches) != 1:
            raise ValueError(f"{name!r} names {len(matches)} chapters; the chapters are {[p.stem for p in every]}")
        chosen += matches
    return chosen


def write_nbgrader_course(course: Path, paths: list[Path]) -> dict[str, list[CodeExercise]]:
    """Write ``course/source/<chapter>/<chapter>.ipynb`` for each chapter, and ``course/nbgrader_config.py``
    when missing. Returns the code exercises of each chapter, by notebook name."""
    course = Path(course)
    report = {}
    for path in paths:
        nb, report[path.name] = nbgrader_notebook(nbformat.read(path, as_version=4), path.name)
        (course / "source" / path.stem).mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, course / "source" / path.stem / path.name)
    if not (course / "nbgrader_config.py").exists():
        (course / "nbgrader_config.py").write_text(NBGRADER_CONFIG, encoding="utf-8")
    return report


def write_otter_sources(dest: Path, paths: list[Path]) -> dict[str, list[CodeExercise]]:
    """Write the otter-assign notebook ``dest/<chapter>.ipynb`` of each chapter (its assignment is
    named after the chapter). Returns the code exercises of each chapter, by notebook name."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    report = {}
    for path in paths:
        nb, report[path.name] = otter_notebook(nbformat.read(path, as_version=4), path.name, path.stem)
        nbformat.write(nb, dest / path.name)
    return report


def main(argv: list[str]) -> int:
    writers = {"nbgrader": (write_nbgrader_course, "source/{stem}/{name}"), "otter": (write_otter_sources, "{name}")}
    if len(argv) < 2 or argv[0] not in writers or argv[1].startswith("-"):
        print(__doc__, file=sys.stderr)
        return 2
    write, where = writers[argv[0]]
    dest = Path(argv[1])
    try:
        paths = chapters(argv[2:])
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    for name, exercises in write(dest, paths).items():
        points = sum(ex.points for ex in exercises)
        print(f"{dest / where.format(stem=Path(name).stem, name=name)}: {len(exercises)} code exercises, "
              f"{points:g} points")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
