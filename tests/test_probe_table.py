"""lmtheory.probe.probe_table: the linear probe on each kind of feature of each model, as a table."""

from __future__ import annotations

import types
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from lmtheory import probe
from lmtheory.probe import linear_probe, probe_table


def features(n, d, seed, separation):
    """Features of ``n`` texts in two classes: ``f`` separates them well, ``mean`` barely."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    f = rng.normal(size=(n, d)) + separation * labels[:, None]
    mean = rng.normal(size=(n, d)) + 0.05 * labels[:, None]
    return types.SimpleNamespace(f=f, mean=mean), labels


@pytest.fixture(scope="module")
def data():
    train, y_train = features(120, 4, seed=0, separation=3.0)
    test, y_test = features(60, 4, seed=1, separation=3.0)
    y_test = y_test.copy()
    y_test[:10] = 0  # an unbalanced test set: 35 of the 60 labels are 0
    return train, y_train, test, y_test


def test_one_row_per_model_and_one_column_per_kind(data):
    train, y_train, test, y_test = data
    table = probe_table({"model a": (train, test), "model b": (train, test)}, y_train, y_test)
    assert list(table.index) == ["model a", "model b"] and table.index.name == "model"
    assert list(table.columns) == ["f(s)", "Phi p_f(s)", "chance"]
    expected = 100 * linear_probe(train.f, y_train, test.f, y_test).test_accuracy
    assert table.loc["model a", "f(s)"] == expected > 90
    assert table.loc["model a", "Phi p_f(s)"] == 100 * linear_probe(train.mean, y_train, test.mean,
                                                                    y_test).test_accuracy
    assert (table["chance"] == 100 * 35 / 60).all()
    assert isinstance(table.attrs["unconverged"], list)


def test_kinds_and_options_choose_what_is_probed(data):
    train, y_train, test, y_test = data
    table = probe_table({"m": (train, test)}, y_train, y_test, kinds={"raw f": "f"}, standardize=True)
    assert list(table.columns) == ["raw f", "chance"]
    assert table.loc["m", "raw f"] == 100 * linear_probe(train.f, y_train, test.f, y_test,
                                                         standardize=True).test_accuracy


def test_convergence_warnings_are_recorded_and_other_warnings_passed_on(data, monkeypatch):
    train, y_train, test, y_test = data

    def fake_probe(x_train, y_train, x_test, y_test, **options):
        warnings.warn("Liblinear failed to converge", ConvergenceWarning)
        warnings.warn("something else", UserWarning)
        return types.SimpleNamespace(test_accuracy=0.5)

    monkeypatch.setattr(probe, "linear_probe", fake_probe)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = probe_table({"m": (train, test)}, y_train, y_test)
    assert table.attrs["unconverged"] == [("m", "f(s)"), ("m", "Phi p_f(s)")]
    assert [str(w.message) for w in caught] == ["something else", "something else"]
    assert table.loc["m", "f(s)"] == 50.0


def test_bad_inputs_are_named(data):
    train, y_train, test, y_test = data
    with pytest.raises(TypeError, match="features must be a non-empty mapping"):
        probe_table([(train, test)], y_train, y_test)
    with pytest.raises(TypeError, match="features must be a non-empty mapping"):
        probe_table({}, y_train, y_test)
    with pytest.raises(TypeError, match="kinds must be a non-empty mapping"):
        probe_table({"m": (train, test)}, y_train, y_test, kinds=["f"])
    with pytest.raises(ValueError, match=r"features\['m'\] must be a pair \(train features, test features\)"):
        probe_table({"m": train}, y_train, y_test)
    with pytest.raises(ValueError, match="the train features of 'm' .* have no attribute 'log_z'"):
        probe_table({"m": (train, test)}, y_train, y_test, kinds={"x": "log_z"})
    with pytest.raises(ValueError, match="test_labels must have shape"):  # linear_probe's own check
        probe_table({"m": (train, test)}, y_train, y_test[:-1])
