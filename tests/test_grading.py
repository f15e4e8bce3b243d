"""nbgrader and otter-grader, for real, on chapters written by tools/grading.py.

The real nbgrader and otter-grader from PyPI each live in a virtual environment of their own, made
once and kept under ``$LMTHEORY_CACHE/graders`` (default ``~/.cache/lmtheory/graders``): the
environment's own packages come first and this test environment's site-packages (torch, numpy,
lmtheory...) after them, through a ``.pth`` file, so pip installs only what the grader adds (about
10 s each, once), and this environment is never changed. The notebooks run in a kernel of that
environment, so they import lmtheory.

nbgrader: chapters 3 and 10 (synthetic worlds, seconds each) go through ``generate_assignment`` and
``autograde`` for two submissions: the instructor's source (every check passes: full marks) and the
released student copy untouched (every check fails: zero, and autograde still finishes); nbgrader's
own validator checks the cell metadata. otter: chapter 10 goes through ``otter assign`` and
``otter run`` (the local grading, no Docker), with the same two submissions.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import nbformat
import pytest

from lmtheory.atomic import one_at_a_time
from lmtheory.offline import cache_dir

ROOT = Path(__file__).resolve().parent.parent
NBGRADER = "nbgrader==0.9.6"
OTTER = "otter-grader==7.0.0"
NBGRADER_CHAPTERS = ["ch03_cross_entropy", "ch10_limits"]
OTTER_CHAPTER = "ch10_limits"


sys.path.insert(0, str(ROOT / "tools"))
import grading  # noqa: E402  (tools/grading.py)


def grader_python(requirement: str) -> Path:
    """The Python of a virtual environment with ``requirement`` installed on top of this one's
    packages, made on first use under ``$LMTHEORY_CACHE/graders`` and reused afterwards."""
    base = sysconfig.get_paths()["purelib"]
    key = hashlib.sha256(f"{requirement} {sys.version} {base}".encode()).hexdigest()[:12]
    env = cache_dir() / "graders" / f"{requirement.split('==')[0]}-{key}"
    python, done = env / "bin" / "python", env / "installed"
    with one_at_a_time(env):  # one install at a time; the others wait and reuse it
        if not done.exists():
            shutil.rmtree(env, ignore_errors=True)
            subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
            site = Path(sysconfig.get_paths(vars={"base": str(env), "platbase": str(env)})["purelib"])
            # after its own packages, the environment sees this one's (and runs this one's pip)
            (site / "zz_lmtheory_base.pth").write_text(f"import site; site.addsitedir({base!r})\n", encoding="utf-8")
            result = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                                     requirement], capture_output=True, text=True)
            if result.returncode != 0:
                pytest.fail(f"could not install {requirement} from PyPI into {env}:\n{result.stderr[-3000:]}")
            done.write_text(requirement, encoding="utf-8")
    return python


def grader_env(python: Path, home: Path) -> dict[str, str]:
    """Environment variables for running a grader: Jupyter's folders under ``home`` (no user
    configuration read), and a ``python3`` kernel that is the grader environment's Python."""
    kernel = home / "data" / "kernels" / "python3"
    kernel.mkdir(parents=True, exist_ok=True)
    (kernel / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3", "language": "python"}), encoding="utf-8")
    return {**os.environ, "PATH": f"{python.parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "JUPYTER_PATH": str(home / "data"), "JUPYTER_DATA_DIR": str(home / "data"),
            "JUPYTER_CONFIG_DIR": str(home / "config"), "LMTHEORY_QUICK": "1"}


def run(args: list, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run a command; fail the test with its output if it exits with an error."""
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True)
    command = " ".join(str(a) for a in args)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result


def chapter(stem: str) -> Path:
    return ROOT / "book" / f"{stem}.ipynb"


# -- the sources, without the graders ---------------------------------------------------------------


@pytest.mark.parametrize("stem", NBGRADER_CHAPTERS)
def test_nbgrader_source_marks_every_code_exercise(stem):
    from lmtheory.exercises import bank

    nb, exercises = grading.nbgrader_notebook(nbformat.read(chapter(stem), as_version=4), stem)
    marked = {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if "nbgrader" in c.metadata}
    assert sorted(marked) == sorted(f"{ex.label}-{part}" for ex in exercises for part in ("answer", "check"))
    for ex in exercises:
        answer = marked[f"{ex.label}-answer"].metadata["nbgrader"]
        check = marked[f"{ex.label}-check"].metadata["nbgrader"]
        assert answer["solution"] and not answer["grade"] and not answer["locked"]
        assert check["grade"] and check["locked"] and not check["solution"]
        assert check["points"] == bank()[ex.label].points
        assert f'grade("{ex.label}"' in marked[f"{ex.label}-check"].source
    assert not any("{solution}" in c.source for c in nb.cells if c.cell_type == "markdown")


def test_points_come_from_the_bank():
    """Chapter 3's two-part exercise is worth 2 points in the bank, and so in both sources."""
    nb = nbformat.read(chapter("ch03_cross_entropy"), as_version=4)
    points = {ex.label: ex.points for ex in grading.code_exercises(nb)}
    assert points["ch3-ex-pinsker-sharp"] == 2 and points["ch3-ex-uniform"] == 1
    otter, _ = grading.otter_notebook(nb, "ch03", "ch03")
    assert any(c.source.startswith("# BEGIN QUESTION\nname: ch3-ex-pinsker-sharp\npoints: 2\n") for c in otter.cells)


def test_otter_test_calls_the_check_with_the_notebook_names():
    source = ('from lmtheory.exercises import grade\n\ngrade("ch4-ex-mixed-slope", (slope_small, slope_large),\n'
              '      gap=lambda eps: gap_along(u_mixed, eps))\nprint(len(slope_small))')
    test = grading.otter_test("ch4-ex-mixed-slope", source)
    assert test.splitlines()[0] == "def test_ch4_ex_mixed_slope(gap_along, slope_large, slope_small, u_mixed):"
    assert "print" not in test
    compile(test, "<otter test>", "exec")
    with pytest.raises(ValueError, match="no statement grade\\('ch4-ex-other'"):
        grading.otter_test("ch4-ex-other", source)


def test_broken_conventions_are_refused():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("```{exercise}\n:label: ch3-ex-uniform\n\nDo it.\n```"),
        nbformat.v4.new_code_cell("# BEGIN SOLUTION\neps_uniform = 1.0\n# END SOLUTION"),
        nbformat.v4.new_code_cell("print(eps_uniform)")])
    with pytest.raises(ValueError, match=r"ch9.ipynb, cell 1: the code cell after the solution of ch3-ex-uniform "
                                         r"must call grade\('ch3-ex-uniform', \.\.\.\) once"):
        grading.code_exercises(nb, "ch9.ipynb")
    nb.cells[2].source = 'grade("ch3-ex-uniform", eps_uniform, world=world)'
    nb.cells[0].source = nb.cells[0].source.replace("ch3-ex-uniform", "ch3-ex-unknown")
    nb.cells[2].source = nb.cells[2].source.replace("ch3-ex-uniform", "ch3-ex-unknown")
    with pytest.raises(ValueError, match="ch3-ex-unknown is not registered"):
        grading.code_exercises(nb, "ch9.ipynb")


def test_chapters_are_named_by_their_start():
    assert [p.stem for p in grading.chapters(["ch03", "ch10_limits"])] == ["ch03_cross_entropy", "ch10_limits"]
    with pytest.raises(ValueError, match="'ch0' names 9 chapters"):
        grading.chapters(["ch0"])


# -- the real graders ----------------------------------------------------------------------------------

_VALIDATE_AND_SCORE = """
import json, sys, nbformat
from nbgrader.api import Gradebook
from nbgrader.nbgraderformat import MetadataValidator
assignment, source = sys.argv[1:]
MetadataValidator().validate_nb(nbformat.read(source, as_version=4))  # raises on invalid metadata
notebook = source.rsplit("/", 1)[-1].removesuffix(".ipynb")
with Gradebook("sqlite:///gradebook.db") as gb:
    print(json.dumps({student: {g.name: [g.score, g.max_score]
                                for g in gb.find_submission_notebook(notebook, assignment, student).grades}
                      for student in ("reference", "untouched")}))
"""


def test_nbgrader_end_to_end(tmp_path):
    """generate_assignment, then autograde the instructor's source (full marks on every check cell)
    and the released copy untouched (zero on every check cell), on chapters 3 and 10; the source's
    cell metadata passes nbgrader's validator."""
    python = grader_python(NBGRADER)
    env = grader_env(python, tmp_path / "jupyter")
    course = tmp_path / "course"
    run([sys.executable, ROOT / "tools" / "grading.py", "nbgrader", course, *NBGRADER_CHAPTERS], ROOT, env)
    for stem in NBGRADER_CHAPTERS:
        source = course / "source" / stem / f"{stem}.ipynb"
        run([python, "-m", "nbgrader", "generate_assignment", stem], course, env)
        release = course / "release" / stem / source.name
        for student, submission in (("reference", source), ("untouched", release)):
            (course / "submitted" / student / stem).mkdir(parents=True)
            shutil.copy(submission, course / "submitted" / student / stem / source.name)
        run([python, "-m", "nbgrader", "autograde", stem, "--create"], course, env)
        scores = json.loads(run([python, "-c", _VALIDATE_AND_SCORE, stem, source], course, env).stdout)
        exercises = grading.code_exercises(nbformat.read(chapter(stem), as_version=4), stem)
        full = {f"{ex.label}-check": [ex.points, ex.points] for ex in exercises}
        assert scores["reference"] == full, f"{stem}: the reference solutions lost points: {scores['reference']}"
        assert scores["untouched"] == {k: [0.0, p] for k, (_, p) in full.items()}, (
            f"{stem}: the untouched copy earned points: {scores['untouched']}")
        autograded = nbformat.read(course / "autograded" / "untouched" / stem / source.name, as_version=4)
        errors = [o.ename for c in autograded.cells if c.cell_type == "code" for o in c.get("outputs", [])
                  if o.output_type == "error"]
        assert errors and errors[0] == "NotImplementedError", f"{stem}: the untouched copy failed with {errors[:3]}"
        print(f"nbgrader {stem}: reference {sum(s for s, _ in scores['reference'].values()):g}, untouched "
              f"{sum(s for s, _ in scores['untouched'].values()):g}, of {sum(p for _, p in full.values()):g} points")


def test_otter_end_to_end(tmp_path):
    """otter assign on chapter 10, then otter run (local grading, no Docker): the reference solution
    gets every point, the student notebook untouched none."""
    python = grader_python(OTTER)
    env = grader_env(python, tmp_path / "jupyter")
    source = tmp_path / "source"
    run([sys.executable, ROOT / "tools" / "grading.py", "otter", source, OTTER_CHAPTER], ROOT, env)
    dist = tmp_path / "dist"
    run([python, "-m", "otter", "assign", "-v", source / f"{OTTER_CHAPTER}.ipynb", dist], source, env)
    autograder, = (dist / "autograder").glob("*.zip")
    exercises = grading.code_exercises(nbformat.read(chapter(OTTER_CHAPTER), as_version=4), OTTER_CHAPTER)
    total = sum(ex.points for ex in exercises)
    for student, submission, expected in (("reference", dist / "autograder" / f"{OTTER_CHAPTER}.ipynb", total),
                                          ("untouched", dist / "student" / f"{OTTER_CHAPTER}.ipynb", 0)):
        out = tmp_path / student
        out.mkdir()
        run([python, "-m", "otter", "run", "-a", autograder, "-o", out, "--no-logo", submission], tmp_path, env)
        results = json.loads((out / "results.json").read_text(encoding="utf-8"))
        # Gradescope's format: one entry per question with its score, and a summary without one
        by_question = {t["name"]: t["score"] for t in results["tests"] if "score" in t}
        assert sorted(by_question) == sorted(ex.label for ex in exercises), by_question
        score = sum(by_question.values())
        assert score == expected, f"{student}: {score:g} of {total:g} points: {by_question}"
        print(f"otter {OTTER_CHAPTER}: {student} {score:g} of {total:g} points")
