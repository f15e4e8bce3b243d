"""Collections of test cases on which chapter 3 checks its identities and inequalities.

* :func:`model_zoo`: many language models of one synthetic world, of four kinds (softmax models with
  random features, eps-optimal softmax models, tables of random distributions, mixtures of the truth
  with the uniform distribution), on which chapter 3 checks that excess cross-entropy is an expected
  KL divergence;
* :func:`distribution_pairs`: pairs of distributions of two kinds, independent and close, on which
  chapter 3 checks Pinsker's inequality and each step of its proof.

Both are deterministic given their seed.
"""

from __future__ import annotations

import numpy as np
import torch

from .checks import check_int, check_number
from .synthetic import World, eps_optimal_model

__all__ = ["model_zoo", "distribution_pairs", "INDEPENDENT", "CLOSE", "FLOOR"]

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
