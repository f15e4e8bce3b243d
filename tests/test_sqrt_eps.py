"""Chapter 4's instances and tables (``lmtheory.sqrt_eps``), each checked against an independent computation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from test_synthetic import small_world

from lmtheory import sqrt_eps, synthetic


def per_context_kl(p_star, p):
    """KL(p*(s) || p(s)) term by term, in numpy: (N, V), (N, V) -> (N,)."""
    p_star, p = p_star.numpy(), p.numpy()
    return (p_star * (np.log(p_star) - np.log(p))).sum(-1)


def soft_label_loss(z, q):
    """q log(1 + e^-z) + (1 - q) log(1 + e^z), in numpy."""
    z, q = np.asarray(z), np.asarray(q)
    return q * np.logaddexp(0, -z) + (1 - q) * np.logaddexp(0, z)


@pytest.fixture(scope="module")
def proof_setting():
    world = small_world(0)
    tasks = [synthetic.make_task(world, B=3.0, gamma=0.5, seed=4), synthetic.make_task(world, B=2.0, gamma=1.0, seed=5)]
    grid = [1e-4, 1e-2]
    return world, tasks, grid, sqrt_eps.proof_instances(world, tasks, grid)


def test_proof_instances_hold_the_models_and_what_each_step_compares(proof_setting):
    world, tasks, grid, instances = proof_setting
    kinds = [(n, kind, eps) for n in (1, 2) for kind in ("adversarial", "random", "mixture") for eps in grid]
    assert [(tasks.index(i["task"]) + 1, i["kind"]) for i in instances] == [(n, kind) for n, kind, _ in kinds]
    ps = world.p_star.numpy()
    for (n, kind, eps), i in zip(kinds, instances):
        T, p = i["task"], i["p"]
        again = (synthetic.mixture_model(world, eps, seed=n) if kind == "mixture"
                 else synthetic.eps_optimal_model(world, eps, kind, task=T, seed=n).p)
        assert torch.equal(p, again)  # the n-th task's models use seed n
        kl = per_context_kl(world.p_star, p)
        assert np.allclose(i["kl"].numpy(), kl, rtol=1e-9, atol=1e-15)
        assert i["eps"] == pytest.approx(float(world.p_L.numpy() @ kl), rel=1e-9)
        assert i["eps"] == pytest.approx(eps, rel=1e-2)
        diff = p.numpy() - ps
        v, q = T.v.numpy(), T.q.numpy()
        assert np.allclose(i["dscore"].numpy(), diff @ v, atol=1e-13)
        dloss = soft_label_loss(p.numpy() @ v + T.b, q) - soft_label_loss(ps @ v + T.b, q)
        assert np.allclose(i["dloss"].numpy(), dloss, atol=1e-12)
        assert np.allclose(i["l1"].numpy(), np.abs(diff).sum(-1), atol=1e-13)
        assert i["gamma"] == round(T.gamma, 3)
        assert (np.abs(dloss) <= np.abs(diff @ v) + 1e-12).all()  # step 1 holds, context by context


def test_theorem_losses_match_a_direct_computation(proof_setting):
    world, _, _, instances = proof_setting
    table = sqrt_eps.theorem_losses(world, instances)
    assert len(table) == len(instances) and list(table["kind"]) == [i["kind"] for i in instances]
    for row, i in zip(table.itertuples(index=False), instances):
        T, p = i["task"], i["p"].numpy()
        fixed = float(T.p_T.numpy() @ soft_label_loss(p @ T.v.numpy() + T.b, T.q.numpy()))
        assert row[table.columns.get_loc("fixed v")] == pytest.approx(fixed, rel=1e-9)
        assert row.bound == pytest.approx(T.tau + math.sqrt(2 * T.B**2 * i["eps"] / T.gamma), rel=1e-12)
    # each loss is a restriction of the one before: refit on p <= refit on Phi p <= fixed v
    assert (table["refit on p"] <= table["refit on Phi p"] + 1e-8).all()
    assert (table["refit on Phi p"] <= table["fixed v"] + 1e-8).all()
    assert (table["fixed v"] <= table["bound"]).all()


def test_coverage_table_matches_a_direct_computation():
    world = small_world(1)
    table = sqrt_eps.coverage_table(world, [0.3, 1.0], eps=1e-3, B=3.0)
    assert list(table["kind"]) == ["adversarial", "random"] * 2
    assert np.allclose(table["gamma"], [0.3, 0.3, 1.0, 1.0], rtol=1e-6)
    for row in table.to_dict("records"):
        T = synthetic.make_task(world, B=3.0, gamma=row["gamma"])
        m = synthetic.eps_optimal_model(world, 1e-3, row["kind"], task=T)
        kl = per_context_kl(world.p_star, m.p)
        assert row["effective"] == pytest.approx(float(world.p_L.numpy() @ kl / (T.p_T.numpy() @ kl)), rel=1e-9)
        err = ((m.p - world.p_star) @ world.Phi.T @ T.lam).numpy()  # lam^T h, not v^T (p - p*)
        assert row["E_T err^2"] == pytest.approx(float(T.p_T.numpy() @ err**2), rel=1e-6)
        assert row["E_L err^2 / refined"] == pytest.approx(float(world.p_L.numpy() @ err**2) / row["refined"], rel=1e-6)
        assert row["gap"] == pytest.approx(T.loss_fixed(m.p) - T.tau, abs=1e-12)
        assert row["refined"] >= row["gamma"] * (1 - 1e-9) and row["effective"] >= row["gamma"] * (1 - 1e-9)
        assert row["E_T err^2"] <= row["E_L err^2 / refined"] * (1 + 1e-9)
    assert np.allclose(table.loc[table["gamma"] == 1.0, "effective"], 1.0)  # p_T = p_L


def test_losses_by_B_is_one_task_evaluated_at_each_B():
    world = small_world(2)
    table = sqrt_eps.losses_by_B(world, (1.0, 4.0), gamma=0.5, eps=1e-3)
    assert list(table.columns) == ["B", "max |v_w|", "tau", "bound", "loss_fixed", "loss_refit"]
    for row in table.to_dict("records"):
        point = synthetic.evaluate(world, synthetic.make_task(world, B=row["B"], gamma=0.5), 1e-3, "adversarial")
        assert all(row[key] == point[key] for key in ("tau", "bound", "loss_fixed", "loss_refit"))
        assert row["max |v_w|"] <= row["B"] * (1 + 1e-6) and row["loss_fixed"] <= row["bound"]
    assert table["tau"].iloc[1] < table["tau"].iloc[0]  # a larger B lets the classifier be sharper


def test_random_crossover_by_size_is_random_error_terms_world_by_world():
    eps = [1e-5, 1e-3]
    by_n, measured = sqrt_eps.random_crossover_by_size((60, 120), 40, 4, measured_at=(60,), measured_eps=eps, seeds=2)
    assert list(by_n.index) == [60, 120] and list(measured) == [60] and len(measured[60]) == 2
    for n in (60, 120):
        world = synthetic.make_world(n, 40, 4, seed=0)
        task = synthetic.make_task(world, B=8.0, gamma=0.5)
        terms = synthetic.random_error_terms(world, task)
        assert all(by_n.loc[n, key] == terms[key] for key in ("a1_rms", "a2", "crossover"))
    world = synthetic.make_world(60, 40, 4, seed=0)
    path = synthetic.error_path(world, synthetic.make_task(world, B=8.0, gamma=0.5), "random", eps, seed=1)
    assert measured[60][1].equals(path)


def test_random_crossover_by_size_measures_six_powers_of_ten_by_default():
    """The default grid is an immutable tuple (no array built at import) with the values of
    np.geomspace(1e-6, 1e-1, 6), the grid the chapter's figure was made with, to the last bit or so."""
    import inspect

    default = inspect.signature(sqrt_eps.random_crossover_by_size).parameters["measured_eps"].default
    assert isinstance(default, tuple) and default == (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1)
    np.testing.assert_allclose(default, np.geomspace(1e-6, 1e-1, 6), rtol=1e-15, atol=0)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda w, t: sqrt_eps.proof_instances(w, [], [1e-3]), r"tasks must be a non-empty list of Task"),
        (lambda w, t: sqrt_eps.proof_instances(w, [t], [-1e-3]), r"eps_grid must hold values >= 0"),
        (lambda w, t: sqrt_eps.random_crossover_by_size([], 10, 2), r"sizes is empty"),
        (lambda w, t: sqrt_eps.random_crossover_by_size([50], 10, 2, measured_at=(70,)), r"not in sizes: \[70\]"),
        (lambda w, t: sqrt_eps.random_crossover_by_size([1], 10, 2), r"n_contexts = 1 is outside"),
        (lambda w, t: sqrt_eps.random_crossover_by_size([50], 10, 2, measured_eps=[]),
         r"measured_eps must be a non-empty list"),
        (lambda w, t: sqrt_eps.random_crossover_by_size([50], 10, 2, measured_eps=[1e-3, -1.0]),
         r"measured_eps must hold values >= 0, got -1"),
        (lambda w, t: sqrt_eps.coverage_table(w, [0.0]), r"gamma = 0.0 is outside"),
        (lambda w, t: sqrt_eps.losses_by_B(w, [-1.0]), r"B = -1.0 is outside"),
    ],
)
def test_chapter_4_tables_reject_bad_input(call, message):
    world = small_world(0)
    with pytest.raises((ValueError, TypeError), match=message):
        call(world, synthetic.make_task(world, B=2.0))
