"""The figures of the chapters (``lmtheory.figures.chNN``), drawn from small inputs: each returns a
figure with the panels it should have, at the page's width with text a reader can read (the measure of
``tests/test_figures.py``), and refuses what it cannot draw."""

from __future__ import annotations

import math

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch
from matplotlib.figure import Figure
from test_figures import assert_readable, book_style, world  # noqa: F401 (fixtures: the style, a small world)

from lmtheory import synthetic
from lmtheory.figures import ch01, ch02, ch03, ch04, ch05, ch06, ch07, ch10
from lmtheory.plotting import MIN_FONT_PX, smallest_font_px
from lmtheory.quadratic import fit_affine, fit_log_partition


def assert_drawn(fig, n_axes: int):
    """A figure with ``n_axes`` panels that the page shows at its own width, its text readable."""
    assert isinstance(fig, Figure)
    assert len(fig.axes) == n_axes
    assert_readable(fig, fig._suptitle.get_text() if fig._suptitle else "a chapter's figure")


SUBTITLE = "tiny-gpt2, prompt ' This movie is', toy test, 40 sentences"


def test_indicative_words():
    tokens = (" great", "great", " boring", " sad", " fantastic")
    diff = np.array([0.5, 0.2, -1.1, -0.4, 0.8])
    fig = ch02.indicative_words(tokens, diff, subtitle=SUBTITLE, source="toy source")
    assert_drawn(fig, 1)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["' boring'", "' sad'", "'great'", "' great'", "' fantastic'"]  # sorted by diff
    with pytest.raises(ValueError, match=r"diff must have shape \(5,\)"):
        ch02.indicative_words(tokens, diff[:3], subtitle=SUBTITLE, source="toy source")


def test_score_histogram():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 20)
    margin = rng.normal(labels * 1.5, 1.0)
    fig = ch02.score_histogram(margin, labels, ("negative", "positive"), ("great", "terrible"),
                               subtitle=SUBTITLE, source="toy source")
    assert_drawn(fig, 1)
    assert sorted(t.get_text() for t in fig.axes[0].get_legend().get_texts()) == [
        "true class: negative", "true class: positive", "zero-shot threshold"]
    with pytest.raises(ValueError, match="same length"):
        ch02.score_histogram(margin[:5], labels, ("negative", "positive"), ("great", "terrible"),
                             subtitle=SUBTITLE, source="toy source")


def test_natural_task_curves():
    B = np.geomspace(1, 1e7, 8)
    curve = pd.DataFrame({"B": B, "pair, |t| <= B": np.log(2) - 0.02 * np.log10(B),
                          "tokens, whole sample": np.log(2) - 0.03 * np.log10(B),
                          "tokens, held out": np.log(2) - 0.01 * np.log10(B)})
    fig = ch02.natural_task_curves(curve, ("great", "terrible"), 19, subtitle=SUBTITLE, source="toy source")
    assert_drawn(fig, 1)
    assert len(fig.axes[0].get_lines()) == 4  # three curves and the coin flip
    with pytest.raises(ValueError, match="curve needs the columns"):
        ch02.natural_task_curves(curve.drop(columns="tokens, held out"), ("great", "terrible"), 19,
                                 subtitle=SUBTITLE, source="toy source")


def corpus_table(names=("the truth p*", "a model")) -> pd.DataFrame:
    rows = [{"n": n, "model": name, "estimate": 3.0 + k / 10 + 1 / math.sqrt(n), "se": 1 / math.sqrt(n)}
            for n in (100, 1_000, 10_000) for k, name in enumerate(names)]
    return pd.DataFrame(rows)


def test_world_overview(world):
    fig = ch03.world_overview(world, {"lowest entropy": 0, "highest entropy": 5}, "a small world")
    assert_drawn(fig, 3)
    assert fig.get_suptitle() == "a small world"
    with pytest.raises(ValueError, match="picks must name 1 to 3 contexts, got 4"):
        ch03.world_overview(world, {str(k): k for k in range(4)})


def test_corpus_estimates():
    fig = ch03.corpus_estimates(corpus_table(), {"the truth p*": 3.0, "a model": 3.1}, "estimates")
    assert_drawn(fig, 1)
    assert len(fig.axes[0].containers) == 2  # one error bar series per model
    with pytest.raises(ValueError, match="one or two models, got 3"):
        ch03.corpus_estimates(corpus_table(), {"a": 1.0, "b": 2.0, "c": 3.0})
    with pytest.raises(ValueError, match="no rows for model 'missing'"):
        ch03.corpus_estimates(corpus_table(), {"missing": 3.0})


def test_eps_model_scatter(world):
    models = [synthetic.eps_optimal_model(world, eps, kind="random", seed=0) for eps in (1e-3, 1e-1)]
    fig = ch03.eps_model_scatter(world, models, torch.arange(10), "two models")
    assert_drawn(fig, 4)  # a 2 x 2 grid, two panels left empty
    assert "eps = 0.001" in fig.axes[0].get_title()
    with pytest.raises(ValueError, match="one to four models"):
        ch03.eps_model_scatter(world, models * 3, torch.arange(10))


def test_pinsker_panels():
    rng = np.random.default_rng(0)
    bound = rng.uniform(1e-3, 3.0, size=30)
    pairs = pd.DataFrame({"source": ["independent"] * 10 + ["close"] * 10 + ["world"] * 10,
                          "bound": bound, "l1": np.minimum(bound, 2.0) * 0.9})
    eps = np.logspace(-4, 0, 5)
    averages = pd.DataFrame({"eps": eps, "E l1": np.sqrt(eps), "E sqrt(2 KL)": 1.3 * np.sqrt(eps),
                             "sqrt(2 eps)": np.sqrt(2 * eps)})
    fig = ch03.pinsker_panels(pairs, averages, slope=0.5)
    assert_drawn(fig, 2)
    assert "on 30 pairs" in fig.axes[0].get_title()
    too_many = pairs.assign(source=[f"kind {k % 4}" for k in range(30)])
    with pytest.raises(ValueError, match="4 sources, at most 3"):
        ch03.pinsker_panels(too_many, averages, slope=0.5)


def test_vacuous_range(world):
    task = synthetic.make_task(world, B=8.0, gamma=0.5)
    model_eps = np.geomspace(1e-5, 1.5, 8)
    model_loss = task.tau + 0.3 * model_eps / model_eps[-1]
    fig = ch10.vacuous_range(task, model_eps, model_loss, eps_vac=1e-4, eps_coin=1.2, title="a small task")
    assert_drawn(fig, 1)
    assert fig.axes[0].get_xlim() == pytest.approx((1e-7, 3.0))
    with pytest.raises(ValueError, match="same length"):
        ch10.vacuous_range(task, model_eps, model_loss[:-1], 1e-4, 1.2)
    with pytest.raises(ValueError, match="positive"):
        ch10.vacuous_range(task, -model_eps, model_loss, 1e-4, 1.2)


def path(eps, sign=1.0):
    return pd.DataFrame({"eps": eps, "gap": sign * np.sqrt(eps)})


def test_gap_against_eps():
    eps = np.geomspace(1e-6, 1e-1, 5)
    paths = {"adversarial": path(eps), "orthogonal": path(eps), "random 0": path(eps, -0.1),
             "random 1": path(eps, 0.1)}
    slopes = dict.fromkeys(paths, 0.5)
    margin = pd.DataFrame({"eps": eps, "loss_fixed": 0.4 + eps, "loss_refit": 0.38 + eps})
    fig = ch04.gap_against_eps(paths, slopes, margin, eps, 10 * np.sqrt(eps), 0.5, 0.4, 0.37, "a world")
    assert_drawn(fig, 2)
    assert fig.axes[0].get_xscale() == "log" and fig.axes[0].get_yscale() == "log"


def test_random_crossover():
    by_n = pd.DataFrame({"n_contexts": [100, 200, 400], "a1_rms": [0.1, 0.07, 0.05], "a2": [1.0, 0.9, 0.8],
                         "crossover": [1e-2, 6e-3, 4e-3]}).set_index("n_contexts")
    eps = np.geomspace(1e-6, 1e-1, 4)
    measured = {100: [path(eps), path(eps, -1)], 400: [path(eps)]}
    assert_drawn(ch04.random_crossover(by_n, measured, -0.7, "worlds"), 2)


def test_coverage_effect():
    gamma = np.array([0.1, 0.3, 1.0])
    cov = pd.DataFrame({"gamma": np.tile(gamma, 2), "kind": ["adversarial"] * 3 + ["random"] * 3,
                        "bound - tau": np.tile(1 / np.sqrt(gamma), 2), "gap": [0.3, 0.2, 0.1, -1e-3, 1e-3, 2e-3],
                        "effective": np.tile(gamma + 0.1, 2).clip(0, 1), "refined": np.tile(gamma + 0.2, 2).clip(0, 1)})
    assert_drawn(ch04.coverage_effect(cov, "coverage"), 2)


def test_first_order(world):
    p_opt = world.predict(world.f_opt)
    fig = ch05.first_order(world.p_star[:5], p_opt[:5], world.p_star[:5] @ world.Phi.T, p_opt[:5] @ world.Phi.T,
                           "a world")
    assert_drawn(fig, 2)


def test_step4_one_context():
    t = np.linspace(-0.1, 0.3, 50)
    change = -0.2 * t + t**2
    fig = ch05.step4_one_context(t, change, -0.2, 2.0, step=(0.05, -0.008), minimum=(0.1, -0.01), eps=1e-2)
    assert_drawn(fig, 1)


def test_theorem_sweeps():
    eps = np.geomspace(1e-5, 1e-1, 4)
    rows = [{"kind": kind, "eps": e, "loss_refit": 0.42 + e, "loss_fixed": 0.43 + e,
             "bound_thm2": 0.43 + 10 * np.sqrt(e), "tau": 0.43} for kind in ("margin", "random") for e in eps]
    sweep = pd.DataFrame(rows)
    assert_drawn(ch05.theorem_sweeps({"realizable": sweep, "non-realizable": sweep}, "N = 60", "theorem"), 2)
    assert_drawn(ch05.theorem_sweeps({"realizable": sweep}, "N = 60", "theorem"), 1)


def test_feature_bars():
    tau_row, columns = "tau", ["in-sample", "held-out"]
    rows = [{"task": task, "features": name, "in-sample": 0.4 + 0.01 * j, "held-out": 0.45 + 0.01 * j,
             "held-out spread": 0.01 if name != tau_row else np.nan}
            for task in ("Phi-natural", "generic") for j, name in enumerate(["p*", "Phi p*", "f", "R p*", tau_row])]
    dims = pd.DataFrame(rows).set_index(["task", "features"])
    fig = ch05.feature_bars(dims, columns, tau_row, 0.325, "features")
    assert_drawn(fig, 2)
    assert len(fig.axes[0].patches) == 8  # 4 feature maps x 2 tasks


class Tokenizer:
    """Decodes token id ``i`` as the word ``" w<i>"``, like a tokenizer whose words carry a leading space."""

    def decode(self, ids):
        return "".join(f" w{i}" for i in ids)


@pytest.fixture(scope="module")
def p():
    return torch.softmax(torch.randn(2, 50, generator=torch.Generator().manual_seed(0), dtype=torch.float64), -1)


def test_top_tokens(p):
    fig = ch01.top_tokens(p, Tokenizer(), ["a context", "another"], model="a model", k=10)
    assert_drawn(fig, 2)
    assert fig.axes[0].get_title() == "after 'a context'"
    assert "V = 50" in fig.get_suptitle()
    ticks = dict(zip(fig.axes[1].get_yticks(), (t.get_text() for t in fig.axes[1].get_yticklabels())))
    assert ticks[9] == repr(f" w{int(p[1].argmax())}")  # the most likely token sits at the top
    assert len(fig.axes[1].patches) == 10


def test_top_tokens_of_one_context(p):
    assert_drawn(ch01.top_tokens(p[:1], Tokenizer(), ["a context"], model="a model", k=3), 1)


def test_top_tokens_refuses_what_it_cannot_draw(p):
    with pytest.raises(ValueError, match="one or two distributions"):
        ch01.top_tokens(torch.cat([p, p[:1]]), Tokenizer(), ["a", "b", "c"], model="m")
    with pytest.raises(ValueError, match="got 2 rows and 1 contexts"):
        ch01.top_tokens(p, Tokenizer(), ["a"], model="m")
    with pytest.raises(ValueError, match="k must be an integer from 1 to V = 50, got 51"):
        ch01.top_tokens(p, Tokenizer(), ["a", "b"], model="m", k=51)
    with pytest.raises(TypeError, match="p must be a torch.Tensor"):
        ch01.top_tokens(p.numpy(), Tokenizer(), ["a", "b"], model="m")


def gauss_table(vocabs=(200, 2_000, 20_000), radii=(0.25, 1.0, 4.0)) -> pd.DataFrame:
    return pd.DataFrame([{"V": V, "radius r": r, "held-out R2": 1 - r / (10 + V / 1000)}
                         for V in vocabs for r in radii])


def test_r2_by_radius():
    fig = ch06.r2_by_radius(gauss_table(), title="Gaussian embeddings")
    assert_drawn(fig, 1)
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.get_lines()] == ["V = 200", "V = 2,000", "V = 20,000"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.25", "1.0", "4.0"]


def test_r2_by_radius_refuses_what_it_cannot_draw():
    with pytest.raises(ValueError, match=r"no column\(s\) \['held-out R2'\]"):
        ch06.r2_by_radius(gauss_table().drop(columns="held-out R2"), title="")
    with pytest.raises(ValueError, match="at most 3 vocabulary sizes, got 4"):
        ch06.r2_by_radius(gauss_table(vocabs=(1, 2, 3, 4)), title="")


@pytest.fixture(scope="module")
def fits():
    """A small curved map: ``Phi p_f`` nearly affine in ``f``, ``log Z`` nearly quadratic."""
    rng = np.random.default_rng(0)
    f = rng.normal(size=(200, 6))
    mean = f @ rng.normal(size=(6, 6)) + 0.1 * np.tanh(f) + 0.01 * rng.normal(size=(200, 6))
    log_z = (f**2).sum(1) / 2 + f[:, 0] + 0.01 * rng.normal(size=200)
    train, test = slice(0, 140), slice(140, None)
    affine = fit_affine(f[train], mean[train], f[test], mean[test])
    log_z_fit = fit_log_partition(f[train], log_z[train], f[test], log_z[test], k=3)
    return affine, log_z_fit, f[test], mean[test], log_z[test]


def test_real_model_fit(fits):
    fig = ch06.real_model_fit(*fits, coordinate=2, title="held-out contexts")
    assert_drawn(fig, 3)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[1].startswith("most variable coordinate") and titles[2].startswith("log Z, top 3 components")
    assert fig.get_suptitle() == "held-out contexts"


def test_real_model_fit_refuses_what_it_cannot_draw(fits):
    affine, log_z_fit, f, mean, log_z = fits
    with pytest.raises(ValueError, match="coordinate must be an integer from 0 to d - 1 = 5, got 6"):
        ch06.real_model_fit(*fits, coordinate=6, title="")
    with pytest.raises(ValueError, match=r"got \(60, 6\), \(60, 5\) and \(60,\)"):
        ch06.real_model_fit(affine, log_z_fit, f, mean[:, :5], log_z, coordinate=0, title="")


def probe_table():
    rows = ["rt2", "rt2*", "bbc", "bbc*"]
    return pd.DataFrame({"f(s)": [81.5, 82.0, 92.5, 91.5], "Phi p_f(s)": [65.5, 68.0, 86.5, 71.0],
                         "positive negative": [72.0, 78.0, np.nan, np.nan], "bag of words": [63.5, 63.5, 87.0, 87.0],
                         "chance": [50.0, 50.0, 20.0, 20.0], "n_train": 400, "n_test": [200, 200, 200, 180]},
                        index=pd.Index(rows, name="task"))


def test_probe_bars():
    fig = ch07.probe_bars(probe_table(), model="tiny-gpt2", mode="quick")
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 1
    size, text = smallest_font_px(fig)
    assert size >= MIN_FONT_PX, f"{text!r} renders at {size:.1f} px"
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["rt2", "rt2*", "bbc", "bbc*"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "chance", "f(s)", "Phi p_f(s)", "positive negative", "bag of words"]
    assert len(ax.patches) == 4 * 4  # one bar per row and probe column
    assert "400 train / 180 or 200 test texts, quick sizes" in ax.get_title()


def test_probe_bars_needs_the_bookkeeping_columns():
    with pytest.raises(ValueError, match=r"no column\(s\) \['chance'\]"):
        ch07.probe_bars(probe_table().drop(columns="chance"), model="tiny-gpt2", mode="quick")
