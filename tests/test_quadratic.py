"""lmtheory.quadratic: affine and quadratic fits on random instances, prefix features, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from lmtheory import core
from lmtheory.features import extract_features
from lmtheory.models import OFFLINE_MODEL, from_model, load_model
from lmtheory.offline import hub_reachable
from lmtheory.quadratic import fit_affine, fit_log_partition, prefix_features, quadratic_terms, r_squared

SEEDS = range(5)


def split(n, seed):
    test = np.random.default_rng(seed).random(n) < 0.3
    return ~test, test


@pytest.mark.parametrize("seed", SEEDS)
def test_an_exact_affine_relation_is_recovered(seed):
    rng = np.random.default_rng(seed)
    m, k = rng.integers(2, 12, size=2)
    A, b = rng.normal(size=(k, m)), rng.normal(size=k)
    x = rng.normal(size=(200, m)) * rng.uniform(0.1, 10, size=m)
    y = x @ A.T + b
    train, test = split(len(x), seed)
    fit = fit_affine(x[train], y[train], x[test], y[test])
    assert np.allclose(fit.A, A, atol=1e-8) and np.allclose(fit.b, b, atol=1e-8)
    assert fit.r2 == pytest.approx(1, abs=1e-10) and np.allclose(fit.r2_per_output, 1, atol=1e-10)
    assert fit.relative_error < 1e-10
    assert np.allclose(fit.predict(x[test]), y[test])


@pytest.mark.parametrize("seed", SEEDS)
def test_noise_lowers_r2_by_the_noise_share(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(4000, 3))
    signal = x @ rng.normal(size=3)
    noise = rng.normal(size=4000) * signal.std()  # half of the variance is noise: R^2 about 1/2
    train, test = split(len(x), seed)
    fit = fit_affine(x[train], signal[train] + noise[train], x[test], signal[test] + noise[test])
    assert 0.44 < fit.r2 < 0.56
    assert fit.train_r2 >= fit.r2 - 0.05
    constant = r_squared(signal[test], np.full(test.sum(), signal[train].mean()), signal[train].mean())
    assert constant == pytest.approx(0, abs=1e-12)


def test_ridge_shrinks_the_map_and_not_the_offset():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 4))
    y = x @ rng.normal(size=(4, 2)) + 50.0
    plain = fit_affine(x, y, x, y)
    ridged = fit_affine(x, y, x, y, ridge=1e6)
    assert np.linalg.norm(ridged.A) < 1e-2 * np.linalg.norm(plain.A)
    assert np.allclose(ridged.b, y.mean(0), atol=0.1)


@pytest.mark.parametrize("seed", SEEDS)
def test_an_exact_quadratic_log_partition_is_fitted_with_r2_one(seed):
    """log Z = 1/2 f^T A f + b^T f + c, with A acting on the top-k principal subspace of the training f."""
    rng = np.random.default_rng(seed)
    d, k = 12, 3
    f = rng.normal(size=(600, d)) * np.r_[[5.0, 4.0, 3.0], np.full(d - k, 0.5)] @ np.linalg.qr(rng.normal(size=(d, d)))[0]
    train, test = split(len(f), seed)
    top = np.linalg.svd(f[train] - f[train].mean(0), full_matrices=False)[2][:k].T  # (d, k)
    M = rng.normal(size=(k, k))
    A = top @ (M @ M.T) @ top.T
    b = rng.normal(size=d)
    log_z = 0.5 * np.einsum("ni,ij,nj->n", f, A, f) + f @ b + 3.0
    fit = fit_log_partition(f[train], log_z[train], f[test], log_z[test], k=k)
    assert fit.quadratic.r2 == pytest.approx(1, abs=1e-9)
    assert fit.linear.r2 < 0.99
    assert fit.beyond_linear == pytest.approx(1, abs=1e-8)
    assert fit.components.shape == (k, d)
    assert np.allclose(np.linalg.svd(fit.components @ top, compute_uv=False), 1, atol=1e-8)


def test_quadratic_terms():
    z = np.array([[1.0, 2.0, 3.0]])
    assert quadratic_terms(z).tolist() == [[1.0, 2.0, 3.0, 4.0, 6.0, 9.0]]


def test_gaussian_embeddings_give_an_almost_quadratic_log_partition():
    """With many Gaussian columns phi_w ~ N(mu, S), log Z(theta) ~ log V + theta^T mu + 1/2 theta^T S theta,
    so Phi p_theta = grad log Z ~ S theta + mu: the assumption of Theorem 6.1, checked on random theta."""
    gen = torch.Generator().manual_seed(0)
    d, V = 3, 200_000
    L = torch.tensor([[0.5, 0.0, 0.0], [0.2, 0.4, 0.0], [-0.1, 0.1, 0.3]], dtype=torch.float64)
    mu = torch.tensor([0.3, -0.2, 0.1], dtype=torch.float64)
    Phi = mu[:, None] + L @ torch.randn(d, V, generator=gen, dtype=torch.float64)
    theta = torch.randn(400, d, generator=gen, dtype=torch.float64)
    mean = core.conditional_mean(core.softmax_lm(theta, Phi), Phi)
    train, test = split(len(theta), 0)
    fit = fit_affine(theta[train], mean[train], theta[test], mean[test])
    assert fit.r2 > 0.97
    assert np.allclose(fit.A, (L @ L.T).numpy(), atol=0.03) and np.allclose(fit.b, mu.numpy(), atol=0.03)
    log_z = core.log_partition(theta, Phi)
    quad = fit_log_partition(theta[train], log_z[train], theta[test], log_z[test], k=d)
    assert quad.quadratic.r2 > 0.999 and quad.quadratic.r2 > quad.linear.r2


def test_bad_input():
    x = np.ones((5, 2))
    with pytest.raises(ValueError, match="rows"):
        fit_affine(x, np.ones((4, 1)), x, np.ones((5, 1)))
    with pytest.raises(ValueError, match="columns differ"):
        fit_affine(x, np.ones(5), np.ones((5, 3)), np.ones(5))
    with pytest.raises(ValueError, match="ridge"):
        fit_affine(x, np.ones(5), x, np.ones(5), ridge=-1)
    with pytest.raises(ValueError, match="nan or inf"):
        fit_affine(np.full((5, 2), np.nan), np.ones(5), x, np.ones(5))
    with pytest.raises(ValueError, match="non-empty"):
        fit_affine(np.ones((0, 2)), np.ones(0), x, np.ones(5))
    with pytest.raises(ValueError, match="constant"):
        r_squared(np.ones(5), np.zeros(5))
    with pytest.raises(ValueError, match="shape"):
        r_squared(np.ones(5), np.zeros(4))
    f = np.random.default_rng(0).normal(size=(20, 3))
    for k in (0, 4, 1.5):
        with pytest.raises(ValueError, match=r"k (= \d+ is outside the allowed range \[1, 3\]|must be a whole number)"):
            fit_log_partition(f, f[:, 0], f, f[:, 0], k=k)


@pytest.fixture(scope="module")
def tiny():
    """A random 2-layer GPT-2 of width 32 with the offline model's tokenizer."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        hub_reachable.cache_clear()
        tokenizer = load_model(OFFLINE_MODEL, verbose=False).tokenizer
    hub_reachable.cache_clear()
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=128, n_embd=32, n_layer=2, n_head=2)
    return from_model(GPT2LMHeadModel(config), tokenizer, "tiny-gpt2")


TEXTS = ["A gem.", "Boring, flat and far too long for its own good, despite a charming lead.", "Great fun!"]


def test_prefix_features_agree_with_extract_features_on_whole_texts(tiny):
    every = prefix_features(tiny, TEXTS, per_text=None, min_length=1, batch_size=2)
    lengths = [len(x) for x in tiny.tokenizer(TEXTS)["input_ids"]]
    assert every.n == sum(lengths) and sorted(np.bincount(every.text)) == sorted(lengths)
    last = [np.flatnonzero((every.text == i) & (every.length == n))[0] for i, n in enumerate(lengths)]
    ref = extract_features(tiny, TEXTS, cache=False)
    for key in ("f", "mean", "log_z"):
        assert np.allclose(getattr(every, key)[last], getattr(ref, key), atol=1e-5), key
    # a prefix's features are those of the prefix alone (decode-free check: feed the prefix's tokens)
    ids = tiny.tokenizer(TEXTS[1])["input_ids"]
    with torch.inference_mode():
        alone = tiny.model.base_model(input_ids=torch.tensor([ids[:5]])).last_hidden_state[0, -1].numpy()
    row = np.flatnonzero((every.text == 1) & (every.length == 5))[0]
    assert np.allclose(every.f[row], alone, atol=1e-5)


def test_prefix_features_sample_positions(tiny):
    some = prefix_features(tiny, TEXTS, per_text=3, min_length=2, seed=1)
    assert np.bincount(some.text).max() <= 3 and some.length.min() >= 2
    again = prefix_features(tiny, TEXTS, per_text=3, min_length=2, seed=1)
    assert np.array_equal(some.f, again.f) and np.array_equal(some.length, again.length)
    for bad in (0, -2, 1.5, True):
        with pytest.raises(TypeError if bad is True else ValueError, match="per_text"):
            prefix_features(tiny, TEXTS, per_text=bad)
    with pytest.raises(ValueError, match="min_length"):
        prefix_features(tiny, TEXTS, min_length=0)
    with pytest.raises(ValueError, match="no text has"):
        prefix_features(tiny, ["A"], min_length=50)
    with pytest.raises(ValueError, match="empty"):
        prefix_features(tiny, [])
