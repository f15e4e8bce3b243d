"""Zero-shot classification by comparing next-word probabilities; chapter 2 explains it.

Append a prompt to a text (``" This movie is"``) and a language model's next-word distribution
``p(s)`` already says which class the text belongs to: the zero-shot rule predicts the class whose
words are together most probable. Everything here is computed from the features ``f(s)`` of
:mod:`lmtheory.features` and the output embeddings: ``log p(s)_w = phi_w^T f(s) + b_w - log Z(f(s))``.

* :func:`token_ids`, :func:`logits`, :func:`word_logprobs`, :func:`class_scores`: the formula, word by word;
* :func:`zero_shot`, :func:`compare_pairs`, :func:`class_recall`: the rule's accuracy, chance, lean and AUC;
* :func:`sample_test_split`, :func:`task_features`: a balanced test sample and its features, once per prompt;
* :func:`top_next_words`, :func:`next_word_table`: what the model expects after the prompt;
* :func:`parse_words`, :func:`explore`: what chapter 2's explorer (:func:`lmtheory.widgets.zero_shot_explorer`)
  computes from a prompt and comma-separated words; :func:`explore_grid`: the same for every prompt and
  pair of word lists (the explorer's static and website twins).

>>> feats = task_features(lm, sent, sent.prompt)                            # doctest: +SKIP
>>> zero_shot(lm, feats, sent.labels, [["terrible"], ["great"]])["accuracy"]  # doctest: +SKIP
0.71
"""

from __future__ import annotations

import dataclasses
import warnings
import weakref

import numpy as np
import pandas as pd
import torch
from scipy.special import logsumexp
from sklearn.metrics import roc_auc_score

from .checks import check_int, check_language_model
from .data import Task, load_task
from .features import Features, word_tokens

__all__ = ["TOPIC_WORDS", "sample_test_split", "task_features", "token_ids", "logits", "word_logprobs",
           "class_scores", "zero_shot", "compare_pairs", "class_recall", "top_next_words", "next_word_table",
           "parse_words", "explore", "explore_grid"]

#: Chapter 2's class words for topics, three per class: AG News's four topics, then BBC News's five.
TOPIC_WORDS = {
    "World": ("world", "war", "government"), "Sports": ("sports", "football", "game"),
    "Business": ("business", "economy", "market"), "Sci/Tech": ("technology", "science", "computers"),
    "business": ("business", "economy", "market"), "entertainment": ("entertainment", "music", "film"),
    "politics": ("politics", "government", "election"), "sports": ("sports", "football", "game"),
    "tech": ("technology", "computers", "internet"),
}
#: Model -> {(prompt, texts, words): Features}: each prompt's features are computed once per session.
_FEATURES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
#: The Features arrays with one row per text (what :func:`task_features` takes rows of).
_ROW_ARRAYS = ("f", "mean", "log_z", "subset_logits", "subset_probs", "projected")


def sample_test_split(name: str, n: int, *, verbose: bool = True) -> Task:
    """A class-balanced sample of ``n`` test texts of task ``name`` (the whole split if it is smaller).

    The prompt comes without its trailing space (``" This movie is"``), so that the next token is a
    word with its usual leading space; chapter 2 explains why. ``verbose`` prints the sample's
    :meth:`~lmtheory.data.Task.summary` (sizes, classes, source), wrapped by :func:`lmtheory.prose.say`.

    Returns
    -------
    Task
        ``min(n, size of the split)`` texts, ``labels`` of shape (n,).

    Example: ``sample_test_split("sst2", 200).labels.shape`` -> ``(200,)``.
    """
    n = check_int(n, "n", low=1)
    with warnings.catch_warnings():  # a split smaller than n is used whole, as documented
        warnings.filterwarnings("ignore", message=r"n = .* is more than the", category=UserWarning)
        return load_task(name, "test", n=n, trailing_space=False, verbose=verbose)


def _check_task(task) -> Task:
    if not (hasattr(task, "texts") and hasattr(task, "labels") and hasattr(task, "prompt")):
        raise TypeError(f"task must be a Task from lmtheory.data.load_task, got {type(task).__name__} {task!r:.60}")
    return task


def _check_rows(rows, n: int) -> np.ndarray:
    """``rows`` as a non-empty 1-D integer array of indices into ``n`` texts."""
    rows = np.asarray(rows)
    if rows.ndim != 1 or rows.size == 0 or not np.issubdtype(rows.dtype, np.integer):
        raise ValueError(f"rows must be a non-empty list of integer indices, got {rows.tolist()!r:.80}")
    if rows.min() < 0 or rows.max() >= n:
        raise ValueError(f"rows must lie in [0, {n - 1}] (the task has {n} texts), got {rows.min()} .. {rows.max()}")
    return rows


def _take(feats: Features, rows: np.ndarray) -> Features:
    """The features of the texts ``rows`` only."""
    return dataclasses.replace(feats, **{name: getattr(feats, name)[rows] for name in _ROW_ARRAYS
                                         if getattr(feats, name) is not None})


def task_features(lm, task, prompt: str, *, rows=None) -> Features:
    """Features of the task's texts with ``prompt`` appended, each prompt computed once per session.

    Parameters
    ----------
    lm : LanguageModel
    task : Task
        ``texts`` (n of them); its ``words`` give the subset arrays of the whole task's features.
    prompt : str
        Appended to every text exactly as given; ``""`` for none.
    rows : list of int, optional
        Only these texts: rows of the whole task's features if those were computed already (no model
        run), else the features of these texts alone (without a word subset).

    Returns
    -------
    Features
        ``f`` of shape (n, d), or (len(rows), d) with ``rows``. Also cached on disk by
        :func:`lmtheory.features.extract_features`.

    Example: ``task_features(lm, sent, " This movie is", rows=[0, 3]).f.shape`` -> ``(2, d)``.
    """
    check_language_model(lm)
    task = _check_task(task)
    if not isinstance(prompt, str):
        raise TypeError(f"prompt must be a string, got {type(prompt).__name__} {prompt!r}")
    store = _FEATURES.setdefault(lm, {})
    whole_key = (prompt, tuple(task.texts), tuple(task.words))
    if rows is None:
        if whole_key not in store:
            store[whole_key] = lm.features(task.texts, prompt, words=list(task.words))
        return store[whole_key]
    rows = _check_rows(rows, len(task.texts))
    if whole_key in store:
        return _take(store[whole_key], rows)
    texts = [task.texts[i] for i in rows]
    key = (prompt, tuple(texts), None)
    if key not in store:
        store[key] = lm.features(texts, prompt)
    return store[key]


def token_ids(lm, word: str) -> list[int]:
    """The ids of a word's single-token variants (``" w"``, then ``"w"``), as the protocol counts them.

    Raises a ValueError naming the word when neither variant is a single token of ``lm``.
    Returns a list of one or two ints. Example: ``token_ids(lm, "great")`` -> ids of ``" great"``, ``"great"``.
    """
    if not isinstance(word, str):
        raise TypeError(f"word must be a string, got {type(word).__name__} {word!r}")
    return word_tokens(lm, [word])[0]


def _check_features(feats) -> Features:
    if not isinstance(feats, Features):
        raise TypeError(f"feats must be Features (from lm.features or task_features), got {type(feats).__name__}")
    return feats


def logits(lm, feats, ids=None) -> torch.Tensor:
    """The logits ``phi_w^T f(s) + b_w`` of the tokens ``ids`` at each text's features.

    Parameters
    ----------
    lm : LanguageModel
    feats : Features
        ``f`` of shape (n, d).
    ids : list of int, optional
        Token ids (length k); all V tokens if None.

    Returns
    -------
    torch.Tensor, shape (n, k) or (n, V), float32 on the CPU

    Example: ``torch.log_softmax(logits(lm, feats), dim=1)`` is ``log p(s)`` over the vocabulary.
    """
    ids = range(lm.vocab_size) if ids is None else ids
    return torch.from_numpy(lm.logits(_check_features(feats).f, ids))


def _check_words(words, name: str) -> list[str]:
    if isinstance(words, str) or not hasattr(words, "__iter__"):
        raise TypeError(f"{name} must be a list of words, got {words!r}; for one word write [{words!r}]")
    words = list(words)
    if not words:
        raise ValueError(f"{name} is empty; give at least one word, e.g. ['great']")
    return words


def word_logprobs(lm, feats, words) -> np.ndarray:
    """``log p(s)_w`` for every text and word, summing each word's single-token variants.

    Parameters
    ----------
    lm : LanguageModel
    feats : Features
        ``f`` (n, d) and ``log_z`` (n,).
    words : list of str, length m
        Each must have a single-token variant (see :func:`token_ids`).

    Returns
    -------
    ndarray, shape (n, m), float32

    Example: ``word_logprobs(lm, feats, ["great", "terrible"]).shape`` -> ``(n, 2)``.
    """
    words = _check_words(words, "words")
    feats = _check_features(feats)
    return np.stack([torch.logsumexp(logits(lm, feats, token_ids(lm, w)), dim=1).numpy() - feats.log_z
                     for w in words], 1)


def _check_class_words(class_words) -> list[list[str]]:
    if isinstance(class_words, str) or not hasattr(class_words, "__iter__"):
        raise TypeError(f"class_words must be a list of word lists, one per class, got {class_words!r}")
    class_words = [_check_words(words, f"class_words[{c}]") for c, words in enumerate(class_words)]
    if len(class_words) < 2:
        raise ValueError(f"class_words must list the words of at least two classes, got {len(class_words)}")
    return class_words


def class_scores(lm, feats, class_words) -> np.ndarray:
    """The log of the total probability of each class's words, for every text.

    ``class_words[c]`` lists the words of class ``c`` (at least two classes). Returns an ndarray of
    shape (n, number of classes). Example: ``class_scores(lm, feats, [["bad"], ["good"]]).argmax(1)``.
    """
    return np.stack([logsumexp(word_logprobs(lm, feats, words), axis=1)
                     for words in _check_class_words(class_words)], 1)


def _check_labels(labels, n: int, n_classes: int) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) != n:
        raise ValueError(f"labels must have shape ({n},), one per text of feats, got shape {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0 or labels.max() >= n_classes:
        raise ValueError(f"labels must be integers in [0, {n_classes - 1}] (one class per entry of class_words), "
                         f"got values {np.unique(labels)[:10].tolist()}")
    return labels


def zero_shot(lm, feats, labels, class_words) -> dict:
    """Zero-shot accuracy of the rule "predict the class whose words are most probable".

    Parameters
    ----------
    lm : LanguageModel
    feats : Features
        Features of n texts (``f`` of shape (n, d)).
    labels : array of int, shape (n,)
        The true classes, in ``0 .. len(class_words) - 1``.
    class_words : list of lists of str
        ``class_words[c]`` lists class c's words.

    Returns
    -------
    dict
        ``accuracy``, ``chance`` (the largest class's share), and for two classes also
        ``predicted positive`` (the share of texts predicted as class 1) and ``AUC``, the ROC AUC of the
        score ``log p(class 1 words) - log p(class 0 words)`` (which needs texts of both classes).

    Example: ``zero_shot(lm, feats, labels, [["terrible"], ["great"]])["AUC"]``.
    """
    scores = class_scores(lm, _check_features(feats), class_words)
    labels = _check_labels(labels, feats.n, scores.shape[1])
    result = {"accuracy": float((scores.argmax(1) == labels).mean()),
              "chance": float(np.bincount(labels).max() / len(labels))}
    if scores.shape[1] == 2:
        if len(np.unique(labels)) < 2:
            raise ValueError("labels hold a single class; the AUC of a two-class rule needs texts of both")
        margin = scores[:, 1] - scores[:, 0]
        result["predicted positive"] = float((margin > 0).mean())
        result["AUC"] = float(roc_auc_score(labels, margin))
    return result


def compare_pairs(lm, feats, labels, pairs) -> pd.DataFrame:
    """:func:`zero_shot` for each pair ``(positive word, negative word)`` of a two-class task.

    Class 1 is positive, class 0 negative. Returns a DataFrame with one row per pair and columns
    ``positive words``, ``negative words``, ``accuracy``, ``chance``, ``predicted positive``, ``AUC``.
    Example: ``compare_pairs(lm, feats, labels, [("great", "terrible"), (":)", ":(")])``.
    """
    pairs = list(pairs)
    if not pairs:
        raise ValueError("pairs is empty; give at least one (positive word, negative word) pair")
    for i, pair in enumerate(pairs):
        if isinstance(pair, str) or len(pair) != 2:
            raise ValueError(f"pairs[{i}] = {pair!r} must be a pair (positive word, negative word)")
    return pd.DataFrame([{"positive words": pos, "negative words": neg,
                          **zero_shot(lm, feats, labels, [[neg], [pos]])} for pos, neg in pairs])


def class_recall(lm, feats, labels, class_words, label_names) -> dict:
    """The share of each class's texts that the zero-shot rule gets right.

    ``labels`` (n,), ``class_words`` and ``label_names`` one entry per class. Returns a dict
    ``"recall <name>" -> share``. Example: ``class_recall(lm, feats, labels, words, ("World", "Sports", ...))``.
    """
    scores = class_scores(lm, _check_features(feats), class_words)
    labels = _check_labels(labels, feats.n, scores.shape[1])
    if len(label_names) != scores.shape[1]:
        raise ValueError(f"label_names has {len(label_names)} names but class_words {scores.shape[1]} classes")
    predicted = scores.argmax(1)
    return {f"recall {name}": float((predicted[labels == c] == c).mean()) for c, name in enumerate(label_names)}


def top_next_words(lm, feats, rows, k: int = 6) -> list[str]:
    """The ``k`` most likely next tokens, with their probabilities, after each of the texts ``rows``.

    Returns one string per row, e.g. ``"' a' 0.21, ' the' 0.09, ..."``.
    Example: ``top_next_words(lm, feats, [0, 1], k=3)``.
    """
    rows = _check_rows(rows, _check_features(feats).n)
    k = check_int(k, "k", low=1, high=lm.vocab_size)
    best = torch.log_softmax(logits(lm, _take(feats, rows)), dim=1).topk(k, dim=1)
    return [", ".join(f"{lm.tokenizer.decode([int(t)])!r} {np.exp(float(v)):.2f}" for v, t in zip(values, tokens))
            for values, tokens in zip(best.values, best.indices)]


def _short(text: str, width: int = 70) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def next_word_table(lm, task, feats, rows, tokens, k: int = 6) -> pd.DataFrame:
    """A few texts with the prompt, their label, the top next words and some indicative tokens' probabilities.

    Parameters
    ----------
    lm : LanguageModel
    task : Task
        The texts, labels and prompt that ``feats`` were computed from.
    feats : Features
        With a word subset: ``subset_probs`` (n, k') and ``subset_tokens``.
    rows : list of int
        The texts shown, one table row each.
    tokens : list of str
        Subset tokens whose probabilities get a column ``p('<token>')`` each.
    k : int
        Next words shown per text.

    Returns
    -------
    pandas.DataFrame, len(rows) rows. Example: ``next_word_table(lm, sent, feats, [0, 9], [" great"])``.
    """
    rows = _check_rows(rows, _check_features(feats).n)
    missing = [t for t in tokens if t not in feats.subset_tokens]
    if missing:
        raise ValueError(f"tokens {missing} are not subset tokens of feats; these are: {feats.subset_tokens}")
    columns = [feats.subset_tokens.index(t) for t in tokens]
    return pd.DataFrame({
        "sentence + prompt": [_short(task.texts[i]) + task.prompt for i in rows],
        "label": [task.label_names[task.labels[i]] for i in rows],
        "top next words (probability)": top_next_words(lm, feats, rows, k),
        **{f"p({t!r})": feats.subset_probs[rows, j] for t, j in zip(tokens, columns)},
    })


def parse_words(text: str, name: str = "words") -> list[str]:
    """Comma-separated words as a list: ``"great, good"`` -> ``["great", "good"]``.

    Raises a ValueError naming ``name`` when ``text`` holds no word.
    """
    if not isinstance(text, str):
        raise TypeError(f"{name} must be a string of comma-separated words, got {type(text).__name__} {text!r}")
    words = [w.strip() for w in text.split(",") if w.strip()]
    if not words:
        raise ValueError(f"{name} holds no word ({text!r}); give at least one, e.g. 'great, good'")
    return words


def explore(lm, task, rows, prompt: str, positive: str, negative: str) -> dict:
    """The zero-shot result of chapter 2's explorer: ``prompt`` and comma-separated words per class.

    Parameters
    ----------
    lm : LanguageModel
    task : Task
        A two-class task, class 0 negative and class 1 positive.
    rows : list of int
        The explorer's texts (e.g. a balanced sample from :func:`lmtheory.data.balanced_indices`).
    prompt : str
        A new prompt runs the model on those texts once (see :func:`task_features`); new words are instant.
    positive, negative : str
        Comma-separated words, e.g. ``"great, good"``.

    Returns
    -------
    dict, as :func:`zero_shot` returns for two classes.

    Example: ``explore(lm, sent, rows, " This movie is", "great, good", "terrible, bad")["accuracy"]``.
    """
    if len(_check_task(task).label_names) != 2:
        raise ValueError(f"the explorer needs a two-class task, got classes {task.label_names}")
    pos, neg = parse_words(positive, "positive"), parse_words(negative, "negative")
    feats = task_features(lm, task, prompt, rows=rows)
    return zero_shot(lm, feats, np.asarray(task.labels)[np.asarray(rows)], [neg, pos])


def explore_grid(lm, task, rows, prompts, pairs) -> pd.DataFrame:
    """:func:`explore` for every prompt and pair of word lists, one row each (prompts outer, pairs inner).

    Parameters
    ----------
    lm : LanguageModel
    task : Task
        A two-class task, class 0 negative and class 1 positive.
    rows : list of int
        The explorer's texts.
    prompts : list of str, length r
    pairs : list of (str, str), length c
        ``(positive words, negative words)``, each comma-separated (``"great, good"``).

    Returns
    -------
    pandas.DataFrame, r * c rows
        Columns ``prompt``, ``positive``, ``negative`` and :func:`explore`'s ``accuracy``, ``chance``,
        ``predicted positive``, ``AUC``.

    Example: ``explore_grid(lm, sent, rows, [" This movie is", ""], [("great", "terrible")])``.
    """
    prompts, pairs = list(prompts), list(pairs)
    if not prompts or not pairs:
        raise ValueError(f"give at least one prompt and one pair, got {len(prompts)} prompts and {len(pairs)} pairs")
    for i, pair in enumerate(pairs):
        if isinstance(pair, str) or len(pair) != 2:
            raise ValueError(f"pairs[{i}] = {pair!r} must be a pair (positive words, negative words)")
    return pd.DataFrame([{"prompt": prompt, "positive": pos, "negative": neg,
                          **explore(lm, task, rows, prompt, pos, neg)}
                         for prompt in prompts for pos, neg in pairs])
