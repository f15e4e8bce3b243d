"""lmtheory.sizes: the quick/full switch, explicit or chosen by the hardware."""

from __future__ import annotations

import pytest
import torch

from lmtheory import sizes


@pytest.mark.parametrize("value, quick", [("1", True), ("0", False), (" 1 ", True)])
def test_the_variable_decides_when_set(monkeypatch, value, quick):
    monkeypatch.setenv("LMTHEORY_QUICK", value)
    assert sizes.quick() is quick
    assert sizes.mode() == ("quick" if quick else "full")
    assert sizes.size("probe_train") == sizes.SIZES["probe_train"][0 if quick else 1]


@pytest.mark.parametrize("gpu", [True, False])
def test_unset_follows_the_hardware(monkeypatch, gpu):
    monkeypatch.delenv("LMTHEORY_QUICK", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: gpu)
    assert sizes.quick() is (not gpu)


def test_bad_values_and_names_are_clear_errors(monkeypatch):
    monkeypatch.setenv("LMTHEORY_QUICK", "yes")
    with pytest.raises(ValueError, match=r"LMTHEORY_QUICK must be 1 .* got 'yes'"):
        sizes.quick()
    monkeypatch.setenv("LMTHEORY_QUICK", "1")
    with pytest.raises(ValueError, match="unknown size 'nope'; known sizes: .*probe_train"):
        sizes.size("nope")
