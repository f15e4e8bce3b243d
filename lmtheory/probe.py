"""The paper's linear-probe protocol: logistic regression on raw features, 5-fold CV over C.

Protocol (the authors' script; section 6 of ``NOTES.md``)::

    LogisticRegressionCV(Cs=c_grid(n_train), cv=5, solver="liblinear", max_iter=200, random_state=0,
                         dual=n_train < n_features, fit_intercept=True)

fitted on the **raw** features (the script scales nothing), with ``Cs = 10**i`` for ``i`` in -6..3
(1e-6 .. 1e3) below 10,000 training examples and -3..2 (1e-3 .. 1e2) from 10,000 on, ``C`` chosen
by cross-validated accuracy (scikit-learn's default scoring at the time, passed explicitly here),
and test accuracy reported. ``dual=True`` (liblinear's dual problem) when there are fewer training
examples than feature dimensions. :func:`linear_probe` does exactly this by default.

Because ``C`` is chosen by accuracy, and ties go to the smallest ``C``, the test loss says little on
easy data: when every ``C`` classifies perfectly, ``C = 1e-6`` wins and the loss sits just under
chance (``log k`` nats) at 100% accuracy.

More than two classes (``multiclass``). The paper fits its 5-class task (fine-grained SST) with the
multinomial loss and ``solver="sag"``: that is the default here for any task with more than two
classes (``multiclass="multinomial"``). Its 4-class AG News probe used ``solver="liblinear"``, which
fits one binary classifier per class (one-vs-rest, each with its own cross-validated ``C``): that is
``multiclass="ovr"``. (Each of its binary problems is unbalanced, one class against all the others,
and ``C`` is chosen by accuracy, so a one-vs-rest probe on weak features can settle on "never this
class" for every class.) Recent scikit-learn (1.8 on) has no ``multi_class`` parameter and liblinear
refuses more than two classes, so the probe never passes ``multi_class``: ``sag`` fits the
multinomial loss in every version from 0.22 on (its ``"auto"`` choice), and one-vs-rest wraps binary
liblinear probes in a ``OneVsRestClassifier``, which is what old scikit-learn did inside. ``sag``
has no dual form, so ``dual`` is False for the multinomial probe whatever the sizes.

Cost of ``sag`` on raw features (measured). ``sag`` is a stochastic solver; on raw language-model
features, whose coordinates differ in scale, it converges slowly and usually stops at ``max_iter = 200``
passes (scikit-learn then warns with a :class:`~sklearn.exceptions.ConvergenceWarning`, as it does
for the paper's own settings). On the 5-class Rotten Tomatoes stand-in with the prompt (400 training
texts, the offline model's 576-dimensional ``f(s)``, one thread, scikit-learn 1.9), one probe (10
values of C times 5 folds, and the refit: 51 fits) took 24 s of CPU time with ``sag``, which stopped
at the limit in 38 of its fits; 3.8 s with ``lbfgs``, which stopped there in 25; and 1.3 s with
``newton-cg``, which converged in all of them. On ``Phi p_f(s)`` the times were 12 s, 1.9 s and 0.6 s;
at 1,500 training texts ``lbfgs`` still stopped early (in 7 to 36 of the 51 fits, depending on the
features) and ``newton-cg`` never. All
three minimise the same penalised multinomial loss, so a converged ``newton-cg`` gives the classifier
that ``sag`` is after. ``sag`` stays the default, because it is the paper's choice;
``solver="newton-cg"`` is the variant that chapter 7 uses, labelled, for its tasks with more than
two classes.

Standardising (``standardize=True``) is a named variant, not the protocol: each coordinate is centred
and scaled with the training set's mean and standard deviation before the same classifier. On raw
features a coordinate that varies little from example to example needs a large weight to matter,
and the penalty ``||w||^2 / 2`` charges for it, so the probe leans on the coordinates that vary
most; with ``C`` capped at the top of the grid, a signal in small coordinates can stay out of reach.
Standardising puts every coordinate on the same footing and makes the solvers converge faster; it
changes which ``C`` wins and sometimes the accuracy by many points. Chapter 7 shows both side by side.

Baselines. :func:`bag_of_words_probe` fits the same probe on TF-IDF vectors of the texts, a yardstick
that uses no language model. :func:`lmtheory.features.random_projection` gives a random ``d x V``
matrix ``A`` for the feature ``A p_f(s)``, a ``d``-dimensional summary of ``p_f(s)`` that, unlike
``Phi p_f(s)``, knows nothing of the model's word embeddings.

Threads. The fits run with the BLAS libraries on one thread: the matrices are small, and with two
shared cores a second thread made a 5-class probe on 1,200 x 768 features 40 times slower (36 s
instead of 0.9 s); liblinear and sag use one thread anyway.

>>> import numpy as np
>>> x = np.array([[-2.0], [-1.5], [-1.0], [-0.5], [-0.2], [0.2], [0.5], [1.0], [1.5], [2.0]] * 2)
>>> y = (x[:, 0] > 0).astype(int)
>>> linear_probe(x, y, x, y).test_accuracy
1.0
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegressionCV
from sklearn.metrics import log_loss
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from .checks import check_int, check_texts
from .threads import single_thread

__all__ = ["ProbeResult", "linear_probe", "bag_of_words_probe", "probe_table", "c_grid", "MULTICLASS", "SOLVERS",
           "FOLDS", "LARGE_TRAIN", "FEATURE_KINDS"]

FOLDS = 5
MAX_ITER = 200
#: From this many training examples on, the C grid is 1e-3 .. 1e2 instead of 1e-6 .. 1e3.
LARGE_TRAIN = 10_000
#: How a probe with more than two classes is fitted (see the module's notes).
MULTICLASS = ("multinomial", "ovr")
#: Accepted values of ``solver``; None is the protocol's choice.
SOLVERS = (None, "liblinear", "sag", "lbfgs", "newton-cg")
#: The features of a softmax language model that :func:`probe_table` probes: column -> attribute of a
#: :class:`lmtheory.features.Features` object (``f(s)`` and the conditional mean features ``Phi p_f(s)``).
FEATURE_KINDS = {"f(s)": "f", "Phi p_f(s)": "mean"}
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
    C : float or tuple of float
        The inverse regularisation strength chosen by cross-validation; one per class for a
        one-vs-rest probe.
    solver : str
        ``"liblinear"`` (two classes, or one-vs-rest) or ``"sag"`` (multinomial).
    multiclass : str
        ``"binary"``, ``"multinomial"`` or ``"ovr"``.
    dual : bool
        Whether liblinear solved its dual problem (fewer training examples than features).
    standardized : bool
        Whether the features were standardised first (a variant, not the protocol).
    n_train, n_test, n_features, n_classes : int
    model : sklearn Pipeline
        The fitted steps (a scaler or a TF-IDF vectorizer if any, then the classifier);
        ``model.predict(features)`` labels new examples, ``model[-1]`` is the classifier.
    """

    test_accuracy: float
    test_loss: float
    train_accuracy: float
    C: float | tuple[float, ...]
    solver: str
    multiclass: str
    dual: bool
    standardized: bool
    n_train: int
    n_test: int
    n_features: int
    n_classes: int
    model: Pipeline = field(repr=False, compare=False)

    def row(self) -> dict:
        """The numbers without the model, for a table: ``pd.DataFrame([r.row() for r in results])``."""
        return {name: value for name, value in vars(self).items() if name != "model"}

    def __str__(self) -> str:
        c = (f"C = {self.C:.0e}" if isinstance(self.C, float)
             else "C per class = " + ", ".join(f"{c:.0e}" for c in self.C))
        how = f"{self.solver}{', dual' if self.dual else ''}{', standardised' if self.standardized else ', raw'}"
        return (f"test accuracy {100 * self.test_accuracy:.1f}%, test loss {self.test_loss:.3f} nats, "
                f"train accuracy {100 * self.train_accuracy:.1f}%, {c} ({how}; "
                f"{self.n_train:,} train / {self.n_test:,} test, {self.n_features:,} features, "
                f"{self.n_classes} classes)")


def c_grid(n_train: int) -> np.ndarray:
    """The protocol's grid of ``C``: ``10**i`` for i in -6..3 (1e-6 .. 1e3), or -3..2 from 10,000 examples on.

    Parameters
    ----------
    n_train : int
        Number of training examples.

    Returns
    -------
    ndarray, shape (10,) or (6,)

    Example: ``c_grid(1500)`` -> ``array([1e-06, 1e-05, ..., 1e+03])``.
    """
    n_train = check_int(n_train, "n_train", low=1)
    exponents = range(-6, 4) if n_train < LARGE_TRAIN else range(-3, 3)
    return np.array([10**i for i in exponents], dtype=np.float64)  # as the script writes it: 10**-5 == 1e-05


def linear_probe(train_features, train_labels, test_features, test_labels, *, standardize: bool = False,
                 multiclass: str = "multinomial", solver: str | None = None) -> ProbeResult:
    """Fit the paper's linear probe on training features and score it on test features.

    Parameters
    ----------
    train_features : array-like, tensor, scipy sparse matrix or Features, shape (n_train, d)
        A :class:`lmtheory.features.Features` object stands for its ``f(s)``; pass ``feats.mean`` for
        ``Phi p_f(s)``.
    train_labels : array-like, shape (n_train,)
        At least two classes, each with at least 5 examples (5-fold CV).
    test_features : array-like, tensor, scipy sparse matrix or Features, shape (n_test, d)
    test_labels : array-like, shape (n_test,)
        Only classes seen in training.
    standardize : bool
        ``False`` (default, the protocol): raw features. ``True``: centre and scale each coordinate with
        the training mean and standard deviation first (dense features only).
    multiclass : {"multinomial", "ovr"}
        With more than two classes: the multinomial loss with ``solver="sag"`` (default; the paper's
        5-class SST), or one-vs-rest liblinear probes with one ``C`` per class (the paper's AG News).
        Ignored with two classes.
    solver : {None, "liblinear", "sag", "lbfgs", "newton-cg"}
        ``None`` (default): the protocol's solver, ``"liblinear"`` for two classes and one-vs-rest,
        ``"sag"`` for the multinomial loss. Another solver minimises the same penalised loss by other
        means (a variant: on raw features ``"newton-cg"`` converges where ``"sag"`` and ``"lbfgs"``
        stop at ``max_iter``, and faster); liblinear cannot fit the multinomial loss. ``dual`` is only
        ever used with liblinear.

    Returns
    -------
    ProbeResult
        Test accuracy and loss (nats), train accuracy, the chosen ``C``, how it was fitted, sizes and
        the fitted model.

    Raises
    ------
    ValueError
        Features that are not a non-empty finite matrix, labels of the wrong length, a single class,
        a class with fewer than 5 training examples, test classes unseen in training, an unknown
        ``multiclass`` or ``solver``, liblinear for the multinomial loss, or ``standardize=True`` with
        sparse features.

    Example: ``linear_probe(f_train, task_train.labels, f_test, task_test.labels).test_accuracy``.
    """
    if not isinstance(standardize, (bool, np.bool_)):
        raise TypeError(f"standardize must be True or False, got {type(standardize).__name__} {standardize!r}")
    _check_options(multiclass, solver)
    x_train = _features(train_features, "train_features")
    x_test = _features(test_features, "test_features")
    if standardize and scipy.sparse.issparse(x_train):
        raise ValueError("standardize=True needs dense features (centring would fill a sparse matrix); "
                         "pass standardize=False, or x.toarray()")
    y_train, y_test, classes = _check_pair(x_train, train_labels, x_test, test_labels)
    return _fit(x_train, y_train, x_test, y_test, classes, standardize=bool(standardize), multiclass=multiclass,
                solver=solver)


def bag_of_words_probe(train_texts, train_labels, test_texts, test_labels, *,
                       multiclass: str = "multinomial", solver: str | None = None) -> ProbeResult:
    """The same probe on TF-IDF bag-of-words vectors of the texts: a baseline without a language model.

    scikit-learn's ``TfidfVectorizer`` with its defaults (lower-cased words of two or more letters or
    digits, single words, smoothed IDF, rows scaled to unit length) is fitted on the training texts
    only; the probe is :func:`linear_probe` on the sparse vectors (raw, ``dual`` when there are more
    words than training texts).

    Parameters
    ----------
    train_texts : list of str, length n_train
    train_labels : array-like, shape (n_train,)
    test_texts : list of str, length n_test
    test_labels : array-like, shape (n_test,)
    multiclass, solver
        As in :func:`linear_probe`.

    Returns
    -------
    ProbeResult
        ``n_features`` is the size of the training vocabulary; ``model`` starts with the vectorizer, so
        ``model.predict(texts)`` labels raw texts.

    Example: ``bag_of_words_probe(train.texts, train.labels, test.texts, test.labels).test_accuracy``.
    """
    train_texts = check_texts(train_texts, "train_texts")
    test_texts = check_texts(test_texts, "test_texts")
    _check_options(multiclass, solver)
    vectorizer = TfidfVectorizer()
    try:
        x_train = vectorizer.fit_transform(train_texts)
    except ValueError as error:  # "empty vocabulary": no text has a word of two characters
        raise ValueError(f"train_texts give no words for a bag of words ({error})") from error
    x_test = vectorizer.transform(test_texts)
    y_train, y_test, classes = _check_pair(x_train, train_labels, x_test, test_labels, "train_texts", "test_texts")
    return _fit(x_train, y_train, x_test, y_test, classes, standardize=False, multiclass=multiclass, solver=solver,
                first=("tfidfvectorizer", vectorizer), test_input=test_texts, train_input=train_texts)


def probe_table(features, train_labels, test_labels, *, kinds=FEATURE_KINDS, **options) -> pd.DataFrame:
    """Test accuracy (%) of the linear probe on each kind of feature of each model, with chance.

    For each model and each kind of feature, :func:`linear_probe` is fitted on the training features
    and scored on the test features; the table has one row per model and one column per kind.

    Parameters
    ----------
    features : mapping of str to (Features, Features)
        Model name (the row) -> its features of the training texts and of the test texts: two
        :class:`lmtheory.features.Features` objects (or any objects with the attributes named in
        ``kinds``), of shapes (n_train, d) and (n_test, d) per kind.
    train_labels : array-like, shape (n_train,)
    test_labels : array-like, shape (n_test,)
    kinds : mapping of str to str
        Column name -> attribute of the features to probe; by default :data:`FEATURE_KINDS`, ``f(s)``
        (``.f``) and ``Phi p_f(s)`` (``.mean``).
    **options
        Passed to :func:`linear_probe` (``standardize``, ``multiclass``, ``solver``).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``"model"``; one column per kind with the test accuracy in percent, then ``"chance"``:
        the percentage of test labels in the most frequent test class (always guessing it).
        ``table.attrs["unconverged"]`` lists the ``(model, kind)`` probes for which scikit-learn warned
        that a fit stopped at the iteration limit (a :class:`~sklearn.exceptions.ConvergenceWarning`,
        usual with the protocol on raw features); those warnings are recorded there, not shown.

    Raises
    ------
    TypeError, ValueError
        ``features`` or ``kinds`` empty or not a mapping, a value of ``features`` that is not a pair,
        features without an attribute that ``kinds`` names; and whatever :func:`linear_probe` refuses.

    Explained in chapter 1. Example: ``probe_table({"GPT-2": (F_train, F_test)}, train.labels, test.labels)``.
    """
    for name, value in (("features", features), ("kinds", kinds)):
        if not isinstance(value, Mapping) or not value:
            raise TypeError(f"{name} must be a non-empty mapping (a dict), got {type(value).__name__} {value!r:.80}")
    rows, unconverged = {}, []
    for model, pair in features.items():
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ValueError(f"features[{model!r}] must be a pair (train features, test features), got "
                             f"{type(pair).__name__} {pair!r:.80}")
        rows[model] = {}
        for column, attribute in kinds.items():
            accuracy, converged = _probe_kind(pair, attribute, model, train_labels, test_labels, options)
            rows[model][column] = 100 * accuracy
            if not converged:
                unconverged.append((model, column))
    _, counts = np.unique(np.asarray(test_labels), return_counts=True)
    table = pd.DataFrame.from_dict(rows, orient="index").rename_axis("model")
    table["chance"] = 100 * counts.max() / counts.sum()
    table.attrs["unconverged"] = unconverged
    return table


def _probe_kind(pair, attribute, model, train_labels, test_labels, options) -> tuple[float, bool]:
    """Test accuracy of the probe on one attribute of a (train, test) pair of feature objects, and whether
    every fit converged (scikit-learn's ConvergenceWarnings are kept back, other warnings passed on)."""
    train, test = pair
    for split, value in (("train", train), ("test", test)):
        if not hasattr(value, attribute):
            raise ValueError(f"the {split} features of {model!r} ({type(value).__name__}) have no attribute "
                             f"{attribute!r}; kinds names the attributes to probe (e.g. 'f', 'mean')")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        result = linear_probe(getattr(train, attribute), train_labels, getattr(test, attribute), test_labels,
                              **options)
    for w in caught:
        if not issubclass(w.category, ConvergenceWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return result.test_accuracy, not any(issubclass(w.category, ConvergenceWarning) for w in caught)


def _check_options(multiclass, solver):
    if multiclass not in MULTICLASS:
        raise ValueError(f"multiclass must be one of {MULTICLASS}, got {multiclass!r}")
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")


def _fit(x_train, y_train, x_test, y_test, classes, *, standardize, multiclass, solver, first=None,
         test_input=None, train_input=None) -> ProbeResult:
    """Fit the protocol's classifier (after an optional scaler) and score it."""
    n, d = x_train.shape
    kind = "binary" if len(classes) == 2 else multiclass
    if solver is None:
        solver = "sag" if kind == "multinomial" else "liblinear"
    elif solver == "liblinear" and kind == "multinomial":
        raise ValueError(f"solver='liblinear' cannot fit the multinomial loss of {len(classes)} classes; use "
                         f"solver=None (sag, the protocol's), 'newton-cg' or 'lbfgs', or multiclass='ovr'")
    dual = solver == "liblinear" and n < d
    classifier = LogisticRegressionCV(Cs=c_grid(n), cv=FOLDS, solver=solver, dual=dual, max_iter=MAX_ITER,
                                      random_state=0, scoring="accuracy", **_EXPLICIT)
    if kind == "ovr":
        classifier = OneVsRestClassifier(classifier)
    steps = ([StandardScaler()] if standardize else []) + [classifier]
    with single_thread():
        fitted = make_pipeline(*steps).fit(x_train, y_train)
    if kind == "ovr":
        chosen = tuple(float(np.ravel(e.C_)[0]) for e in classifier.estimators_)
    else:
        chosen = float(np.ravel(classifier.C_)[0])
    model = fitted if first is None else Pipeline([first, *fitted.steps])
    test_in = x_test if test_input is None else test_input
    train_in = x_train if train_input is None else train_input
    with single_thread():
        test_accuracy = float(model.score(test_in, y_test))
        test_loss = float(log_loss(y_test, model.predict_proba(test_in), labels=classes))
        train_accuracy = float(model.score(train_in, y_train))
    return ProbeResult(test_accuracy=test_accuracy, test_loss=test_loss, train_accuracy=train_accuracy, C=chosen,
                       solver=solver, multiclass=kind, dual=dual, standardized=standardize, n_train=n,
                       n_test=x_test.shape[0], n_features=d, n_classes=len(classes), model=model)


def _check_pair(x_train, train_labels, x_test, test_labels, train_name="train_features", test_name="test_features"):
    """Labels as 1-D arrays matching the features; the training classes, checked for 5-fold CV."""
    y_train = _labels(train_labels, "train_labels", x_train.shape[0], train_name)
    y_test = _labels(test_labels, "test_labels", x_test.shape[0], test_name)
    if x_train.shape[1] != x_test.shape[1]:
        raise ValueError(f"{train_name} has {x_train.shape[1]} features per example but {test_name} has "
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
    return y_train, y_test, classes


def _features(x, name: str):
    """``x`` as a finite float64 matrix of shape (n, d), n >= 1 (dense, or sparse CSR); a
    :class:`lmtheory.features.Features` object gives its ``f``."""
    if hasattr(x, "f") and hasattr(x, "mean") and hasattr(x, "log_z"):  # a Features object: f(s)
        x = x.f
    if scipy.sparse.issparse(x):
        x = scipy.sparse.csr_matrix(x, dtype=np.float64)
        values = x.data
    else:
        if isinstance(x, torch.Tensor):
            x = x.detach().to("cpu", torch.float64).numpy()
        try:
            x = np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError):
            lengths = sorted({len(row) for row in x if hasattr(row, "__len__")}) if hasattr(x, "__iter__") else []
            shape = f"rows of lengths {lengths}: every row must have the same length" if len(lengths) > 1 else \
                "entries that are not numbers"
            raise ValueError(f"{name} must be a matrix of numbers (n_examples, n_features), but it has "
                             f"{shape}") from None
        values = x
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        hint = "; for a single feature use x[:, None]" if x.ndim == 1 else ""
        raise ValueError(f"{name} must be a non-empty matrix of shape (n_examples, n_features), got shape "
                         f"{x.shape}{hint}")
    bad = ~np.isfinite(values)
    if bad.any():
        if values is x:
            rows = np.flatnonzero(bad.any(axis=1))
        else:
            coo = x.tocoo()
            rows = np.unique(coo.row[~np.isfinite(coo.data)])
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
