"""Chapter 7's probe bookkeeping (lmtheory.probing) on small synthetic inputs and a fake tokenizer."""

from __future__ import annotations

import types
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from lmtheory.features import Features
from lmtheory.probe import bag_of_words_probe, linear_probe
from lmtheory.probing import FEATURE_COLUMNS, ProbeSet, feature_columns, quietly, word_layout, word_sets


class WordTokenizer:
    """Each known string is one token; anything else is two."""

    def __init__(self, vocabulary):
        self.ids = {token: i for i, token in enumerate(vocabulary)}

    def encode(self, text, add_special_tokens=False):
        return [self.ids[text]] if text in self.ids else [0, 0]


LM = types.SimpleNamespace(name="fake", tokenizer=WordTokenizer(["<pad>", " good", "good", " bad", " :)", ":("]))


def sentiment_task(class_words=((":)", ":("), ("good", "bad"))):
    return types.SimpleNamespace(words=("good", "bad"), class_words=class_words)


def features(n=6, d=3, k=4, projected=True):
    rng = np.random.default_rng(0)
    return Features(f=rng.normal(size=(n, d)), mean=rng.normal(size=(n, d)), log_z=rng.normal(size=n),
                    subset_logits=rng.normal(size=(n, k)), subset_probs=rng.random((n, k)),
                    subset_tokens=("a",) * k, model="fake", prompt="", vocab_size=10,
                    projected=rng.normal(size=(n, 2)) if projected else None)


def test_quietly_prints_warnings_as_notes(capsys):
    def warns(x):
        warnings.warn("careful")
        return 2 * x

    assert quietly(warns, 3) == 6
    assert capsys.readouterr().out == "  note: careful\n"
    with pytest.raises(TypeError, match="call must be a function"):
        quietly("not a function")


def test_word_sets():
    assert word_sets(sentiment_task()) == {"subset logits": ("good", "bad"), "class words": (":)", ":("),
                                           "positive negative": ("good", "bad")}
    assert list(word_sets(sentiment_task(((":)", ":("),)))) == ["subset logits", "class words"]
    with pytest.raises(ValueError, match="the task has no class_words"):
        word_sets(sentiment_task(()))


def test_word_layout_places_each_set_among_all_tokens(capsys):
    words, layout = word_layout(LM, {"subset logits": ["good", "bad"], "class words": [":)", ":(", "bad"]})
    assert words == ["good", "bad", ":)", ":("]
    # tokens of all words: " good", "good", " bad", " :)", ":(" -> ids 1, 2, 3, 4, 5
    assert layout == {"subset logits": [0, 1, 2], "class words": [3, 4, 2]}
    assert capsys.readouterr().out == ""
    word_layout(LM, {"subset logits": ["good", "zzz"]})
    assert "note: dropped 1 word(s)" in capsys.readouterr().out


def test_word_layout_errors():
    with pytest.raises(ValueError, match="non-empty dict"):
        word_layout(LM, {})
    with pytest.raises(TypeError, match=r"sets\['a'\] must be a list of words, got the string 'good'"):
        word_layout(LM, {"a": "good"})


def test_feature_columns():
    F = features()
    columns = feature_columns(F, {"subset logits": [0, 1, 2], "class words": [3, 0]})
    assert list(columns) == list(FEATURE_COLUMNS[:5])
    assert columns["f(s)"] is F.f and columns["Phi p_f(s)"] is F.mean and columns["A p_f(s)"] is F.projected
    np.testing.assert_array_equal(columns["class words"], F.subset_logits[:, [3, 0]])
    assert "positive negative" in feature_columns(F, {"positive negative": [1]})


def test_feature_columns_errors():
    with pytest.raises(ValueError, match="no A p_f"):
        feature_columns(features(projected=False), {})
    with pytest.raises(ValueError, match=r"unknown word set\(s\) \['colour words'\]"):
        feature_columns(features(), {"colour words": [0]})
    with pytest.raises(ValueError, match=r"layout\['class words'\] = \[4\] must be non-empty positions in 0 .. 3"):
        feature_columns(features(), {"class words": [4]})


def separable(n, seed, classes=2):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    return rng.normal(size=(n, 3)) + 3 * np.eye(3)[y], y


def test_probe_set_fits_stores_and_scores():
    (x_tr, y_tr), (x_te, y_te) = separable(40, 0), separable(20, 1)
    probes = ProbeSet()
    result = probes.fit(("toy", "f(s)"), x_tr, y_tr, x_te, y_te)
    assert probes["toy", "f(s)"] is result and ("toy", "f(s)") in probes and len(probes) == 1
    assert probes.correct["toy", "f(s)"].shape == (20,)
    assert probes.correct["toy", "f(s)"].mean() == pytest.approx(result.test_accuracy)
    assert result.test_accuracy == linear_probe(x_tr, y_tr, x_te, y_te).test_accuracy
    with pytest.raises(KeyError, match="no probe .* has been fitted"):
        probes["toy", "Phi p_f(s)"]


def fake_probe(*, warn=None):
    """A probe that records its options, warns if asked, and predicts class 0."""
    seen = {}

    def probe(train_x, train_y, test_x, test_y, **options):
        seen.update(options)
        if warn:
            warnings.warn("stopped early", warn)
        model = types.SimpleNamespace(predict=lambda x: np.zeros(len(x), int))
        return types.SimpleNamespace(model=model)

    return probe, seen


def test_probe_set_solver_and_unconverged(capsys):
    x, y3, y2 = np.zeros((6, 2)), np.array([0, 1, 2, 0, 1, 2]), np.array([0, 1] * 3)
    probes = ProbeSet("newton-cg")
    probe, seen = fake_probe(warn=ConvergenceWarning)
    probes.fit("three", x, y3, x, y3, probe=probe)
    assert seen == {"solver": "newton-cg"} and probes.unconverged == ["three"]
    np.testing.assert_array_equal(probes.correct["three"], y3 == 0)
    seen.clear()
    probes.fit("two", x, y2, x, y2, probe=probe, solver="sag")
    assert seen == {"solver": "sag"} and probes.unconverged == ["three", "two"]
    assert capsys.readouterr().out == ""
    probe, seen = fake_probe(warn=UserWarning)
    probes.fit("other", x, y2, x, y2, probe=probe)
    assert seen == {} and probes.unconverged == ["three", "two"]
    assert capsys.readouterr().out == "  note: stopped early\n"


def test_probe_set_errors():
    with pytest.raises(ValueError, match="unknown multiclass_solver 'adam'"):
        ProbeSet("adam")
    probe, _ = fake_probe()
    with pytest.raises(TypeError, match="key must be a string or a tuple of strings"):
        ProbeSet().fit(("toy", 3), np.zeros((2, 1)), [0, 1], np.zeros((2, 1)), [0, 1], probe=probe)


class ToyTask(types.SimpleNamespace):
    """A split of a task: ``texts`` and ``labels``, and its length, as lmtheory.data.Task has."""

    def __len__(self):
        return len(self.labels)


def toy_tasks():
    """Two tasks (one with three classes), their texts, and feature columns for rows with and without "*"."""
    words = ["good", "bad", "fine", "awful", "great", "dull"]
    tasks, columns = {}, {}
    for name, classes, seed in (("two", 2, 0), ("three", 3, 10)):
        split_tasks = []
        for split, n, shift in (("train", 30, 0), ("test", 15, 1)):
            x, y = separable(n, seed + shift, classes)
            texts = [f"{words[label]} {words[(i + label) % 6]} film" for i, label in enumerate(y)]
            split_tasks.append(ToyTask(texts=texts, labels=y))
            columns[name, split] = {"f(s)": x, "Phi p_f(s)": x[:, :2] * 1e-3}
            columns[name + "*", split] = {"f(s)": x + 0.5, "Phi p_f(s)": x[:, 1:]}
        tasks[name] = tuple(split_tasks)
    return tasks, columns


def test_fit_table_against_one_probe_at_a_time():
    tasks, columns = toy_tasks()
    probes = ProbeSet("newton-cg")
    table = probes.fit_table(tasks, columns)
    assert list(table.index) == ["two", "two*", "three", "three*"] and table.index.name == "task"
    assert list(table.columns) == ["f(s)", "Phi p_f(s)", "bag of words", "chance", "n_train", "n_test"]
    for row in table.index:
        train, test = tasks[row.rstrip("*")]
        for col in ("f(s)", "Phi p_f(s)"):
            solver = {"solver": "newton-cg"} if row.startswith("three") else {}
            alone = linear_probe(columns[row, "train"][col], train.labels, columns[row, "test"][col], test.labels,
                                 **solver)
            assert table.loc[row, col] == pytest.approx(100 * alone.test_accuracy)
            assert probes.correct[row, col].mean() == pytest.approx(alone.test_accuracy)
        bow = bag_of_words_probe(train.texts, train.labels, test.texts, test.labels,
                                 **({"solver": "newton-cg"} if row.startswith("three") else {}))
        assert table.loc[row, "bag of words"] == pytest.approx(100 * bow.test_accuracy)
        assert table.loc[row, "chance"] == pytest.approx(100 * np.bincount(test.labels).max() / len(test))
        assert (table.loc[row, "n_train"], table.loc[row, "n_test"]) == (30, 15)
    assert ("two*", "bag of words") not in probes and len(probes) == 4 * 2 + 2


def test_fit_standardised_beside_the_raw_fits():
    tasks, columns = toy_tasks()
    probes = ProbeSet("newton-cg")
    table = probes.fit_table(tasks, columns)
    compared = probes.fit_standardised(tasks, columns, ["two*", "three"], ["f(s)", "Phi p_f(s)"])
    assert list(compared.index) == [("two*", "f(s)"), ("two*", "Phi p_f(s)"), ("three", "f(s)"),
                                    ("three", "Phi p_f(s)")]
    assert list(compared.columns) == ["spread", "raw", "C raw", "standardised", "C std."]
    for row, col in compared.index:
        train, test = tasks[row.rstrip("*")]
        x_train = columns[row, "train"][col]
        scaled = linear_probe(x_train, train.labels, columns[row, "test"][col], test.labels, standardize=True,
                              **({"solver": "newton-cg"} if row == "three" else {}))
        assert probes[row, col, "standardised"].standardized
        assert compared.loc[(row, col), "standardised"] == pytest.approx(100 * scaled.test_accuracy)
        assert compared.loc[(row, col), "C std."] == scaled.C
        assert compared.loc[(row, col), "raw"] == table.loc[row, col]
        assert compared.loc[(row, col), "C raw"] == probes[row, col].C
        assert compared.loc[(row, col), "spread"] == pytest.approx(np.median(np.std(x_train, axis=0)))


def test_fit_table_and_fit_standardised_errors():
    tasks, columns = toy_tasks()
    probes = ProbeSet()
    with pytest.raises(KeyError, match="row 'four' names no task"):
        probes.fit_table(tasks, {**columns, ("four", "train"): {}})
    with pytest.raises(KeyError, match=r"no features for row 'two\*', split\(s\) \['test'\]"):
        probes.fit_table(tasks, {key: value for key, value in columns.items() if key != ("two*", "test")})
    with pytest.raises(KeyError, match="no probe .* has been fitted"):
        ProbeSet().fit_standardised(tasks, columns, ["two"], ["f(s)"])  # no raw fit yet
