"""Self-checks of chapter 1 (softmax language models, conditional mean features)."""

from __future__ import annotations

import numpy as np
import torch

from lmtheory.exercises import check, check_function, register


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _tiny_model(n: int = 4, d: int = 6, vocab: int = 30, seed: int = 0):
    """Features ``f`` (n, d, float64) and embeddings ``Phi`` (d, V, float32) of a tiny random softmax
    model, with logits of a few tens as a real model's (so ``exp`` of 100 times them overflows)."""
    f = 4.0 * torch.randn(n, d, generator=_generator(seed), dtype=torch.float64)
    Phi = torch.randn(d, vocab, generator=_generator(seed + 1), dtype=torch.float32)
    return f, Phi


def _softmax(f, Phi):
    return torch.softmax(f @ Phi, dim=-1)


def _grade_softmax(label, yours, *, f, Phi):
    f, Phi = torch.as_tensor(f).double(), torch.as_tensor(Phi).double()
    check_function(label, yours, _softmax, [(f, Phi), (100 * f, Phi)], atol=1e-9)


def _no_shift(f, Phi):
    weights = torch.exp(f @ Phi)
    return weights / weights.sum(dim=-1, keepdim=True)


def _over_contexts(f, Phi):
    return torch.softmax(f @ Phi, dim=0)


def _not_normalised(f, Phi):
    logits = f @ Phi
    return torch.exp(logits - logits.max(dim=-1, keepdim=True).values)


def _softmax_example():
    f, Phi = _tiny_model(seed=1)
    return {"f": f, "Phi": Phi}


@register("ch1-ex-softmax", grader=_grade_softmax, example=_softmax_example,
          wrong={"exp without subtracting the largest logit (overflow)": lambda f, Phi: _no_shift,
                 "softmax over the contexts (dim 0), not the words": lambda f, Phi: _over_contexts,
                 "shifted exp, not divided by the sum": lambda f, Phi: _not_normalised})
def solve_softmax(f, Phi):
    """The function ``(f (n, d), Phi (d, V)) -> p_f = softmax(f Phi)`` row by row, shape (n, V)."""
    return _softmax


def _grade_mean(label, yours, *, feats):
    check(f"{label}: Phi p_f(s) of context 1", yours, solve_mean(feats), rtol=1e-4, atol=1e-5)


def _mean_example():
    """A tiny stand-in for ``lm.features(PROMPTS)``: float32 features of 4 contexts, as the chapter's."""
    from lmtheory.features import Features

    f, Phi = _tiny_model(seed=2)
    logits = f @ Phi.double()
    mean = (torch.softmax(logits, -1) @ Phi.double().T).float().numpy()
    feats = Features(f.float().numpy(), mean, torch.logsumexp(logits, -1).float().numpy(), None, None, (),
                     "tiny random model", "", Phi.shape[1])
    return {"feats": feats}


@register("ch1-ex-mean", grader=_grade_mean, example=_mean_example,
          wrong={"the features f(s), not Phi p_f(s)": lambda feats: feats.f[1],
                 "row 0 (the first context), not row 1": lambda feats: feats.mean[0],
                 "kept the batch axis, shape (1, d)": lambda feats: feats.mean[1:2],
                 "the sum over contexts": lambda feats: feats.mean.sum(0)})
def solve_mean(feats):
    """``Phi p_f(s)`` of context 1 (the second prompt) as ``lm.features`` returned it, shape (d,)."""
    return np.asarray(feats.mean[1], dtype=np.float64)
