"""lmtheory.atomic: cache entries written by several processes at once, a write that fails half way,
and a cache that cannot be written to (features and a training run still come back, with a warning)."""

from __future__ import annotations

import multiprocessing
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel

from lmtheory import atomic
from lmtheory.atomic import atomic_file, atomic_folder
from lmtheory.corpus import Corpus
from lmtheory.features import extract_features
from lmtheory.models import from_model, load_model
from lmtheory.train import Settings, pretrain


def _write_file_many_times(target: str, tag: str, times: int) -> None:
    for i in range(times):
        with atomic_file(target) as temporary:
            temporary.write_text(f"{tag} {i} " + "x" * 20_000)


def _build_folder(target: str, tag: str) -> None:
    with atomic_folder(target) as temporary:
        for name in ("config.json", "weights.bin"):
            (temporary / name).write_text(f"{tag} {name}")


def _run_together(function, *argument_lists):
    context = multiprocessing.get_context("fork")  # the children only write files
    processes = [context.Process(target=function, args=arguments) for arguments in argument_lists]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
    return [process.exitcode for process in processes]


def test_two_processes_writing_one_file_both_succeed(tmp_path):
    target = tmp_path / "entry.txt"
    assert _run_together(_write_file_many_times, (str(target), "a", 200), (str(target), "b", 200)) == [0, 0]
    tag, index, body = target.read_text().split(" ")
    assert tag in ("a", "b") and body == "x" * 20_000  # complete, from one writer
    assert [p.name for p in tmp_path.iterdir()] == ["entry.txt"]  # no temporary file left behind


def test_two_processes_building_one_folder_both_succeed_and_the_first_is_kept(tmp_path):
    target = tmp_path / "model"
    assert _run_together(_build_folder, (str(target), "a"), (str(target), "b")) == [0, 0]
    contents = {p.name: p.read_text() for p in target.iterdir()}
    tag = contents["config.json"].split()[0]
    assert contents == {"config.json": f"{tag} config.json", "weights.bin": f"{tag} weights.bin"}  # one builder's
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def _build_once(target: str, log: str) -> None:
    """Build ``target`` (slowly) unless it is there, as the offline model's de-quantisation does."""
    with atomic.one_at_a_time(target):
        if not Path(target).is_dir():
            time.sleep(1.0)
            with atomic_folder(target) as temporary:
                (temporary / "weights.bin").write_text("built")
            with open(log, "a") as handle:
                handle.write("built\n")


def test_the_second_process_waits_for_the_first_instead_of_building_again(tmp_path):
    target, log = tmp_path / "model", tmp_path / "log.txt"
    start = time.perf_counter()
    assert _run_together(_build_once, (str(target), str(log)), (str(target), str(log))) == [0, 0]
    assert log.read_text() == "built\n"  # one build, not two
    assert (target / "weights.bin").read_text() == "built" and time.perf_counter() - start >= 1.0


def test_a_write_that_fails_leaves_nothing(tmp_path):
    target = tmp_path / "entry.npz"
    with pytest.raises(ZeroDivisionError):
        with atomic_file(target) as temporary:
            temporary.write_text("half")
            1 / 0
    with pytest.raises(ZeroDivisionError):
        with atomic_folder(tmp_path / "folder") as temporary:
            (temporary / "a").write_text("half")
            1 / 0
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def unwritable_cache(tmp_path, monkeypatch):
    """A cache whose subfolders cannot be created (each is a plain file), which stops root as well as
    anyone else; models and data still come from the real cache, loaded before the switch."""
    cache = tmp_path / "cache"
    cache.mkdir()
    for name in ("features", "runs", "tokenizers", "tokenized"):
        (cache / name).write_text("not a folder")
    monkeypatch.setenv("LMTHEORY_CACHE", str(cache))
    monkeypatch.setattr(atomic, "_WARNED", set())
    return cache


@pytest.fixture(scope="module")
def tiny():
    lm = load_model(verbose=False)
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=lm.vocab_size, n_positions=64, n_embd=16, n_layer=1, n_head=2)
    return from_model(GPT2LMHeadModel(config), lm.tokenizer, "tiny-gpt2")


def test_features_come_back_when_the_cache_cannot_be_written(tiny, unwritable_cache):
    texts = ["A gem.", "Dull and long."]
    with pytest.warns(UserWarning, match="could not write to the cache folder .*features.*LMTHEORY_CACHE"):
        first = extract_features(tiny, texts, " This movie is")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one warning per folder, not one per write
        second = extract_features(tiny, texts, " This movie is")
    assert np.array_equal(first.f, second.f) and first.f.shape == (2, 16)


def test_a_finished_training_run_is_kept_when_it_cannot_be_stored(unwritable_cache):
    words = "the movie was great and the market reported strong business news".split()
    rng = np.random.default_rng(0)
    docs = [" ".join(rng.choice(words, size=20)) for _ in range(120)]
    corpus = Corpus(train=docs[:100], held_out=docs[100:], words={"random words": 0}, dropped=0, origin="test")
    settings = Settings(steps=4, batch_size=2, block_size=8, n_layer=1, n_head=2, n_embd=8, vocab_size=300,
                        n_checkpoints=2, eval_tokens=64, lr=1e-2, warmup=1)
    with pytest.warns(UserWarning, match="could not write to the cache folder"):
        run = pretrain(settings, corpus, progress=False, verbose=False)
    assert len(run.checkpoints) == 2 and not run.from_cache and run.model(-1) is not None
    assert all(Path(unwritable_cache, name).is_file() for name in ("runs", "tokenizers", "tokenized"))
