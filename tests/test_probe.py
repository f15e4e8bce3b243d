"""lmtheory.probe: the paper's linear-probe protocol on toy data with known answers."""

import warnings

import numpy as np
import pytest
import torch

from lmtheory.probe import c_grid, linear_probe


def blobs(n, d, k, separation, seed):
    """``n`` points in ``d`` dimensions around ``k`` class centres ``separation`` apart."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % k
    return rng.normal(size=(n, d)) + separation * np.eye(k, d)[labels], labels


@pytest.mark.parametrize("k, solver", [(2, "liblinear"), (4, "lbfgs")])
def test_separable_data_is_classified_perfectly(k, solver):
    x, y = blobs(600, 10, k, separation=12.0, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no convergence or deprecation warnings from scikit-learn
        result = linear_probe(x[:400], y[:400], x[400:], y[400:])
    assert result.test_accuracy == result.train_accuracy == 1.0
    # CV scores accuracy, and ties go to the smallest C: here every C is perfect, so C = 1e-6 wins and
    # the loss stays just under log k (chance), although every test point is on the right side.
    assert result.C == 1e-6 and np.log(k) - 0.01 < result.test_loss < np.log(k)
    assert (result.solver, result.n_classes) == (solver, k)
    assert (result.n_train, result.n_test, result.n_features) == (400, 200, 10)
    assert "test accuracy 100.0%" in str(result)
    assert set(result.row()) == {"test_accuracy", "test_loss", "train_accuracy", "C", "solver", "n_train",
                                 "n_test", "n_features", "n_classes"}


def test_random_labels_give_chance_accuracy():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(1600, 20)), rng.integers(0, 2, 1600)
    result = linear_probe(x[:600], y[:600], x[600:], y[600:])
    assert abs(result.test_accuracy - 0.5) < 0.06
    assert result.test_loss > 0.65  # about log 2 = 0.693 nats: nothing learned


def test_standardisation_is_fitted_on_the_training_set_only():
    x, y = blobs(300, 3, 2, separation=4.0, seed=2)
    x_train = x[:200] * np.array([1.0, 100.0, 0.01]) + 5.0
    x_test = x[200:] * np.array([1.0, 100.0, 0.01]) + 5.0
    result = linear_probe(x_train, y[:200], x_test + 1000.0, y[200:])
    scaler = result.model[0]
    assert np.allclose(scaler.mean_, x_train.mean(0)) and np.allclose(scaler.scale_, x_train.std(0))
    assert result.test_accuracy < 0.9  # the shifted test set is scored with the training statistics
    assert linear_probe(x_train, y[:200], x_test, y[200:]).test_accuracy > 0.9


def test_the_c_grid_follows_the_protocol():
    assert np.array_equal(c_grid(9_999), 10.0 ** np.arange(-6, 3))
    assert np.array_equal(c_grid(10_000), 10.0 ** np.arange(-3, 3))
    x, y = blobs(10_050, 2, 2, separation=2.0, seed=3)
    large = linear_probe(x[:10_000], y[:10_000], x[10_000:], y[10_000:])
    assert np.array_equal(large.model[-1].Cs_, c_grid(10_000)) and large.C in c_grid(10_000)
    small = linear_probe(x[:500], y[:500], x[10_000:], y[10_000:])
    assert np.array_equal(small.model[-1].Cs_, c_grid(500)) and small.C in c_grid(500)
    with pytest.raises(ValueError, match="n_train must be a positive integer, got 0"):
        c_grid(0)


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
