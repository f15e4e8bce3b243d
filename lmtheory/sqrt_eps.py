"""The tables of chapter 4 (*The √ε theorem*): the models on which it checks each step of the proof of
Theorem 4.1 (the paper's Theorem 1), and its experiments on eps, the coverage gamma, the bound B and the
number of contexts.

Each function builds its worlds, tasks and models with :mod:`lmtheory.synthetic` and returns what the
chapter shows, so the chapter keeps only the calls:

* :func:`proof_instances` and :func:`theorem_losses`: the proof's steps and the theorem, model by model;
* :func:`coverage_table`, :func:`losses_by_B`: what gamma and B do to the gap and the bound;
* :func:`random_crossover_by_size`: where random errors leave the sqrt(eps) regime, by world size.

>>> from lmtheory import sqrt_eps, synthetic
>>> world = synthetic.make_world(seed=0)
>>> sqrt_eps.coverage_table(world, [0.25, 1.0])  # doctest: +SKIP
"""

from __future__ import annotations

import pandas as pd

from .checks import check_eps_grid, check_int
from .core import kl_divergence
from .logistic import per_context_logistic_loss
from .synthetic import (Task, World, eps_optimal_model, error_path, evaluate, make_task, make_world,
                        mixture_model, random_error_terms, refined_coverage)
from .threads import single_thread

__all__ = ["proof_instances", "theorem_losses", "coverage_table", "losses_by_B", "random_crossover_by_size"]


@single_thread()
def random_crossover_by_size(
    sizes,
    vocab_size: int,
    dim: int,
    *,
    B: float = 8.0,
    gamma: float = 0.5,
    measured_at=(),
    measured_eps=(1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1),
    seeds: int = 3,
) -> tuple[pd.DataFrame, dict]:
    """Where random errors pass from the ``sqrt(eps)`` regime to the ``eps`` regime, by world size.

    For every ``n`` of ``sizes`` it draws ``make_world(n, vocab_size, dim, seed=0)``, plants
    ``make_task(world, B, gamma)`` and predicts the typical terms of random errors
    (:func:`random_error_terms`); for ``n`` in ``measured_at`` it also measures ``seeds`` random
    directions (seeds ``0, 1, ...``) over ``measured_eps`` (excess losses in nats, shape ``(m,)``; by
    default the six powers of ten from ``1e-6`` to ``1e-1``) with :func:`error_path`.

    Returns ``(by_n, measured)``: a DataFrame indexed by ``n_contexts`` with columns ``a1_rms``,
    ``a2`` and ``crossover`` (one row per size), and a dict ``n -> list of error_path tables``.
    Explained in chapter 4.
    """
    sizes = [check_int(n, "n_contexts", low=2) for n in sizes]
    if not sizes:
        raise ValueError("sizes is empty; give at least one number of contexts")
    unknown = set(measured_at) - set(sizes)
    if unknown:
        raise ValueError(f"measured_at holds sizes that are not in sizes: {sorted(unknown)}")
    seeds = check_int(seeds, "seeds", low=1)
    measured_eps = check_eps_grid(measured_eps, "measured_eps")
    rows, measured = [], {}
    for n in sizes:
        world = make_world(n, vocab_size, dim, seed=0)
        task = make_task(world, B=B, gamma=gamma)
        rows.append(random_error_terms(world, task))
        if n in measured_at:
            measured[n] = [error_path(world, task, "random", measured_eps, seed=s) for s in range(seeds)]
    return pd.DataFrame(rows).set_index("n_contexts"), measured


@single_thread()
def proof_instances(world: World, tasks, eps_grid) -> list[dict]:
    """The language models on which chapter 4 checks every step of Theorem 4.1's proof, with what
    the steps compare, context by context.

    For the ``i``-th task of ``tasks`` (``i = 1, 2, ...``, which also seeds its models), three kinds of
    model at every eps of ``eps_grid``, in this order: ``"adversarial"`` and ``"random"`` softmax
    models (:func:`eps_optimal_model` against that task) and a ``"mixture"`` ``(1 - a) p* + a r``,
    which is not a softmax model (:func:`mixture_model`). Each instance is a dict:

    * ``gamma`` (the task's coverage, to 3 decimals), ``kind``, ``task``, ``p`` (N, V);
    * ``eps``: the model's excess loss ``E_{p_L} KL(p*(s) || p(s))``, computed exactly;
    * ``kl``: ``KL(p*(s) || p(s))``, (N,);
    * ``dscore``: the change of the task classifier's score, ``v^T (p(s) - p*(s))``, (N,);
    * ``dloss``: the change of each context's expected logistic loss, ``l(p(s)) - l(p*(s))``, (N,);
    * ``l1``: ``||p(s) - p*(s)||_1``, (N,).

    Explained in chapter 4. Example: ``proof_instances(world, [task], [1e-3])`` -> 3 instances.
    """
    tasks = list(tasks)
    if not tasks or not all(isinstance(T, Task) for T in tasks):
        raise ValueError(f"tasks must be a non-empty list of Task (from make_task), got {tasks!r:.80}")
    grid = check_eps_grid(eps_grid)
    ps, instances = world.p_star, []
    for seed, T in enumerate(tasks, start=1):
        loss_star = per_context_logistic_loss(ps @ T.v + T.b, T.q)
        for kind in ("adversarial", "random", "mixture"):
            for eps in grid:
                if kind == "mixture":
                    p = mixture_model(world, eps, seed=seed)
                else:
                    p = eps_optimal_model(world, eps, kind, task=T, seed=seed).p
                instances.append({
                    "gamma": round(T.gamma, 3), "kind": kind, "task": T, "p": p,
                    "eps": world.excess_loss_any(p.log()),
                    "kl": kl_divergence(ps, p.log()),
                    "dscore": (p - ps) @ T.v,
                    "dloss": per_context_logistic_loss(p @ T.v + T.b, T.q) - loss_star,
                    "l1": (p - ps).abs().sum(-1),
                })
    return instances


@single_thread()
def theorem_losses(world: World, instances) -> pd.DataFrame:
    """Theorem 4.1 on every instance of :func:`proof_instances`: one row per model.

    Columns: ``kind``, ``gamma``, ``eps``; ``bound`` (``tau + sqrt(2 B^2 eps / gamma)``) and ``tau`` of
    the instance's task; and three losses, each a restriction of the one before, so never smaller:
    ``refit on p`` (``l_T(p)``: a classifier refitted on all V coordinates of ``p``), ``refit on Phi p``
    (refitted on the d features ``Phi p(s)``) and ``fixed v`` (``l_T(p, v)``, the task's own classifier).
    Explained in chapter 4.
    """
    rows = []
    for i in instances:
        T, p = i["task"], i["p"]
        rows.append({"kind": i["kind"], "gamma": i["gamma"], "eps": i["eps"],
                     "bound": T.bound(i["eps"]), "tau": T.tau,
                     "refit on p": T.loss_refit(p),
                     "refit on Phi p": T.loss_refit(p @ world.Phi.T),
                     "fixed v": T.loss_fixed(p)})
    return pd.DataFrame(rows)


@single_thread()
def coverage_table(world: World, gammas, *, eps: float = 1e-3, B: float = 8.0,
                   kinds=("adversarial", "random")) -> pd.DataFrame:
    """What a task's coverage does to the gap, and the coverage each model actually needs.

    For every ``gamma`` it plants ``make_task(world, B, gamma)`` and builds one model of each of
    ``kinds`` at excess loss ``eps`` against it. One row per (task, model), with columns ``gamma``,
    ``kind``, ``tau``, ``bound - tau``, ``gap`` (``l_T(p, v) - tau``, fixed classifier) and

    * ``effective``: the coverage the model needs in step 4, ``E_{p_L} KL / E_{p_T} KL``;
    * ``refined``: :func:`refined_coverage` of the feature errors ``h = Phi p_f - Phi p*`` (N, d);
    * ``E_T err^2`` and ``E_L err^2 / refined``: the two sides of the inequality the refined coverage
      gives for the task classifier's score error ``err = v^T (p_f - p*) = lam^T h``, (N,).

    Explained in chapter 4.
    """
    rows = []
    for g in gammas:
        T = make_task(world, B=B, gamma=g)
        for kind in kinds:
            m = eps_optimal_model(world, eps, kind, task=T)
            kl = kl_divergence(world.p_star, m.p.log())
            h = (m.p - world.p_star) @ world.Phi.T
            refined = refined_coverage(world.p_L, T.p_T, h)
            err = (m.p - world.p_star) @ T.v
            rows.append({"gamma": T.gamma, "kind": kind, "tau": T.tau,
                         "bound - tau": T.bound(m.eps) - T.tau,
                         "gap": T.loss_fixed(m.p) - T.tau, "refined": refined,
                         "effective": float(world.p_L @ kl) / float(T.p_T @ kl),
                         "E_T err^2": float(T.p_T @ err**2),
                         "E_L err^2 / refined": float(world.p_L @ err**2) / refined})
    return pd.DataFrame(rows)


@single_thread()
def losses_by_B(world: World, Bs, *, gamma: float = 0.5, eps: float = 1e-3,
                kind: str = "adversarial") -> pd.DataFrame:
    """One task, natural for every B at once: its ``tau(B)``, its bound and a model's losses, by B.

    ``make_task`` draws the same planted direction for every ``B`` and only rescales it, so all rows
    are the same labels and ``p_T``. One row per ``B`` with columns ``B``, ``max |v_w|`` (of the task's
    classifier), and from :func:`evaluate` at ``eps`` with the ``kind`` model: ``tau``, ``bound``,
    ``loss_fixed`` and ``loss_refit``. Explained in chapter 4.
    """
    rows = []
    for B in Bs:
        T = make_task(world, B=B, gamma=gamma)
        point = evaluate(world, T, eps, kind)
        rows.append({"B": B, "max |v_w|": float(T.v.abs().max()),
                     **{key: point[key] for key in ("tau", "bound", "loss_fixed", "loss_refit")}})
    return pd.DataFrame(rows)
