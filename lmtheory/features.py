"""Features of texts under a softmax language model, as the paper's protocol computes them.

For each text ``s`` (with the prompt appended, exactly) and the model's state at its **last real
token** (section 6 of ``NOTES.md``):

* ``f(s)`` in R^d: the final hidden state, after the final norm;
* ``Phi p_f(s)`` in R^d: the conditional mean features, ``sum_w p_f(s)_w phi_w`` over the whole
  vocabulary, computed in float32 from the logits;
* for a word subset, each word through its single-token variants ``" w"`` and ``"w"``: the subset
  **logits** ``f(s)^T phi_w (+ b_w)`` (what the paper's code uses) and **probabilities** ``p_f(s)_w``
  (over the full vocabulary, not renormalised); ``logits = log p + log Z(f(s))``, and ``log Z`` is
  returned too.

A yardstick for ``Phi p_f(s)``: :func:`random_projection` draws a random matrix ``A`` of the shape
and Frobenius norm of ``Phi``, and ``A p_f(s)`` (``probs @ A.T``) is a ``d``-dimensional summary of
``p_f(s)`` that knows nothing of the model's embeddings (chapter 7 computes it next to ``Phi p_f(s)``
and stores it in :attr:`Features.projected`).

How. Texts are tokenised once and sorted by length, and neighbours form a batch, so padding wastes
little. Padding is on the right and no attention mask is passed: in a causal model a real token
attends only to earlier tokens, which are all real, so pads cannot change it. The output layer is
applied only at the last real positions, not at every position. Long texts are cut to their last
``max_length`` tokens (truncation from the left), so the prompt always survives. On CUDA an
out-of-memory error halves the batch and retries. Results are cached on disk under
``cache_dir()/features``, keyed by everything that determines them; a damaged cache file is
recomputed with a warning.

>>> feats = extract_features(lm, ["A gem."], prompt=" This movie is", words=["great"])  # doctest: +SKIP
>>> feats.f.shape, feats.mean.shape, feats.subset_tokens                             # doctest: +SKIP
((1, 576), (1, 576), (' great', 'great'))
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from .offline import cache_dir

__all__ = ["Features", "extract_features", "word_tokens", "random_projection", "MAX_LENGTH"]

#: The protocol's token limit per text (prompt included).
MAX_LENGTH = 512
#: Part of every cache key: raise it whenever the computation changes.
FEATURES_VERSION = 1
_ARRAYS = ("f", "mean", "log_z", "subset_logits", "subset_probs")


@dataclass(eq=False)
class Features:
    """Features of ``n`` texts under one model (numpy float32 arrays).

    Attributes
    ----------
    f : ndarray, shape (n, d)
        Final hidden state at the last real token.
    mean : ndarray, shape (n, d)
        Conditional mean features ``Phi p_f(s)``.
    log_z : ndarray, shape (n,)
        Log-partition ``log Z(f(s)) = logsumexp`` of the logits over the vocabulary.
    subset_logits, subset_probs : ndarray, shape (n, k), or None without a word list
        Logits and full-vocabulary probabilities of the k subset tokens.
    subset_tokens : tuple of str, length k
        The subset tokens as text, e.g. ``(" great", "great", " boring")``.
    model, prompt : str
        Which model and prompt produced them (for figure labels).
    vocab_size : int
        V, the size of the vocabulary that ``mean`` averages over.
    projected : ndarray, shape (n, m), or None
        ``A p_f(s)`` for a random ``m x V`` matrix ``A`` (see :func:`random_projection`), when the code
        that built these features was given one; :func:`extract_features` leaves it None.

    Example: ``feats.f.shape`` -> ``(800, 576)``; ``feats.label`` -> ``"SmolLM2-135M-Instruct-Q4_1, 800 texts, ..."``.
    """

    f: np.ndarray
    mean: np.ndarray
    log_z: np.ndarray
    subset_logits: np.ndarray | None
    subset_probs: np.ndarray | None
    subset_tokens: tuple[str, ...]
    model: str
    prompt: str
    vocab_size: int
    projected: np.ndarray | None = None

    @property
    def n(self) -> int:
        """The number of texts."""
        return self.f.shape[0]

    @property
    def dim(self) -> int:
        """d, the feature dimension."""
        return self.f.shape[1]

    @property
    def label(self) -> str:
        """A one-line description for figures and tables: model, number of texts, prompt."""
        return f"{self.model}, {self.n:,} text{'' if self.n == 1 else 's'}, prompt {self.prompt!r}"

    def __repr__(self) -> str:
        k = len(self.subset_tokens)
        return f"Features({self.label}, d = {self.dim}, V = {self.vocab_size:,}, {k} subset tokens)"


def word_tokens(lm, words) -> tuple[list[int], tuple[str, ...]]:
    """The single-token variants (``" w"``, then ``"w"``) of each word, as the protocol counts them.

    A word with no single-token variant is dropped with a warning that names it.

    Parameters
    ----------
    lm : LanguageModel
    words : list of str

    Returns
    -------
    ids : list of int, length k
        Distinct token ids, in the order of ``words``.
    tokens : tuple of str, length k
        The variant each id came from, e.g. ``" great"``.

    Raises
    ------
    ValueError
        ``words`` is empty, holds an empty word, or none of its words has a single-token variant.

    Example: ``word_tokens(lm, ["great", "boring"])`` -> ``([1875, ...], (" great", "great", ...))``.
    """
    if isinstance(words, str) or not hasattr(words, "__iter__"):
        raise TypeError(f"words must be a list of strings, got {words!r}; for one word write [{words!r}]")
    words = list(words)
    if not words:
        raise ValueError("words is empty; give at least one word, e.g. ['great', 'boring']")
    ids, tokens, dropped = [], [], []
    for i, word in enumerate(words):
        if not isinstance(word, str):
            raise TypeError(f"words[{i}] must be a string, got {type(word).__name__} {word!r}")
        if not word.strip():
            raise ValueError(f"words[{i}] is empty ({word!r}); every word needs at least one visible character")
        single = [(lm.tokenizer.encode(v, add_special_tokens=False), v) for v in (" " + word, word)]
        single = [(ids_[0], v) for ids_, v in single if len(ids_) == 1]
        if not single:
            dropped.append(word)
        for token, variant in single:
            if token not in ids:
                ids.append(token)
                tokens.append(variant)
    if not ids:
        raise ValueError(f"none of the words {words} is a single token of {lm.name!r} (as ' w' or as 'w'); "
                         f"choose short, common words")
    if dropped:
        warnings.warn(f"dropped {len(dropped)} word(s) with no single-token variant (' w' or 'w') in "
                      f"{lm.name!r}: {dropped}", stacklevel=2)
    return ids, tuple(tokens)


def random_projection(lm, dim: int | None = None, *, seed: int = 0) -> torch.Tensor:
    """A random ``dim x V`` matrix ``A``: ``A p_f(s)`` summarises the next-word distribution in ``dim`` numbers.

    ``Phi p_f(s)`` is one particular linear map of ``p_f(s)`` to ``R^d``, made of the model's own word
    embeddings; ``A p_f(s)`` is a map of the same shape chosen at random, a yardstick for how much the
    embeddings matter. The entries are independent Gaussians, scaled so that ``A`` has the same
    Frobenius norm as ``Phi`` (the output embeddings, ``d x V``): the two features are then of
    comparable size, which matters for a probe on raw features with a fixed grid of ``C``.

    Parameters
    ----------
    lm : LanguageModel
    dim : int, optional
        Rows of ``A``; default ``d``, the model's feature dimension.
    seed : int
        Seed of the draw (a CPU ``torch.Generator``): the same ``A`` on every machine and device.

    Returns
    -------
    torch.Tensor, shape (dim, V), float32, on ``lm.device``

    Example: ``A = random_projection(lm); projected = probs @ A.T`` for ``probs`` of shape (n, V).
    """
    if dim is None:
        dim = lm.dim
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1:
        raise ValueError(f"dim must be a positive integer (rows of A), got {dim!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an integer, got {type(seed).__name__} {seed!r}")
    weight = lm.model.get_output_embeddings().weight  # (V, d): row w is phi_w
    vocab = weight.shape[0]
    generator = torch.Generator().manual_seed(int(seed))
    a = torch.randn(int(dim), vocab, generator=generator, dtype=torch.float32)
    return a.mul_(weight.detach().float().norm().cpu() / a.norm()).to(lm.device)


def extract_features(lm, texts, prompt: str = "", words=None, *, max_length: int | None = None,
                     batch_size: int | None = None, cache: bool = True, progress: bool | None = None) -> Features:
    """Features of each text with ``prompt`` appended, at its last real token.

    Parameters
    ----------
    lm : LanguageModel
        From :func:`lmtheory.models.load_model` or :func:`lmtheory.models.from_model`.
    texts : list of str, length n
        Non-empty texts.
    prompt : str
        Appended to every text exactly as given (e.g. ``" This movie is"``); ``""`` for none.
    words : list of str, optional
        A word subset for ``subset_logits`` and ``subset_probs`` (see :func:`word_tokens`).
    max_length : int, optional
        Tokens kept per text (prompt included); longer texts lose their beginning. Default
        :data:`MAX_LENGTH` (512), or the model's context length if that is shorter.
    batch_size : int, optional
        Texts per forward pass; default 128 on CUDA, 32 elsewhere.
    cache : bool
        Read and write the on-disk cache (``cache_dir()/features``).
    progress : bool, optional
        Show a progress bar; default: when there are more than 3 batches.

    Returns
    -------
    Features
        ``f`` and ``mean`` of shape (n, d), ``log_z`` (n,), subset arrays (n, k), float32.

    Example: ``extract_features(lm, texts, " This movie is", ["great", "boring"]).mean.shape`` -> ``(n, d)``.
    """
    texts = _check_texts(texts)
    if prompt is None:
        prompt = ""
    if not isinstance(prompt, str):
        raise TypeError(f"prompt must be a string, got {type(prompt).__name__} {prompt!r}")
    limit = getattr(lm.model.config, "max_position_embeddings", None) or MAX_LENGTH
    if max_length is None:
        max_length = min(MAX_LENGTH, limit)
    if isinstance(max_length, bool) or not isinstance(max_length, int) or not 1 <= max_length <= limit:
        raise ValueError(f"max_length must be an integer in [1, {limit}] (the model's context), got {max_length!r}")
    if batch_size is None:
        batch_size = 128 if lm.device.type == "cuda" else 32
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    token_ids, tokens = word_tokens(lm, words) if words is not None else ([], ())

    def result(arrays: dict) -> Features:
        subset = words is not None
        return Features(arrays["f"], arrays["mean"], arrays["log_z"], arrays["subset_logits"] if subset else None,
                        arrays["subset_probs"] if subset else None, tokens, lm.name, prompt, lm.vocab_size)

    path = _cache_path(lm, texts, prompt, words, max_length) if cache else None
    if path is not None and path.exists():
        arrays = _read_cache(path, len(texts), lm.dim, len(token_ids))
        if arrays is not None:
            return result(arrays)
    arrays = _compute(lm, [text + prompt for text in texts], token_ids, max_length, batch_size, progress)
    if path is not None:
        _write_cache(path, arrays)
    return result(arrays)


def _check_texts(texts) -> list[str]:
    if isinstance(texts, str) or not hasattr(texts, "__iter__"):
        raise TypeError(f"texts must be a list of strings, got {type(texts).__name__}; for one text write [text]")
    texts = list(texts)
    if not texts:
        raise ValueError("texts is empty; give at least one text")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"texts[{i}] must be a string, got {type(text).__name__} {text!r}")
        if not text.strip():
            raise ValueError(f"texts[{i}] is empty ({text!r}); every text needs at least one visible character")
    return texts


def _compute(lm, strings, token_ids, max_length, batch_size, progress) -> dict:
    """Run the model over length-sorted batches; return the arrays in the order of ``strings``."""
    ids = lm.tokenizer(strings, add_special_tokens=True)["input_ids"]
    truncated = sum(len(x) > max_length for x in ids)
    if truncated:
        warnings.warn(f"{truncated} of {len(ids)} texts are longer than {max_length} tokens: their beginnings were "
                      f"cut, their ends (with the prompt) kept", stacklevel=3)
    ids = [x[-max_length:] for x in ids]
    too_large = max(max(x) for x in ids)
    if too_large >= lm.vocab_size:
        raise ValueError(f"the tokenizer of {lm.name!r} produced token id {too_large}, but the model has only "
                         f"{lm.vocab_size} output words: tokenizer and model do not match")
    n, d, k = len(ids), lm.dim, len(token_ids)
    out = {"f": np.empty((n, d), np.float32), "mean": np.empty((n, d), np.float32),
           "log_z": np.empty(n, np.float32), "subset_logits": np.empty((n, k), np.float32),
           "subset_probs": np.empty((n, k), np.float32)}
    head = lm.model.get_output_embeddings()
    weight = head.weight.float()  # (V, d); the same tensor when the model is in float32
    bias = head.bias.float() if head.bias is not None else None
    subset = torch.tensor(token_ids, dtype=torch.long, device=lm.device)
    order = np.argsort([-len(x) for x in ids], kind="stable")  # longest first: a GPU runs out of memory early
    show = progress if progress is not None else -(-n // batch_size) > 3
    start = 0
    with torch.inference_mode(), tqdm(total=n, unit="text", desc=f"features ({lm.name})", disable=not show) as bar:
        while start < n:
            rows = order[start:start + batch_size]
            try:
                batch = _batch(lm, [ids[i] for i in rows], weight, bias, subset)
            except torch.cuda.OutOfMemoryError:
                if batch_size == 1:
                    raise
                batch = None
            if batch is None:  # handled outside the except block, so the failed batch's memory is free
                batch_size //= 2
                torch.cuda.empty_cache()
                warnings.warn(f"out of GPU memory: retrying with batch_size = {batch_size}", stacklevel=3)
                continue
            for key, value in batch.items():
                out[key][rows] = value
            start += len(rows)
            bar.update(len(rows))
    return out


def _batch(lm, ids: list[list[int]], weight: torch.Tensor, bias: torch.Tensor | None, subset: torch.Tensor) -> dict:
    """Features of one batch of token-id lists (right-padded; see the module docstring for why no mask)."""
    lengths = torch.tensor([len(x) for x in ids])
    x = torch.full((len(ids), int(lengths.max())), lm.tokenizer.pad_token_id or 0, dtype=torch.long)
    for row, seq in enumerate(ids):
        x[row, :len(seq)] = torch.tensor(seq)
    hidden = lm.model.base_model(input_ids=x.to(lm.device)).last_hidden_state  # (b, L, d), after the final norm
    f = hidden[torch.arange(len(ids), device=lm.device), lengths.to(lm.device) - 1].float()  # (b, d)
    logits = f @ weight.T  # (b, V): only at the last real tokens
    if bias is not None:
        logits += bias
    log_z = torch.logsumexp(logits, dim=-1)
    probs = torch.exp(logits - log_z[:, None])
    arrays = {"f": f, "mean": probs @ weight, "log_z": log_z, "subset_logits": logits[:, subset],
              "subset_probs": probs[:, subset]}
    return {key: value.cpu().numpy() for key, value in arrays.items()}


def _cache_path(lm, texts, prompt, words, max_length):
    """``cache_dir()/features/<sha256 of everything that determines the features>.npz``."""
    key = {"model": lm.name, "source": lm.source, "dtype": str(lm.dtype), "device": lm.device.type,
           "weights": lm.fingerprint, "prompt": prompt, "words": None if words is None else list(words),
           "max_length": max_length, "version": FEATURES_VERSION, "texts": texts}
    digest = hashlib.sha256(json.dumps(key, ensure_ascii=False).encode("utf-8")).hexdigest()
    return cache_dir() / "features" / f"{digest}.npz"


def _read_cache(path, n, d, k) -> dict | None:
    """The cached arrays, or None (with a warning) when the file is damaged or has the wrong shapes."""
    expected = {"f": (n, d), "mean": (n, d), "log_z": (n,), "subset_logits": (n, k), "subset_probs": (n, k)}
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in _ARRAYS}
        wrong = [key for key in _ARRAYS if arrays[key].shape != expected[key] or arrays[key].dtype != np.float32]
        if wrong:
            raise ValueError(f"unexpected shape or dtype of {wrong}")
    except Exception as error:  # any damage (truncated zip, missing array, bad header) means: recompute
        warnings.warn(f"feature cache file {path} is damaged ({type(error).__name__}: {error}); recomputing it",
                      stacklevel=3)
        return None
    return arrays


def _write_cache(path, arrays: dict) -> None:
    """Write to a temporary file, then rename it: a cache entry is never seen half-written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".partial", delete=False) as handle:
        try:
            np.savez(handle, **arrays)
        except BaseException:
            os.unlink(handle.name)
            raise
    os.replace(handle.name, path)
