"""The build's two workers (tools/sphinx_parallel_chapters.py): who reads which page, in what order."""

from __future__ import annotations

import sys

import pytest
from sphinx.util.parallel import make_chunks

from conftest import ROOT, book_config, notebook_entries, toc_entries

sys.path.insert(0, str(ROOT / "tools"))
from sphinx_parallel_chapters import build_jobs, check_together, reading_order  # noqa: E402


def _runs(order: list[str], jobs: int) -> list[list[str]]:
    """The pages each of Sphinx's parallel reads gets, for this order."""
    return make_chunks(order, jobs)


def test_the_books_chapters_8_and_9_share_a_worker_in_order_and_the_other_chapters_take_the_other():
    together = book_config()["sphinx"]["config"]["lmtheory_read_together"]
    assert together[:2] == ["book/ch08_quad", "book/ch09_eps_in_practice"]
    docs, notebooks = sorted(toc_entries()), set(notebook_entries())
    order = reading_order(docs, notebooks, together, 2)
    assert sorted(order) == docs
    first, *others = _runs(order, 2)
    assert first[:len(together)] == together
    assert not (set(first) - set(together)) & notebooks  # the rest of its run executes nothing
    assert {name for run in others for name in run} >= notebooks - set(together)
    # the other worker still has chapters to execute: the grouping balances, it does not serialise
    assert {name for run in others for name in run} & notebooks


def test_one_worker_reads_the_list_as_given_apart_from_the_grouping():
    order = reading_order(["a", "ch1", "ch2", "ch3"], {"ch1", "ch2", "ch3"}, ["ch3"], 1)
    assert order == ["ch3", "a", "ch1", "ch2"]


def test_a_grouping_larger_than_a_workers_run_is_refused():
    with pytest.raises(ValueError, match="more than one worker reads"):
        reading_order(["a", "b", "c", "ch1", "ch2", "ch3", "ch4"], {"ch1", "ch2", "ch3", "ch4"}, ["ch1", "ch2", "ch3", "ch4"], 2)


def test_a_rebuild_reads_what_changed_whatever_the_grouping():
    """A second build reads only the changed pages: the grouped pages it does not read are not there, and
    a list of at most five pages (which Sphinx reads one at a time) keeps the grouping's order only."""
    assert reading_order(["a", "ch1", "ch2"], {"ch1", "ch2"}, ["ch3", "ch2"], 2) == ["ch2", "a", "ch1"]
    assert reading_order(["ch1", "ch2", "ch3"], {"ch1", "ch2", "ch3"}, ["ch2", "ch3", "ch1"], 2) == ["ch2", "ch3", "ch1"]


def test_a_grouping_naming_a_page_the_book_does_not_have_is_refused():
    assert check_together(["ch2"], {"a", "ch2"}) == ["ch2"]
    with pytest.raises(ValueError, match=r"names \['ch9'\], which are not pages of the book"):
        check_together(["ch9"], {"a", "ch1"})


@pytest.mark.parametrize("value, expected", [("", None), ("1", 1), ("3", 3)])
def test_workers_come_from_lmtheory_build_jobs(monkeypatch, value, expected):
    monkeypatch.setenv("LMTHEORY_BUILD_JOBS", value)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert build_jobs() == (expected or 2)


@pytest.mark.parametrize("value", ["0", "two", "-1"])
def test_bad_lmtheory_build_jobs_names_the_value(monkeypatch, value):
    monkeypatch.setenv("LMTHEORY_BUILD_JOBS", value)
    with pytest.raises(ValueError, match=f"positive integer.*{value!r}"):
        build_jobs()


def test_the_extension_is_loaded_by_the_book():
    assert book_config()["sphinx"]["local_extensions"]["sphinx_parallel_chapters"] == "tools/"
