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


_MODELS = {}  # task -> its models, built once and shared by the theorem tests


def models(world, task):
    """Models of every perturbation kind at every eps of EPS_GRID, against ``task``."""
    if task not in _MODELS:
        _MODELS[task] = [synthetic.eps_optimal_model(world, eps, kind, task=task, seed=3)
                         for kind in synthetic.PERTURBATIONS for eps in EPS_GRID]
    return _MODELS[task]


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
    assert checked == len(instances) * len(EPS_GRID) * len(synthetic.PERTURBATIONS)


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


@pytest.fixture(scope="module")
def default():
    """Chapter 4's default world and task."""
    world = synthetic.make_world(seed=0)
    return world, synthetic.make_task(world, B=8.0, gamma=0.5)


def small_eps_path(world, task, kind, seed=0):
    """The fixed classifier's gap over small eps (1e-8 .. 1e-6) and the log-log slope of |gap|."""
    path = synthetic.error_path(world, task, kind, np.geomspace(1e-8, 1e-6, 5), seed=seed)
    return path, fit_loglog_slope(path["eps"], path["gap"].abs())


@pytest.mark.parametrize("kind", ["adversarial", "margin"])
def test_adversaries_have_slope_one_half(default, kind):
    path, slope = small_eps_path(*default, kind)
    assert (path["gap"] > 0).all() and abs(slope - 0.5) < 0.05
    table = synthetic.sweep(*default, np.geomspace(1e-5, 1e-2, 6), kinds=(kind,))
    assert abs(fit_loglog_slope(table.eps, table.loss_fixed - table.tau) - 0.5) < 0.1


@pytest.mark.parametrize("seed", range(3))
def test_truly_random_errors_have_slope_one_half_at_small_eps(default, seed):
    """sqrt(eps / N) at small eps: the first-order term survives the average over N contexts."""
    _, slope = small_eps_path(*default, "random", seed=seed)
    assert abs(slope - 0.5) < 0.05


def test_orthogonal_errors_have_slope_one(default):
    """With the first-order term projected out only the eps term is left, at every eps."""
    for grid in (np.geomspace(1e-8, 1e-6, 4), np.geomspace(1e-4, 1e-2, 4)):
        path = synthetic.error_path(*default, "orthogonal", grid)
        assert (path["gap"] > 0).all() and abs(fit_loglog_slope(path["eps"], path["gap"]) - 1) < 0.05


def test_random_errors_are_milder_by_about_sqrt_n_not_hundreds(default):
    """In the default world (N = 400) the adversarial gap is 10-25 times the typical random one."""
    adversarial, _ = small_eps_path(*default, "adversarial")
    terms = synthetic.random_error_terms(*default)
    a1_adversarial = float((adversarial["gap"] / np.sqrt(adversarial["eps"])).iloc[0])
    assert 8 < a1_adversarial / terms["a1_rms"] < 30
    for seed in range(3):  # and each random direction's own gap is of that typical size
        path, _ = small_eps_path(*default, "random", seed=seed)
        ratio = float(path["gap"].abs().iloc[0] / adversarial["gap"].iloc[0])
        assert 1 / 200 < ratio < 1 / 3


def test_random_error_terms_predict_the_typical_first_order_coefficient(default):
    """a1_rms is the root mean square over random directions of the fitted first-order coefficient."""
    world, task = default
    grid = np.geomspace(1e-7, 1e-3, 5)
    fitted = [synthetic.gap_expansion(*synthetic.error_path(world, task, "random", grid, seed=s)[["eps", "gap"]].T.values)
              for s in range(24)]
    rms = math.sqrt(np.mean([a1**2 for a1, _, _ in fitted]))
    terms = synthetic.random_error_terms(world, task)
    assert abs(rms / terms["a1_rms"] - 1) < 0.35  # 24 draws: the root mean square is known to ~15%
    assert all(abs(a2 / terms["a2"] - 1) < 0.3 for _, a2, _ in fitted)
    assert any(a1 < 0 for a1, _, _ in fitted)  # a random error can even help the task's classifier


def test_crossover_moves_left_about_like_one_over_n():
    """a1 ~ 1/sqrt(N); the crossover (a1 / a2)^2 falls a little slower than 1/N, as a2 drifts down with N."""
    crossovers = []
    for n in (100, 400, 1600, 6400):
        world = synthetic.make_world(n_contexts=n, seed=0)
        crossovers.append(synthetic.random_error_terms(world, synthetic.make_task(world, B=8.0, gamma=0.5))["crossover"])
    assert all(a > b for a, b in zip(crossovers, crossovers[1:]))
    assert -1.3 < fit_loglog_slope([100, 400, 1600, 6400], crossovers) < -0.6


def test_gap_expansion_recovers_planted_terms():
    eps = np.geomspace(1e-6, 1e-2, 7)
    a1, a2, crossover = synthetic.gap_expansion(eps, -0.02 * np.sqrt(eps) + 0.3 * eps)
    assert math.isclose(a1, -0.02, rel_tol=1e-9) and math.isclose(a2, 0.3, rel_tol=1e-9)
    assert math.isclose(crossover, (0.02 / 0.3) ** 2, rel_tol=1e-9)


DEFAULT_WORLDS = [(realizable, phi_natural, gamma) for realizable in (True, False) for phi_natural in (True, False)
                  for gamma in (1.0, 0.5)]


@pytest.fixture(scope="module")
def default_sweeps():
    """Sweeps of the label-free and the label-based adversary on the default worlds, all task types."""
    out = []
    for realizable, phi_natural, gamma in DEFAULT_WORLDS:
        world = synthetic.make_world(seed=0, realizable=realizable)
        task = synthetic.make_task(world, B=8.0, gamma=gamma, phi_natural=phi_natural)
        table = synthetic.sweep(world, task, np.geomspace(1e-5, 1e-1, 5), kinds=("margin", "adversarial", "random"))
        out.append((world, task, table))
    return out


LABEL_FREE_TOLERANCE = 0.015  # nats: tau constrains ||v||_inf <= B, a refit does not (0.012 at eps = 0 here)


def test_label_free_adversary_refit_never_beats_tau(default_sweeps):
    for world, task, table in default_sweeps:
        refit = table[table.kind == "margin"].loss_refit
        assert (refit >= task.tau - LABEL_FREE_TOLERANCE).all() or not task.phi_natural
        # and never below the refit on the truth's own features, Phi p* (eps = 0)
        assert (refit >= task.loss_refit(world.p_star @ world.Phi.T) - 2e-3).all()


def test_margin_adversary_uses_no_label(default):
    """Flipping every label (q -> 1 - q) leaves the label-free direction unchanged."""
    world, task = default
    flipped = synthetic.Task(p_T=task.p_T, q=1 - task.q, v=task.v, b=task.b, lam=task.lam, B=task.B,
                             tau=task.tau, gamma=task.gamma)
    margin = synthetic.eps_optimal_model(world, 1e-3, "margin", task=task)
    assert torch.equal(margin.f, synthetic.eps_optimal_model(world, 1e-3, "margin", task=flipped).f)
    adversarial = synthetic.eps_optimal_model(world, 1e-3, "adversarial", task=task)
    assert not torch.allclose(adversarial.f, synthetic.eps_optimal_model(world, 1e-3, "adversarial", task=flipped).f)


def test_printed_bounds_apply_and_hold(default_sweeps):
    """Each bound uses its theorem's eps; none is violated; Theorem 5.1 only for Phi-natural tasks."""
    for world, task, table in default_sweeps:
        assert (table.loss_fixed <= table.bound_thm1 + 1e-12).all()
        assert (table.loss_fixed <= table.bound + 1e-12).all()
        if task.phi_natural:
            assert (table.loss_refit <= table.bound_thm2 + 1e-12).all()
            assert (table.theorem == "5.1").all() and np.allclose(table.bound, table.bound_thm2)
        else:
            assert table.bound_thm2.isna().all() and (table.theorem == "4.1").all()
        excess_over_truth = world.excess_loss_any(world.log_predict(world.f_opt))
        assert np.allclose(table.eps_true, table.eps + excess_over_truth, rtol=1e-6, atol=1e-12)


def test_old_bound_from_eps_wrt_phi_can_be_violated():
    """Why eps_true: with eps against L*(Phi) Theorem 4.1's formula fails for a non-Phi-natural task."""
    world = synthetic.make_world(seed=0, realizable=False)
    task = synthetic.make_task(world, B=8.0, gamma=1.0, phi_natural=False)
    table = synthetic.sweep(world, task, np.geomspace(1e-5, 1e-1, 5), kinds=("margin",))
    assert (table.loss_fixed > task.bound(table.eps)).any()
    assert (table.loss_fixed <= table.bound_thm1).all()


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
        (lambda w, t: synthetic.eps_optimal_model(w, -0.1, task=t), r"eps = -0.1 is outside the allowed range \[0, inf\)"),
        (lambda w, t: synthetic.eps_optimal_model(w, 1e9, task=t), r"eps = 1e\+09 nats cannot be reached .* allowed: 0 <= eps <="),
        (lambda w, t: synthetic.eps_optimal_model(w, 0.1, "sideways", task=t), r"unknown perturbation kind 'sideways'; allowed: 'random', 'orthogonal', 'margin', 'adversarial'"),
        (lambda w, t: synthetic.eps_optimal_model(w, 0.1, "adversarial"), r"needs the task"),
        (lambda w, t: synthetic.eps_optimal_model(w, 0.1, "margin"), r"kind='margin' needs the task"),
        (lambda w, t: synthetic.sweep(w, t, []), r"eps_grid must be a non-empty list"),
        (lambda w, t: synthetic.sweep(w, t, [1e-3, -1.0]), r"eps_grid must hold values >= 0, got -1"),
        (lambda w, t: synthetic.error_path(w, t, "sideways", [1e-3]), r"unknown perturbation kind 'sideways'"),
        (lambda w, t: synthetic.gap_expansion([1e-3, 0.0], [1.0, 2.0]), r"eps must be positive, got 0"),
        (lambda w, t: synthetic.make_task(w, B=0.0), r"B = 0.0 is outside the allowed range \(0, inf\)"),
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


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("eps", [0.0, 1e-4, 1e-2, 0.3])
def test_the_mixture_model_is_a_distribution_at_the_excess_loss_asked(seed, eps):
    world = small_world(seed, False)
    p = synthetic.mixture_model(world, eps, seed=seed)
    assert p.shape == world.p_star.shape and (p > 0).all()
    assert torch.allclose(p.sum(-1), torch.ones(world.n_contexts, dtype=p.dtype), atol=1e-12)
    assert world.excess_loss_any(p.log()) == pytest.approx(eps, rel=1e-9, abs=1e-15)
    again = synthetic.mixture_model(world, eps, seed=seed)
    assert torch.equal(p, again)


def test_the_mixture_model_is_not_a_softmax_model():
    world = small_world(0, True)
    p = synthetic.mixture_model(world, 1e-2)
    # a softmax model's log p(s) lies in the row space of Phi^T plus a constant per context; the
    # mixture's does not: the best least-squares fit leaves a clear residual
    log_p = p.log() - p.log().mean(-1, keepdim=True)
    basis = torch.cat([world.Phi.T, torch.ones(world.vocab_size, 1, dtype=p.dtype)], 1)  # (V, d + 1)
    coef = torch.linalg.lstsq(basis, log_p.T).solution
    assert (basis @ coef - log_p.T).abs().max() > 1e-3

