"""Chapter 2's zero-shot helpers (lmtheory.zero_shot) on a tiny random GPT-2 with the offline tokenizer.

As in tests/test_models.py, the offline model (SmolLM2-135M) is loaded once for its tokenizer; the
model under test is a random 2-layer GPT-2 of width 32, fast on any CPU. Its features are cached in a
fresh folder per test, so the shared cache is left alone.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from scipy.special import logsumexp

from lmtheory import zero_shot as zs
from lmtheory.data import Task
from lmtheory.features import word_tokens
from lmtheory.offline import hub_reachable
from lmtheory.prose import LINE_WIDTH

TEXTS = ["A gem.", "Boring and far too long.", "Great fun!", "Flat, dull, tired.", "A charming film.",
         "Terrible acting."]
LABELS = np.array([1, 0, 1, 0, 1, 0])


def make_task(texts=TEXTS, labels=LABELS, label_names=("negative", "positive")) -> Task:
    return Task("toy", "test", list(texts), np.asarray(labels), tuple(label_names), "toy source",
                " This movie is", ("great", "boring", "terrible"), (), len(texts))


@pytest.fixture
def task(own_cache):
    return make_task()


@pytest.fixture
def feats(tiny, task):
    return zs.task_features(tiny, task, task.prompt)


def test_token_ids_are_the_single_token_variants(tiny):
    assert zs.token_ids(tiny, "great") == word_tokens(tiny, ["great"])[0]
    assert 1 <= len(zs.token_ids(tiny, "great")) <= 2
    with pytest.raises(ValueError, match="single token"):
        zs.token_ids(tiny, "xqzvbnmplkjh")
    with pytest.raises(TypeError, match="word must be a string"):
        zs.token_ids(tiny, 3)


def test_logits_are_phi_transposed_f(tiny, feats):
    ids = zs.token_ids(tiny, "great")
    full = zs.logits(tiny, feats)
    assert isinstance(full, torch.Tensor) and full.shape == (len(TEXTS), tiny.vocab_size)
    expected = torch.from_numpy(feats.f) @ tiny.Phi.detach().float()
    torch.testing.assert_close(full, expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(zs.logits(tiny, feats, ids), full[:, ids])
    with pytest.raises(TypeError, match="feats must be Features"):
        zs.logits(tiny, feats.f)


def test_word_logprobs_sum_the_variants(tiny, feats):
    words = ["great", "boring"]
    found = zs.word_logprobs(tiny, feats, words)
    assert found.shape == (len(TEXTS), 2)
    log_p = torch.log_softmax(zs.logits(tiny, feats).double(), dim=1).numpy()
    for j, word in enumerate(words):
        expected = logsumexp(log_p[:, zs.token_ids(tiny, word)], axis=1)
        np.testing.assert_allclose(found[:, j], expected, atol=1e-4)
    assert np.allclose(feats.subset_probs[:, :1], np.exp(log_p[:, zs.token_ids(tiny, "great")[:1]]), atol=1e-6)
    with pytest.raises(ValueError, match="words is empty"):
        zs.word_logprobs(tiny, feats, [])
    with pytest.raises(TypeError, match="for one word write"):
        zs.word_logprobs(tiny, feats, "great")


def test_class_scores_and_their_bad_input(tiny, feats):
    scores = zs.class_scores(tiny, feats, [["boring", "terrible"], ["great"]])
    assert scores.shape == (len(TEXTS), 2)
    both = zs.word_logprobs(tiny, feats, ["boring", "terrible"])
    np.testing.assert_allclose(scores[:, 0], logsumexp(both, axis=1), rtol=1e-6)
    with pytest.raises(ValueError, match="at least two classes"):
        zs.class_scores(tiny, feats, [["great"]])
    with pytest.raises(ValueError, match=r"class_words\[1\] is empty"):
        zs.class_scores(tiny, feats, [["great"], []])
    with pytest.raises(ValueError, match="single token"):
        zs.class_scores(tiny, feats, [["great"], ["xqzvbnmplkjh"]])


def test_zero_shot_counts_what_the_rule_predicts(tiny, feats):
    class_words = [["terrible"], ["great"]]
    result = zs.zero_shot(tiny, feats, LABELS, class_words)
    scores = zs.class_scores(tiny, feats, class_words)
    assert set(result) == {"accuracy", "chance", "predicted positive", "AUC"}
    assert result["accuracy"] == pytest.approx(np.mean(scores.argmax(1) == LABELS))
    assert result["chance"] == 0.5
    assert result["predicted positive"] == pytest.approx(np.mean(scores[:, 1] > scores[:, 0]))
    assert 0 <= result["AUC"] <= 1
    three = zs.zero_shot(tiny, feats, [0, 1, 2, 0, 1, 2], [["terrible"], ["great"], ["boring"]])
    assert set(three) == {"accuracy", "chance"}


def test_zero_shot_refuses_labels_that_do_not_fit(tiny, feats):
    words = [["terrible"], ["great"]]
    with pytest.raises(ValueError, match=r"labels must have shape \(6,\)"):
        zs.zero_shot(tiny, feats, LABELS[:4], words)
    with pytest.raises(ValueError, match=r"integers in \[0, 1\]"):
        zs.zero_shot(tiny, feats, [0, 1, 2, 0, 1, 0], words)
    with pytest.raises(ValueError, match="single class"):
        zs.zero_shot(tiny, feats, np.zeros(6, dtype=int), words)


def test_compare_pairs_and_class_recall(tiny, feats, task):
    pairs = [("great", "terrible"), ("great", "boring")]
    table = zs.compare_pairs(tiny, feats, LABELS, pairs)
    assert list(table.columns) == ["positive words", "negative words", "accuracy", "chance",
                                   "predicted positive", "AUC"]
    assert table["accuracy"].iloc[1] == zs.zero_shot(tiny, feats, LABELS, [["boring"], ["great"]])["accuracy"]
    with pytest.raises(ValueError, match="pairs is empty"):
        zs.compare_pairs(tiny, feats, LABELS, [])
    with pytest.raises(ValueError, match="must be a pair"):
        zs.compare_pairs(tiny, feats, LABELS, [("great", "bad", "awful")])
    recall = zs.class_recall(tiny, feats, LABELS, [["terrible"], ["great"]], task.label_names)
    assert set(recall) == {"recall negative", "recall positive"}
    accuracy = zs.zero_shot(tiny, feats, LABELS, [["terrible"], ["great"]])["accuracy"]
    assert np.mean(list(recall.values())) == pytest.approx(accuracy)  # balanced classes
    with pytest.raises(ValueError, match="label_names has 1 names"):
        zs.class_recall(tiny, feats, LABELS, [["terrible"], ["great"]], ("negative",))


def test_task_features_are_computed_once_and_rows_are_taken_from_them(tiny, task, monkeypatch):
    rows = [4, 1]
    alone = zs.task_features(tiny, task, " Overall", rows=rows)  # no whole-task features yet
    assert alone.n == 2 and alone.subset_probs is None
    whole = zs.task_features(tiny, task, task.prompt)
    assert zs.task_features(tiny, task, task.prompt) is whole
    calls = []
    monkeypatch.setattr(type(tiny), "features", lambda *args, **kwargs: calls.append(args))
    part = zs.task_features(tiny, task, task.prompt, rows=rows)  # rows of the whole: no model run
    assert zs.task_features(tiny, task, " Overall", rows=rows) is alone and not calls
    np.testing.assert_array_equal(part.f, whole.f[rows])
    np.testing.assert_array_equal(part.subset_probs, whole.subset_probs[rows])
    with pytest.raises(ValueError, match=r"rows must lie in \[0, 5\]"):
        zs.task_features(tiny, task, task.prompt, rows=[0, 6])
    with pytest.raises(ValueError, match="non-empty list of integer indices"):
        zs.task_features(tiny, task, task.prompt, rows=[])
    with pytest.raises(TypeError, match="prompt must be a string"):
        zs.task_features(tiny, task, None)
    with pytest.raises(TypeError, match="task must be a Task"):
        zs.task_features(tiny, TEXTS, "")


def test_next_words_and_their_table(tiny, feats, task):
    words = zs.top_next_words(tiny, feats, [0, 2], k=3)
    assert len(words) == 2 and all(w.count(",") >= 2 and w.startswith(("'", '"')) for w in words)
    table = zs.next_word_table(tiny, task, feats, [0, 1], [" great"], k=2)
    assert list(table.columns) == ["sentence + prompt", "label", "top next words (probability)", "p(' great')"]
    assert table["label"].tolist() == ["positive", "negative"]
    assert table["sentence + prompt"].iloc[0] == "A gem. This movie is"
    with pytest.raises(ValueError, match="not subset tokens"):
        zs.next_word_table(tiny, task, feats, [0], [" splendid"])


def test_parse_words():
    assert zs.parse_words(" great, good ,, fun ") == ["great", "good", "fun"]
    with pytest.raises(ValueError, match="positive holds no word"):
        zs.parse_words(" , ", "positive")
    with pytest.raises(TypeError, match="comma-separated"):
        zs.parse_words(["great"])


def test_explore_is_zero_shot_on_the_chosen_rows(tiny, task):
    rows = [0, 1, 2, 3]
    result = zs.explore(tiny, task, rows, task.prompt, "great", "terrible, boring")
    feats = zs.task_features(tiny, task, task.prompt, rows=rows)
    assert result == zs.zero_shot(tiny, feats, LABELS[rows], [["terrible", "boring"], ["great"]])
    with pytest.raises(ValueError, match="negative holds no word"):
        zs.explore(tiny, task, rows, task.prompt, "great", "")
    topics = make_task(labels=[0, 1, 2, 0, 1, 2], label_names=("a", "b", "c"))
    with pytest.raises(ValueError, match="two-class task"):
        zs.explore(tiny, topics, rows, "", "great", "bad")


def test_sample_test_split_is_balanced_and_prints_narrow_lines(monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    hub_reachable.cache_clear()
    try:
        sample = zs.sample_test_split("sst2", 10)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a split smaller than n is used whole, quietly
            whole = zs.sample_test_split("sst2", 10**6, verbose=False)
    finally:
        hub_reachable.cache_clear()
    assert len(whole) == whole.n_available > 10
    assert len(sample) == 10 and np.bincount(sample.labels).tolist() == [5, 5]
    assert sample.split == "test" and not sample.prompt.endswith(" ")
    printed = capsys.readouterr().out.splitlines()
    assert printed and all(len(line) <= LINE_WIDTH for line in printed), printed
    with pytest.raises(ValueError, match="n = 0"):
        zs.sample_test_split("sst2", 0)
