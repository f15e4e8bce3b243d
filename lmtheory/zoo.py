"""Collections of test cases on which chapter 3 checks its identities and inequalities.

* :func:`model_zoo`: many language models of one synthetic world, of four kinds (softmax models with
  random features, eps-optimal softmax models, tables of random distributions, mixtures of the truth
  with the uniform distribution), on which chapter 3 checks that excess cross-entropy is an expected
  KL divergence;
* :func:`distribution_pairs`: pairs of distributions of two kinds, independent and close, on which
  chapter 3 checks Pinsker's inequality and each step of its proof;
* :func:`pinsker_steps`: the quantities of that proof (``l1``, ``KL``, ``p(A)``, ``q(A)``, the coins'
  KL) for every pair, one row each;
* :func:`corpus_estimates`: corpus estimates of several models' cross-entropy with their standard
  errors, one fresh corpus per size, on which chapter 3 watches them converge to the exact values.

All are deterministic given their seed.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch

from .checks import check_int, check_log_distribution, check_number
from .synthetic import World, eps_optimal_model

__all__ = ["model_zoo", "distribution_pairs", "pinsker_steps", "corpus_estimates", "INDEPENDENT", "CLOSE",
           "FLOOR"]

#: Source label of the pairs drawn independently from one Dirichlet distribution.
INDEPENDENT = "independent Dirichlet pairs"
#: Source label of the pairs whose ``q`` is drawn from a Dirichlet distribution centred on ``p``.
CLOSE = "close pairs, q ~ Dirichlet(kappa p)"
#: Weight of the uniform distribution mixed into every drawn distribution, so that every KL is finite.
FLOOR = 1e-12

_SCALES = (0.1, 0.5, 1.0, 2.0)  # norms of the random softmax features, in turn
_EPS = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)  # excess losses (nats) of the eps-optimal softmax models
_EPS_SEEDS = 4  # eps-optimal models per eps, each along its own random direction
_ALPHAS = (0.3, 1.0, 3.0, 10.0)  # Dirichlet concentrations of the random tables
_TABLES = 5  # random tables per concentration
_MIX = (0.001, 0.01, 0.1, 0.5, 0.9)  # weights of the uniform distribution in the mixtures


def _check_world(world) -> World:
    if not isinstance(world, World):
        raise TypeError(f"world must be a synthetic.World (from synthetic.make_world), got {type(world).__name__}")
    return world


def _random_softmax(world: World, n_random: int, gen: torch.Generator) -> list[torch.Tensor]:
    """Softmax models with Gaussian features, at the norms of ``_SCALES`` in turn."""
    shape = (world.n_contexts, world.dim)
    return [world.log_predict(_SCALES[i % len(_SCALES)] * torch.randn(shape, generator=gen, dtype=torch.float64))
            for i in range(n_random)]


def _eps_optimal(world: World) -> list[torch.Tensor]:
    """Softmax models at each excess loss of ``_EPS``, along ``_EPS_SEEDS`` random directions each."""
    return [world.log_predict(eps_optimal_model(world, eps, seed=k).f) for eps in _EPS for k in range(_EPS_SEEDS)]


def _dirichlet_tables(world: World, rng: np.random.Generator) -> list[torch.Tensor]:
    """Tables of random next-word distributions (not softmax models), ``_TABLES`` per concentration."""
    tables = []
    for alpha in _ALPHAS:
        for _ in range(_TABLES):
            table = torch.from_numpy(rng.dirichlet(alpha * np.ones(world.vocab_size), size=world.n_contexts))
            tables.append(torch.log(table.clamp_min(1e-300)))  # a draw can underflow to 0: keep log finite
    return tables


def _mixtures(world: World) -> list[torch.Tensor]:
    """``(1 - a) p* + a * uniform`` for each ``a`` of ``_MIX``."""
    return [torch.log((1 - a) * world.p_star + a / world.vocab_size) for a in _MIX]


def model_zoo(world: World, n_random: int, seed: int = 0) -> list[tuple[str, torch.Tensor]]:
    """Many language models of ``world``, of four kinds, as ``(kind, log_p)`` pairs.

    Parameters
    ----------
    world : synthetic.World
        ``N`` contexts, ``V`` words, ``d`` feature dimensions.
    n_random : int
        Number of softmax models with random features (>= 0); the other kinds have 20, 20 and 5
        models.
    seed : int
        Seeds both the random features and the random tables.

    Returns
    -------
    list of (str, tensor of shape (N, V))
        The kind (``"random softmax"``, ``"eps-optimal softmax"``, ``"Dirichlet table"``,
        ``"mixture with uniform"``) and the model's log-probabilities ``log p(s)_w``.

    Explained in chapter 3. Example: ``[kind for kind, _ in model_zoo(world, n_random=8)]``.
    """
    world = _check_world(world)
    n_random = check_int(n_random, "n_random", low=0)
    seed = check_int(seed, "seed", low=0)
    gen, rng = torch.Generator().manual_seed(seed), np.random.default_rng(seed)
    kinds = [("random softmax", _random_softmax(world, n_random, gen)),
             ("eps-optimal softmax", _eps_optimal(world)),
             ("Dirichlet table", _dirichlet_tables(world, rng)),
             ("mixture with uniform", _mixtures(world))]
    return [(kind, log_p) for kind, models in kinds for log_p in models]


def _floored(x: np.ndarray) -> np.ndarray:
    """Mix ``FLOOR`` of the uniform distribution into each row of ``x`` (n, V), and renormalise."""
    x = (1 - FLOOR) * x + FLOOR / x.shape[-1]
    return x / x.sum(-1, keepdims=True)


def distribution_pairs(per_cell: int, seed: int = 0, *, vocab_sizes=(2, 5, 20, 200),
                       alphas=(0.05, 0.2, 1.0, 5.0, 100.0),
                       kappas=(10.0, 100.0, 1000.0, 10000.0)) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Pairs of distributions ``(p, q)`` on which to test an inequality between them.

    For each vocabulary size ``V``: for each concentration ``alpha``, ``per_cell`` independent pairs
    ``p, q ~ Dirichlet(alpha * 1)`` (source :data:`INDEPENDENT`); then for each ``kappa``, ``per_cell``
    close pairs, ``p ~ Dirichlet(1)`` and ``q ~ Dirichlet(kappa * p)`` (source :data:`CLOSE`), closer
    as ``kappa`` grows. Every distribution is mixed with ``FLOOR`` of the uniform one, so every entry
    is positive and every KL finite.

    Parameters
    ----------
    per_cell : int
        Pairs per (kind, V, concentration) cell, >= 1.
    seed : int
        Seed of the one random generator, drawn from in the order above.
    vocab_sizes, alphas, kappas : sequences
        Vocabulary sizes (>= 2), independent concentrations (> 0), closeness concentrations (> 0).

    Returns
    -------
    list of (str, ndarray of shape (per_cell, V), ndarray of shape (per_cell, V))
        ``len(vocab_sizes) * (len(alphas) + len(kappas))`` blocks of ``(source, p, q)``.

    Explained in chapter 3. Example: ``distribution_pairs(10)[0][1].shape`` is ``(10, 2)``.
    """
    per_cell = check_int(per_cell, "per_cell", low=1)
    seed = check_int(seed, "seed", low=0)
    vocab_sizes = [check_int(v, "each of vocab_sizes", low=2) for v in vocab_sizes]
    alphas = [check_number(a, "each of alphas", low=0, low_open=True) for a in alphas]
    kappas = [check_number(k, "each of kappas", low=0, low_open=True) for k in kappas]
    rng = np.random.default_rng(seed)
    pairs = []
    for V in vocab_sizes:
        for alpha in alphas:
            p = _floored(rng.dirichlet(alpha * np.ones(V), size=per_cell))
            q = _floored(rng.dirichlet(alpha * np.ones(V), size=per_cell))
            pairs.append((INDEPENDENT, p, q))
        for kappa in kappas:
            p = _floored(rng.dirichlet(np.ones(V), size=per_cell))
            q = _floored(np.stack([rng.dirichlet(kappa * row) for row in p]))
            pairs.append((CLOSE, p, q))
    return pairs


def _coin_kl(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``k(a || b) = a log(a / b) + (1 - a) log((1 - a) / (1 - b))`` elementwise, with ``0 log 0 = 0``."""
    b = np.clip(b, 1e-300, 1 - 1e-16)
    return (a * np.log(np.where(a > 0, a, 1) / b)
            + (1 - a) * np.log(np.where(a < 1, 1 - a, 1) / (1 - b)))


def pinsker_steps(pairs) -> pd.DataFrame:
    """The quantities of the proof of Pinsker's inequality, for every pair ``(p, q)`` of ``pairs``.

    With ``A = {w : p_w > q_w}``, ``a = p(A)`` and ``b = q(A)``, the proof's three steps are
    ``||p - q||_1 = 2 (a - b)``, ``KL(p || q) >= k(a || b)`` (the KL between two coins) and
    ``k(a || b) >= 2 (a - b)^2``.

    Parameters
    ----------
    pairs : list of (str, ndarray of shape (n, V), ndarray of shape (n, V))
        Blocks of ``n`` pairs of distributions with positive entries, each under a source label, as
        :func:`distribution_pairs` returns them (``n`` and ``V`` may differ between blocks).

    Returns
    -------
    pandas.DataFrame
        One row per pair, in order, with columns ``source``, ``l1`` (``||p - q||_1``), ``kl``
        (``KL(p || q)`` in nats), ``a``, ``b`` and ``k_ab`` (``k(a || b)``).

    Explained in chapter 3. Example: ``pinsker_steps(distribution_pairs(10)).shape`` is ``(360, 6)``.
    """
    records = []
    for i, (source, p, q) in enumerate(pairs):
        p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
        if p.ndim != 2 or p.shape != q.shape:
            raise ValueError(f"block {i} ({source!r}): p and q must be (n, V) arrays of one shape, got "
                             f"{p.shape} and {q.shape}")
        if not ((p > 0).all() and (q > 0).all()):
            raise ValueError(f"block {i} ({source!r}): every entry of p and q must be positive")
        in_A = p > q                                   # A = {w : p_w > q_w}
        a, b = (p * in_A).sum(-1), (q * in_A).sum(-1)  # p(A), q(A)
        kl = (p * (np.log(p) - np.log(q))).sum(-1)     # KL(p || q), row by row
        records.append(pd.DataFrame({"source": source, "l1": np.abs(p - q).sum(-1),
                                     "kl": kl, "a": a, "b": b, "k_ab": _coin_kl(a, b)}))
    if not records:
        raise ValueError("pairs is empty: give at least one block (source, p, q)")
    return pd.concat(records, ignore_index=True)


def corpus_estimates(world: World, models: dict, n_grid, seed: int = 100) -> pd.DataFrame:
    """Corpus estimates of each model's cross-entropy, with their standard errors, per corpus size.

    For the ``i``-th size ``n`` of ``n_grid`` one corpus of ``n`` tokens ``(s_i, w_i)`` is drawn with
    ``world.sample(n, seed + i)`` and every model is scored on it: the estimate is the mean of the
    per-token losses ``-log p(s_i)_{w_i}`` and its standard error their standard deviation over
    ``sqrt(n)``.

    Parameters
    ----------
    world : synthetic.World
        ``N`` contexts, ``V`` words.
    models : dict
        ``name -> log p``, each a tensor of shape (N, V) of log-probabilities.
    n_grid : sequence of int
        Corpus sizes, each >= 2.
    seed : int
        Seed of the first corpus; the next ones use ``seed + 1``, ``seed + 2``, ...

    Returns
    -------
    pandas.DataFrame
        One row per (size, model), sizes outer, with columns ``n``, ``model``, ``estimate`` and ``se``
        (nats).

    Explained in chapter 3. Example: ``corpus_estimates(world, {"truth": world.p_star.log()}, [100])``.
    """
    world = _check_world(world)
    seed = check_int(seed, "seed", low=0)
    n_grid = [check_int(n, "each of n_grid", low=2) for n in n_grid]
    shape = (world.n_contexts, world.vocab_size)
    for name, log_p in models.items():
        check_log_distribution(log_p, f"models[{name!r}]")
        if tuple(log_p.shape) != shape:
            raise ValueError(f"models[{name!r}] must have shape (N, V) = {shape}, got {tuple(log_p.shape)}")
    rows = []
    for i, n in enumerate(n_grid):
        contexts, words = world.sample(n, seed=seed + i)
        for name, log_p in models.items():
            losses = -log_p[contexts, words]  # (n,): -log p(s_i)_{w_i}
            rows.append({"n": n, "model": name, "estimate": float(losses.mean()),
                         "se": float(losses.std() / math.sqrt(n))})
    return pd.DataFrame(rows)
