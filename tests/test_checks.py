"""The shared input checks of ``lmtheory.checks`` that no other test file covers on their own."""

from __future__ import annotations

import numpy as np
import pytest

from lmtheory import sqrt_eps, synthetic
from lmtheory.checks import check_eps_grid


@pytest.mark.parametrize("grid", [[1e-4, 1e-3], (1e-4, 1e-3), np.array([1e-4, 1e-3]), [0, 1e-3]])
def test_check_eps_grid_returns_a_float_array(grid):
    out = check_eps_grid(grid)
    assert isinstance(out, np.ndarray) and out.dtype == np.float64 and out.shape == (2,)
    np.testing.assert_array_equal(out, np.asarray(grid, dtype=float))


@pytest.mark.parametrize(
    "grid, message",
    [
        ([], r"eps_grid must be a non-empty list of numbers, got \[\]"),
        ([[1e-3, 1e-2]], r"eps_grid must be a non-empty list"),  # 2-D
        (1e-3, r"eps_grid must be a non-empty list"),  # a number, not a list
        (["small"], r"eps_grid must be a list of numbers, got \['small'\]"),
        ([1e-3, -1.0], r"eps_grid must hold values >= 0, got -1"),
        ([1e-3, float("nan")], r"eps_grid must hold values >= 0, got nan"),
    ],
)
def test_check_eps_grid_names_what_is_wrong(grid, message):
    with pytest.raises(ValueError, match=message):
        check_eps_grid(grid)


def test_check_eps_grid_names_the_argument():
    with pytest.raises(ValueError, match=r"measured_eps must hold values >= 0"):
        check_eps_grid([-1.0], "measured_eps")


def test_the_eps_grid_check_is_the_public_one_everywhere():
    """synthetic and sqrt_eps use the public check, and no private copy is left behind."""
    assert synthetic.check_eps_grid is check_eps_grid and sqrt_eps.check_eps_grid is check_eps_grid
    assert not hasattr(synthetic, "_check_eps_grid")
