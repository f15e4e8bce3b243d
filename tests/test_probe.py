"""lmtheory.probe: the paper's linear-probe protocol on toy data with known answers."""

import types
import warnings

import numpy as np
import pytest
import scipy.sparse
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.multiclass import OneVsRestClassifier
from sklearn.preprocessing import StandardScaler

from lmtheory.features import random_projection
from lmtheory.probe import bag_of_words_probe, c_grid, linear_probe


def blobs(n, d, k, separation, seed):
    """``n`` points in ``d`` dimensions around ``k`` class centres ``separation`` apart."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % k
    return rng.normal(size=(n, d)) + separation * np.eye(k, d)[labels], labels


@pytest.mark.parametrize("k, solver, multiclass", [(2, "liblinear", "binary"), (4, "sag", "multinomial")])
def test_separable_data_is_classified_perfectly(k, solver, multiclass):
    x, y = blobs(600, 10, k, separation=12.0, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no deprecation or future warnings from scikit-learn
        warnings.simplefilter("ignore", ConvergenceWarning)  # weakly penalised fits of separable data
        result = linear_probe(x[:400], y[:400], x[400:], y[400:])
    assert result.test_accuracy == result.train_accuracy == 1.0
    # CV scores accuracy, and ties go to the smallest C: here (almost) every C is perfect, so a tiny C
    # wins and the loss stays near log k (chance), although every test point is on the right side.
    assert result.C <= 1e-5 and np.log(k) - 0.15 < result.test_loss < np.log(k)
    assert (result.solver, result.multiclass, result.n_classes) == (solver, multiclass, k)
    assert (result.n_train, result.n_test, result.n_features) == (400, 200, 10)
    assert "test accuracy 100.0%" in str(result) and "raw" in str(result)
    assert set(result.row()) == {"test_accuracy", "test_loss", "train_accuracy", "C", "solver", "multiclass", "dual",
                                 "standardized", "n_train", "n_test", "n_features", "n_classes"}


def test_random_labels_give_chance_accuracy():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(1600, 20)), rng.integers(0, 2, 1600)
    result = linear_probe(x[:600], y[:600], x[600:], y[600:])
    assert abs(result.test_accuracy - 0.5) < 0.06
    assert result.test_loss > 0.65  # about log 2 = 0.693 nats: nothing learned


def test_the_default_is_the_raw_protocol_and_standardising_is_a_named_variant():
    # The label sits in a coordinate of scale 1e-4 among unit-scale noise: on raw features the penalty
    # forbids the huge weight it needs (C is at most 1e3), so the raw probe is near chance; standardised,
    # it is the easiest coordinate of all.
    rng = np.random.default_rng(7)
    y = np.arange(400) % 2
    x = np.c_[1e-4 * (2.0 * y - 1 + 0.3 * rng.normal(size=400)), rng.normal(size=(400, 5))]
    raw = linear_probe(x[:300], y[:300], x[300:], y[300:])
    scaled = linear_probe(x[:300], y[:300], x[300:], y[300:], standardize=True)
    assert not raw.standardized and len(raw.model) == 1 and not isinstance(raw.model[0], StandardScaler)
    assert scaled.standardized and isinstance(scaled.model[0], StandardScaler)
    assert raw.test_accuracy < 0.7 < 0.95 < scaled.test_accuracy
    assert "standardised" in str(scaled)


def test_standardisation_is_fitted_on_the_training_set_only():
    x, y = blobs(300, 3, 2, separation=4.0, seed=2)
    x_train = x[:200] * np.array([1.0, 100.0, 0.01]) + 5.0
    x_test = x[200:] * np.array([1.0, 100.0, 0.01]) + 5.0
    result = linear_probe(x_train, y[:200], x_test + 1000.0, y[200:], standardize=True)
    scaler = result.model[0]
    assert np.allclose(scaler.mean_, x_train.mean(0)) and np.allclose(scaler.scale_, x_train.std(0))
    assert result.test_accuracy < 0.9  # the shifted test set is scored with the training statistics
    assert linear_probe(x_train, y[:200], x_test, y[200:], standardize=True).test_accuracy > 0.9


def test_the_c_grid_follows_the_protocol():
    assert np.array_equal(c_grid(9_999), [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 1e1, 1e2, 1e3])
    assert np.array_equal(c_grid(10_000), [1e-3, 1e-2, 1e-1, 1.0, 1e1, 1e2])
    x, y = blobs(10_050, 2, 2, separation=2.0, seed=3)
    large = linear_probe(x[:10_000], y[:10_000], x[10_000:], y[10_000:])
    assert np.array_equal(large.model[-1].Cs_, c_grid(10_000)) and large.C in c_grid(10_000)
    small = linear_probe(x[:500], y[:500], x[10_000:], y[10_000:])
    assert np.array_equal(small.model[-1].Cs_, c_grid(500)) and small.C in c_grid(500)
    for bad in (0, -3, 2.5):
        with pytest.raises(ValueError, match=rf"n_train (= {bad} is outside the allowed range \[1, inf\)|must be a "
                                             rf"whole number, got {bad})"):
            c_grid(bad)
    with pytest.raises(TypeError, match="n_train must be an integer, got bool True"):
        c_grid(True)


def test_dual_exactly_when_there_are_fewer_examples_than_dimensions():
    x, y = blobs(300, 120, 2, separation=3.0, seed=8)
    wide = linear_probe(x[:100], y[:100], x[100:], y[100:])  # 100 examples, 120 dimensions
    assert wide.dual and wide.model[-1].dual and "dual" in str(wide)
    tall = linear_probe(x[:, :20][:100], y[:100], x[:, :20][100:], y[100:])  # 100 examples, 20 dimensions
    assert not tall.dual and not tall.model[-1].dual
    square = linear_probe(x[:120], y[:120], x[120:], y[120:])  # n == d: primal, as in the script (n < d)
    assert not square.dual
    z, labels = blobs(300, 120, 5, separation=6.0, seed=9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        many = linear_probe(z[:100], labels[:100], z[100:], labels[100:])
    assert many.solver == "sag" and not many.dual  # sag has no dual form


def test_five_classes_multinomial_and_one_vs_rest():
    x, y = blobs(750, 8, 5, separation=5.0, seed=10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        multinomial = linear_probe(x[:500], y[:500], x[500:], y[500:])
        ovr = linear_probe(x[:500], y[:500], x[500:], y[500:], multiclass="ovr")
    assert (multinomial.solver, multinomial.multiclass, multinomial.n_classes) == ("sag", "multinomial", 5)
    assert multinomial.model[-1].coef_.shape == (5, 8) and isinstance(multinomial.C, float)
    assert (ovr.solver, ovr.multiclass) == ("liblinear", "ovr") and isinstance(ovr.model[-1], OneVsRestClassifier)
    assert len(ovr.C) == 5 and all(c in c_grid(500) for c in ovr.C) and "C per class" in str(ovr)
    for result in (multinomial, ovr):
        assert result.test_accuracy > 0.9
        assert np.allclose(result.model.predict_proba(x[500:]).sum(axis=1), 1.0)
    # two classes ignore multiclass
    two = linear_probe(x[:500][y[:500] < 2], y[:500][y[:500] < 2], x[500:][y[500:] < 2], y[500:][y[500:] < 2],
                       multiclass="ovr")
    assert (two.solver, two.multiclass) == ("liblinear", "binary")


def test_bag_of_words_baseline():
    good = ["a good film", "good acting and a good plot", "really good", "good fun", "so good", "good, good",
            "a good one", "good story"]
    bad = ["a bad film", "bad acting and a bad plot", "really bad", "bad fun", "so bad", "bad, bad", "a bad one",
           "bad story"]
    texts, labels = good + bad, np.r_[np.ones(8, int), np.zeros(8, int)]
    test = ["good", "bad", "good music", "bad music"]  # "music" is not in the training vocabulary
    result = bag_of_words_probe(texts, labels, test, [1, 0, 1, 0])
    vectorizer = result.model[0]
    assert "music" not in vectorizer.vocabulary_ and result.n_features == len(vectorizer.vocabulary_)
    assert result.test_accuracy == 1.0 and list(result.model.predict(["so good", "a bad plot"])) == [1, 0]
    assert result.n_features == 11 and not result.dual  # 16 texts, 11 words of two letters or more
    with pytest.raises(TypeError, match="train_texts must be a list of strings, got str"):
        bag_of_words_probe("good film", labels, test, [1, 0, 1, 0])
    with pytest.raises(TypeError, match=r"test_texts\[1\] must be a string, got int 3"):
        bag_of_words_probe(texts, labels, ["good", 3], [1, 0])
    with pytest.raises(ValueError, match=r"train_labels must have shape \(16,\), one label per row of train_texts"):
        bag_of_words_probe(texts, labels[:-1], test, [1, 0, 1, 0])
    with pytest.raises(ValueError, match="no words for a bag of words"):
        bag_of_words_probe(["a"] * 16, labels, test, [1, 0, 1, 0])


def test_sparse_features_are_accepted_and_match_dense():
    x, y = blobs(300, 30, 2, separation=3.0, seed=11)
    x[np.abs(x) < 1.0] = 0.0
    dense = linear_probe(x[:200], y[:200], x[200:], y[200:])
    sparse = linear_probe(scipy.sparse.csr_matrix(x[:200]), y[:200], scipy.sparse.csr_matrix(x[200:]), y[200:])
    assert sparse.C == dense.C and abs(sparse.test_accuracy - dense.test_accuracy) <= 0.01
    bad = scipy.sparse.csr_matrix(x[200:])
    bad.data[3] = np.inf
    with pytest.raises(ValueError, match="test_features contains 1 nan or inf values, in 1 rows"):
        linear_probe(x[:200], y[:200], bad, y[200:])
    with pytest.raises(ValueError, match="standardize=True needs dense features"):
        linear_probe(scipy.sparse.csr_matrix(x[:200]), y[:200], x[200:], y[200:], standardize=True)


def fake_lm(vocab=300, d=12, seed=0):
    """The parts of a LanguageModel that random_projection reads: the output embeddings and d."""
    weight = torch.nn.Parameter(torch.randn(vocab, d, generator=torch.Generator().manual_seed(seed)) * 0.3)
    head = types.SimpleNamespace(weight=weight)
    model = types.SimpleNamespace(get_output_embeddings=lambda: head)
    return types.SimpleNamespace(model=model, dim=d, device=torch.device("cpu"))


def test_random_projection_shape_scale_and_determinism():
    lm = fake_lm()
    a = random_projection(lm)
    assert a.shape == (12, 300) and a.dtype == torch.float32
    assert torch.equal(a, random_projection(lm, seed=0)) and not torch.equal(a, random_projection(lm, seed=1))
    phi_norm = float(lm.model.get_output_embeddings().weight.detach().norm())
    assert abs(float(a.norm()) / phi_norm - 1) < 1e-5  # same Frobenius norm as Phi
    small = random_projection(lm, 5, seed=3)
    assert small.shape == (5, 300) and abs(float(small.norm()) / phi_norm - 1) < 1e-5
    probs = torch.softmax(torch.randn(4, 300), dim=-1)
    assert (probs @ a.T).shape == (4, 12)
    for bad in (0, -1, 2.5):
        with pytest.raises(ValueError, match=rf"dim (= {bad} is outside the allowed range|must be a whole number)"):
            random_projection(lm, bad)
    with pytest.raises(TypeError, match="seed must be an integer, got str 'x'"):
        random_projection(lm, seed="x")


def test_tensors_in_reduced_precision_are_accepted():
    x, y = blobs(200, 4, 2, separation=8.0, seed=4)
    features = torch.tensor(x, dtype=torch.bfloat16)
    result = linear_probe(features[:150], torch.tensor(y[:150]), features[150:], y[150:])
    assert result.test_accuracy > 0.95


def test_bad_input_gets_clear_errors():
    x, y = blobs(100, 3, 2, separation=4.0, seed=5)
    with pytest.raises(ValueError, match=r"train_labels must have shape \(100,\).*got shape \(99,\)"):
        linear_probe(x, y[:99], x, y)
    with pytest.raises(ValueError, match="single class"):
        linear_probe(x, np.zeros(100, dtype=int), x, y)
    bad = x.copy()
    bad[7, 1] = np.nan
    with pytest.raises(ValueError, match=r"test_features contains 1 nan or inf values.*row 7"):
        linear_probe(x, y, bad, y)
    with pytest.raises(ValueError, match=r"shape \(n_examples, n_features\), got shape \(100,\); .*x\[:, None\]"):
        linear_probe(x[:, 0], y, x, y)
    with pytest.raises(ValueError, match="train_features has 3 features per example but test_features has 2"):
        linear_probe(x, y, x[:, :2], y)
    with pytest.raises(ValueError, match=r"at least 5 training examples.*2: 3"):
        linear_probe(x[:13], np.r_[y[:10], 2, 2, 2], x, y)
    with pytest.raises(ValueError, match=r"test_labels has classes \[7\] that train_labels lacks"):
        linear_probe(x, y, x[:1], [7])
    with pytest.raises(ValueError, match=r"non-empty matrix.*got shape \(0, 3\)"):
        linear_probe(x, y, x[:0], y[:0])
    with pytest.raises(ValueError, match=r"multiclass must be one of \('multinomial', 'ovr'\), got 'softmax'"):
        linear_probe(x, y, x, y, multiclass="softmax")
    with pytest.raises(TypeError, match="standardize must be True or False, got str 'yes'"):
        linear_probe(x, y, x, y, standardize="yes")


def test_a_features_object_stands_for_its_f():
    from lmtheory.features import Features

    rng = np.random.default_rng(0)
    y = np.arange(40) % 2
    f = rng.normal(size=(40, 3)) + y[:, None]

    def features(rows):
        n = len(rows)
        return Features(f[rows].astype(np.float32), np.zeros((n, 3), np.float32), np.zeros(n, np.float32), None,
                        None, (), "toy", "", 10)

    train, test = np.arange(30), np.arange(30, 40)
    from_object = linear_probe(features(train), y[train], features(test), y[test])
    from_array = linear_probe(f[train].astype(np.float32), y[train], f[test].astype(np.float32), y[test])
    assert from_object.test_accuracy == from_array.test_accuracy and from_object.C == from_array.C
