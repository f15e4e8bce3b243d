"""lmtheory.train: the Quad and cross-entropy objectives, and training tiny GPT-2 models on a tiny corpus."""

import warnings

import numpy as np
import pytest
import torch

from lmtheory import core
from lmtheory.corpus import Corpus
from lmtheory.data import SENTIMENT_WORDS, TOPIC_WORDS, Task
from lmtheory.features import word_tokens
from lmtheory.train import (INIT_RMS, Settings, _train, book_settings, ce_loss, encode_corpus, fixed_phi, pretrain,
                            probe_run, quad_loss, quad_score, quad_yardsticks, train_tokenizer)

WORDS = ("the movie was great and the plot was boring but the actors were happy . the market and the company "
         "reported strong business news about technology and sports . a sad story with a charming end .").split()


def tiny_corpus(n_train=300, n_held=20, seed=0):
    rng = np.random.default_rng(seed)
    docs = [" ".join(rng.choice(WORDS, size=rng.integers(8, 30))) for _ in range(n_train + n_held)]
    return Corpus(train=docs[:n_train], held_out=docs[n_train:], words={"random words": 0}, dropped=0, origin="test")


TINY = dict(steps=30, batch_size=4, block_size=16, n_layer=1, n_head=2, n_embd=16, vocab_size=800,
            n_checkpoints=3, eval_tokens=256, lr=1e-2, warmup=3)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        folder = tmp_path_factory.mktemp("cache")
        patch.setenv("LMTHEORY_CACHE", str(folder))
        yield folder


@pytest.fixture(scope="module")
def corpus():
    return tiny_corpus()


@pytest.fixture(scope="module")
def runs(cache, corpus):
    return {objective: pretrain(Settings(objective=objective, **TINY), corpus, progress=False, verbose=False)
            for objective in ("ce", "quad")}


def test_quad_loss_on_a_hand_computed_case():
    Phi = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])  # d = 2, V = 3
    f = torch.tensor([[1.0, 2.0], [0.0, 1.0]])
    targets = torch.tensor([2, 0])
    # position 1: -f.phi_2 + 1/2 ||Phi^T f||^2 = -3 + 1/2 (1 + 4 + 9) = 4; position 2: -0 + 1/2 (0 + 1 + 1) = 1
    assert float(quad_loss(f, Phi, targets)) == pytest.approx(2.5)


def test_both_losses_agree_with_the_per_context_formulas_of_core():
    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        d, V, n = 5, 11, 7
        Phi = torch.randn(d, V, generator=g, dtype=torch.float64)
        f = torch.randn(n, d, generator=g, dtype=torch.float64)
        targets = torch.randint(0, V, (n,), generator=g)
        one_hot = torch.nn.functional.one_hot(targets, V).double()
        assert float(quad_loss(f, Phi, targets)) == pytest.approx(float(core.quad_context_loss(f, Phi, one_hot).mean()))
        assert float(ce_loss(f, Phi, targets)) == pytest.approx(float(core.softmax_context_loss(f, Phi, one_hot).mean()))


def test_quad_gradient_vanishes_at_the_closed_form_minimiser():
    g = torch.Generator().manual_seed(1)
    for _ in range(10):
        d, V = 4, 9
        Phi = torch.randn(d, V, generator=g, dtype=torch.float64)
        counts = torch.randint(1, 6, (V,), generator=g)
        p_star = counts.double() / counts.sum()
        targets = torch.repeat_interleave(torch.arange(V), counts)  # the words in the proportions of p*
        best = core.quad_minimiser(Phi, p_star)
        for theta0, vanishes in ((best, True), (best + 0.1 * torch.randn(d, generator=g, dtype=torch.float64), False)):
            theta = theta0.clone().requires_grad_(True)
            quad_loss(theta.expand(len(targets), d), Phi, targets).backward()
            assert (float(theta.grad.norm()) < 1e-10) == vanishes


def test_losses_refuse_mismatched_shapes():
    Phi = torch.randn(3, 5)
    with pytest.raises(ValueError, match="Phi"):
        quad_loss(torch.randn(2, 4), Phi, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="targets"):
        ce_loss(torch.randn(2, 3), Phi, torch.tensor([0, 1, 2]))
    with pytest.raises(TypeError, match="integer"):
        quad_loss(torch.randn(2, 3), Phi, torch.tensor([0.0, 1.0]))


def test_quad_is_a_squared_error_between_logits_and_the_next_token():
    g = torch.Generator().manual_seed(1)
    for _ in range(20):
        d, V, n = 4, 9, 6
        Phi, f = torch.randn(d, V, generator=g, dtype=torch.float64), torch.randn(n, d, generator=g, dtype=torch.float64)
        targets = torch.randint(0, V, (n,), generator=g)
        q = f @ Phi
        squared_error = 0.5 * ((q - torch.nn.functional.one_hot(targets, V)) ** 2).sum(-1).mean() - 0.5
        assert float(quad_score(q, targets)) == pytest.approx(float(squared_error), abs=1e-12)
        assert float(quad_loss(f, Phi, targets)) == pytest.approx(float(squared_error), abs=1e-12)
        p = torch.softmax(q, -1)  # a distribution scores between -1/2 and 1/2
        assert -0.5 <= float(quad_score(p, targets)) <= 0.5


def test_quad_score_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match=r"\(n, V\) and \(n,\)"):
        quad_score(torch.randn(3, 5), torch.tensor([0, 1]))
    with pytest.raises(TypeError, match="integer"):
        quad_score(torch.randn(2, 5), torch.tensor([0.0, 1.0]))


def test_quad_yardsticks_on_one_scale(runs, corpus):
    sticks = quad_yardsticks(runs["ce"], runs["quad"], corpus)
    # the Quad model's entry is its own held-out Quad loss, on the same windows as the checkpoint's
    assert sticks["quad model"] == pytest.approx(runs["quad"].checkpoints[-1].held_out_quad, rel=1e-4, abs=1e-6)
    train_ids, held_ids = encode_corpus(corpus, runs["ce"].tokenizer)
    unigram = torch.bincount(train_ids, minlength=len(runs["ce"].tokenizer)).double()
    unigram /= unigram.sum()
    T = TINY["block_size"]
    n = min(TINY["eval_tokens"], len(held_ids) - 1) // T
    targets = torch.cat([held_ids[i * T + 1: i * T + T + 1] for i in range(n)])
    assert sticks["positions"] == len(targets)
    by_hand = float(0.5 * (unigram ** 2).sum() - unigram[targets].mean())
    assert sticks["unigram"] == pytest.approx(by_hand, rel=1e-5)
    assert -0.5 <= sticks["ce model's probabilities"] <= 0.5
    first = quad_yardsticks(runs["ce"], runs["quad"], corpus, index=0)
    assert first["quad model"] == pytest.approx(runs["quad"].checkpoints[0].held_out_quad, rel=1e-4, abs=1e-6)
    assert first["unigram"] == sticks["unigram"]


def test_quad_yardsticks_refuse_runs_that_do_not_match(runs, corpus):
    with pytest.raises(ValueError, match="objective 'ce'"):
        quad_yardsticks(runs["quad"], runs["quad"], corpus)
    with pytest.raises(ValueError, match="objective 'quad'"):
        quad_yardsticks(runs["ce"], "a run", corpus)
    other = pretrain(Settings(objective="quad", **{**TINY, "block_size": 8, "steps": 4}), corpus, progress=False,
                     verbose=False)
    with pytest.raises(ValueError, match="differ in block_size"):
        quad_yardsticks(runs["ce"], other, corpus)


@pytest.mark.parametrize("objective", ["ce", "quad"])
def test_training_lowers_the_held_out_loss(runs, objective):
    run = runs[objective]
    first, last = run.checkpoints[0], run.checkpoints[-1]
    assert [c.step for c in run.checkpoints] == Settings(**TINY).checkpoint_steps()
    assert getattr(last, f"held_out_{objective}") < getattr(first, f"held_out_{objective}") - 0.1
    assert last.train_loss < first.train_loss
    assert run.tokens_per_second > 0 and len(run.states) == len(run.checkpoints)


def test_a_second_call_loads_the_cached_run_with_the_same_outputs(runs, corpus):
    again = pretrain(Settings(objective="ce", **TINY), corpus, progress=False, verbose=False)
    assert again.from_cache and again.checkpoints == runs["ce"].checkpoints
    ids = torch.tensor([[1, 2, 3, 4, 5]])
    for i in range(len(again.checkpoints)):
        with torch.no_grad():
            assert torch.equal(again.model(i)(ids).logits, runs["ce"].model(i)(ids).logits)


def test_training_is_deterministic_under_a_seed(cache, corpus, runs):
    fresh = pretrain(Settings(objective="quad", **TINY), corpus, cache=False, progress=False, verbose=False)
    assert fresh.checkpoints == runs["quad"].checkpoints
    for a, b in zip(fresh.states, runs["quad"].states):
        assert all(torch.equal(a[k], b[k]) for k in a)
    other = pretrain(Settings(objective="quad", **{**TINY, "seed": 1}), corpus, cache=False, progress=False,
                     verbose=False)
    assert other.checkpoints[-1].held_out_quad != fresh.checkpoints[-1].held_out_quad


def test_a_damaged_cache_entry_is_retrained(cache, corpus, runs):
    settings = Settings(objective="ce", **{**TINY, "steps": 12})
    first = pretrain(settings, corpus, progress=False, verbose=False)
    states = max(cache.glob("runs/*/states.pt"), key=lambda path: path.stat().st_mtime)
    states.write_bytes(b"not a checkpoint")
    with pytest.warns(UserWarning, match="training it again"):
        second = pretrain(settings, corpus, progress=False, verbose=False)
    assert not second.from_cache and second.checkpoints == first.checkpoints


def test_checkpoints_work_as_language_models_for_feature_extraction(runs):
    lm = runs["ce"].language_model(-1, device="cpu")
    feats = lm.features(["the movie was great", "the market news"], prompt=" This movie is", cache=False,
                        progress=False)
    assert feats.f.shape == (2, TINY["n_embd"]) and np.isfinite(feats.mean).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every indicative word is a single token of the trained BPE
        ids, tokens = word_tokens(lm, SENTIMENT_WORDS + TOPIC_WORDS)
    assert all(t.startswith(" ") for t in tokens[:3])
    with pytest.raises(IndexError, match="3 checkpoints"):
        runs["ce"].language_model(3)


def test_fixed_phi_keeps_the_cross_entropy_runs_output_embeddings(runs, corpus):
    fixed = pretrain(Settings(objective="quad", fixed_phi=True, **TINY), corpus, progress=False, verbose=False)
    source = runs["ce"]  # the cross-entropy run with the same other settings (TINY, seed 0), from the cache
    assert Settings(objective="quad", fixed_phi=True, **TINY).phi_source() == source.settings
    given = fixed_phi(source)
    for i in range(len(fixed.checkpoints)):
        assert torch.equal(fixed.Phi(i), given)  # Phi never moved from the given embeddings
    assert fixed.Phi().shape == (TINY["n_embd"], len(source.tokenizer))
    scale = float(given.norm() / source.Phi().norm())  # ... which are the source's, times one number
    assert torch.allclose(given, scale * source.Phi(), rtol=1e-5, atol=1e-7)
    assert float(given.pow(2).mean().sqrt()) == pytest.approx(INIT_RMS, rel=1e-5)
    with pytest.raises(ValueError, match="'quad'"):
        fixed_phi(runs["quad"])
    wte = [state["transformer.wte.weight"] for state in fixed.states]
    assert not torch.equal(wte[0], wte[-1]) and not torch.equal(wte[-1], fixed.Phi().T)  # untied, learned inputs
    first, last = fixed.checkpoints[0], fixed.checkpoints[-1]
    assert last.held_out_quad < first.held_out_quad  # the rest of the network learns against the fixed Phi
    lm = fixed.language_model(-1, device="cpu")
    assert torch.equal(lm.model.get_output_embeddings().weight.detach().cpu(), given.T)
    assert "fixed Phi" in fixed.name and "seed 0" in fixed.name and fixed.settings.kind == "quad, fixed Phi"
    # a learned-Phi Quad run moves its Phi: the fixed one is a real constraint
    assert not torch.equal(runs["quad"].Phi(0), runs["quad"].Phi(-1))


def test_training_against_a_given_phi_refuses_a_mismatch(corpus, cache):
    tokenizer = train_tokenizer(corpus, TINY["vocab_size"])
    ids, held = encode_corpus(corpus, tokenizer)
    settings = Settings(objective="quad", fixed_phi=True, **TINY)
    with pytest.raises(ValueError, match=r"phi has shape \(3, 5\)"):
        _train(settings, tokenizer, ids, held, torch.device("cpu"), False, phi=torch.zeros(3, 5))
    with pytest.raises(ValueError, match="fixed_phi = True"):
        _train(settings, tokenizer, ids, held, torch.device("cpu"), False)


def test_seeds_give_different_runs_with_different_names(cache, corpus, runs):
    other = pretrain(Settings(objective="ce", **{**TINY, "seed": 7}), corpus, progress=False, verbose=False)
    assert not other.from_cache and "seed 7" in other.name and other.name != runs["ce"].name
    assert not torch.equal(other.Phi(-1), runs["ce"].Phi(-1))
    assert other.checkpoints[-1].held_out_ce != runs["ce"].checkpoints[-1].held_out_ce


def tiny_tasks():
    """Two tiny 'topic' splits that the tiny corpus's words can separate: films against markets."""
    rng = np.random.default_rng(0)
    films, markets = "movie plot actors great boring charming".split(), "market company business news stock".split()

    def split(name, n):
        labels = np.arange(n) % 2
        texts = [" ".join(rng.choice(markets if y else films, size=6)) for y in labels]
        return Task(name="toy", split=name, texts=texts, labels=labels, label_names=("films", "markets"),
                    source="test", prompt=" about", words=(), class_words=(), n_available=n)

    return {"toy": (split("train", 40), split("test", 20))}


def test_probe_run_gives_one_row_per_checkpoint_task_and_features(runs):
    table = probe_run(runs["ce"], tiny_tasks(), checkpoints=[0, -1])
    assert len(table) == 4 and list(table.features) == ["f(s)", "Phi p_f(s)"] * 2
    assert list(table.checkpoint) == [0, 0, 2, 2] and list(table.step) == [runs["ce"].checkpoints[i].step
                                                                         for i in (0, 0, 2, 2)]
    assert (table.seed == 0).all() and (table.model == "ce").all() and (table.chance == 0.5).all()
    assert np.allclose(table["error (%)"], 100 * (1 - table.accuracy)) and (table["logistic loss"] > 0).all()
    assert table.accuracy.max() >= 0.9  # the two word lists are easy to tell apart
    assert (table.solver == "liblinear").all()  # the protocol's, for two classes
    with pytest.raises(ValueError, match="unknown features 'logits'"):
        probe_run(runs["ce"], tiny_tasks(), features=("logits",))
    with pytest.raises(ValueError, match="pair"):
        probe_run(runs["ce"], {"toy": tiny_tasks()["toy"][0]})
    with pytest.raises(IndexError, match="3 checkpoints"):
        probe_run(runs["ce"], tiny_tasks(), checkpoints=[5])


@pytest.mark.parametrize("changes, error, message", [
    ({"steps": 0}, ValueError, "steps"),
    ({"objective": "mse"}, ValueError, "objective"),
    ({"n_checkpoints": 40}, ValueError, "n_checkpoints"),
    ({"n_embd": 15}, ValueError, "divisible"),
    ({"vocab_size": 100}, ValueError, "vocab_size"),
    ({"lr": -1.0}, ValueError, "lr"),
    ({"batch_size": 2.5}, ValueError, "batch_size"),
    ({"fixed_phi": "yes"}, ValueError, "fixed_phi must be True or False, got 'yes'"),
])
def test_bad_settings_are_refused(changes, error, message):
    with pytest.raises(error, match=message):
        Settings(**{**TINY, **changes})


def test_a_corpus_too_short_for_one_window_is_refused(cache):
    short = Corpus(train=["a b c"], held_out=["d e f g h i j k l m n o p q r s t u v"], words={}, dropped=0,
                   origin="test")
    with pytest.raises(ValueError, match="too short for one window"):
        pretrain(Settings(**TINY), short, progress=False, verbose=False)


@pytest.mark.parametrize("steps, n", [(600, 8), (2_000, 10), (30, 3), (100, 2), (7, 7), (10, 1)])
def test_checkpoints_one_early_then_geometric_from_a_tenth(steps, n):
    chosen = Settings(steps=steps, n_checkpoints=n).checkpoint_steps()
    assert len(chosen) == n and chosen[-1] == steps and all(a < b for a, b in zip(chosen, chosen[1:]))
    if n > 2 and steps >= 10 * n:  # room for the spacing: one early checkpoint, the others from steps / 10
        assert chosen[0] < steps / 10 <= chosen[1] + 0.5
        ratios = np.diff(np.log(chosen[1:]))
        assert np.allclose(ratios, ratios.mean(), atol=0.02)


def test_book_settings_follow_the_sizes(monkeypatch):
    monkeypatch.setenv("LMTHEORY_QUICK", "1")
    quick = book_settings("quad")
    monkeypatch.setenv("LMTHEORY_QUICK", "0")
    full = book_settings("quad", seed=3)
    assert quick.objective == full.objective == "quad" and full.seed == 3
    assert quick.steps < full.steps and quick.n_checkpoints >= 6
    assert quick.n_embd <= full.n_embd and quick.eval_tokens <= full.eval_tokens
    assert book_settings("quad", fixed_phi=True).phi_source() == book_settings("ce")
    with pytest.raises(TypeError, match="Settings"):
        pretrain({"objective": "ce"})


CHILD = """
import sys
sys.path.insert(0, sys.argv[1])
from test_train import RESUMABLE, tiny_corpus
from lmtheory.train import pretrain
pretrain(RESUMABLE, tiny_corpus(), progress=False, verbose=False)
"""
RESUMABLE = Settings(objective="ce", **dict(TINY, steps=600, n_checkpoints=4))


def test_an_interrupted_run_resumes_where_it_stopped_and_ends_as_if_never_stopped(tmp_path, monkeypatch, capsys):
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    monkeypatch.setenv("LMTHEORY_CACHE", str(tmp_path))
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(Path(__file__).parent)],
                             env=dict(os.environ, LMTHEORY_CACHE=str(tmp_path)), stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob("runs/*.resume.pt")) and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    child.send_signal(signal.SIGINT)  # Ctrl-C, half way
    _, stderr = child.communicate(timeout=60)
    assert "KeyboardInterrupt" in stderr, f"the run was not interrupted half way:\n{stderr[-2000:]}"
    [resume] = tmp_path.glob("runs/*.resume.pt")
    assert not resume.with_name(resume.name.removesuffix(".resume.pt")).exists()  # no finished run was stored

    resumed = pretrain(RESUMABLE, tiny_corpus(), progress=False, verbose=False)
    said = capsys.readouterr().out
    step = int(said.split(" at step ")[1].split(" ")[0].replace(",", ""))
    assert 0 < step < RESUMABLE.steps, said
    assert not resume.exists()  # the finished run is stored; its resume point is gone
    never_stopped = pretrain(RESUMABLE, tiny_corpus(), cache=False, progress=False, verbose=False)
    assert [c.step for c in resumed.checkpoints] == [c.step for c in never_stopped.checkpoints]
    assert [c.held_out_ce for c in resumed.checkpoints] == [c.held_out_ce for c in never_stopped.checkpoints]
    for ours, theirs in zip(resumed.states, never_stopped.states):
        assert all(torch.equal(ours[k], theirs[k]) for k in theirs)
