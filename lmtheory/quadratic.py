"""Is ``log Z`` quadratic? Fits that test the assumption of Theorem 6.1 on a real language model.

Theorem 6.1 assumes a quadratic log-partition function, ``log Z(theta) = 1/2 theta^T A theta + b^T theta + c``;
then ``Phi p_theta = grad log Z(theta) = A theta + b`` is affine in ``theta``. On a real model both sides
can be measured at many contexts, and this module fits them:

* :func:`prefix_features`: ``f(s)``, ``Phi p_f(s)`` and ``log Z(f(s))`` at (a sample of) every position of
  each text, i.e. for the contexts "every prefix of the text", as pretraining sees them;
* :func:`fit_affine`: least squares ``y ~ A x + b`` on training rows, scored by held-out R^2, overall and
  per output coordinate;
* :func:`fit_log_partition`: ``log Z`` against a linear function of ``f`` and against a quadratic one,
  where the quadratic part lives in the top-``k`` principal components of ``f`` (a full quadratic in
  ``d = 576`` coordinates has ~166,000 terms, far more than there are contexts to fit them).

R^2 is ``1 - SSE / SST``, with SST taken around the **training** mean, so a constant prediction scores
about 0 on held-out data and a perfect one 1.

>>> import numpy as np
>>> x = np.random.default_rng(0).normal(size=(50, 3))
>>> round(fit_affine(x[:40], 2 * x[:40] + 1, x[40:], 2 * x[40:] + 1).r2, 6)
1.0
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from .checks import check_int, check_language_model, check_texts
from .features import head, hidden_states

__all__ = ["PrefixFeatures", "prefix_features", "r_squared", "AffineFit", "fit_affine", "LogPartitionFit",
           "fit_log_partition", "quadratic_terms"]


@dataclass(eq=False)
class PrefixFeatures:
    """Features of ``n`` contexts, each a prefix of one of the texts (numpy float32 arrays).

    Attributes
    ----------
    f : ndarray, shape (n, d)
        Final hidden state after the final norm at the prefix's last token.
    mean : ndarray, shape (n, d)
        Conditional mean features ``Phi p_f(s)``.
    log_z : ndarray, shape (n,)
        ``log Z(f(s))`` (nats).
    text : ndarray of int, shape (n,)
        Which text each context is a prefix of: split held-out data by text, not by row.
    length : ndarray of int, shape (n,)
        The prefix's length in tokens (1 = the first token alone).
    model : str
    """

    f: np.ndarray
    mean: np.ndarray
    log_z: np.ndarray
    text: np.ndarray
    length: np.ndarray
    model: str

    @property
    def n(self) -> int:
        return self.f.shape[0]

    def __repr__(self) -> str:
        return (f"PrefixFeatures({self.model}, {self.n:,} contexts from {len(np.unique(self.text)):,} texts, "
                f"d = {self.f.shape[1]})")


def prefix_features(lm, texts, *, per_text: int | None = 16, min_length: int = 2, seed: int = 0,
                    batch_size: int | None = None, chunk: int = 512) -> PrefixFeatures:
    """``f``, ``Phi p_f`` and ``log Z`` at up to ``per_text`` random positions of each text, from one pass.

    A causal LM's state at position ``j`` depends only on tokens ``1..j``, so one forward pass over a text
    gives the features of all its prefixes (right padding cannot change them). Positions are drawn
    without replacement among those with at least ``min_length`` tokens before and including them.

    Parameters
    ----------
    lm : LanguageModel
    texts : list of str, non-empty, no empty string
    per_text : int or None
        Positions per text (fewer when the text is shorter); None takes every position.
    min_length : int, >= 1
        Shortest prefix used, in tokens (a single token says little about the text).
    seed : int
        Seed of the positions drawn.
    batch_size : int, optional
        Texts per forward pass (default 32 on a CPU, 128 on CUDA).
    chunk : int
        Contexts per output-layer product (memory: ``chunk * V`` floats).

    Returns
    -------
    PrefixFeatures

    Example: ``prefix_features(lm, ["A gem of a film.", "Dull."], per_text=3).f.shape`` -> ``(4, 576)``
    (the second text is too short for more than one context of length >= 2).
    """
    texts = check_texts(texts)
    check_language_model(lm)
    if per_text is not None:  # None: every position
        per_text = check_int(per_text, "per_text", low=1)
    min_length = check_int(min_length, "min_length", low=1)  # tokens
    ids = lm.tokenizer(texts, add_special_tokens=True)["input_ids"]
    limit = getattr(lm.model.config, "max_position_embeddings", None) or 512
    ids = [x[:limit] for x in ids]
    rng = np.random.default_rng(seed)
    picks = []  # (text, position) with position = length - 1
    for i, seq in enumerate(ids):
        positions = np.arange(min_length - 1, len(seq))
        if per_text is not None and len(positions) > per_text:
            positions = np.sort(rng.choice(positions, per_text, replace=False))
        picks += [(i, int(p)) for p in positions]
    if not picks:
        raise ValueError(f"no text has {min_length} tokens or more; lower min_length or give longer texts")
    chosen = sorted({i for i, _ in picks})
    f = hidden_states(lm, [ids[i] for i in chosen], [[p for i_, p in picks if i_ == i] for i in chosen],
                      batch_size=batch_size, progress=False)  # rows in the order of picks: text, then position
    outputs = head(lm, f, chunk=chunk)
    text, position = (np.array(column) for column in zip(*picks))
    return PrefixFeatures(f, outputs["mean"], outputs["log_z"], text, position + 1, lm.name)


def _matrix(x, name: str) -> np.ndarray:
    """``x`` as a finite float64 array of shape (n, k), n >= 1 (a 1-D array is one column)."""
    x = np.asarray(x.detach().cpu() if isinstance(x, torch.Tensor) else x, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"{name} must be a non-empty matrix of shape (n, k), got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} contains {int((~np.isfinite(x)).sum())} nan or inf values; it must be finite")
    return x


def _rows_match(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    if len(a) != len(b):
        raise ValueError(f"{name_a} has {len(a)} rows but {name_b} has {len(b)}; they must have one row per example")


def r_squared(y, prediction, center=None, *, per_output: bool = False):
    """Coefficient of determination ``1 - sum (y - prediction)^2 / sum (y - center)^2``.

    Parameters
    ----------
    y, prediction : array, shape (n,) or (n, k)
    center : array, shape (k,), optional
        What a constant prediction would say: the training mean for held-out data (default: mean of y).
    per_output : bool
        False: one number, sums over all entries (outputs with large variance weigh more);
        True: one R^2 per output column, shape (k,).

    Example: ``r_squared(y_test, A @ x_test + b, y_train.mean(0))``.
    """
    y, prediction = _matrix(y, "y"), _matrix(prediction, "prediction")
    if y.shape != prediction.shape:
        raise ValueError(f"y has shape {y.shape} but prediction has shape {prediction.shape}; they must be equal")
    center = y.mean(0) if center is None else np.broadcast_to(_matrix(np.atleast_1d(center)[None], "center"), y.shape)
    sse, sst = ((y - prediction) ** 2).sum(0), ((y - center) ** 2).sum(0)
    if (sst == 0).any() if per_output else sst.sum() == 0:
        raise ValueError("y is constant (around center): R^2 is undefined")
    return 1 - sse / sst if per_output else float(1 - sse.sum() / sst.sum())


@dataclass(eq=False)
class AffineFit:
    """A least-squares fit ``y ~ A x + b`` and how well it predicts held-out rows.

    Attributes
    ----------
    A : ndarray, shape (k, m)
    b : ndarray, shape (k,)
    r2 : float
        Held-out R^2, all outputs together (see :func:`r_squared`).
    r2_per_output : ndarray, shape (k,)
        Held-out R^2 of each output coordinate.
    train_r2 : float
    relative_error : float
        Held-out ``||y - prediction|| / ||y||`` (Frobenius norms): small when y has a large constant part.
    """

    A: np.ndarray
    b: np.ndarray
    r2: float
    r2_per_output: np.ndarray = field(repr=False)
    train_r2: float
    relative_error: float

    def predict(self, x) -> np.ndarray:
        """``x A^T + b``: (n, m) -> (n, k)."""
        return _matrix(x, "x") @ self.A.T + self.b


def fit_affine(x_train, y_train, x_test, y_test, *, ridge: float = 0.0) -> AffineFit:
    """Fit ``y ~ A x + b`` by (ridge) least squares on the training rows; score it on the test rows.

    Parameters
    ----------
    x_train : array, shape (n, m);  y_train : array, shape (n, k) or (n,)
    x_test : array, shape (n', m);  y_test : array, shape (n', k) or (n',)
    ridge : float, >= 0
        Penalty ``ridge * ||A||_F^2`` (b is not penalised); 0 is plain least squares.

    Returns
    -------
    AffineFit

    Example: ``fit_affine(F.f[train], F.mean[train], F.f[test], F.mean[test]).r2``.
    """
    x_train, y_train = _matrix(x_train, "x_train"), _matrix(y_train, "y_train")
    x_test, y_test = _matrix(x_test, "x_test"), _matrix(y_test, "y_test")
    _rows_match(x_train, y_train, "x_train", "y_train")
    _rows_match(x_test, y_test, "x_test", "y_test")
    if x_train.shape[1] != x_test.shape[1] or y_train.shape[1] != y_test.shape[1]:
        raise ValueError(f"train and test columns differ: x {x_train.shape[1]} vs {x_test.shape[1]}, "
                         f"y {y_train.shape[1]} vs {y_test.shape[1]}")
    if isinstance(ridge, bool) or not isinstance(ridge, (int, float)) or not ridge >= 0:
        raise ValueError(f"ridge must be a number >= 0, got {ridge!r}")
    x_mean, y_mean = x_train.mean(0), y_train.mean(0)
    xc, yc = x_train - x_mean, y_train - y_mean  # centring leaves b out of the penalty
    if ridge > 0:
        A = np.linalg.solve(xc.T @ xc + ridge * np.eye(xc.shape[1]), xc.T @ yc).T
    else:
        A = np.linalg.lstsq(xc, yc, rcond=None)[0].T
    b = y_mean - A @ x_mean
    prediction = x_test @ A.T + b
    return AffineFit(A=A, b=b, r2=r_squared(y_test, prediction, y_mean),
                     r2_per_output=r_squared(y_test, prediction, y_mean, per_output=True),
                     train_r2=r_squared(y_train, x_train @ A.T + b),
                     relative_error=float(np.linalg.norm(y_test - prediction) / np.linalg.norm(y_test)))


def quadratic_terms(z) -> np.ndarray:
    """Every product ``z_i z_j`` with ``i <= j``: (n, k) -> (n, k (k + 1) / 2).

    Example: ``quadratic_terms(np.array([[1.0, 2.0]]))`` -> ``[[1., 2., 4.]]``.
    """
    z = _matrix(z, "z")
    i, j = np.triu_indices(z.shape[1])
    return z[:, i] * z[:, j]


@dataclass(eq=False)
class LogPartitionFit:
    """``log Z(f)`` against a linear and a quadratic function of ``f`` (see :func:`fit_log_partition`).

    Attributes
    ----------
    linear, quadratic : AffineFit
        The two fits (inputs ``f``, and ``f`` with the products of its top-k principal components).
    k : int
        Principal components in the quadratic part.
    components : ndarray, shape (k, d)
        Their directions (rows, unit length); ``scales`` (k,) the standard deviation of f along each.
    center : ndarray, shape (d,)
        The training mean of f.
    """

    linear: AffineFit
    quadratic: AffineFit
    k: int
    components: np.ndarray = field(repr=False)
    scales: np.ndarray = field(repr=False)
    center: np.ndarray = field(repr=False)

    def design(self, f) -> np.ndarray:
        """The quadratic fit's inputs: ``f`` and the products of its standardised top-k components."""
        f = _matrix(f, "f")
        return np.c_[f, quadratic_terms((f - self.center) @ self.components.T / self.scales)]

    @property
    def beyond_linear(self) -> float:
        """Share of the linear fit's held-out residual variance that the quadratic part explains."""
        return (self.quadratic.r2 - self.linear.r2) / (1 - self.linear.r2)


def fit_log_partition(f_train, log_z_train, f_test, log_z_test, *, k: int = 16) -> LogPartitionFit:
    """Fit ``log Z(f)`` linearly in ``f``, and quadratically in the top-``k`` principal components of ``f``.

    The quadratic fit's inputs are all ``d`` coordinates of ``f`` (its linear part) and the
    ``k (k + 1) / 2`` products of the standardised top-``k`` principal components (its quadratic part):
    ``d + k (k + 1) / 2 + 1`` coefficients instead of ``(d + 1)(d + 2) / 2``. Both are plain least squares.

    Parameters
    ----------
    f_train : array, shape (n, d);  log_z_train : array, shape (n,)
    f_test : array, shape (n', d);  log_z_test : array, shape (n',)
    k : int, 1 <= k <= d

    Returns
    -------
    LogPartitionFit
        ``.linear.r2`` and ``.quadratic.r2`` are held-out R^2.

    Example: ``fit_log_partition(F.f[train], F.log_z[train], F.f[test], F.log_z[test], k=16).quadratic.r2``.
    """
    f_train, f_test = _matrix(f_train, "f_train"), _matrix(f_test, "f_test")
    d = f_train.shape[1]
    k = check_int(k, "k", low=1, high=d)  # at most the dimension of f
    linear = fit_affine(f_train, log_z_train, f_test, log_z_test)
    center = f_train.mean(0)
    _, singular, vt = np.linalg.svd(f_train - center, full_matrices=False)
    scales = singular[:k] / np.sqrt(len(f_train))
    if not (scales > 0).all():
        raise ValueError(f"f_train has fewer than k = {k} directions of nonzero variance; lower k")
    fit = LogPartitionFit(linear, linear, int(k), vt[:k], scales, center)
    fit.quadratic = fit_affine(fit.design(f_train), log_z_train, fit.design(f_test), log_z_test)
    return fit
