"""Pretrain a small GPT-2 from scratch with cross-entropy or with Quad, keeping checkpoints.

The model is a ``GPT2LMHeadModel`` with a few layers and a small width, input and output embeddings
tied (``Phi`` is the transposed embedding matrix, shape (d, V)), no dropout. At every position ``t``
of a window the features ``f = f(s_{<=t})`` (final hidden state, after the final layer norm) are
scored against the next token ``w``:

* ``"ce"``: cross-entropy ``-f^T phi_w + log Z(f)`` (:func:`ce_loss`);
* ``"quad"``: Quad ``-f^T phi_w + 1/2 ||Phi^T f||^2`` (:func:`quad_loss`), where the quadratic term is
  computed as ``1/2 f^T (Phi Phi^T) f`` through the d x d Gram matrix, never through V-sized logits.

Phi fixed. With ``Settings(fixed_phi=True)`` the output embeddings ``Phi`` are not learned: they
are the final ``Phi`` of the cross-entropy run with the same other settings (trained first, or
loaded from the run cache), rescaled by one number (:func:`fixed_phi`), and kept fixed while
everything else trains. The input embeddings are then untied from ``Phi`` and learned from the same
initialisation as in the other runs. The authors' code allows the same (Quad trained against given
word embeddings): comparing Quad with learned and with fixed ``Phi`` separates what the objective
asks of the features from how hard it is to learn ``Phi`` and ``f`` together under it.

Why rescale: for a fixed ``Phi`` Quad is not scale-free. With ``c Phi`` in place of ``Phi`` its
minimiser is ``f* / c``, the same features up to one factor (so the same linear probes), but a
cross-entropy model's embeddings are many times larger than a fresh initialisation (their logits
must reach the log-probabilities' range), and a network whose features start at the scale of a
layer norm's output would spend its first steps shrinking them. :func:`fixed_phi` rescales ``Phi``
to the root-mean-square entry of a fresh initialisation (GPT-2's ``initializer_range``, 0.02), the
scale the learned-``Phi`` Quad model starts from; only the directions of the embeddings carry over.

Seeds. ``Settings.seed`` fixes the initialisation and the training windows drawn; runs that differ
only in their seed show how much a result moves from one run to the next.

Tokenizer: a byte-level BPE with :data:`SIZES` ``lm_vocab`` (4,096) tokens, trained with the
``tokenizers`` library on the training documents, not GPT-2's 50,257 tokens. Why: with d = 128 the
output layer of GPT-2's vocabulary would hold 6.4 million of the model's ~7 million parameters and
most of its computation, and a few million tokens of text would leave most of its rows untrained.
The downstream indicative words (``lmtheory.data``: the sentiment and topic subsets and class words)
are made single tokens (``" great"``) by adding each, 2,000 times, to the text the BPE learns its
merges from (never to the text the model is trained on).

Runs are cached on disk under ``cache_dir()/"runs"/<hash>``, the hash covering everything that
determines the run (settings, the corpus's fingerprint, the tokenizer, the device type and :data:`TRAIN_VERSION`):
a second call with the same settings loads the checkpoints in a second, and chapters 8 and 9 share
the cross-entropy run. A damaged cache entry is retrained, with a warning. An unfinished run keeps a
resume point beside its entry (``<hash>.resume.pt``, after every checkpoint and at least once a
minute): interrupted by Ctrl-C or a killed kernel, the next call continues from there.

On the CPU training runs on one thread: the matrices of so small a model are too small to share
out, and on two cores shared with other work one thread trained 4.5 times faster than two (7,600
against 1,700 tokens/s for d = 128, 2 layers). :func:`quad_yardsticks` and the feature extraction of
:func:`probe_run` run on one thread for the same reason (the yardsticks of one d = 64 model pair and
the features of 400 texts: 4.7 s instead of 42 s). A CPU run is therefore deterministic under its seed
on any machine with the same library versions; on a GPU it runs in float32 and is repeatable up to
the GPU's own nondeterminism.

>>> settings = Settings(objective="quad", steps=20, n_layer=1, n_embd=32, block_size=32, batch_size=4)
>>> run = pretrain(settings)                                   # doctest: +SKIP
>>> run.checkpoints[-1].held_out_ce                            # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import contextlib
import dataclasses
import functools
import hashlib
import json
import math
import shutil
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from . import sizes
from .atomic import atomic_file, atomic_folder, cache_write_failed
from .checks import check_choice, check_int, check_number
from .corpus import Corpus, load_corpus
from .offline import cache_dir
from .prose import say
from .threads import single_thread

__all__ = ["OBJECTIVES", "Settings", "Checkpoint", "Run", "book_settings", "ce_loss", "quad_loss",
           "quad_score", "quad_yardsticks", "probe_run", "fixed_phi", "INIT_RMS", "train_tokenizer",
           "encode_corpus", "pretrain", "TRAIN_VERSION", "EOS"]

OBJECTIVES = ("ce", "quad")
#: Part of every cache key: raise it whenever training changes.
TRAIN_VERSION = 3
EOS = "<|endoftext|>"
#: Where checkpoints go, as fractions of the steps: one early, the rest geometric from LATE_START.
EARLY, LATE_START = 1 / 64, 1 / 10
#: An unfinished run saves its state after each checkpoint and at least this often (seconds) to resume from.
RESUME_EVERY_S = 60.0
#: How often each indicative word is shown to the BPE trainer (see the module's notes).
WORD_BOOST = 2_000


@dataclass(frozen=True)
class Settings:
    """Everything that determines a training run.

    Attributes
    ----------
    objective : {"ce", "quad"}
    steps : int
        Optimiser steps (AdamW, linear warm-up over ``warmup`` steps, then cosine decay to lr / 10).
    batch_size, block_size : int
        Windows per step and tokens per window (also the model's context length).
    n_layer, n_head, n_embd : int
        Transformer depth, attention heads, and width d (``n_embd`` divisible by ``n_head``).
    vocab_size : int
        Tokens of the BPE vocabulary, at least 300 (256 bytes plus merges).
    lr, warmup, weight_decay, clip : float, int, float, float
    n_checkpoints : int
        Checkpoints kept (see :meth:`checkpoint_steps`; the last is the final model).
    eval_tokens : int
        Held-out tokens used to measure cross-entropy and Quad loss at each checkpoint.
    seed : int
        Seed of the initialisation and of the windows drawn.
    source : {"hub", "offline"} or None
        Corpus source (see :func:`lmtheory.corpus.load_corpus`); None: the Hub when reachable.
    fixed_phi : bool
        Keep ``Phi`` fixed to the final output embeddings of the cross-entropy run with the same
        other settings (:meth:`phi_source`), rescaled by one number (:func:`fixed_phi`), with untied,
        learned input embeddings (see the module's notes).
    """

    objective: str = "ce"
    steps: int = 300
    batch_size: int = 16
    block_size: int = 64
    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 128
    vocab_size: int = 4096
    lr: float = 3e-3
    warmup: int = 30
    weight_decay: float = 0.01
    clip: float = 1.0
    n_checkpoints: int = 8
    eval_tokens: int = 32_768
    seed: int = 0
    source: str | None = None
    fixed_phi: bool = False

    def __post_init__(self):
        check_choice(self.objective, "objective", OBJECTIVES)
        for name in ("steps", "batch_size", "block_size", "n_layer", "n_head", "n_embd", "n_checkpoints",
                     "eval_tokens"):
            check_int(getattr(self, name), name, low=1)
        if self.n_checkpoints > self.steps:
            raise ValueError(f"n_checkpoints = {self.n_checkpoints} is more than steps = {self.steps}: "
                             f"at most one checkpoint per step")
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd = {self.n_embd} must be divisible by n_head = {self.n_head}")
        if isinstance(self.vocab_size, bool) or not isinstance(self.vocab_size, int) or self.vocab_size < 300:
            raise ValueError(f"vocab_size must be an integer >= 300 (256 bytes plus merges), got {self.vocab_size!r}")
        check_number(self.lr, "lr", low=0.0, high=1.0)
        if self.lr == 0:
            raise ValueError("lr must be more than 0")
        check_number(self.warmup, "warmup", low=0)
        check_number(self.weight_decay, "weight_decay", low=0.0)
        check_number(self.clip, "clip", low=0.0)
        check_number(self.seed, "seed", low=0, high=2**32 - 1)
        if self.source is not None:
            check_choice(self.source, "source", ("hub", "offline"))
        if not isinstance(self.fixed_phi, bool):
            raise ValueError(f"fixed_phi must be True or False, got {self.fixed_phi!r}")

    def phi_source(self) -> "Settings":
        """The settings of the cross-entropy run whose final ``Phi`` a ``fixed_phi`` run keeps.

        Example: ``Settings(objective="quad", fixed_phi=True, seed=2).phi_source()`` is
        ``Settings(objective="ce", seed=2)``.
        """
        return dataclasses.replace(self, objective="ce", fixed_phi=False)

    @property
    def kind(self) -> str:
        """``"ce"``, ``"quad"`` or ``"quad, fixed Phi"`` (likewise ``"ce, fixed Phi"``): a label for tables."""
        return f"{self.objective}, fixed Phi" if self.fixed_phi else self.objective

    def checkpoint_steps(self) -> list[int]:
        """The steps after which a checkpoint is kept: one early, the rest geometric from ``steps / 10``.

        The first checkpoint is at ``steps / 64``, inside the short early phase in which the model
        learns word frequencies first; the other ``n_checkpoints - 1`` are spaced geometrically from
        ``steps / 10`` to ``steps`` (the last is the final model). Example: 600 steps, 8 checkpoints ->
        ``[9, 60, 88, 129, 190, 278, 409, 600]``.
        """
        if self.n_checkpoints == 1:
            return [self.steps]
        late = np.geomspace(self.steps, max(1.0, self.steps * LATE_START), self.n_checkpoints - 1)  # ends at steps
        grid = [max(1.0, self.steps * EARLY), *late]
        chosen = sorted(set(int(round(s)) for s in grid))
        extra = (s for s in range(self.steps, 0, -1) if s not in chosen)  # fill any merged points
        while len(chosen) < self.n_checkpoints:
            chosen = sorted(chosen + [next(extra)])
        return chosen

    @property
    def tokens_per_step(self) -> int:
        return self.batch_size * self.block_size


@dataclass
class Checkpoint:
    """What was measured at one checkpoint (losses in nats per token, on held-out text)."""

    step: int
    tokens: int
    held_out_ce: float
    held_out_quad: float
    train_loss: float


@dataclass
class Run:
    """A finished training run: its checkpoints, their measurements, and the tokenizer.

    Attributes
    ----------
    settings : Settings
    checkpoints : list of Checkpoint
    states : list of dict
        The model's weights at each checkpoint (CPU tensors), aligned with ``checkpoints``.
    tokenizer : transformers.PreTrainedTokenizerFast
    train_seconds : float
        Wall time of the training steps (not the evaluations) when the run was trained.
    device : str
        Where it was trained.
    corpus : str
        The corpus summary line.
    from_cache : bool
    """

    settings: Settings
    checkpoints: list[Checkpoint]
    states: list[dict] = field(repr=False)
    tokenizer: object = field(repr=False)
    train_seconds: float
    device: str
    corpus: str = field(repr=False)
    from_cache: bool = False

    @property
    def tokens_per_second(self) -> float:
        """Training throughput: tokens processed per second of training steps."""
        return self.settings.steps * self.settings.tokens_per_step / self.train_seconds

    @property
    def name(self) -> str:
        """A label for figures, e.g. ``'ce GPT-2, 2 layers, d=128, V=4096, 300 steps, seed 0'``."""
        s = self.settings
        return f"{s.kind} GPT-2, {s.n_layer} layers, d={s.n_embd}, V={s.vocab_size}, {s.steps} steps, seed {s.seed}"

    def Phi(self, index: int = -1) -> torch.Tensor:
        """The output embeddings at checkpoint ``index`` (default: the last), a CPU tensor of shape (d, V)."""
        return self.states[self._index(index)]["lm_head.weight"].T

    def summary(self) -> str:
        """One line: the model, the tokens it saw, throughput, final held-out losses."""
        s, last = self.settings, self.checkpoints[-1]
        how = "loaded from the run cache; trained" if self.from_cache else "trained"
        return (f"{self.name}: {how} on {s.steps * s.tokens_per_step:,} tokens in {self.train_seconds:.0f} s "
                f"({self.tokens_per_second:,.0f} tokens/s, {self.device}); held-out CE {last.held_out_ce:.3f} "
                f"nats/token, Quad {last.held_out_quad:.3f}")

    def model(self, index: int = -1):
        """The ``GPT2LMHeadModel`` at checkpoint ``index`` (default: the last), on the CPU, in eval mode."""
        model = _new_model(self.settings, self.tokenizer)
        model.load_state_dict(self.states[self._index(index)])
        return model.eval()

    def language_model(self, index: int = -1, *, device=None):
        """Checkpoint ``index`` as an lmtheory ``LanguageModel``, ready for ``extract_features``.

        Example: ``run.language_model(-1).features(texts, prompt=" This movie is").f.shape`` -> ``(n, d)``.
        """
        from . import device as best_device
        from .models import from_model

        i = self._index(index)
        name = f"{self.name} (step {self.checkpoints[i].step})"
        return from_model(self.model(i), self.tokenizer, name, source="trained here",
                          device=device if device is not None else best_device(), dtype=torch.float32)

    def _index(self, index: int) -> int:
        n = len(self.checkpoints)
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not -n <= index < n:
            raise IndexError(f"checkpoint index {index!r} is out of range: this run has {n} checkpoints")
        return int(index) % n


#: Root-mean-square entry of a freshly initialised embedding matrix (GPT-2's ``initializer_range``).
INIT_RMS = 0.02


def fixed_phi(source: Run) -> torch.Tensor:
    """The ``Phi`` that a ``fixed_phi`` run keeps: ``source``'s final ``Phi``, rescaled to RMS entry :data:`INIT_RMS`.

    ``source`` must be a cross-entropy run without fixed ``Phi``. Returns a CPU tensor of shape (d, V),
    ``source.Phi() * c`` with ``c = INIT_RMS / rms(source.Phi())`` (see the module's notes for why).

    Example: ``fixed_phi(pretrain(book_settings("ce")))``.
    """
    if not isinstance(source, Run) or source.settings.objective != "ce" or source.settings.fixed_phi:
        raise ValueError(f"the source of a fixed Phi must be a cross-entropy Run with a learned Phi, got "
                         f"{getattr(getattr(source, 'settings', None), 'kind', type(source).__name__)!r}")
    phi = source.Phi()
    return phi * (INIT_RMS / phi.pow(2).mean().sqrt())


def book_settings(objective: str = "ce", **changes) -> Settings:
    """The settings chapters 8 and 9 use: sizes from :mod:`lmtheory.sizes` (quick or full), then ``changes``.

    Example: ``book_settings("quad")``.
    """
    base = dict(objective=objective, steps=sizes.size("lm_steps"), batch_size=sizes.size("lm_batch"),
                block_size=sizes.size("lm_block"), n_layer=sizes.size("lm_layers"), n_embd=sizes.size("lm_width"),
                vocab_size=sizes.size("lm_vocab"), n_checkpoints=sizes.size("lm_checkpoints"),
                eval_tokens=sizes.size("lm_eval_tokens"))
    return Settings(**{**base, **changes})


# ---------------------------------------------------------------- the two objectives


def ce_loss(features: torch.Tensor, Phi: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy ``-f^T phi_w + log Z(f)`` over positions, in nats.

    Shapes: ``features (..., d)``, ``Phi (d, V)``, ``targets (...)`` (token ids) -> scalar.
    """
    _check_loss_inputs(features, Phi, targets)
    logits = features @ Phi
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


def quad_loss(features: torch.Tensor, Phi: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean Quad loss ``-f^T phi_w + 1/2 ||Phi^T f||^2`` over positions.

    The quadratic term is computed as ``1/2 f^T G f`` with the Gram matrix ``G = Phi Phi^T`` (d x d),
    which costs ``d^2 V`` once per call instead of ``d V`` per position. Per position it equals
    :func:`lmtheory.core.quad_context_loss` with ``p*`` the one-hot vector of the target.

    Shapes: ``features (..., d)``, ``Phi (d, V)``, ``targets (...)`` (token ids) -> scalar.
    """
    _check_loss_inputs(features, Phi, targets)
    gram = Phi @ Phi.T
    linear = (features * Phi.T[targets]).sum(-1)
    quadratic = ((features @ gram) * features).sum(-1)
    return (0.5 * quadratic - linear).mean()


_LOSSES = {"ce": ce_loss, "quad": quad_loss}


def quad_score(predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean Quad loss of prediction vectors ``q`` given directly: ``-q_w + 1/2 ||q||^2``.

    A model's Quad loss is this score of ``q = Phi^T f``, and ``-q_w + 1/2 ||q||^2 = 1/2 ||q - e_w||^2 - 1/2``
    with ``e_w`` the one-hot vector of the next token: Quad is a squared error between the logits and
    the next token (half the Brier score, minus 1/2). So any vector in ``R^V`` can be scored, for
    example a probability distribution. Shapes: ``predictions (n, V)``, ``targets (n,)`` -> scalar.
    """
    if predictions.dim() != 2 or targets.shape != predictions.shape[:1]:
        raise ValueError(f"predictions of shape {tuple(predictions.shape)} and targets of shape "
                         f"{tuple(targets.shape)} do not match: expected (n, V) and (n,)")
    if targets.dtype not in (torch.int64, torch.int32):
        raise TypeError(f"targets must hold integer token ids, got dtype {targets.dtype}")
    linear = predictions.gather(1, targets[:, None].long()).squeeze(1)
    return (0.5 * (predictions * predictions).sum(-1) - linear).mean()


def _check_loss_inputs(features, Phi, targets) -> None:
    if Phi.dim() != 2 or features.shape[-1] != Phi.shape[0]:
        raise ValueError(f"features of shape {tuple(features.shape)} do not match Phi of shape "
                         f"{tuple(Phi.shape)}: the last dimension of features must be d = Phi.shape[0]")
    if targets.shape != features.shape[:-1]:
        raise ValueError(f"targets have shape {tuple(targets.shape)}, expected {tuple(features.shape[:-1])} "
                         f"(one token id per position of features)")
    if targets.dtype not in (torch.int64, torch.int32):
        raise TypeError(f"targets must hold integer token ids, got dtype {targets.dtype}")


# ---------------------------------------------------------------- tokenizer and token streams


def train_tokenizer(corpus: Corpus, vocab_size: int):
    """A byte-level BPE tokenizer trained on ``corpus.train``, cached on disk; the book's words are single tokens.

    Returns a ``transformers.PreTrainedTokenizerFast`` whose end-of-text token is :data:`EOS` (id 0).

    Example: ``train_tokenizer(load_corpus(), 4096).encode(" great")`` -> one id.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    key = _digest({"corpus": corpus.fingerprint, "vocab_size": vocab_size, "boost": WORD_BOOST,
                   "words": _indicative_words(), "version": TRAIN_VERSION})
    path = cache_dir() / "tokenizers" / f"bpe-{key[:24]}.json"
    tokenizer = None
    if path.exists():
        try:
            tokenizer = Tokenizer.from_file(str(path))
        except Exception as error:  # a damaged file is retrained
            warnings.warn(f"the cached tokenizer {path} could not be read ({error}); training it again", stacklevel=2)
    if tokenizer is None:
        tokenizer = Tokenizer(models.BPE())
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tokenizer.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[EOS], show_progress=False,
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
        boost = [" ".join([f" {w}"] * WORD_BOOST) for w in _indicative_words()]
        tokenizer.train_from_iterator(list(corpus.train) + boost, trainer=trainer)
        try:
            with atomic_file(path) as temporary:
                tokenizer.save(str(temporary))
        except OSError as error:
            cache_write_failed(path, error)
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token=EOS, bos_token=EOS, unk_token=EOS,
                                   pad_token=EOS)


def _indicative_words() -> list[str]:
    from .data import TASKS

    words = []
    for spec in TASKS.values():
        for word in (*spec.words, *(w for group in spec.class_words for w in group)):
            if word not in words:
                words.append(word)
    return words


def encode_corpus(corpus: Corpus, tokenizer) -> tuple[torch.Tensor, torch.Tensor]:
    """The training and held-out documents as two token streams, each document preceded by :data:`EOS`.

    Returns int64 tensors of shapes (n_train_tokens,) and (n_held_out_tokens,), cached on disk.
    """
    key = _digest({"corpus": corpus.fingerprint, "tokenizer": _digest(tokenizer.backend_tokenizer.to_str())})
    path = cache_dir() / "tokenized" / f"{key[:24]}.npz"
    if path.exists():
        try:
            with np.load(path) as stored:
                return torch.from_numpy(stored["train"].astype(np.int64)), torch.from_numpy(
                    stored["held_out"].astype(np.int64))
        except Exception as error:
            warnings.warn(f"the cached token stream {path} could not be read ({error}); encoding again", stacklevel=2)
    eos = tokenizer.convert_tokens_to_ids(EOS)
    streams = {}
    for part in ("train", "held_out"):
        encoded = tokenizer.backend_tokenizer.encode_batch(getattr(corpus, part))
        ids = [eos]
        for item in encoded:
            ids.extend(item.ids)
            ids.append(eos)
        streams[part] = np.asarray(ids, dtype=np.uint16 if tokenizer.vocab_size < 2**16 else np.int32)
    try:
        with atomic_file(path) as temporary, open(temporary, "wb") as handle:
            np.savez(handle, **streams)
    except OSError as error:
        cache_write_failed(path, error)
    return torch.from_numpy(streams["train"].astype(np.int64)), torch.from_numpy(streams["held_out"].astype(np.int64))


# ---------------------------------------------------------------- training


def pretrain(settings: Settings | None = None, corpus: Corpus | None = None, *, cache: bool = True,
             progress: bool = True, verbose: bool = True) -> Run:
    """Train (or load from the run cache) a small GPT-2 with ``settings.objective``.

    Parameters
    ----------
    settings : Settings, optional
        Default :func:`book_settings` ``("ce")``.
    corpus : Corpus, optional
        Default ``load_corpus(settings.source)``.
    cache : bool
        Read and write the run cache (``cache_dir()/"runs"``).
    progress : bool
        Show a progress bar while training.
    verbose : bool
        Print the corpus and tokenizer sizes and :meth:`Run.summary`.

    Returns
    -------
    Run

    Raises
    ------
    ValueError
        Bad settings (see :class:`Settings`), or a corpus too short for one window of
        ``block_size + 1`` tokens in its training or held-out part.

    With ``settings.fixed_phi`` the cross-entropy run :meth:`Settings.phi_source` is trained (or
    loaded) first, on the same corpus, and its final ``Phi``, rescaled (:func:`fixed_phi`), is kept fixed.

    Example: ``run = pretrain(book_settings("quad")); run.language_model()``.
    """
    from . import device as best_device

    settings = settings if settings is not None else book_settings("ce")
    if not isinstance(settings, Settings):
        raise TypeError(f"settings must be a lmtheory.train.Settings, got {type(settings).__name__}")
    if corpus is None:
        corpus = _book_corpus(settings.source, str(cache_dir()))
        if verbose:
            say(corpus.summary())
    tokenizer = train_tokenizer(corpus, settings.vocab_size)
    train_ids, held_ids = encode_corpus(corpus, tokenizer)
    for part, ids in (("training", train_ids), ("held-out", held_ids)):
        if len(ids) < settings.block_size + 1:
            raise ValueError(f"the corpus's {part} part has {len(ids)} tokens, too short for one window of "
                             f"block_size + 1 = {settings.block_size + 1} tokens: use a longer corpus or a "
                             f"smaller block_size")
    if verbose:
        say(f"tokens (BPE, V = {tokenizer.vocab_size:,}): {len(train_ids):,} train / {len(held_ids):,} held-out")
    where = best_device()
    key = _digest({"settings": dataclasses.asdict(settings), "corpus": corpus.fingerprint,
                   "tokenizer": _digest(tokenizer.backend_tokenizer.to_str()), "device": where.type,
                   "version": TRAIN_VERSION})
    folder = cache_dir() / "runs" / key[:32]
    run = _load_run(folder, settings, tokenizer) if cache else None
    if run is None:
        phi = None
        if settings.fixed_phi:
            phi = fixed_phi(pretrain(settings.phi_source(), corpus, cache=cache, progress=progress, verbose=False))
        resume = folder.with_name(folder.name + ".resume.pt") if cache else None
        with _one_thread_on_cpu(where):
            run = _train(settings, tokenizer, train_ids, held_ids, where, progress, phi=phi, resume=resume)
        run.corpus = corpus.summary()
        if cache:
            _save_run(folder, run)
            with contextlib.suppress(OSError):  # stored (or not storable): the resume point has done its work
                resume.unlink(missing_ok=True)
    if verbose:
        say(run.summary())
    return run


@functools.lru_cache(maxsize=2)
def _book_corpus(source: str | None, cache: str) -> Corpus:
    """``load_corpus(source)``, built once per process (about 5 s each time otherwise) and per cache folder."""
    return load_corpus(source, verbose=False)


def _new_model(settings: Settings, tokenizer):
    from transformers import GPT2Config, GPT2LMHeadModel

    eos = tokenizer.convert_tokens_to_ids(EOS)
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=settings.block_size, n_embd=settings.n_embd,
                        n_layer=settings.n_layer, n_head=settings.n_head, resid_pdrop=0.0, embd_pdrop=0.0,
                        attn_pdrop=0.0, bos_token_id=eos, eos_token_id=eos,
                        tie_word_embeddings=not settings.fixed_phi)
    return GPT2LMHeadModel(config)


def _losses(model, windows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Features, Phi and targets of a batch of windows (B, T + 1)."""
    features = model.transformer(input_ids=windows[:, :-1], use_cache=False).last_hidden_state
    return features, model.lm_head.weight.T, windows[:, 1:]


def _held_out_windows(held_ids: torch.Tensor, settings: Settings) -> torch.Tensor:
    """The non-overlapping held-out windows every checkpoint is scored on, shape (n, block_size + 1)."""
    T = settings.block_size
    n = max(1, min(settings.eval_tokens, len(held_ids) - 1) // T)
    return torch.stack([held_ids[i * T: i * T + T + 1] for i in range(n)])


@torch.no_grad()
def _evaluate(model, held_ids: torch.Tensor, settings: Settings, where) -> tuple[float, float]:
    """Held-out cross-entropy and Quad loss per token, on non-overlapping windows."""
    model.eval()
    windows = _held_out_windows(held_ids, settings)
    n = len(windows)
    totals = np.zeros(2)
    for batch in windows.split(64):
        features, Phi, targets = _losses(model, batch.to(where))
        totals += [float(ce_loss(features, Phi, targets)) * len(batch), float(quad_loss(features, Phi, targets)) * len(batch)]
    model.train()
    return float(totals[0] / n), float(totals[1] / n)


def _train(settings: Settings, tokenizer, train_ids, held_ids, where, progress: bool, phi=None,
           resume=None) -> Run:
    """Train from scratch; ``phi`` (d, V), given exactly when ``settings.fixed_phi``, is the fixed ``Phi``.

    With a ``resume`` file, the state after each checkpoint (and at least every :data:`RESUME_EVERY_S`
    seconds) is saved there, and a run that finds the file continues from it: interrupted (Ctrl-C, a
    killed kernel) and resumed, it ends with the same weights as a run that was never interrupted."""
    if (phi is not None) != settings.fixed_phi:
        raise ValueError(f"phi must be given exactly when settings.fixed_phi is True "
                         f"(fixed_phi = {settings.fixed_phi})")
    torch.manual_seed(settings.seed)
    model = _new_model(settings, tokenizer).to(where).train()
    if phi is not None:
        head = model.lm_head.weight
        if tuple(phi.shape) != (head.shape[1], head.shape[0]):
            raise ValueError(f"phi has shape {tuple(phi.shape)}, expected (d, V) = {(head.shape[1], head.shape[0])}")
        with torch.no_grad():
            head.copy_(phi.T)
        head.requires_grad_(False)
    trained = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in trained if p.dim() >= 2]
    no_decay = [p for p in trained if p.dim() < 2]
    optimiser = torch.optim.AdamW([{"params": decay, "weight_decay": settings.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=settings.lr, betas=(0.9, 0.95))

    def rate(step: int) -> float:  # warm-up, then cosine down to a tenth
        if step < settings.warmup:
            return (step + 1) / settings.warmup
        progress_ = (step - settings.warmup) / max(1, settings.steps - settings.warmup)
        return 0.1 + 0.45 * (1 + math.cos(math.pi * min(1.0, progress_)))  # a Python float: resume points store it

    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, rate)
    generator = torch.Generator().manual_seed(settings.seed)
    objective = _LOSSES[settings.objective]
    keep = set(settings.checkpoint_steps())
    T = settings.block_size
    checkpoints, states, seconds, recent, done = [], [], 0.0, [], 0
    saved = _load_resume(resume) if resume is not None else None
    if saved is not None:
        model.load_state_dict(saved["model"])
        optimiser.load_state_dict(saved["optimiser"])
        schedule.load_state_dict(saved["schedule"])
        generator.set_state(saved["generator"])
        checkpoints = [Checkpoint(**c) for c in saved["checkpoints"]]
        states, seconds, recent, done = saved["states"], saved["seconds"], saved["recent"], saved["step"]
        say(f"Resuming an interrupted training run ({settings.objective}) at step {done:,} of {settings.steps:,}")
    bar = tqdm(range(done + 1, settings.steps + 1), initial=done, total=settings.steps,
               desc=f"training ({settings.objective})", disable=not progress, mininterval=1.0)
    last_saved = time.perf_counter()
    for step in bar:
        start = time.perf_counter()
        offsets = torch.randint(0, len(train_ids) - T, (settings.batch_size,), generator=generator)
        windows = torch.stack([train_ids[o: o + T + 1] for o in offsets.tolist()]).to(where)
        loss = objective(*_losses(model, windows))
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        if settings.clip > 0:
            torch.nn.utils.clip_grad_norm_(trained, settings.clip)
        optimiser.step()
        schedule.step()
        value = float(loss.detach())
        seconds += time.perf_counter() - start
        if not np.isfinite(value):
            raise FloatingPointError(f"the {settings.objective} loss became {value} at step {step}: lower lr "
                                     f"(now {settings.lr}) or clip")
        recent = (recent + [value])[-20:]
        bar.set_postfix(loss=f"{value:.3f}", refresh=False)
        if step in keep:
            ce, quad = _evaluate(model, held_ids, settings, where)
            checkpoints.append(Checkpoint(step, step * settings.tokens_per_step, ce, quad, float(np.mean(recent))))
            states.append({k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()})
        if resume is not None and step < settings.steps and (step in keep or time.perf_counter() - last_saved
                                                            > RESUME_EVERY_S):
            _save_resume(resume, {"step": step, "model": model.state_dict(), "optimiser": optimiser.state_dict(),
                                  "schedule": schedule.state_dict(), "generator": generator.get_state(),
                                  "checkpoints": [dataclasses.asdict(c) for c in checkpoints], "states": states,
                                  "seconds": seconds, "recent": recent})
            last_saved = time.perf_counter()
    bar.close()
    return Run(settings, checkpoints, states, tokenizer, seconds, where.type, corpus="")


@torch.no_grad()
def quad_yardsticks(ce_run: Run, quad_run: Run, corpus: Corpus | None = None, *, index: int = -1) -> dict:
    """Held-out Quad loss of three next-token predictors, on the windows the checkpoints were scored on.

    * ``"unigram"``: the same vector at every position, the token frequencies of the training text
      (what a model knows before it reads the context);
    * ``"quad model"``: ``q = Phi^T f`` of ``quad_run`` at checkpoint ``index`` (its own Quad loss;
      ``quad_run`` may have been trained with ``Phi`` fixed);
    * ``"ce model's probabilities"``: ``q = softmax(Phi^T f)`` of ``ce_run`` at checkpoint ``index``,
      the cross-entropy model's next-token distribution scored as a prediction vector.

    The Quad loss is a squared error (:func:`quad_score`), so the three are on one scale: how far the
    Quad model got from the unigram level towards what the cross-entropy model's distribution achieves.

    Parameters
    ----------
    ce_run, quad_run : Run
        Runs with objectives ``"ce"`` and ``"quad"`` on the same corpus, tokenizer and block size.
    corpus : Corpus, optional
        Default ``load_corpus(ce_run.settings.source)``; pass the corpus the runs were trained on.
    index : int
        The checkpoint of both runs (default: the last).

    Returns
    -------
    dict
        The three losses above (floats), and ``"positions"``, the number of held-out positions.
    """
    from . import device as best_device

    for run, objective in ((ce_run, "ce"), (quad_run, "quad")):
        if not isinstance(run, Run) or run.settings.objective != objective:
            raise ValueError(f"expected a Run trained with objective {objective!r}, got "
                             f"{getattr(getattr(run, 'settings', None), 'objective', type(run).__name__)!r}")
    shared = ("source", "vocab_size", "block_size", "eval_tokens")
    differ = [name for name in shared if getattr(ce_run.settings, name) != getattr(quad_run.settings, name)]
    if differ:
        raise ValueError(f"the two runs differ in {', '.join(differ)}: they must share corpus, tokenizer and "
                         f"held-out windows ({', '.join(shared)})")
    corpus = corpus if corpus is not None else _book_corpus(ce_run.settings.source, str(cache_dir()))
    train_ids, held_ids = encode_corpus(corpus, ce_run.tokenizer)
    windows = _held_out_windows(held_ids, ce_run.settings)
    unigram = torch.bincount(train_ids, minlength=len(ce_run.tokenizer)).double()
    unigram = (unigram / unigram.sum()).float()
    where = best_device()
    models = {name: run.model(index).to(where) for name, run in (("ce", ce_run), ("quad", quad_run))}
    totals = {"unigram": 0.0, "quad model": 0.0, "ce model's probabilities": 0.0}
    with _one_thread_on_cpu(where):
        _score_yardsticks(models, windows, unigram, where, totals)
    positions = windows[:, 1:].numel()
    return {**{name: total / positions for name, total in totals.items()}, "positions": positions}


def _one_thread_on_cpu(where):
    """:func:`single_thread` on the CPU (tiny models: nine times faster on two shared cores), else nothing."""
    return single_thread() if torch.device(where).type == "cpu" else contextlib.nullcontext()


def _score_yardsticks(models, windows, unigram, where, totals) -> None:
    """Add each yardstick's summed Quad loss over ``windows`` to ``totals`` (see :func:`quad_yardsticks`)."""
    for batch in windows.split(16):
        targets = batch[:, 1:].reshape(-1).to(where)
        logits = {}
        for name, model in models.items():
            features, Phi, _ = _losses(model, batch.to(where))
            logits[name] = features.reshape(-1, features.shape[-1]) @ Phi
        n = len(targets)
        totals["unigram"] += n * float(0.5 * unigram.pow(2).sum() - unigram.to(where)[targets].mean())
        totals["quad model"] += n * float(quad_score(logits["quad"], targets))
        totals["ce model's probabilities"] += n * float(quad_score(torch.softmax(logits["ce"], -1), targets))


FEATURE_KINDS = {"f": "f(s)", "mean": "Phi p_f(s)"}


def probe_run(run: Run, tasks: dict, *, checkpoints=(-1,), features=("f", "mean")):
    """Linear probes (:func:`lmtheory.probe.linear_probe`) on the features of a run's checkpoints.

    For each checkpoint and task the features of every text, with the task's prompt appended, are
    read at its last token (texts longer than the model's context ``block_size`` lose their
    beginning), and one probe is fitted per kind of features on the training texts and scored on
    the test texts.

    Parameters
    ----------
    run : Run
    tasks : dict
        ``{name: (train, test)}``, two :class:`lmtheory.data.Task` splits per task.
    checkpoints : sequence of int
        Checkpoint indices (default: the last only).
    features : sequence of {"f", "mean"}
        ``"f"``: the features ``f(s)``; ``"mean"``: the conditional mean features ``Phi p_f(s)``.

    Returns
    -------
    pandas.DataFrame
        One row per (checkpoint, task, features): ``model`` (:attr:`Settings.kind`), ``seed``,
        ``checkpoint``, ``step``, ``held-out CE``, ``task``, ``features`` (``"f(s)"`` or
        ``"Phi p_f(s)"``), ``accuracy`` and ``error (%)`` on the test texts, ``logistic loss``
        (test, nats), ``chance`` (the majority class's share of the test texts), ``C`` and
        ``unconverged`` (scikit-learn's convergence warnings during the fit, counted, not shown) and
        ``solver``.

    Example: ``probe_run(run, {"bbc": (train, test)}, checkpoints=range(len(run.checkpoints)))``.
    """
    import pandas as pd
    from sklearn.exceptions import ConvergenceWarning

    from .probe import linear_probe

    if not isinstance(run, Run):
        raise TypeError(f"run must be a lmtheory.train.Run, got {type(run).__name__}")
    if not isinstance(tasks, dict) or not tasks:
        raise ValueError(f"tasks must be a non-empty dict {{name: (train, test)}}, got {tasks!r}")
    for name, pair in tasks.items():
        if not (isinstance(pair, tuple) and len(pair) == 2 and all(hasattr(t, "texts") for t in pair)):
            raise ValueError(f"tasks[{name!r}] must be a pair (train, test) of lmtheory.data.Task, got {pair!r}")
    for kind in features:
        if kind not in FEATURE_KINDS:
            raise ValueError(f"unknown features {kind!r}: choose among {tuple(FEATURE_KINDS)}")
    indices = [run._index(i) for i in checkpoints]
    rows = []
    for i in indices:
        lm = run.language_model(i)
        checkpoint = run.checkpoints[i]
        for name, (train, test) in tasks.items():
            with warnings.catch_warnings(), _one_thread_on_cpu(lm.device):
                warnings.filterwarnings("ignore", message=".*longer than .* tokens")
                extracted = [lm.features(split.texts, prompt=split.prompt, max_length=run.settings.block_size,
                                         progress=False) for split in (train, test)]
            labels, counts = np.unique(test.labels, return_counts=True)
            for kind in features:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always", ConvergenceWarning)
                    probe = linear_probe(getattr(extracted[0], kind), train.labels, getattr(extracted[1], kind),
                                         test.labels)
                unconverged = sum(issubclass(w.category, ConvergenceWarning) for w in caught)
                for w in caught:
                    if not issubclass(w.category, ConvergenceWarning):
                        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
                rows.append({"model": run.settings.kind, "seed": run.settings.seed, "checkpoint": i,
                             "step": checkpoint.step, "held-out CE": checkpoint.held_out_ce, "task": name,
                             "features": FEATURE_KINDS[kind], "accuracy": probe.test_accuracy,
                             "error (%)": 100 * (1 - probe.test_accuracy), "logistic loss": probe.test_loss,
                             "chance": counts.max() / counts.sum(), "C": probe.C, "unconverged": unconverged,
                             "solver": probe.solver})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- the run cache


def _digest(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _save_resume(path, state: dict) -> None:
    """Store the state of an unfinished run atomically (a failed write costs only the resume point)."""
    try:
        with atomic_file(path) as temporary:
            torch.save(state, temporary)
    except OSError as error:
        cache_write_failed(path, error)


def _load_resume(path) -> dict | None:
    """The state an interrupted run saved in ``path``, or None (none there, or unreadable: then it is removed)."""
    if not path.exists():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        warnings.warn(f"the resume point {path} could not be read ({type(error).__name__}: {error}); training "
                      f"from the start", stacklevel=4)
        path.unlink(missing_ok=True)
        return None


def _save_run(folder, run: Run) -> None:
    """Store a finished run atomically; if the cache cannot be written, warn and keep the run in memory."""
    meta = {"settings": dataclasses.asdict(run.settings), "train_seconds": run.train_seconds,
            "device": run.device, "corpus": run.corpus, "checkpoints": [dataclasses.asdict(c) for c in run.checkpoints]}
    try:
        with atomic_folder(folder) as temporary:
            torch.save(run.states, temporary / "states.pt")
            (temporary / "run.json").write_text(json.dumps(meta))
    except OSError as error:
        cache_write_failed(folder, error)


def _load_run(folder, settings: Settings, tokenizer) -> Run | None:
    if not (folder / "run.json").exists():
        return None
    try:
        meta = json.loads((folder / "run.json").read_text())
        if meta["settings"] != dataclasses.asdict(settings):
            raise ValueError("its settings differ from the requested ones")
        states = torch.load(folder / "states.pt", map_location="cpu", weights_only=True)
        checkpoints = [Checkpoint(**c) for c in meta["checkpoints"]]
        if len(states) != len(checkpoints):
            raise ValueError(f"{len(states)} weight sets for {len(checkpoints)} checkpoints")
        run = Run(settings, checkpoints, states, tokenizer, meta["train_seconds"], meta["device"], meta["corpus"],
                  from_cache=True)
        run.model(-1)  # loads the weights into a fresh model: a mismatch fails here, not in a chapter
        return run
    except Exception as error:
        warnings.warn(f"the cached run in {folder} could not be loaded ({type(error).__name__}: {error}); "
                      f"training it again", stacklevel=3)
        shutil.rmtree(folder, ignore_errors=True)
        return None
