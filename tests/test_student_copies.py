"""Student copies (tools/student_copies.py): no solution code survives, checks are kept, a copy runs
to its first exercise and stops there with NotImplementedError, and the student edition of the site
shows the outputs and no solution."""

from __future__ import annotations

import html
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from conftest import jupyter_book

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "book").glob("*.ipynb"))
BEGIN, END = "# BEGIN SOLUTION", "# END SOLUTION"


def _load_tool():
    sys.path.insert(0, str(ROOT / "tools"))
    spec = importlib.util.spec_from_file_location("student_copies", ROOT / "tools" / "student_copies.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


student_copies = _load_tool()


def test_stub_keeps_indentation_and_the_lines_around():
    source = "def f(x):\n    y = 1\n    # BEGIN SOLUTION\n    return x + y\n    # END SOLUTION\nprint(f)"
    stubbed, regions = student_copies.stub_solutions(source, "ch9-ex-f")
    assert regions == 1
    assert stubbed.splitlines() == [
        "def f(x):", "    y = 1",
        '    raise NotImplementedError("exercise ch9-ex-f: replace this line with your solution")', "print(f)"]
    compile(stubbed, "<stub>", "exec")


@pytest.mark.parametrize("source, message", [
    (f"{BEGIN}\nx = 1", "never closed"),
    (f"{BEGIN}\n{BEGIN}\nx = 1\n{END}", "inside another solution region"),
    (f"x = 1\n{END}", "without a # BEGIN SOLUTION"),
    ("### BEGIN SOLUTION\nx = 1\n### END SOLUTION", "write the marker '### BEGIN SOLUTION' as '# BEGIN SOLUTION'"),
])
def test_stub_rejects_broken_markers(source, message):
    with pytest.raises(ValueError, match=f"ch9.ipynb, cell 4: .*{message}"):
        student_copies.stub_solutions(source, "ch9-ex-f", "ch9.ipynb, cell 4")


def test_solution_blocks_are_removed_whatever_the_fence():
    text = ("Intro.\n\n```{exercise} E\n:label: ch9-ex-e\n\nDo it.\n```\n\n````{solution} ch9-ex-e\n:class: dropdown\n\n"
            "```python\nsecret = 1\n```\n````\n\n:::{solution} ch9-ex-e\nsecret two\n:::\nAfter.")
    cleaned, removed = student_copies.remove_solution_blocks(text)
    assert removed == 2
    assert "secret" not in cleaned and "{solution}" not in cleaned
    assert "Intro." in cleaned and "Do it." in cleaned and cleaned.endswith("After.")
    with pytest.raises(ValueError, match="never closed"):
        student_copies.remove_solution_blocks("```{solution} ch9-ex-e\nsecret")
    with pytest.raises(ValueError, match="gated solutions"):
        student_copies.remove_solution_blocks("```{solution-start} ch9-ex-e\n```")


@pytest.fixture(scope="module")
def copies(tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("student")
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "student_copies.py"), str(dest)],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert all(f"{dest / p.name}:" in result.stdout for p in CHAPTERS), result.stdout
    return dest


def _solution_only_lines(nb) -> set[str]:
    """Lines (stripped) that occur inside solution regions and nowhere else in the notebook."""
    inside_lines, outside_lines = set(), set()
    for cell in nb.cells:
        inside = False
        for line in cell.source.splitlines():
            marker = line.strip()
            if marker in (BEGIN, END):
                inside = marker == BEGIN
            elif marker:
                (inside_lines if inside else outside_lines).add(marker)
    return inside_lines - outside_lines


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_student_copy_has_no_solutions(copies, path):
    original = nbformat.read(path, as_version=4)
    student = nbformat.read(copies / path.name, as_version=4)
    secret = _solution_only_lines(original)
    text = "\n".join(cell.source for cell in student.cells)
    survived = [line for line in secret if line in {s.strip() for s in text.splitlines()}]
    assert not survived, f"{path.name}: solution lines in the student copy: {survived}"
    assert BEGIN not in text and END not in text
    assert not re.search(r"\{solution", text), f"{path.name}: a solution block survived"
    regions = sum(cell.source.count(BEGIN) for cell in original.cells)
    assert text.count("raise NotImplementedError(\"exercise ch") == regions
    grades = sum(cell.source.count("grade(") for cell in original.cells)
    assert text.count("grade(") == grades, f"{path.name}: a check cell was lost"
    assert all(not c.get("outputs") for c in student.cells if c.cell_type == "code")
    nbformat.validate(student)


def test_student_copy_runs_to_its_first_stub(copies, monkeypatch):
    """Chapter 3 (synthetic, under a minute at quick sizes) runs in a fresh kernel and stops at the
    first exercise stub with NotImplementedError, after every cell before it ran without error."""
    monkeypatch.setenv("LMTHEORY_QUICK", "1")
    nb = nbformat.read(copies / "ch03_cross_entropy.ipynb", as_version=4)
    first_stub = next(i for i, c in enumerate(nb.cells) if "raise NotImplementedError(\"exercise" in c.source)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(copies)}})
    with pytest.raises(CellExecutionError) as caught:
        client.execute()
    assert caught.value.ename == "NotImplementedError", f"stopped on {caught.value.ename}: {caught.value}"
    assert "exercise ch3-ex-uniform" in caught.value.evalue
    failed = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
              and any(o.get("output_type") == "error" for o in c.get("outputs", []))]
    assert failed == [first_stub]
    ran = [c for c in nb.cells[:first_stub] if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in ran), "a cell before the first stub did not run"


@pytest.mark.book
def test_student_edition_shows_outputs_but_no_solution(built_book, tmp_path):
    """`make book-student`: the site built from the executed chapters as student copies, without
    executing again. Every chapter page keeps its figures and the stubs, and shows no line of a code
    solution, no worked solution and no check output (which would print the expected answer)."""
    src = tmp_path / "src"
    student_copies.write_student_site(src, built_book / "jupyter_execute" / "book")
    result = subprocess.run([jupyter_book(), "build", str(src), "--path-output", str(tmp_path), "--builder", "html",
                             "-W", "-n", "--keep-going"], capture_output=True, text=True, cwd=ROOT)
    log = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)
    assert result.returncode == 0 and "build succeeded." in log, log[-6000:]
    site = tmp_path / "_build" / "html" / "book"
    assert "not executed again" in (site / "execution_report.html").read_text(encoding="utf-8")
    for path in CHAPTERS:
        page = (site / f"{path.stem}.html").read_text(encoding="utf-8")
        text = {line.strip() for line in html.unescape(re.sub(r"<[^>]+>", "", page)).splitlines()}
        assert re.search(r'class="[^"]*\bexercise\b', page), f"{path.stem}: no exercise on the page"
        assert not re.search(r'class="[^"]*\bsolution\b', page), f"{path.stem}: a worked solution is on the page"
        shown = sorted(line for line in _solution_only_lines(nbformat.read(path, as_version=4)) if line in text)
        assert not shown, f"{path.stem}: solution code on the page: {shown}"
        assert not any(line.startswith("correct: ") for line in text), f"{path.stem}: a check's output is on the page"
        assert "NotImplementedError" in page, f"{path.stem}: the exercise stubs are missing"
        assert "<img" in page, f"{path.stem}: the figures are missing"


def test_student_edition_needs_the_executed_chapters(tmp_path):
    with pytest.raises(FileNotFoundError, match="build the book first"):
        student_copies.write_student_site(tmp_path / "src", tmp_path / "nothing")
