"""The exercise bank: every self-check accepts the reference answer and rejects each typical wrong
answer registered with it; every chapter's check cells call it (see lmtheory/exercises.py)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from lmtheory import exercises
from lmtheory.exercises import ExerciseError, bank, grade, register

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted(p for p in (ROOT / "book").glob("*.ipynb"))
BANK = bank()
WRONG = [(label, name) for label, ex in BANK.items() for name in ex.wrong]
BEGIN, END = "# BEGIN SOLUTION", "# END SOLUTION"
EXERCISE_LABEL = re.compile(r"\{exercise\}[^\n]*\n(?:\s*:[\w-]+:[^\n]*\n)*?\s*:label:\s*(\S+)")
GRADE_CALL = re.compile(r"""\bgrade\(\s*["']([^"']+)["']""")


@pytest.mark.parametrize("label", BANK)
def test_check_accepts_the_reference_answer(label, capsys):
    ex = BANK[label]
    context = ex.example()
    ex.grade(ex.solve(**context), **context)
    assert "correct: " + label in capsys.readouterr().out


@pytest.mark.parametrize("label, mistake", WRONG, ids=[f"{label}: {name}" for label, name in WRONG])
def test_check_rejects_a_typical_wrong_answer(label, mistake):
    ex = BANK[label]
    context = ex.example()
    with pytest.raises(ExerciseError) as caught:
        ex.grade(ex.wrong[mistake](**context), **context)
    assert str(caught.value).startswith(label), f"the message does not name the exercise: {caught.value}"


@pytest.mark.parametrize("label", BANK)
def test_check_has_two_wrong_answers(label):
    assert len(BANK[label].wrong) >= 2


# -- bad input: the message says what was expected and what came ---------------------------------


def test_wrong_type_says_what_was_expected(capsys):
    with pytest.raises(ExerciseError, match=r"ch4-ex-useless-eps: expected a number or an array of numbers, got str"):
        grade("ch4-ex-useless-eps", "0.00028", tau=0.3, B=8.0, gamma=0.5)
    with pytest.raises(ExerciseError, match=r"ch4-ex-useless-eps: yours is None"):
        grade("ch4-ex-useless-eps", None, tau=0.3, B=8.0, gamma=0.5)
    with pytest.raises(ExerciseError, match=r"expected the pair \(sigma2, n_needed\), got float"):
        grade("ch3-ex-corpus-n", 0.9, **BANK["ch3-ex-corpus-n"].example())
    with pytest.raises(ExerciseError, match=r"expected a function, got float"):
        grade("ch7-ex-interval", 0.7, k=140, n=200)


def test_wrong_shape_says_what_was_expected():
    context = BANK["ch5-ex-pythagoras"].example()
    left, right = BANK["ch5-ex-pythagoras"].solve(**context)
    with pytest.raises(ExerciseError, match=r"expected shape \(30,\), yours has shape \(\)"):
        grade("ch5-ex-pythagoras", (left.sum(), right), **context)
    context = BANK["ch5-ex-conditional-mean"].example()
    with pytest.raises(ExerciseError, match=r"expected shape \(30, 3\), yours has shape \(3, 30\); transposed\?"):
        grade("ch5-ex-conditional-mean", lambda p, Phi: (p @ Phi.T).T, **context)


def test_wrong_answer_names_the_first_entry_that_differs():
    context = BANK["ch2-ex-linear"].example()
    v, vTp = BANK["ch2-ex-linear"].solve(**context)
    v = v.clone()
    v[5] = 0.0  # the negative word forgotten
    with pytest.raises(ExerciseError, match=r"1 of 12 entries differ, the first at index \(5,\): expected -1, yours 0"):
        grade("ch2-ex-linear", (v, vTp), **context)


def test_grade_names_missing_and_unexpected_context():
    with pytest.raises(TypeError, match=r"takes the keywords \['tau', 'B', 'gamma'\]; missing \['gamma'\], "
                                        r"unexpected \['g'\]"):
        grade("ch4-ex-useless-eps", 0.1, tau=0.3, B=8.0, g=0.5)


@pytest.mark.parametrize("label, message", [
    ("ch3-ex-nothing", r"no self-check is registered for 'ch3-ex-nothing'"),
    ("ch42-ex-uniform", r"no self-check is registered for 'ch42-ex-uniform' \(in lmtheory.exercise_bank.ch42\)"),
    ("uniform", r"an exercise label looks like 'ch3-ex-uniform', got 'uniform'"),
    (3, r"an exercise label looks like 'ch3-ex-uniform', got 3"),
])
def test_grade_rejects_unknown_labels(label, message):
    with pytest.raises(ValueError, match=message):
        grade(label, 0.0)


def test_register_checks_its_arguments():
    with pytest.raises(ValueError, match="at least two typical wrong answers, got 1"):
        register("ch99-ex-test", example=dict, wrong={"one": lambda: 0})
    with pytest.raises(ValueError, match="label looks like 'ch3-ex-uniform'"):
        register("Ch3 uniform", example=dict, wrong={"a": lambda: 0, "b": lambda: 1})
    assert "ch99-ex-test" not in exercises._BANK


def test_check_at_least_strict(capsys):
    exercises.check_at_least("accuracy", 0.82, 0.81, strict=True)
    assert "more than 0.81" in capsys.readouterr().out
    with pytest.raises(ExerciseError, match="expected more than 0.81"):
        exercises.check_at_least("accuracy", 0.81, 0.81, strict=True)


# -- hygiene: every chapter's exercises follow the convention -------------------------------------


def _exercise_cells(path: Path):
    """(labels of the {exercise} blocks, [(solution cell, its check cell, the exercise label above)])."""
    nb = nbformat.read(path, as_version=4)
    labels, pairs, label = [], [], None
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            found = EXERCISE_LABEL.findall(cell.source)
            labels += found
            label = found[-1] if found else label
        elif BEGIN in cell.source:
            after = [k for k in code if k > i]
            pairs.append((cell, nb.cells[after[0]] if after else None, label))
    return labels, pairs


def _solution_lines(source: str) -> list[str]:
    inside, lines = False, []
    for line in source.splitlines():
        if line.strip() in (BEGIN, END):
            inside = line.strip() == BEGIN
        elif inside and line.strip():
            lines.append(line.strip())
    return lines


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_has_three_exercises(path):
    labels, _ = _exercise_cells(path)
    assert len(labels) >= 3, f"{path.name}: {len(labels)} exercises ({labels}), expected at least 3"
    assert len(set(labels)) == len(labels), f"{path.name}: an exercise label is used twice: {labels}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_solution_is_followed_by_a_bank_check(path):
    _, pairs = _exercise_cells(path)
    for solution, check_cell, label in pairs:
        assert label is not None, f"{path.name}: a solution region comes before any {{exercise}} with a :label:"
        assert solution.source.count(BEGIN) == solution.source.count(END), f"{path.name}, {label}: unbalanced markers"
        assert check_cell is not None, f"{path.name}, {label}: no code cell after the solution cell"
        called = GRADE_CALL.findall(check_cell.source)
        assert called == [label], (
            f"{path.name}: the cell after the solution of {label} must call grade({label!r}, ...) from "
            f"lmtheory.exercises once (found {called}); see the convention in lmtheory/exercises.py")
        assert label in BANK, f"{path.name}: {label} is not registered in lmtheory/exercise_bank"
        leaked = [line for line in _solution_lines(solution.source) if line in check_cell.source.splitlines()
                  and line not in solution.source.split(BEGIN)[0]]
        assert not leaked, f"{path.name}, {label}: the check cell repeats solution code: {leaked}"


def test_every_registered_check_is_used_by_a_chapter():
    used = {label for path in CHAPTERS for *_, label in _exercise_cells(path)[1]}
    chapters = {re.match(r"ch(\d+)", p.name).group(1).lstrip("0") for p in CHAPTERS}
    orphans = [label for label in BANK if label.split("-")[0][2:] in chapters and label not in used]
    assert not orphans, f"registered checks that no chapter's check cell calls: {orphans}"

