"""Self-checks of chapter 6 (a quadratic log-partition, probes on f, counting coefficients)."""

from __future__ import annotations

import numpy as np

from lmtheory.exercise_bank import call_with
from lmtheory.exercises import ExerciseError, check, check_function, register


def _gaussian(theta, mu, Sigma, V):
    """log V + theta^T mu + theta^T Sigma theta / 2 per row of theta, shape (n,): the exact log of
    V E e^{theta^T phi} for phi ~ N(mu, Sigma)."""
    return np.log(V) + theta @ mu + 0.5 * np.einsum("ni,ij,nj->n", theta, Sigma, theta)


def _gaussian_cases(d: int, seed: int):
    """Random features (5 contexts and 1), a mean, and a full (not diagonal) covariance in d dimensions."""
    rng = np.random.default_rng(seed)
    root = rng.normal(size=(d, d))
    Sigma = root @ root.T / d + 0.5 * np.eye(d)
    mu = rng.normal(size=d)
    return [(rng.normal(size=(5, d)), mu, Sigma, 1000), (rng.normal(size=(1, d)), np.zeros(d), np.eye(d), 20_000)]


def _grade_gaussian(label, yours):
    cases = _gaussian_cases(3, seed=1) + _gaussian_cases(16, seed=2)
    check_function(label, yours, _gaussian, cases, rtol=1e-8, atol=1e-10)


@register("ch6-ex-gaussian", grader=_grade_gaussian, example=dict,
          wrong={"without the 1/2": lambda: lambda theta, mu, Sigma, V: (
                     np.log(V) + theta @ mu + np.einsum("ni,ij,nj->n", theta, Sigma, theta)),
                 "forgot log V": lambda: lambda theta, mu, Sigma, V: _gaussian(theta, mu, Sigma, 1),
                 "the (n, n) matrix theta Sigma theta^T, not its diagonal": lambda: lambda theta, mu, Sigma, V: (
                     np.log(V) + theta @ mu + 0.5 * theta @ Sigma @ theta.T),
                 "only the diagonal of Sigma": lambda: lambda theta, mu, Sigma, V: _gaussian(
                     theta, mu, np.diag(np.diag(Sigma)), V)})
def solve_gaussian():
    """The function ``gaussian_log_partition(theta (n, d), mu (d,), Sigma (d, d), V) -> (n,)``."""
    return _gaussian


def _grade_transfer(label, yours):
    if not callable(yours):
        raise ExerciseError(f"{label}: expected the function probe_on_f, got {type(yours).__name__}")
    rng, d, scores, expected = np.random.default_rng(5), 5, [], []
    for _ in range(3):  # three random affine maps (A not symmetric), each on 8 random contexts
        feats, A, b, lam, c = (rng.normal(size=(8, d)), rng.normal(size=(d, d)), rng.normal(size=d),
                               rng.normal(size=d), float(rng.normal()))
        answer = call_with(label, yours, A, b, lam, c)
        if not (isinstance(answer, tuple) and len(answer) == 2):
            raise ExerciseError(f"{label}: expected probe_on_f to return the pair (w, c_f), got "
                                f"{type(answer).__name__} {answer!r:.60}")
        w, c_f = (np.asarray(x, dtype=np.float64) for x in answer)
        if w.shape != (d,) or c_f.shape != ():
            raise ExerciseError(f"{label}: expected w of shape ({d},) and a number c_f, yours have shapes "
                                f"{w.shape} and {c_f.shape}")
        scores.append(feats @ w + c_f)
        expected.append((feats @ A.T + b) @ lam + c)
    check(f"{label}: scores of your probe on f (3 random A, not symmetric, 8 contexts each)",
          np.concatenate(scores), np.concatenate(expected), rtol=1e-8, atol=1e-10)


@register("ch6-ex-transfer", grader=_grade_transfer, example=dict,
          wrong={"A lam, which needs A symmetric": lambda: lambda A, b, lam, c: (A @ lam, float(lam @ b + c)),
                 "forgot lam^T b in the bias": lambda: lambda A, b, lam, c: (A.T @ lam, c),
                 "the bias without c": lambda: lambda A, b, lam, c: (A.T @ lam, float(lam @ b)),
                 "the scores' pieces in the wrong order, (c_f, w)": lambda: lambda A, b, lam, c: (
                     float(lam @ b + c), A.T @ lam)})
def solve_transfer():
    """The function ``probe_on_f(A (d, d), b (d,), lam (d,), c) -> (w = A^T lam, c_f = lam^T b + c)``;
    the check applies it to random A (not symmetric), b, lam and c with d = 5."""
    return lambda A, b, lam, c: (A.T @ lam, float(lam @ b + c))


@register("ch6-ex-count", example=lambda: {"d": 7}, rtol=0, atol=0,
          wrong={"f_i f_j and f_j f_i counted twice": lambda d: 1 + d + d * d,
                 "no squares f_i^2": lambda d: 1 + d + d * (d - 1) // 2,
                 "forgot the constant": lambda d: d + d * (d + 1) // 2,
                 "only the quadratic terms": lambda d: d * (d + 1) // 2})
def solve_count(d):
    """The number of coefficients of a full quadratic in d variables: (d + 1)(d + 2) / 2."""
    return (d + 1) * (d + 2) // 2
