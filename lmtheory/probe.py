"""The paper's linear-probe protocol: standardise, then logistic regression with 5-fold CV over C.

Protocol (section 6 of ``NOTES.md``): features are standardised with the training set's mean and
standard deviation; ``LogisticRegressionCV(cv=5, solver="liblinear", max_iter=200, random_state=0)``
picks ``C`` among ``10**i`` for ``i`` in -6..2 (fewer than 10,000 training examples) or -3..2,
scoring by accuracy; test accuracy is reported. Because ``C`` is chosen by accuracy, and ties go to
the smallest ``C``, the test loss says little on easy data: when every ``C`` classifies perfectly,
``C = 1e-6`` wins and the loss sits just under chance (``log k`` nats) at 100% accuracy.

More than two classes. The paper fits the 5-class SST with the multinomial loss and ``solver="sag"``.
Recent scikit-learn has no ``multi_class`` parameter (every solver but liblinear fits the multinomial
loss, and liblinear refuses more than two classes), so the probe uses ``solver="lbfgs"``: the same
L2-penalised multinomial objective, which lbfgs usually minimises within the 200 iterations where
sag does not. On 1,500 standardised 768-dimensional features in 5 classes (scikit-learn 1.9,
one thread), sag took 42 s and stopped unconverged on 11 of its 45 fits; lbfgs converged in 1.2 s
and chose the same C. Some weakly penalised fits (large C) on 5-class BBC features still stop at
200 iterations; scikit-learn then warns, as it does for the paper's own settings.

Threads. The fits run with the BLAS libraries on one thread: the matrices are small, and with two
shared cores a second thread made a 5-class probe on 1,200 x 768 features 40 times slower (36 s
instead of 0.9 s); liblinear uses one thread anyway.

>>> import numpy as np
>>> x = np.array([[-2.0], [-1.5], [-1.0], [-0.5], [-0.2], [0.2], [0.5], [1.0], [1.5], [2.0]] * 2)
>>> y = (x[:, 0] > 0).astype(int)
>>> linear_probe(x, y, x, y).test_accuracy
1.0
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field

import numpy as np
import torch
from sklearn.linear_model import LogisticRegressionCV
from sklearn.metrics import log_loss
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from .threads import single_thread

__all__ = ["ProbeResult", "linear_probe", "c_grid", "FOLDS", "LARGE_TRAIN"]

FOLDS = 5
MAX_ITER = 200
#: From this many training examples on, the C grid starts at 1e-3 instead of 1e-6.
LARGE_TRAIN = 10_000
_PARAMETERS = inspect.signature(LogisticRegressionCV).parameters
#: scikit-learn >= 1.8 warns unless these are set explicitly; older versions lack or ignore them.
_EXPLICIT = {
    **({"l1_ratios": (0.0,)} if _PARAMETERS["l1_ratios"].default == "warn" else {}),
    **({"use_legacy_attributes": False} if "use_legacy_attributes" in _PARAMETERS else {}),
}


@dataclass
class ProbeResult:
    """What a linear probe measured.

    Attributes
    ----------
    test_accuracy, train_accuracy : float
        Fractions in [0, 1].
    test_loss : float
        Mean logistic loss (cross-entropy) on the test set, in nats.
    C : float
        The inverse regularisation strength chosen by cross-validation.
    solver : str
        ``"liblinear"`` (two classes) or ``"lbfgs"`` (multinomial, more classes).
    n_train, n_test, n_features, n_classes : int
    model : sklearn Pipeline
        The fitted scaler and classifier; ``model.predict_proba(features)`` scores new examples.
    """

    test_accuracy: float
    test_loss: float
    train_accuracy: float
    C: float
    solver: str
    n_train: int
    n_test: int
    n_features: int
    n_classes: int
    model: Pipeline = field(repr=False, compare=False)

    def row(self) -> dict:
        """The numbers without the model, for a table: ``pd.DataFrame([r.row() for r in results])``."""
        return {name: value for name, value in vars(self).items() if name != "model"}

    def __str__(self) -> str:
        return (f"test accuracy {100 * self.test_accuracy:.1f}%, test loss {self.test_loss:.3f} nats, "
                f"train accuracy {100 * self.train_accuracy:.1f}%, C = {self.C:.0e} ({self.solver}; "
                f"{self.n_train:,} train / {self.n_test:,} test, {self.n_features:,} features, "
                f"{self.n_classes} classes)")


def c_grid(n_train: int) -> np.ndarray:
    """The protocol's grid of ``C``: ``10**i`` for i in -6..2, or -3..2 from 10,000 training examples on.

    Parameters
    ----------
    n_train : int
        Number of training examples.

    Returns
    -------
    ndarray, shape (9,) or (6,)

    Example: ``c_grid(1500)`` -> ``array([1e-06, 1e-05, ..., 1e+02])``.
    """
    if isinstance(n_train, bool) or not isinstance(n_train, (int, np.integer)) or n_train < 1:
        raise ValueError(f"n_train must be a positive integer, got {n_train!r}")
    return 10.0 ** np.arange(-6 if n_train < LARGE_TRAIN else -3, 3)


def linear_probe(train_features, train_labels, test_features, test_labels) -> ProbeResult:
    """Fit the paper's linear probe on training features and score it on test features.

    Parameters
    ----------
    train_features : array-like or tensor, shape (n_train, d)
    train_labels : array-like, shape (n_train,)
        At least two classes, each with at least 5 examples (5-fold CV).
    test_features : array-like or tensor, shape (n_test, d)
    test_labels : array-like, shape (n_test,)
        Only classes seen in training.

    Returns
    -------
    ProbeResult
        Test accuracy and loss (nats), train accuracy, the chosen ``C``, sizes and the fitted model.

    Example: ``linear_probe(f_train, task_train.labels, f_test, task_test.labels).test_accuracy``.
    """
    x_train = _features(train_features, "train_features")
    x_test = _features(test_features, "test_features")
    y_train = _labels(train_labels, "train_labels", len(x_train), "train_features")
    y_test = _labels(test_labels, "test_labels", len(x_test), "test_features")
    if x_train.shape[1] != x_test.shape[1]:
        raise ValueError(f"train_features has {x_train.shape[1]} features per example but test_features has "
                         f"{x_test.shape[1]}; they must be equal")
    classes, counts = np.unique(y_train, return_counts=True)
    if len(classes) < 2:
        raise ValueError(f"train_labels has a single class ({classes.tolist()[0]!r}); a probe needs at least two")
    if counts.min() < FOLDS:
        rare = ", ".join(f"{c!r}: {k}" for c, k in zip(classes.tolist(), counts) if k < FOLDS)
        raise ValueError(f"every class needs at least {FOLDS} training examples for {FOLDS}-fold "
                         f"cross-validation; too few in train_labels for {rare}")
    unseen = np.setdiff1d(y_test, classes)
    if len(unseen):
        raise ValueError(f"test_labels has classes {unseen.tolist()} that train_labels lacks "
                         f"(training classes: {classes.tolist()})")
    solver = "liblinear" if len(classes) == 2 else "lbfgs"
    classifier = LogisticRegressionCV(Cs=c_grid(len(x_train)), cv=FOLDS, solver=solver, max_iter=MAX_ITER,
                                      random_state=0, scoring="accuracy", **_EXPLICIT)
    with single_thread():
        model = make_pipeline(StandardScaler(), classifier).fit(x_train, y_train)
    return ProbeResult(
        test_accuracy=float(model.score(x_test, y_test)),
        test_loss=float(log_loss(y_test, model.predict_proba(x_test), labels=classes)),
        train_accuracy=float(model.score(x_train, y_train)),
        C=float(np.ravel(classifier.C_)[0]),
        solver=solver,
        n_train=len(x_train),
        n_test=len(x_test),
        n_features=x_train.shape[1],
        n_classes=len(classes),
        model=model,
    )


def _features(x, name: str) -> np.ndarray:
    """``x`` as a finite float64 matrix of shape (n, d), n >= 1."""
    if isinstance(x, torch.Tensor):
        x = x.detach().to("cpu", torch.float64).numpy()
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        hint = "; for a single feature use x[:, None]" if x.ndim == 1 else ""
        raise ValueError(f"{name} must be a non-empty matrix of shape (n_examples, n_features), got shape "
                         f"{x.shape}{hint}")
    bad = ~np.isfinite(x)
    if bad.any():
        rows = np.flatnonzero(bad.any(axis=1))
        raise ValueError(f"{name} contains {int(bad.sum())} nan or inf values, in {len(rows)} rows (first: row "
                         f"{rows[0]}); features must be finite")
    return x


def _labels(y, name: str, n: int, features_name: str) -> np.ndarray:
    """``y`` as a 1-D array of length ``n``."""
    if isinstance(y, torch.Tensor):
        y = y.detach().cpu().numpy()
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != n:
        raise ValueError(f"{name} must have shape ({n},), one label per row of {features_name}; got shape {y.shape}")
    return y
