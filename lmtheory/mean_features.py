"""The quantities of chapter 5's proofs and experiments, computed on the synthetic worlds.

Explained in chapter 5 (*Softmax features and conditional mean features*), which shows each call and
the table it returns; the formulas it teaches (``g_s``, ``Var_p[v]``, the line minimum) stay in the
chapter. Shapes: ``N`` contexts, ``V`` words, ``d`` feature dimensions, ``Phi`` of shape ``(d, V)``.

* :func:`random_instances`: random features ``theta`` and contexts, where the gradient formulas are checked;
* :func:`hessian_vs_covariance`: the Hessian of ``log Z`` against ``Cov_{w ~ p_theta}[phi_w]``;
* :func:`second_derivatives`: ``g''(t)`` by autograd and by finite differences (step 2 of the key lemma);
* :func:`score_variance`, :func:`random_variance_ratios`: ``Var_{w ~ p}[v_w] / B^2`` (step 3 of the key lemma);
* :func:`blind_spot_table`: what each task's own classifier sees of the best softmax model's error;
* :func:`lemma_ratios`, :func:`lemma_sweep`: the key lemma's left side over its right side, on many models;
* :func:`theorem_chain`: every quantity of the proof of the conditional mean theorem, for one model;
* :func:`feature_maps`, :func:`feature_comparison`: four feature maps and their logistic losses, in sample
  and held out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from . import bounds
from . import synthetic as syn
from .checks import check_distribution, check_int, check_matching, check_matrix, check_number
from .core import conditional_mean, log_partition, softmax_lm
from .logistic import held_out_logistic_loss

__all__ = ["random_instances", "hessian_vs_covariance", "second_derivatives", "score_variance",
           "random_variance_ratios", "blind_spot_table", "lemma_ratios", "lemma_sweep", "theorem_chain",
           "feature_maps", "feature_comparison"]

DTYPE = syn.DTYPE


def random_instances(world: syn.World, n: int, *, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` standard Gaussian feature vectors ``theta`` (n, d) and ``n`` uniform context indices (n,)."""
    n = check_int(n, "n", low=1)
    gen = torch.Generator().manual_seed(seed)
    theta = torch.randn(n, world.dim, generator=gen, dtype=DTYPE)
    return theta, torch.randint(world.n_contexts, (n,), generator=gen)


def hessian_vs_covariance(theta: torch.Tensor, Phi: torch.Tensor) -> tuple[float, float]:
    """The Hessian of ``log Z`` by automatic differentiation against ``Phi (diag p - p p^T) Phi^T``.

    For each row of ``theta`` (n, d), with ``p = p_theta = softmax(Phi^T theta)``. Returns the largest
    absolute difference of any entry, and the smallest eigenvalue of any of the Hessians (``>= 0``:
    ``log Z`` is convex).
    """
    check_matrix(theta, "theta")
    check_matching(theta, Phi, "theta", "Phi")
    theta = theta.detach()
    largest, smallest = 0.0, math.inf
    for row, p in zip(theta, softmax_lm(theta, Phi)):
        hess = torch.autograd.functional.hessian(lambda t: log_partition(t, Phi), row)
        cov = Phi @ (torch.diag(p) - torch.outer(p, p)) @ Phi.T
        largest = max(largest, (hess - cov).abs().max().item())
        smallest = min(smallest, torch.linalg.eigvalsh(hess).min().item())
    return largest, smallest


def second_derivatives(g, t_values: Sequence[float], n: int, *, h: float = 1e-4
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """``g''(t)`` of a function ``g: (n,) -> (n,)`` whose output ``i`` depends on input ``i`` only.

    At ``t`` equal to each value of ``t_values`` in all ``n`` coordinates, by automatic
    differentiation (twice) and by central finite differences ``(g(t + h) - 2 g(t) + g(t - h)) / h^2``.
    Returns ``(autograd, finite)``, each of shape ``(len(t_values), n)``.
    """
    n = check_int(n, "n", low=1)
    h = check_number(h, "h", low=0, low_open=True)
    autograd, finite = [], []
    for t_value in t_values:
        t = torch.full((n,), float(t_value), dtype=DTYPE, requires_grad=True)
        (first,) = torch.autograd.grad(g(t).sum(), t, create_graph=True)
        (second,) = torch.autograd.grad(first.sum(), t)
        t = t.detach()
        autograd.append(second)
        finite.append((g(t + h) - 2 * g(t) + g(t - h)) / h**2)
    return torch.stack(autograd), torch.stack(finite)


def score_variance(p: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """``Var_{w ~ p}[v_w]`` for each distribution: ``p`` (..., V) and ``v`` (..., V) or (V,) -> (...)."""
    check_distribution(p, "p")
    check_matching(p, v, "p", "v", dims=(-1,), other_dims=(-1,))
    return (p * v**2).sum(-1) - (p * v).sum(-1) ** 2


def random_variance_ratios(vocab_size: int, B: float, n: int,
                           alphas: Sequence[float] = (0.05, 0.3, 1.0, 5.0)) -> torch.Tensor:
    """``Var_{w ~ p}[v_w] / B^2`` on ``n`` random pairs ``(p, v)`` for each Dirichlet concentration.

    For each ``alpha`` in ``alphas``, ``n`` distributions ``p ~ Dirichlet(alpha, ..., alpha)`` (from
    spread out, large alpha, to very peaked, small alpha) are paired with uniform random vectors ``v``
    rescaled so that ``||v||_inf = B`` exactly. Draws from torch's global generator (which
    ``lmtheory.setup(seed)`` seeds). Returns a tensor of shape ``(len(alphas) * n,)``.
    """
    vocab_size = check_int(vocab_size, "vocab_size", low=2)
    B = check_number(B, "B", low=0, low_open=True)
    n = check_int(n, "n", low=1)
    ratios = []
    for alpha in alphas:
        alpha = check_number(alpha, "alpha", low=0, low_open=True)
        concentration = torch.full((vocab_size,), alpha, dtype=DTYPE)
        p = torch.distributions.Dirichlet(concentration).sample((n,))
        v = B * (2 * torch.rand(n, vocab_size, dtype=DTYPE) - 1)
        v = v * B / v.abs().amax(1, keepdim=True)
        ratios.append(score_variance(p, v) / B**2)
    return torch.cat(ratios)


def blind_spot_table(world: syn.World, tasks: Mapping[str, syn.Task]) -> pd.DataFrame:
    """What each task's own classifier ``v`` sees of the best softmax model's error ``p_f_opt - p*``.

    One row per task (indexed by the names of ``tasks``): its ``tau`` on ``p*``, the loss of the same
    classifier on the best softmax model ``p_f_opt`` of ``world``, and the largest change of a score,
    ``max_s |v^T (p_f_opt(s) - p*(s))|``. All in nats (the last in score units).
    """
    p_opt = world.predict(world.f_opt)
    rows = [{"task": name,
             "tau = l_T(p*, v)": t.loss_fixed(world.p_star),
             "l_T(p_f_opt, v)": t.loss_fixed(p_opt),
             "max |v^T (p_f_opt - p*)|": float(((p_opt - world.p_star) @ t.v).abs().max())}
            for name, t in tasks.items()]
    return pd.DataFrame(rows).set_index("task")


def lemma_ratios(world: syn.World, f: torch.Tensor, V_rows: torch.Tensor, B: float) -> torch.Tensor:
    """The key lemma's ``E_{p_L} (v^T (p_f - p*))^2 / (2 B^2 eps)`` for each classifier ``v``.

    ``f`` (N, d) is the model's features and ``eps = L(f, Phi) - L*(Phi)`` its excess loss with
    respect to ``Phi``; ``V_rows`` (k, V) holds one classifier per row. Returns a tensor (k,).
    """
    check_matching(f, world.f_opt, "f", "world.f_opt", dims=(0, 1), other_dims=(0, 1))
    check_matrix(V_rows, "V_rows")
    check_matching(V_rows, world.p_star, "V_rows", "world.p_star", dims=(1,), other_dims=(1,))
    lhs = world.p_L @ (((world.predict(f) - world.p_star) @ V_rows.T) ** 2)  # (k,)
    return lhs / bounds.key_lemma_bound(B, world.excess_loss(f))


def _random_classifiers(world: syn.World, n: int, B: float) -> torch.Tensor:
    """``n`` classifiers ``v = Phi^T lam`` (n, V), Gaussian ``lam`` (seed 1), scaled to ``||v||_inf = B``."""
    lam = torch.randn(n, world.dim, generator=torch.Generator().manual_seed(1), dtype=DTYPE)
    V_rand = lam @ world.Phi
    return V_rand * B / V_rand.abs().amax(1, keepdim=True)


def lemma_sweep(worlds: Mapping[str, syn.World], B: float, gamma: float, eps_values: Sequence[float],
                n_lambdas: int, *, task_seeds: Sequence[int] = (1, 2, 3),
                kinds: Sequence[str] = ("random", "margin")) -> pd.DataFrame:
    """The key lemma's ratio (:func:`lemma_ratios`) on many models and Phi-natural classifiers.

    For each world, each task seed (a Phi-natural task planted with ``B`` and ``gamma``), each kind of
    ``eps``-optimal model and each ``eps`` in ``eps_values``: one row with the ratio for the task's
    own ``v`` (rescaled to ``||v||_inf = B``) and the largest over ``n_lambdas`` random classifiers
    ``Phi^T lam`` with ``||Phi^T lam||_inf = B``. Columns: world, kind, eps, task,
    ``ratio (task's v)``, ``ratio (random lam, max)``.
    """
    n_lambdas = check_int(n_lambdas, "n_lambdas", low=1)
    rows = []
    for world_name, w in worlds.items():
        V_rand = _random_classifiers(w, n_lambdas, B)
        for task_seed in task_seeds:
            task = syn.make_task(w, B=B, gamma=gamma, seed=task_seed)
            V_rows = torch.cat([task.v[None] * B / task.v.abs().max(), V_rand])
            for kind in kinds:
                for eps in eps_values:
                    model = syn.eps_optimal_model(w, eps, kind, task=task, seed=task_seed)
                    r = lemma_ratios(w, model.f, V_rows, B)
                    rows.append({"world": world_name, "kind": kind, "eps": eps, "task": task_seed,
                                 "ratio (task's v)": float(r[0]),
                                 "ratio (random lam, max)": float(r[1:].max())})
    return pd.DataFrame(rows)


def theorem_chain(world: syn.World, task: syn.Task, model: syn.Model) -> dict[str, float]:
    """Every quantity of the proof of the conditional mean theorem for ``task`` and ``model``, in nats.

    With ``delta(s) = v^T (p_f(s) - p*(s))``: the refitted loss ``l_T(Phi p_f)``, step (a) (the task's
    ``lam`` on ``Phi p_f``) and ``l_T(p_f, v)``, the right-hand sides after steps (b) to (e), the
    coverage and the refined coverage ``gamma(p_T; Phi p_f)`` with steps (d') and (e'), and ``tau``.
    The task must be Phi-natural.
    """
    if not task.phi_natural:
        raise ValueError("theorem_chain needs a Phi-natural task (task.lam is None); plant one with "
                         "synthetic.make_task(world, phi_natural=True)")
    check_matching(model.p, world.p_star, "model.p", "world.p_star", dims=(0, 1), other_dims=(0, 1))
    mean_f = conditional_mean(model.p, world.Phi)
    h = mean_f - conditional_mean(world.p_star, world.Phi)
    delta = (model.p - world.p_star) @ task.v
    eps = world.excess_loss(model.f)
    gamma_ref = syn.refined_coverage(world.p_L, task.p_T, h)
    tau = task.loss_fixed(world.p_star)
    return {
        "eps": eps,
        "l_T(Phi p_f)": task.loss_refit(mean_f),
        "(a) lam on Phi p_f": task.loss(mean_f @ task.lam + task.b),
        "l_T(p_f, v)": task.loss_fixed(model.p),
        "(b) tau + E_T|d|": tau + float(task.p_T @ delta.abs()),
        "(c) tau + sqrt(E_T d^2)": tau + float(task.p_T @ delta**2) ** 0.5,
        "(d) tau + sqrt(E_L d^2 / gamma)": tau + (float(world.p_L @ delta**2) / task.gamma) ** 0.5,
        "(e) bound": tau + (2 * task.B**2 * eps / task.gamma) ** 0.5,
        "gamma": task.gamma,
        "refined gamma": gamma_ref,
        "(d') refined": tau + (float(world.p_L @ delta**2) / gamma_ref) ** 0.5,
        "(e') refined bound": tau + (2 * task.B**2 * eps / gamma_ref) ** 0.5,
        "tau": tau,
    }


def feature_maps(world: syn.World, *, seed: int = 3) -> dict[str, torch.Tensor]:
    """The four feature maps chapter 5 compares, each (N, k): ``p*``, ``Phi p*``, ``f_opt`` and ``R^T p*``.

    ``R`` (V, d) is a Gaussian random projection (generator seeded with ``seed``), the control.
    """
    R = torch.randn(world.vocab_size, world.dim, generator=torch.Generator().manual_seed(seed),
                    dtype=DTYPE)
    return {
        f"p* (V = {world.vocab_size})": world.p_star,
        f"Phi p* (d = {world.dim})": conditional_mean(world.p_star, world.Phi),
        f"f_opt (d = {world.dim})": world.f_opt,
        f"random R^T p* ({world.dim})": world.p_star @ R,
    }


def feature_comparison(world: syn.World, tasks: Mapping[str, syn.Task], world_big: syn.World,
                       tasks_big: Mapping[str, syn.Task]) -> pd.DataFrame:
    """Refitted logistic losses on each of the :func:`feature_maps`, in sample and held out, per task.

    In sample: ``Task.loss_refit`` fits and evaluates on all contexts of ``world``. Held out: on the
    larger ``world_big`` (same construction), :func:`lmtheory.logistic.held_out_logistic_loss` fits
    on a random half of the contexts and evaluates on the other half, over five splits (mean and
    standard deviation, column ``held-out spread``). ``tasks`` and ``tasks_big`` hold the same tasks, by name, planted in each
    world. A last row per task gives its ``tau`` (no spread). Indexed by (task, features); in nats.
    """
    if set(tasks) != set(tasks_big):
        raise ValueError(f"tasks and tasks_big must name the same tasks, got {sorted(tasks)} and "
                         f"{sorted(tasks_big)}")
    if (world.vocab_size, world.dim) != (world_big.vocab_size, world_big.dim):
        raise ValueError(f"world and world_big must have the same V and d, got "
                         f"{(world.vocab_size, world.dim)} and {(world_big.vocab_size, world_big.dim)}")
    small_features, big_features = feature_maps(world), feature_maps(world_big)
    in_sample = f"in-sample (N = {world.n_contexts})"
    held_out = f"held-out (N = {world_big.n_contexts})"
    rows = []
    for task_name, t_big in tasks_big.items():
        t_small = tasks[task_name]
        for feat_name, features in small_features.items():
            mean, spread = held_out_logistic_loss(big_features[feat_name], t_big.q, t_big.p_T)
            rows.append({"task": task_name, "features": feat_name,
                         in_sample: t_small.loss_refit(features), held_out: mean,
                         "held-out spread": spread})
        rows.append({"task": task_name, "features": f"tau (||v||_inf <= {t_small.B:g}, on p*)",
                     in_sample: t_small.tau, held_out: t_big.tau, "held-out spread": np.nan})
    return pd.DataFrame(rows).set_index(["task", "features"])
