"""lmtheory.corpus: the pretraining text, built offline from registry packages, without any test sentence."""

import pytest
from conftest import unwrapped

from lmtheory import offline
from lmtheory.corpus import MIN_MATCH_CHARS, load_corpus, normalise, sentences, downstream_test_sentences
from lmtheory.data import load_task


@pytest.fixture(scope="module")
def corpus():
    return load_corpus(source="offline", verbose=False)


def test_normalise_ignores_case_spacing_and_punctuation():
    assert normalise("It's  a GEM -- truly!") == normalise("it 's a gem truly") == "itsagemtruly"


def test_sentences_split_at_sentence_ends_and_line_breaks():
    assert sentences("One. Two? Three!\nFour") == ["One.", "Two?", "Three!", "Four"]


def test_no_downstream_test_sentence_is_in_the_training_text(corpus):
    training = {normalise(s) for doc in corpus.train + corpus.held_out for s in sentences(doc)}
    for name in ("rt2", "rt5", "bbc"):
        test = load_task(name, "test", verbose=False)
        found = [t for t in test.texts for s in sentences(t)
                 if len(normalise(s)) >= MIN_MATCH_CHARS and normalise(s) in training]
        assert not found, f"{len(found)} {name} test texts in the corpus, e.g. {found[:2]}"
        whole = {normalise(t) for t in test.texts}
        assert not whole & {normalise(doc) for doc in corpus.train}


def test_the_filter_removed_what_it_had_to(corpus):
    # the Rotten Tomatoes test sentences come from the same file as the corpus's movie reviews
    rt_test = load_task("rt2", "test", verbose=False).texts
    assert corpus.dropped >= len(rt_test)
    assert len(downstream_test_sentences(("rt2",))) > 0.9 * len(rt_test)


def test_training_sentences_of_the_tasks_are_kept(corpus):
    training = {normalise(doc) for doc in corpus.train + corpus.held_out}
    rt_train = load_task("rt2", "train", verbose=False).texts
    rt_test = {normalise(t) for name in ("rt2", "rt5") for t in load_task(name, "test", verbose=False).texts}
    kept = sum(normalise(t) in training for t in rt_train[:500] if normalise(t) not in rt_test)
    assert kept > 400


def test_split_is_seeded_and_disjoint(corpus):
    again = load_corpus(source="offline", verbose=False)
    assert again.fingerprint == corpus.fingerprint
    other = load_corpus(source="offline", seed=1, verbose=False)
    assert other.fingerprint != corpus.fingerprint
    assert not {normalise(d) for d in corpus.train} & {normalise(d) for d in corpus.held_out}
    assert 0.01 < len(corpus.held_out) / len(corpus.train) < 0.03
    assert sum(corpus.words.values()) > 2_000_000
    assert set(corpus.words) >= {"movie reviews", "BBC news", "State of the Union", "Moby-Dick"}


def test_max_words_caps_the_corpus():
    small = load_corpus(source="offline", max_words=20_000, verbose=False)
    assert 20_000 <= sum(small.words.values()) < 21_000


def test_summary_names_sources_and_sizes(corpus, capsys):
    load_corpus(source="offline")
    line = unwrapped(capsys.readouterr().out).strip()
    assert line.count("\n") == 0 and "held-out" in line and "State of the Union" in line and "words" in line


@pytest.mark.parametrize("kwargs, message", [
    ({"source": "web"}, "source"), ({"held_out": 0.0}, "held_out"), ({"held_out": 0.9}, "held_out"),
    ({"max_words": 0}, "max_words"), ({"seed": -1}, "seed"),
])
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_corpus(verbose=False, **{"source": "offline", **kwargs})


def test_fetch_url_refuses_a_wrong_checksum(tmp_path, monkeypatch):
    monkeypatch.setenv("LMTHEORY_CACHE", str(tmp_path))
    source = tmp_path / "payload.txt"
    source.write_text("hello")
    with pytest.raises(RuntimeError, match="checksum"):
        offline.fetch_url(source.as_uri(), sha512="AAAA")
    assert not (tmp_path / "packages" / "payload.txt").exists()
