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

How. One engine reads every model in lmtheory: :func:`hidden_states` runs the model (texts
tokenised once and sorted by length, neighbours forming a batch, so padding wastes little; right
padding and no attention mask, since in a causal model a real token attends only to earlier tokens,
which are all real; no key/value cache; on running out of memory, CUDA's or the RuntimeError of
cuBLAS and MPS, the batch is halved with a warning and retried), and :func:`head` applies the output
layer, only at the positions read. Long texts are cut to their last ``max_length`` tokens (truncation
from the left), so the prompt always survives. Results are cached on disk under
``cache_dir()/features``, keyed by everything that determines them (a hash of every weight, the
tokenizer, the dtype and device, the transformers version, the texts and options), written
atomically (:mod:`lmtheory.atomic`); a damaged cache file is recomputed with a warning.

>>> feats = extract_features(lm, ["A gem."], prompt=" This movie is", words=["great"])  # doctest: +SKIP
>>> feats.f.shape, feats.mean.shape, feats.subset_tokens                             # doctest: +SKIP
((1, 576), (1, 576), (' great', 'great'))
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass

import numpy as np
import torch
import transformers
from tqdm.auto import tqdm

from .atomic import atomic_file, cache_write_failed
from .checks import check_int, check_language_model, check_texts
from .offline import cache_dir

__all__ = ["Features", "extract_features", "hidden_states", "head", "word_tokens", "random_projection",
           "MAX_LENGTH"]

#: The protocol's token limit per text (prompt included).
MAX_LENGTH = 512
#: Part of every cache key: raise it whenever the computation changes.
FEATURES_VERSION = 2


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
    dim = check_int(dim, "dim", low=1)  # rows of A
    seed = check_int(seed, "seed", low=0)
    weight = lm.model.get_output_embeddings().weight  # (V, d): row w is phi_w
    vocab = weight.shape[0]
    generator = torch.Generator().manual_seed(int(seed))
    a = torch.randn(int(dim), vocab, generator=generator, dtype=torch.float32)
    return a.mul_(weight.detach().float().norm().cpu() / a.norm()).to(lm.device)


def extract_features(lm, texts, prompt: str = "", words=None, *, without_prompt: bool = False, projection=None,
                     max_length: int | None = None, batch_size: int | None = None, cache: bool = True,
                     progress: bool | None = None):
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
    without_prompt : bool
        Also return the features of the texts alone. A causal model's state at a token depends only
        on the tokens before it, so when a text's tokens are the beginning of its tokens with the
        prompt, both are read from one forward pass, at two positions.
    projection : tensor, shape (m, V), optional
        A matrix ``A`` (e.g. :func:`random_projection`): ``projected = A p_f(s)`` is added.
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
    Features, or a pair (with the prompt, without it) when ``without_prompt``
        ``f`` and ``mean`` of shape (n, d), ``log_z`` (n,), subset arrays (n, k), ``projected``
        (n, m) or None, float32.

    Example: ``extract_features(lm, texts, " This movie is", ["great", "boring"]).mean.shape`` -> ``(n, d)``.
    """
    texts = check_texts(texts)
    check_language_model(lm)
    if prompt is None:
        prompt = ""
    if not isinstance(prompt, str):
        raise TypeError(f"prompt must be a string, got {type(prompt).__name__} {prompt!r}")
    if not isinstance(without_prompt, (bool, np.bool_)):
        raise TypeError(f"without_prompt must be True or False, got {without_prompt!r}")
    limit = getattr(lm.model.config, "max_position_embeddings", None) or MAX_LENGTH
    if max_length is None:
        max_length = min(MAX_LENGTH, limit)
    max_length = check_int(max_length, "max_length", low=1, high=limit)  # at most the model's context
    token_ids, tokens = word_tokens(lm, words) if words is not None else ([], ())
    projection = _check_projection(lm, projection)
    prompts = (prompt, "") if without_prompt else (prompt,)

    path = _cache_path(lm, texts, prompts, words, max_length, projection) if cache else None
    arrays = None
    if path is not None and path.exists():
        m = None if projection is None else projection.shape[0]
        arrays = _read_cache(path, len(prompts) * len(texts), lm.dim, len(token_ids), m)
    if arrays is None:
        sequences, positions, order = _requests(lm, texts, prompts, max_length)
        f = hidden_states(lm, sequences, positions, batch_size=batch_size, progress=progress)[order]
        arrays = {"f": f, **head(lm, f, token_ids, projection=projection)}
        if path is not None:
            _write_cache(path, arrays)
    n = len(texts)
    subset = words is not None
    found = tuple(Features(arrays["f"][rows], arrays["mean"][rows], arrays["log_z"][rows],
                           arrays["subset_logits"][rows] if subset else None,
                           arrays["subset_probs"][rows] if subset else None, tokens, lm.name, p, lm.vocab_size,
                           projected=arrays["projected"][rows] if projection is not None else None)
                  for rows, p in ((slice(i * n, (i + 1) * n), p) for i, p in enumerate(prompts)))
    return found if without_prompt else found[0]


def _check_projection(lm, projection):
    """``projection`` as a finite float32 tensor of shape (m, V) on the model's device, or None."""
    if projection is None:
        return None
    if not isinstance(projection, torch.Tensor):
        projection = torch.as_tensor(np.asarray(projection, dtype=np.float32))
    if projection.ndim != 2 or projection.shape[1] != lm.vocab_size or projection.shape[0] == 0:
        raise ValueError(f"projection must have shape (m, V) with V = {lm.vocab_size:,} (the model's vocabulary), "
                         f"got {tuple(projection.shape)}")
    if not torch.isfinite(projection).all():
        raise ValueError("projection contains nan or inf values; it must be finite")
    return projection.detach().to(lm.device, torch.float32)


def _requests(lm, texts, prompts, max_length) -> tuple[list[list[int]], list[list[int]], np.ndarray]:
    """The token sequences to run, the positions to read in each, and the order that puts
    :func:`hidden_states`' rows back as rows ``i * n + j`` (prompt ``i``, text ``j``), each at the text's
    last token. A later prompt's row is read from the first prompt's sequence when its tokens are a
    beginning of that sequence."""
    sequences, n = [], len(texts)
    where = {}  # row -> (sequence, position)
    for i, prompt in enumerate(prompts):
        ids = lm.tokenizer([text + prompt for text in texts], add_special_tokens=True)["input_ids"]
        truncated = sum(len(x) > max_length for x in ids)
        if truncated:
            warnings.warn(f"{truncated} of {n} texts{' with the prompt' if prompt else ''} are longer than "
                          f"{max_length} tokens: their beginnings were cut, their ends (with the prompt) kept",
                          stacklevel=3)
        for j, seq in enumerate(ids):
            if i > 0 and len(seq) <= max_length:
                first, _ = where[j]
                if len(sequences[first]) >= len(seq) and sequences[first][:len(seq)] == seq:
                    where[i * n + j] = (first, len(seq) - 1)
                    continue
            sequences.append(seq[-max_length:])
            where[i * n + j] = (len(sequences) - 1, len(sequences[-1]) - 1)
    positions = [[] for _ in sequences]
    rows = [[] for _ in sequences]
    for row in range(len(prompts) * n):
        seq, pos = where[row]
        positions[seq].append(pos)
        rows[seq].append(row)
    return sequences, positions, np.argsort(np.concatenate(rows), kind="stable")


def hidden_states(lm, sequences, positions, *, batch_size: int | None = None, progress: bool | None = None,
                  desc: str | None = None) -> np.ndarray:
    """The final hidden states ``f`` (after the final norm) at chosen positions of token sequences.

    The one place that runs a model over many texts (:func:`extract_features` and
    :func:`lmtheory.quadratic.prefix_features` call it). Sequences are sorted by length, longest
    first, and neighbours form a batch, right-padded with no attention mask (in a causal model a real
    token attends only to earlier, real, tokens). No key/value cache is built (``use_cache=False``).
    When the device runs out of memory the batch is halved, with one warning per halving, and retried.

    Parameters
    ----------
    lm : LanguageModel
    sequences : list of list of int, length S
        Token ids, each sequence non-empty and no longer than the model's context.
    positions : list of list of int, length S
        0-based positions to read in each sequence.
    batch_size : int, optional
        Sequences per forward pass; default 128 on CUDA, 32 elsewhere.
    progress : bool, optional
        Show a progress bar; default: when there are more than 3 batches.
    desc : str, optional
        The progress bar's label.

    Returns
    -------
    ndarray, shape (R, d), float32
        One row per requested position: sequence by sequence, position by position, in the order
        given (``R = sum(len(p) for p in positions)``).

    Example: ``hidden_states(lm, [[15496, 995]], [[0, 1]]).shape`` -> ``(2, d)``.
    """
    check_language_model(lm)
    if len(sequences) != len(positions):
        raise ValueError(f"sequences ({len(sequences)}) and positions ({len(positions)}) must have the same length")
    if batch_size is None:
        batch_size = 128 if lm.device.type == "cuda" else 32
    batch_size = check_int(batch_size, "batch_size", low=1)
    for s, (seq, pos) in enumerate(zip(sequences, positions)):
        if len(seq) == 0:
            raise ValueError(f"sequences[{s}] is empty")
        if any(not 0 <= p < len(seq) for p in pos):
            raise ValueError(f"positions[{s}] = {list(pos)} must lie in [0, {len(seq) - 1}] (sequence length "
                             f"{len(seq)})")
    largest = max(max(seq) for seq in sequences)
    if largest >= lm.vocab_size:
        raise ValueError(f"token id {largest} is out of range: {lm.name!r} has only {lm.vocab_size} output words "
                         f"(tokenizer and model do not match)")
    offsets = np.cumsum([0] + [len(p) for p in positions])
    out = np.empty((offsets[-1], lm.dim), np.float32)
    order = np.argsort([-len(x) for x in sequences], kind="stable")  # longest first: memory runs out early
    n = len(sequences)
    show = progress if progress is not None else -(-n // batch_size) > 3
    start = 0
    with torch.inference_mode(), tqdm(total=n, unit="text", desc=desc or f"features ({lm.name})",
                                      disable=not show) as bar:
        while start < n:
            chosen = order[start:start + batch_size]
            try:
                hidden = _forward(lm, [sequences[i] for i in chosen])
            except (torch.cuda.OutOfMemoryError, RuntimeError) as error:
                if not _out_of_memory(error) or batch_size == 1:
                    raise
                hidden = None
            if hidden is None:  # handled outside the except block, so the failed batch's memory is free
                batch_size //= 2
                _free_memory(lm.device)
                warnings.warn(f"out of memory on {lm.device.type}: retrying with batch_size = {batch_size}",
                              stacklevel=2)
                continue
            for j, i in enumerate(chosen):
                out[offsets[i]:offsets[i + 1]] = hidden[j, list(positions[i])].float().cpu().numpy()
            start += len(chosen)
            bar.update(len(chosen))
    return out


def _forward(lm, ids: list[list[int]]) -> torch.Tensor:
    """Hidden states (b, L, d) of one right-padded batch, without a key/value cache."""
    x = torch.full((len(ids), max(map(len, ids))), lm.tokenizer.pad_token_id or 0, dtype=torch.long)
    for row, seq in enumerate(ids):
        x[row, :len(seq)] = torch.tensor(seq)
    return lm.model.base_model(input_ids=x.to(lm.device), use_cache=False).last_hidden_state


def _out_of_memory(error: BaseException) -> bool:
    """CUDA's OutOfMemoryError, or the RuntimeError that cuBLAS and MPS raise when memory runs out."""
    return isinstance(error, torch.cuda.OutOfMemoryError) or "out of memory" in str(error).lower()


def _free_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
    elif device.type == "mps":
        torch.mps.empty_cache()


def head(lm, f, token_ids=(), *, projection=None, chunk: int = 256) -> dict:
    """The output layer at features ``f``: what the next-word distribution ``p_f(s)`` gives.

    Parameters
    ----------
    lm : LanguageModel
    f : array or tensor, shape (n, d)
    token_ids : list of int, length k
        Words whose logits and probabilities are kept (e.g. from :func:`word_tokens`).
    projection : tensor, shape (m, V), optional
        A matrix ``A``; adds ``projected = A p_f(s)``.
    chunk : int
        Rows per product (memory: ``chunk * V`` floats).

    Returns
    -------
    dict of float32 ndarrays
        ``mean`` (n, d) = ``Phi p_f(s)``, ``log_z`` (n,), ``subset_logits`` and ``subset_probs``
        (n, k), and ``projected`` (n, m) when a projection is given.

    Example: ``head(lm, feats.f, [1875])["subset_probs"].shape`` -> ``(n, 1)``.
    """
    weight = lm.model.get_output_embeddings().weight.float()  # (V, d): row w is phi_w
    bias = lm.bias
    subset = torch.as_tensor(list(token_ids), dtype=torch.long, device=lm.device)
    f = torch.as_tensor(f)
    parts = {"mean": [], "log_z": [], "subset_logits": [], "subset_probs": []}
    if projection is not None:
        parts["projected"] = []
    with torch.inference_mode():
        for rows in f.split(chunk):
            logits = rows.to(lm.device, torch.float32) @ weight.T  # (b, V)
            if bias is not None:
                logits += bias.float()
            log_z = torch.logsumexp(logits, dim=-1)
            probs = torch.exp(logits - log_z[:, None])
            found = {"mean": probs @ weight, "log_z": log_z, "subset_logits": logits[:, subset],
                     "subset_probs": probs[:, subset]}
            if projection is not None:
                found["projected"] = probs @ projection.T
            for key, value in found.items():
                parts[key].append(value.cpu().numpy())
    return {key: np.concatenate(value).astype(np.float32, copy=False) for key, value in parts.items()}


def _cache_path(lm, texts, prompts, words, max_length, projection):
    """``cache_dir()/features/<sha256 of everything that determines the features>.npz``."""
    weights = next(lm.model.parameters())
    key = {"model": lm.name, "source": lm.source, "dtype": str(weights.dtype), "device": str(weights.device),
           "weights": lm.fingerprint, "tokenizer": lm.tokenizer_fingerprint, "transformers": transformers.__version__,
           "prompt": prompts[0], "without_prompt": len(prompts) > 1,
           "words": None if words is None else list(words), "max_length": max_length, "version": FEATURES_VERSION,
           "projection": None if projection is None else hashlib.sha256(projection.cpu().numpy().tobytes()).hexdigest(),
           "texts": texts}
    digest = hashlib.sha256(json.dumps(key, ensure_ascii=False).encode("utf-8")).hexdigest()
    return cache_dir() / "features" / f"{digest}.npz"


def _read_cache(path, n, d, k, m=None) -> dict | None:
    """The cached arrays, or None (with a warning) when the file is damaged or has the wrong shapes."""
    expected = {"f": (n, d), "mean": (n, d), "log_z": (n,), "subset_logits": (n, k), "subset_probs": (n, k)}
    if m is not None:
        expected["projected"] = (n, m)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in expected}
        wrong = [key for key in expected if arrays[key].shape != expected[key] or arrays[key].dtype != np.float32]
        if wrong:
            raise ValueError(f"unexpected shape or dtype of {wrong}")
    except Exception as error:  # any damage (truncated zip, missing array, bad header) means: recompute
        warnings.warn(f"feature cache file {path} is damaged ({type(error).__name__}: {error}); recomputing it",
                      stacklevel=3)
        return None
    return arrays


def _write_cache(path, arrays: dict) -> None:
    """Write the arrays atomically (see :mod:`lmtheory.atomic`); a cache that cannot be written is skipped."""
    try:
        with atomic_file(path) as temporary, open(temporary, "wb") as handle:
            np.savez(handle, **arrays)
    except OSError as error:
        cache_write_failed(path, error)
