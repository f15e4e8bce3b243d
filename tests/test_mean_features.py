"""Chapter 5's proof quantities (lmtheory.mean_features), each against an independent computation."""

import math

import numpy as np
import pytest
import torch

from lmtheory import core, mean_features, synthetic
from lmtheory.logistic import expected_logistic_loss

DT = torch.float64


def small_world(seed=0, realizable=True, n_contexts=150):
    return synthetic.make_world(n_contexts=n_contexts, vocab_size=60, dim=6, seed=seed, realizable=realizable)


@pytest.fixture(scope="module")
def world():
    return small_world(0)


@pytest.fixture(scope="module")
def world_nr():
    return small_world(1, realizable=False)


@pytest.fixture(scope="module")
def task(world):
    return synthetic.make_task(world, B=4.0, gamma=0.5)


def test_random_instances_are_reproducible_and_in_range(world):
    theta, contexts = mean_features.random_instances(world, 7, seed=3)
    again, contexts_again = mean_features.random_instances(world, 7, seed=3)
    other, _ = mean_features.random_instances(world, 7, seed=4)
    assert theta.shape == (7, world.dim) and theta.dtype == DT and contexts.shape == (7,)
    assert torch.equal(theta, again) and torch.equal(contexts, contexts_again)
    assert not torch.equal(theta, other)
    assert 0 <= int(contexts.min()) and int(contexts.max()) < world.n_contexts
    with pytest.raises(ValueError, match="n"):
        mean_features.random_instances(world, 0)


def test_hessian_matches_the_covariance_written_word_by_word(world):
    theta, _ = mean_features.random_instances(world, 3, seed=1)
    largest, smallest = mean_features.hessian_vs_covariance(theta, world.Phi)
    assert largest < 1e-10
    eigenvalues = []
    for row in theta:  # Cov = sum_w p_w (phi_w - mu)(phi_w - mu)^T, an independent formula
        p = torch.softmax(world.Phi.T @ row, 0).numpy()
        Phi = world.Phi.numpy()
        centred = Phi - Phi @ p[:, None]
        eigenvalues.append(np.linalg.eigvalsh((centred * p) @ centred.T).min())
    assert smallest == pytest.approx(min(eigenvalues), rel=1e-6, abs=1e-12)
    assert smallest > 0
    with pytest.raises(ValueError, match="shapes do not match"):
        mean_features.hessian_vs_covariance(theta[:, :3], world.Phi)


def test_second_derivatives_of_a_cubic():
    t_values = [-1.0, 0.5, 2.0]
    autograd, finite = mean_features.second_derivatives(lambda t: t**3 - 2 * t, t_values, 4)
    expected = torch.tensor(t_values, dtype=DT)[:, None].expand(-1, 4) * 6  # (t^3)'' = 6 t
    assert autograd.shape == finite.shape == (3, 4)
    assert torch.allclose(autograd, expected, atol=1e-12)
    assert torch.allclose(finite, expected, atol=1e-5)
    with pytest.raises(ValueError, match="h"):
        mean_features.second_derivatives(lambda t: t**3, t_values, 4, h=0.0)


def test_score_variance_against_the_definition():
    gen = torch.Generator().manual_seed(0)
    p = torch.softmax(torch.randn(5, 9, generator=gen, dtype=DT), -1)
    v = torch.randn(9, generator=gen, dtype=DT)
    mean = (p * v).sum(-1, keepdim=True)
    expected = (p * (v - mean) ** 2).sum(-1)  # E[(v - E v)^2]
    assert torch.allclose(mean_features.score_variance(p, v), expected, atol=1e-12)
    assert torch.allclose(mean_features.score_variance(p, v.expand(5, -1)), expected, atol=1e-12)
    with pytest.raises(ValueError, match="shapes do not match"):
        mean_features.score_variance(p, v[:4])
    with pytest.raises(ValueError):
        mean_features.score_variance(2 * p, v)


def test_random_variance_ratios_are_the_documented_draws():
    torch.manual_seed(5)
    ratios = mean_features.random_variance_ratios(30, 3.0, 4, alphas=(0.1, 2.0))
    torch.manual_seed(5)
    expected = []
    for alpha in (0.1, 2.0):
        p = torch.distributions.Dirichlet(torch.full((30,), alpha, dtype=DT)).sample((4,))
        v = 3.0 * (2 * torch.rand(4, 30, dtype=DT) - 1)
        v = v * 3.0 / v.abs().amax(1, keepdim=True)
        assert torch.allclose(v.abs().amax(1), torch.full((4,), 3.0, dtype=DT))
        expected.append(torch.tensor([float(np.cov(v[i].numpy(), aweights=p[i].numpy(), bias=True))
                                      for i in range(4)], dtype=DT) / 9.0)
    assert ratios.shape == (8,)
    assert torch.allclose(ratios, torch.cat(expected), atol=1e-10)
    assert (ratios <= 1).all() and (ratios >= -1e-12).all()
    with pytest.raises(ValueError, match="B"):
        mean_features.random_variance_ratios(30, -1.0, 4)
    with pytest.raises(ValueError, match="alpha"):
        mean_features.random_variance_ratios(30, 1.0, 4, alphas=(0.0,))


def test_blind_spot_table_against_a_direct_evaluation(world_nr):
    tasks = {"natural": synthetic.make_task(world_nr, B=4.0, gamma=0.5),
             "generic": synthetic.make_task(world_nr, B=4.0, gamma=0.5, phi_natural=False)}
    table = mean_features.blind_spot_table(world_nr, tasks)
    assert list(table.index) == ["natural", "generic"]
    p_opt = torch.softmax(world_nr.f_opt @ world_nr.Phi, -1)
    for name, t in tasks.items():
        row = table.loc[name]
        for p, column in [(world_nr.p_star, "tau = l_T(p*, v)"), (p_opt, "l_T(p_f_opt, v)")]:
            expected = float(expected_logistic_loss(p @ t.v + t.b, t.q, t.p_T))
            assert row[column] == pytest.approx(expected, abs=1e-10)
        shift = max(abs(float(t.v @ (p_opt[s] - world_nr.p_star[s]))) for s in range(world_nr.n_contexts))
        assert row["max |v^T (p_f_opt - p*)|"] == pytest.approx(shift, abs=1e-10)
    assert table.loc["natural", "max |v^T (p_f_opt - p*)|"] < 1e-8  # blind to the error
    assert table.loc["generic", "max |v^T (p_f_opt - p*)|"] > 1e-3


def test_lemma_ratios_against_a_loop_over_contexts(world, task):
    model = synthetic.eps_optimal_model(world, 0.01, "margin", task=task)
    V_rows = torch.stack([task.v, -task.v, world.Phi.T @ torch.ones(world.dim, dtype=DT)])
    ratios = mean_features.lemma_ratios(world, model.f, V_rows, task.B)
    eps = float((world.p_L * core.kl_divergence(world.p_star, world.log_predict(model.f))).sum())
    for k, v in enumerate(V_rows):
        lhs = sum(float(world.p_L[s]) * float(v @ (model.p[s] - world.p_star[s])) ** 2
                  for s in range(world.n_contexts))
        assert float(ratios[k]) == pytest.approx(lhs / (2 * task.B**2 * eps), rel=1e-8)
    assert 0 < float(ratios[0]) <= 1  # the key lemma, for the task's own v
    with pytest.raises(ValueError, match="shapes do not match"):
        mean_features.lemma_ratios(world, model.f, V_rows[:, :5], task.B)


def test_lemma_sweep_rows_and_the_lemma(world, world_nr):
    table = mean_features.lemma_sweep({"a": world, "b": world_nr}, 4.0, 0.5, [1e-3, 1e-1], 3,
                                      task_seeds=(2,), kinds=("margin",))
    assert len(table) == 2 * 1 * 1 * 2
    assert list(table.columns) == ["world", "kind", "eps", "task", "ratio (task's v)", "ratio (random lam, max)"]
    ratios = table[["ratio (task's v)", "ratio (random lam, max)"]].to_numpy()
    assert (ratios > 0).all() and (ratios <= 1).all()
    first = table.iloc[0]  # recompute one row with lemma_ratios
    t = synthetic.make_task(world, B=4.0, gamma=0.5, seed=2)
    model = synthetic.eps_optimal_model(world, 1e-3, "margin", task=t, seed=2)
    ratio = mean_features.lemma_ratios(world, model.f, (t.v * 4.0 / t.v.abs().max())[None], 4.0)
    assert first["ratio (task's v)"] == pytest.approx(float(ratio[0]), rel=1e-12)


def test_theorem_chain_is_a_chain_of_inequalities(world, task):
    for kind in ("random", "margin"):
        model = synthetic.eps_optimal_model(world, 0.01, kind, task=task)
        chain = mean_features.theorem_chain(world, task, model)
        assert chain["eps"] == pytest.approx(0.01, rel=0.02)
        assert chain["tau"] == pytest.approx(task.tau, abs=1e-8)
        assert chain["(a) lam on Phi p_f"] == pytest.approx(chain["l_T(p_f, v)"], abs=1e-12)
        steps = ["l_T(Phi p_f)", "l_T(p_f, v)", "(b) tau + E_T|d|", "(c) tau + sqrt(E_T d^2)",
                 "(d) tau + sqrt(E_L d^2 / gamma)", "(e) bound"]
        for left, right in zip(steps, steps[1:]):
            assert chain[left] <= chain[right] + 1e-9, (left, right)
        assert chain["refined gamma"] >= chain["gamma"] - 1e-9
        assert chain["(e) bound"] == pytest.approx(task.bound(chain["eps"]), rel=1e-10)
        assert chain["(e') refined bound"] <= chain["(e) bound"] + 1e-9
    generic = synthetic.make_task(world, B=4.0, gamma=0.5, phi_natural=False)
    with pytest.raises(ValueError, match="Phi-natural"):
        mean_features.theorem_chain(world, generic, model)


def test_feature_maps_are_the_four_maps(world):
    maps = mean_features.feature_maps(world, seed=3)
    assert list(maps) == ["p* (V = 60)", "Phi p* (d = 6)", "f_opt (d = 6)", "random R^T p* (6)"]
    assert torch.allclose(maps["Phi p* (d = 6)"], world.p_star @ world.Phi.T, atol=1e-14)
    assert torch.equal(maps["f_opt (d = 6)"], world.f_opt)
    R = torch.randn(60, 6, generator=torch.Generator().manual_seed(3), dtype=DT)
    assert torch.allclose(maps["random R^T p* (6)"], world.p_star @ R)


def test_feature_comparison_table(world, task):
    world_big = small_world(0, n_contexts=300)
    tasks = {"natural": task}
    tasks_big = {"natural": synthetic.make_task(world_big, B=4.0, gamma=0.5)}
    dims = mean_features.feature_comparison(world, tasks, world_big, tasks_big)
    assert list(dims.columns) == ["in-sample (N = 150)", "held-out (N = 300)", "held-out spread"]
    maps = mean_features.feature_maps(world)
    for name, features in maps.items():
        assert dims.loc[("natural", name), "in-sample (N = 150)"] == pytest.approx(task.loss_refit(features))
    tau_row = dims.loc[("natural", "tau (||v||_inf <= 4, on p*)")]
    assert tau_row["in-sample (N = 150)"] == task.tau and tau_row["held-out (N = 300)"] == tasks_big["natural"].tau
    assert math.isnan(tau_row["held-out spread"])
    held = dims["held-out (N = 300)"].drop(("natural", "tau (||v||_inf <= 4, on p*)"))
    assert (held > 0).all() and (held < math.log(2) + 0.2).all()
    with pytest.raises(ValueError, match="same tasks"):
        mean_features.feature_comparison(world, tasks, world_big, {"other": tasks_big["natural"]})
