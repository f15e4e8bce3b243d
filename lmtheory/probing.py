"""The bookkeeping around chapter 7's linear probes: quiet warnings, word layouts, feature columns.

Explained in chapter 7. The chapter fits dozens of probes (:func:`lmtheory.probe.linear_probe`) on
the features of a language model (:func:`lmtheory.features.extract_features`); this module holds what
every one of those fits needs and the chapter does not teach:

* :func:`quietly` runs a call and prints its warnings as short notes;
* :func:`word_sets` and :func:`word_layout` read a task's word lists once and say where each list's
  tokens sit among the extracted subset logits;
* :func:`feature_columns` cuts one :class:`~lmtheory.features.Features` object into the table's
  columns (:data:`FEATURE_COLUMNS`);
* :class:`ProbeSet` fits probes by key, keeps which test texts each one gets right (for paired
  comparisons), and records the fits that stopped at the protocol's iteration limit; its
  :meth:`~ProbeSet.fit_table` fits every probe of the chapter's table, and
  :meth:`~ProbeSet.fit_standardised` the same probes again on standardised features.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning

from .checks import check_choice
from .features import word_tokens
from .probe import SOLVERS, bag_of_words_probe, linear_probe

__all__ = ["FEATURE_COLUMNS", "quietly", "word_sets", "word_layout", "feature_columns", "ProbeSet"]

#: The columns of chapter 7's table that read a language model, in the table's order: the features
#: ``f(s)``, ``Phi p_f(s)`` and the random ``A p_f(s)``, then the logits of three word sets (the last
#: one, the sentiment script's "positive" and "negative", only on sentiment tasks).
FEATURE_COLUMNS = ("f(s)", "Phi p_f(s)", "A p_f(s)", "subset logits", "class words", "positive negative")


def quietly(call, *args, **kwargs):
    """``call(*args, **kwargs)``, printing each warning it raises as a one-line note instead.

    Example: ``ids, tokens = quietly(word_tokens, lm, ["great", "zzzzqq"])`` prints
    ``  note: dropped 1 word(s) ...`` and returns what ``word_tokens`` returns.
    """
    if not callable(call):
        raise TypeError(f"call must be a function, got {type(call).__name__} {call!r:.60}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call(*args, **kwargs)
    for warning in caught:
        print(f"  note: {warning.message}")
    return result


def word_sets(task) -> dict[str, tuple[str, ...]]:
    """The word lists whose logits the chapter probes, by column name.

    Parameters
    ----------
    task : lmtheory.data.Task
        Its ``words`` (the 14 indicative words) and ``class_words`` (one or two sets).

    Returns
    -------
    dict
        ``"subset logits"`` -> ``task.words``; ``"class words"`` -> the first set of class words; and,
        when the task has a second set (the sentiment script's), ``"positive negative"`` -> it.

    Example: ``word_sets(train)["class words"]`` -> ``(':)', ':(')`` on a sentiment task.
    """
    for attribute in ("words", "class_words"):
        if not getattr(task, attribute, None):
            raise ValueError(f"the task has no {attribute}: word_sets needs a task from lmtheory.data.load_task, "
                             f"got {type(task).__name__}")
    sets = {"subset logits": tuple(task.words), "class words": tuple(task.class_words[0])}
    if len(task.class_words) > 1:
        sets["positive negative"] = tuple(task.class_words[1])
    return sets


def word_layout(lm, sets: dict) -> tuple[list[str], dict[str, list[int]]]:
    """One word list for every set, and where each set's tokens sit among that list's tokens.

    Features extracted with the returned ``words`` have one subset logit per token of
    ``word_tokens(lm, words)``; ``layout[name]`` holds the column positions of set ``name``'s tokens
    there, so that ``features.subset_logits[:, layout[name]]`` are that set's logits. Words with no
    single-token variant are dropped with a printed note (see :func:`quietly`).

    Parameters
    ----------
    lm : LanguageModel
    sets : dict
        Name -> list of words, e.g. from :func:`word_sets`.

    Returns
    -------
    words : list of str
        The words of all sets, each once, in order of first appearance.
    layout : dict
        Name -> list of int positions, one per token of that set.

    Example: ``words, layout = word_layout(lm, {"a": ["good", "bad"], "b": ["bad"]})`` gives
    ``words == ["good", "bad"]`` and ``layout["b"]`` the positions of the tokens of "bad".
    """
    if not isinstance(sets, Mapping) or not sets:
        raise ValueError(f"sets must be a non-empty dict of name -> list of words, got {sets!r:.80}")
    for name, words in sets.items():
        if isinstance(words, str):
            raise TypeError(f"sets[{name!r}] must be a list of words, got the string {words!r}; write [{words!r}]")
    words = list(dict.fromkeys(word for words in sets.values() for word in words))
    ids = quietly(word_tokens, lm, words)[0]
    layout = {name: [ids.index(i) for i in quietly(word_tokens, lm, members)[0]] for name, members in sets.items()}
    return words, layout


def feature_columns(features, layout: dict) -> dict[str, np.ndarray]:
    """The table's columns computed from one set of features: name -> array of shape (n, m).

    Parameters
    ----------
    features : lmtheory.features.Features
        Features of ``n`` texts, extracted with a ``projection`` (for ``A p_f(s)``) and with the word
        list of ``layout``.
    layout : dict
        Word set name -> positions among the subset logits (from :func:`word_layout`).

    Returns
    -------
    dict
        ``"f(s)"`` -> ``features.f`` (n, d); ``"Phi p_f(s)"`` -> ``features.mean`` (n, d);
        ``"A p_f(s)"`` -> ``features.projected`` (n, m); then, for each set of ``layout``,
        its name -> ``features.subset_logits[:, layout[name]]`` (n, k). The order is that of
        :data:`FEATURE_COLUMNS`.

    Example: ``feature_columns(feats, layout)["class words"].shape`` -> ``(800, 4)``.
    """
    if features.projected is None:
        raise ValueError("the features have no A p_f(s): extract them with projection=random_projection(lm)")
    unknown = [name for name in layout if name not in FEATURE_COLUMNS[3:]]
    if unknown:
        raise ValueError(f"unknown word set(s) {unknown} in layout; allowed: {list(FEATURE_COLUMNS[3:])}")
    k = 0 if features.subset_logits is None else features.subset_logits.shape[1]
    for name, positions in layout.items():
        if not positions or not all(0 <= p < k for p in positions):
            raise ValueError(f"layout[{name!r}] = {positions} must be non-empty positions in 0 .. {k - 1}, "
                             f"the features' {k} subset logits; extract them with the words of word_layout")
    columns = {"f(s)": features.f, "Phi p_f(s)": features.mean, "A p_f(s)": features.projected}
    columns.update({name: features.subset_logits[:, layout[name]] for name in FEATURE_COLUMNS if name in layout})
    return columns


class ProbeSet(Mapping):
    """Probes fitted by key, with the test texts each gets right and the fits that did not converge.

    ``probes.fit(key, ...)`` fits one probe and stores it: ``probes[key]`` is its
    :class:`~lmtheory.probe.ProbeResult`, ``probes.correct[key]`` a boolean array of shape
    ``(n_test,)`` saying which test texts it labels correctly, and ``key`` joins
    ``probes.unconverged`` if scikit-learn warned that some fit (of the cross-validation or the refit)
    stopped at the iteration limit. Other warnings are printed as notes.

    Parameters
    ----------
    multiclass_solver : str, optional
        The solver for tasks with more than two classes, one of ``lmtheory.probe.SOLVERS``; ``None``
        keeps the probe's own default. An explicit ``solver=`` in :meth:`fit` wins.

    Example: ``probes = ProbeSet("newton-cg"); probes.fit(("rt2", "f(s)"), x_tr, y_tr, x_te, y_te)``.
    """

    def __init__(self, multiclass_solver: str | None = None):
        self.multiclass_solver = check_choice(multiclass_solver, "multiclass_solver", SOLVERS)
        self.correct: dict = {}
        self.unconverged: list = []
        self._probes: dict = {}

    def fit(self, key, train_x, train_y, test_x, test_y, *, probe=linear_probe, **options):
        """Fit ``probe(train_x, train_y, test_x, test_y, **options)``, store it under ``key``, return it.

        Parameters
        ----------
        key : str or tuple of str
            Names the probe in this set and in notes, e.g. ``("rt2*", "f(s)")``.
        train_x, test_x : arrays of shape (n_train, m) and (n_test, m), or lists of texts
            Whatever ``probe`` takes (texts for :func:`lmtheory.probe.bag_of_words_probe`).
        train_y, test_y : arrays of int, shapes (n_train,) and (n_test,)
        probe : callable
            :func:`lmtheory.probe.linear_probe` (default) or another probe with its signature.
        **options
            Passed on to ``probe`` (``standardize=True``, ``solver=...``).
        """
        if not (isinstance(key, str) or (isinstance(key, tuple) and all(isinstance(k, str) for k in key))):
            raise TypeError(f"key must be a string or a tuple of strings, got {key!r:.80}")
        if len(np.unique(train_y)) > 2 and self.multiclass_solver is not None:
            options.setdefault("solver", self.multiclass_solver)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = probe(train_x, train_y, test_x, test_y, **options)
        if any(issubclass(w.category, ConvergenceWarning) for w in caught):
            self.unconverged.append(key)
        for w in caught:
            if not issubclass(w.category, ConvergenceWarning):
                print(f"  note: {w.message}")
        self._probes[key] = result
        self.correct[key] = result.model.predict(test_x) == np.asarray(test_y)
        return result

    def fit_table(self, tasks: Mapping, columns: Mapping) -> pd.DataFrame:
        """Fit the probe of every row and feature column, and the bag of words of every task: the table.

        Row ``name`` holds the features of task ``name`` read without the prompt, row ``name + "*"``
        with it. Each probe is stored under ``(row, column)``; the bag of words, which reads the texts
        alone and so is the same with and without the prompt, once per task under
        ``(name, "bag of words")``.

        Parameters
        ----------
        tasks : dict
            Task name -> ``(train, test)`` :class:`lmtheory.data.Task` objects (``texts``, ``labels``).
        columns : dict
            ``(row, split)`` -> dict of column name -> features of shape (n_split, m), for ``split`` in
            ``"train"`` and ``"test"`` (from :func:`feature_columns`); its rows, in order, are the
            table's.

        Returns
        -------
        pandas.DataFrame
            Indexed by ``task`` (the row), with the test accuracy (%) of each feature column, then
            ``bag of words``, ``chance`` (the share of the most frequent test class, %), ``n_train`` and
            ``n_test``. A column that a row lacks is NaN.

        Example: ``probes.fit_table({"rt2": (train, test)}, X)`` for ``X[("rt2", "train")]`` etc.
        """
        results = []
        for row in dict.fromkeys(row for row, _ in columns):
            train, test = self._task(tasks, columns, row)
            entry = {"task": row}
            for col in columns[row, "train"]:
                probe = self.fit((row, col), columns[row, "train"][col], train.labels,
                                 columns[row, "test"][col], test.labels)
                entry[col] = 100 * probe.test_accuracy
            name = row.rstrip("*")
            if (name, "bag of words") not in self:
                self.fit((name, "bag of words"), train.texts, train.labels, test.texts, test.labels,
                         probe=bag_of_words_probe)
            entry["bag of words"] = 100 * self[name, "bag of words"].test_accuracy
            entry["chance"] = 100 * np.bincount(test.labels).max() / len(test)
            entry["n_train"], entry["n_test"] = len(train), len(test)
            results.append(entry)
        return pd.DataFrame(results).set_index("task")

    def fit_standardised(self, tasks: Mapping, columns: Mapping, rows, features) -> pd.DataFrame:
        """Fit each ``(row, feature)`` probe again on standardised features, beside its raw fit.

        Every probe is stored under ``(row, feature, "standardised")``; the raw ones, which
        :meth:`fit_table` fitted, must be in the set already.

        Parameters
        ----------
        tasks, columns : dict
            As in :meth:`fit_table`.
        rows : list of str
            Rows of ``columns``, e.g. ``["rt2*", "bbc*"]``.
        features : list of str
            Feature columns, e.g. ``["f(s)", "Phi p_f(s)"]``.

        Returns
        -------
        pandas.DataFrame
            Indexed by ``(task, feature)``, with ``spread`` (the median over the coordinates of their
            standard deviation across the training texts), ``raw`` and ``standardised`` (test accuracy,
            %) and the ``C`` each chose, ``C raw`` and ``C std.``.

        Example: ``probes.fit_standardised(tasks, X, ["rt2*"], ["f(s)", "Phi p_f(s)"])``.
        """
        compared = []
        for row in rows:
            train, test = self._task(tasks, columns, row)
            for col in features:
                x_train, raw = columns[row, "train"][col], self[row, col]
                scaled = self.fit((row, col, "standardised"), x_train, train.labels,
                                  columns[row, "test"][col], test.labels, standardize=True)
                compared.append({"task": row, "feature": col, "spread": np.median(x_train.std(axis=0)),
                                 "raw": 100 * raw.test_accuracy, "C raw": raw.C,
                                 "standardised": 100 * scaled.test_accuracy, "C std.": scaled.C})
        return pd.DataFrame(compared).set_index(["task", "feature"])

    @staticmethod
    def _task(tasks: Mapping, columns: Mapping, row: str):
        """The ``(train, test)`` tasks of ``row`` (``name`` or ``name + "*"``), checked against ``columns``."""
        name = row.rstrip("*")
        if name not in tasks:
            raise KeyError(f"row {row!r} names no task: the tasks are {list(tasks)}")
        missing = [split for split in ("train", "test") if (row, split) not in columns]
        if missing:
            raise KeyError(f"columns has no features for row {row!r}, split(s) {missing}")
        return tasks[name]

    def __getitem__(self, key):
        try:
            return self._probes[key]
        except KeyError:
            raise KeyError(f"no probe {key!r} has been fitted; fit it first with .fit({key!r}, ...)") from None

    def __iter__(self):
        return iter(self._probes)

    def __len__(self) -> int:
        return len(self._probes)
