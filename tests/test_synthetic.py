"""The synthetic world, and the theorems of NOTES.md asserted on its random instances."""

import math

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression

from lmtheory import bounds, core, synthetic
from lmtheory.logistic import expected_logistic_loss, fit_logistic
from lmtheory.plotting import fit_loglog_slope

SEEDS = range(4)
EPS_GRID = [1e-5, 1e-3, 1e-2, 0.1]


def small_world(seed, realizable=True):
    return synthetic.make_world(n_contexts=150, vocab_size=60, dim=6, seed=seed, realizable=realizable)


@pytest.fixture(scope="module")
def instances():
    """(world, task) pairs: realizable or not, Phi-natural or not, several coverages and B."""
    out = []
    for seed in SEEDS:
        for realizable in (True, False):
            world = small_world(seed, realizable)
            for gamma, B, phi_natural in [(1.0, 2.0, True), (0.3, 6.0, True), (0.6, 4.0, False)]:
                task = synthetic.make_task(world, B=B, gamma=gamma, phi_natural=phi_natural, seed=seed + 10)
                out.append((world, task))
    return out


def models(world, task):
    for kind in synthetic.PERTURBATIONS:
        for eps in EPS_GRID:
            yield synthetic.eps_optimal_model(world, eps, kind, task=task, seed=3)


@pytest.mark.parametrize("realizable", [True, False])
@pytest.mark.parametrize("kind", synthetic.PERTURBATIONS)
def test_requested_eps_is_hit_to_one_percent(realizable, kind):
    world = small_world(0, realizable)
    task = synthetic.make_task(world, B=3.0, gamma=0.5)
    for eps in [1e-6, 1e-4, 1e-2, 0.3, 2.0]:
        model = synthetic.eps_optimal_model(world, eps, kind, task=task)
        assert abs(model.eps - eps) <= 0.01 * eps
        assert abs(world.excess_loss(model.f) - eps) <= 0.01 * eps
    assert synthetic.eps_optimal_model(world, 0.0, kind, task=task).eps == 0.0


def test_realizable_world_has_f_opt_equal_f_star_and_zero_excess():
    world = small_world(1)
    assert torch.allclose(world.predict(world.f_opt), world.p_star, atol=1e-12)
    assert abs(world.excess_loss_any(world.log_predict(world.f_opt))) < 1e-12


def test_non_realizable_world_meets_the_first_order_condition_only():
    world = small_world(2, realizable=False)
    p_opt = world.predict(world.f_opt)
    assert (core.conditional_mean(p_opt, world.Phi) - core.conditional_mean(world.p_star, world.Phi)).abs().max() < 1e-9
    assert float((p_opt - world.p_star).abs().sum(-1).mean()) > 0.1  # the distributions differ
    # L*(Phi) > L*, and no perturbation of f_opt lowers the cross-entropy
    assert world.excess_loss_any(world.log_predict(world.f_opt)) > 0.05
    gen = torch.Generator().manual_seed(0)
    for _ in range(20):
        f = world.f_opt + 1e-2 * torch.randn(world.f_opt.shape, generator=gen, dtype=torch.float64)
        assert world.excess_loss(f) > 0


def test_pythagorean_identity_for_excess_loss_wrt_phi():
    world = small_world(3, realizable=False)
    model = synthetic.eps_optimal_model(world, 0.05, "random")
    pythagoras = float(world.p_L @ core.kl_divergence(world.predict(world.f_opt), model.p.log()))
    assert math.isclose(world.excess_loss(model.f), pythagoras, rel_tol=1e-8)


def test_excess_cross_entropy_equals_expected_kl_in_the_world(instances):
    for world, task in instances[:6]:
        for model in models(world, task):
            log_p = model.p.log()
            assert abs(float(core.excess_loss(world.p_L, world.p_star, log_p)) - world.excess_loss_any(log_p)) < 1e-10


def test_theorem_1_any_lm(instances):
    """l_T(p, v) <= tau + sqrt(2 B^2 eps / gamma), eps = L(p) - L* (not w.r.t. Phi)."""
    checked = 0
    for world, task in instances:
        for model in models(world, task):
            eps_any = world.excess_loss_any(model.p.log())
            assert task.loss_fixed(model.p) <= task.bound(eps_any) + 1e-12
            checked += 1
    assert checked == len(instances) * len(EPS_GRID) * 2


def test_theorem_1_proof_steps(instances):
    for world, task in instances:
        for model in models(world, task):
            diff = model.p - world.p_star
            l1 = diff.abs().sum(-1)
            kl = core.kl_divergence(world.p_star, model.p.log())
            step1 = task.loss_fixed(world.p_star) + float(task.p_T @ (diff @ task.v).abs())
            assert task.loss_fixed(model.p) <= step1 + 1e-12  # 1-Lipschitz loss
            assert ((diff @ task.v).abs() <= task.B * l1 + 1e-12).all()  # Hoelder
            assert (l1 <= (2 * kl).sqrt() + 1e-12).all()  # Pinsker
            jensen = math.sqrt(2 * float(task.p_T @ kl))
            assert float(task.p_T @ (2 * kl).sqrt()) <= jensen + 1e-12  # Jensen
            eps_any = world.excess_loss_any(model.p.log())
            assert float(task.p_T @ kl) <= eps_any / task.gamma * (1 + 1e-9)  # change of measure


def test_key_lemma(instances):
    """E_{p_L} (v^T (p_f - p*))^2 <= 2 B^2 eps for v = Phi^T lambda, eps w.r.t. Phi."""
    worst = 0.0
    for world, task in instances:
        if not task.phi_natural:
            continue
        for model in models(world, task):
            # v^T p* = lam^T Phi p*: in a non-realizable world too, only Phi p* matters
            lhs = float(world.p_L @ ((model.p - world.p_star) @ task.v).pow(2))
            rhs = bounds.key_lemma_bound(task.B, model.eps)
            assert lhs <= rhs * (1 + 1e-9)
            worst = max(worst, lhs / rhs)
    assert worst > 0.01  # the instances do probe the lemma, not just its easy side


def test_theorem_2_conditional_mean_features(instances):
    """l_T(Phi p_f) <= tau + sqrt(2 B^2 eps / gamma), with plain and refined coverage."""
    for world, task in instances:
        if not task.phi_natural:
            continue
        mean_star = core.conditional_mean(world.p_star, world.Phi)
        for model in models(world, task):
            features = core.conditional_mean(model.p, world.Phi)
            scores = features @ task.lam + task.b
            assert torch.allclose(scores, model.p @ task.v + task.b, atol=1e-10)
            fixed = task.loss(scores)
            assert task.loss_refit(features) <= fixed + 1e-9 <= task.bound(model.eps) + 1e-9
            gamma_refined = synthetic.refined_coverage(world.p_L, task.p_T, features - mean_star)
            assert gamma_refined >= task.gamma * (1 - 1e-9)
            refined = task.tau + math.sqrt(2 * task.B**2 * model.eps / min(gamma_refined, 1.0))
            assert fixed <= refined + 1e-12


def test_theorem_3_affine_features_are_no_worse():
    world = small_world(0)
    task = synthetic.make_task(world, B=3.0)
    gen = torch.Generator().manual_seed(1)
    for _ in range(5):
        A = torch.randn(world.dim, world.dim, generator=gen, dtype=torch.float64)
        b = torch.randn(world.dim, generator=gen, dtype=torch.float64)
        model = synthetic.eps_optimal_model(world, 0.01, "adversarial", task=task)
        assert task.loss_refit(model.f) <= task.loss_refit(model.f @ A.T + b) + 1e-9


def test_quad_bound_on_random_instances():
    """l_T(f) <= tau + ||v||_2 sqrt(2 eps_quad / gamma) with the classifier Phi Phi^T lambda on f."""
    for seed in SEEDS:
        world = small_world(seed)
        task = synthetic.make_task(world, B=3.0, gamma=0.5, seed=seed)
        f_star = core.quad_minimiser(world.Phi, world.p_star)
        weights = world.Phi @ world.Phi.T @ task.lam
        assert math.isclose(task.loss(f_star @ weights + task.b), task.tau, rel_tol=1e-9)
        gen = torch.Generator().manual_seed(seed)
        for scale in [1e-3, 1e-2, 1e-1]:
            f = f_star + scale * torch.randn(f_star.shape, generator=gen, dtype=torch.float64)
            eps_quad = float(world.p_L @ core.quad_excess_loss(f, world.Phi, world.p_star))
            bound = bounds.quad_bound(task.tau, float(task.v.norm()), eps_quad, task.gamma)
            assert task.loss(f @ weights + task.b) <= bound + 1e-12


def test_tau_is_the_minimum_over_the_allowed_classifiers(instances):
    for world, task in instances[:6]:
        assert math.isclose(task.loss_fixed(world.p_star), task.tau, rel_tol=1e-9)
        assert float(task.v.abs().max()) <= task.B * (1 + 1e-6)
        gen = torch.Generator().manual_seed(0)
        for _ in range(50):  # no feasible point nearby (convex combination) does better
            if task.phi_natural:
                lam = torch.randn(world.dim, generator=gen, dtype=torch.float64)
                other = world.Phi.T @ lam
            else:
                other = torch.rand(world.vocab_size, generator=gen, dtype=torch.float64) * 2 - 1
            other = other * task.B / float(other.abs().max())
            for a in [1e-3, 1e-2, 0.1]:
                v = (1 - a) * task.v + a * other
                b = task.b + a * float(torch.randn(1, generator=gen))
                assert task.loss(world.p_star @ v + b) >= task.tau - 1e-9


def test_tau_box_case_agrees_with_a_second_optimiser():
    """The box-constrained tau (L-BFGS-B) matches the Phi-constrained solver (SLSQP) with Phi = I."""
    world = synthetic.make_world(n_contexts=80, vocab_size=12, dim=12, seed=5)
    task = synthetic.make_task(world, B=4.0, phi_natural=False)
    identity = torch.eye(world.vocab_size, dtype=torch.float64)
    _, _, tau_slsqp = synthetic.best_bounded_classifier(world.p_star, task.q, task.p_T, task.B, Phi=identity)
    assert abs(task.tau - tau_slsqp) < 1e-6


def test_coverage_of_tilted_distribution_is_exact_and_refined_is_larger():
    world = small_world(0)
    gen = torch.Generator().manual_seed(0)
    h = torch.randn(world.n_contexts, 3, generator=gen, dtype=torch.float64)
    for gamma in [1.0, 0.8, 0.3, 0.05]:
        p_T = synthetic.tilted_distribution(world.p_L, gamma)
        assert abs(synthetic.coverage(world.p_L, p_T) - gamma) < 1e-9
        assert synthetic.refined_coverage(world.p_L, p_T, h) >= gamma * (1 - 1e-9)


def test_slopes_adversarial_half_random_one():
    world = synthetic.make_world(seed=0)
    task = synthetic.make_task(world, B=8.0, gamma=0.5)
    grid = np.logspace(-5, -2, 8)
    table = synthetic.sweep(world, task, grid)
    slopes = {}
    for kind, rows in table.groupby("kind"):
        gaps = rows.loss_fixed - rows.tau
        assert (gaps > 0).all()
        assert (rows.loss_fixed <= rows.bound).all() and (rows.loss_refit <= rows.bound).all()
        slopes[kind] = fit_loglog_slope(rows.eps, gaps)
    assert abs(slopes["adversarial"] - 0.5) < 0.1
    assert abs(slopes["random"] - 1.0) < 0.1


def test_fit_logistic_matches_scikit_learn():
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(200, 4, generator=gen, dtype=torch.float64)
    q = torch.sigmoid(X @ torch.tensor([1.0, -2.0, 0.5, 0.0], dtype=torch.float64) + 0.3)
    q = torch.where(torch.rand(200, generator=gen, dtype=torch.float64) < q, 0.9, 0.1).to(torch.float64)
    weights = torch.softmax(torch.randn(200, generator=gen, dtype=torch.float64), 0)
    w, b, loss = fit_logistic(X, q, weights)
    # scikit-learn sees each context twice, once per label, weighted by p_T(s) P(y | s)
    Xs = np.vstack([X.numpy(), X.numpy()])
    ys = np.r_[np.ones(200), np.zeros(200)]
    ws = np.r_[(weights * q).numpy(), (weights * (1 - q)).numpy()]
    sk = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(Xs, ys, sample_weight=ws)
    sk_scores = torch.from_numpy(X.numpy() @ sk.coef_[0] + sk.intercept_[0])
    assert abs(loss - float(expected_logistic_loss(sk_scores, q, weights))) < 1e-7
    assert torch.allclose(w, torch.from_numpy(sk.coef_[0]), atol=1e-3)


def test_same_seed_same_world():
    a, b = synthetic.make_world(seed=7), synthetic.make_world(seed=7)
    assert torch.equal(a.Phi, b.Phi) and torch.equal(a.p_L, b.p_L) and torch.equal(a.p_star, b.p_star)
    assert not torch.equal(a.Phi, synthetic.make_world(seed=8).Phi)


def test_sampled_corpus_follows_the_world():
    world = small_world(0)
    contexts, words = world.sample(20_000, seed=1)
    estimate = float(-world.log_predict(world.f_opt)[contexts, words].mean())
    exact = float(world.p_L @ core.entropy(world.p_star))
    assert abs(estimate - exact) < 0.05


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda w, t: synthetic.eps_optimal_model(w, -0.1, task=t), r"eps = -0.1 is outside the allowed range \[0, inf\]"),
        (lambda w, t: synthetic.eps_optimal_model(w, 1e9, task=t), r"eps = 1e\+09 nats cannot be reached .* allowed: 0 <= eps <="),
        (lambda w, t: synthetic.eps_optimal_model(w, 0.1, "sideways", task=t), r"unknown perturbation kind 'sideways'; allowed: 'random', 'adversarial'"),
        (lambda w, t: synthetic.eps_optimal_model(w, 0.1, "adversarial"), r"needs the task"),
        (lambda w, t: synthetic.make_task(w, B=0.0), r"B = 0.0 is outside the allowed range \(0, inf\]"),
        (lambda w, t: synthetic.make_task(w, gamma=0.0), r"gamma = 0.0 is outside the allowed range \(0, 1\]"),
        (lambda w, t: synthetic.make_task(w, gamma=1.2), r"gamma = 1.2"),
        (lambda w, t: synthetic.make_task(w, gamma=1e-9), r"gamma = 1e-09 cannot be reached in this world"),
        (lambda w, t: synthetic.make_task(w, label_noise=0.5), r"label_noise = 0.5"),
        (lambda w, t: synthetic.make_world(n_contexts=1), r"n_contexts = 1"),
        (lambda w, t: synthetic.make_world(vocab_size=10, dim=20), r"dim = 20 is outside the allowed range \[1, 10\]"),
        (lambda w, t: synthetic.coverage(w.p_L, w.p_L * 2), r"p_T must sum to 1 over its last dimension, but it sums to 2"),
        (lambda w, t: w.excess_loss(torch.zeros(3, 2, dtype=torch.float64)), r"shapes do not match"),
        (lambda w, t: w.sample(0), r"n = 0 is outside"),
    ],
)
def test_bad_input_gets_a_clear_error(call, message):
    world = small_world(0)
    task = synthetic.make_task(world, B=2.0)
    with pytest.raises((ValueError, TypeError), match=message):
        call(world, task)


def test_sampled_words_have_the_right_frequencies():
    world = synthetic.make_world(n_contexts=3, vocab_size=5, dim=2, seed=4)
    contexts, words = world.sample(200_000, seed=2)
    for c in range(3):
        chosen = words[contexts == c]
        counts = torch.bincount(chosen, minlength=5).double() / len(chosen)
        assert (counts - world.p_star[c]).abs().max() < 0.01
    assert abs(float((contexts == 0).double().mean()) - float(world.p_L[0])) < 0.01
