"""The bounds' formulas and their input checks."""

import math

import numpy as np
import pytest

from lmtheory import bounds


def test_sqrt_eps_bound_formula_and_monotonicity():
    assert bounds.sqrt_eps_bound(0.3, 2.0, 0.0) == 0.3
    assert math.isclose(bounds.sqrt_eps_bound(0.3, 2.0, 0.02, 0.5), 0.3 + math.sqrt(2 * 4 * 0.02 / 0.5))
    eps = np.logspace(-6, 0, 20)
    curve = bounds.sqrt_eps_bound(0.1, 1.0, eps)
    assert curve.shape == eps.shape and (np.diff(curve) > 0).all()
    assert bounds.sqrt_eps_bound(0.1, 1.0, 0.01, 0.2) > bounds.sqrt_eps_bound(0.1, 1.0, 0.01, 0.4)


def test_eps_for_loss_inverts_the_bound():
    for tau, B, gamma, target in [(0.2, 1.0, 1.0, math.log(2)), (0.0, 5.0, 0.3, 0.5), (0.4, 8.0, 0.5, 0.9)]:
        eps = bounds.eps_for_loss(target, tau, B, gamma)
        assert math.isclose(bounds.sqrt_eps_bound(tau, B, eps, gamma), target, rel_tol=1e-12)


def test_key_lemma_and_quad_bound_formulas():
    assert bounds.key_lemma_bound(3.0, 0.5) == 9.0
    assert math.isclose(bounds.quad_bound(0.1, 2.0, 0.02, 0.5), 0.1 + 2.0 * math.sqrt(0.08))
    assert bounds.pinsker(0.5) == 1.0


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: bounds.sqrt_eps_bound(0.1, 1.0, -0.01), r"eps = -0.01 .* must be >= 0"),
        (lambda: bounds.sqrt_eps_bound(0.1, 1.0, np.array([0.1, -1.0])), r"eps = -1"),
        (lambda: bounds.sqrt_eps_bound(0.1, 0.0, 0.01), r"B = 0.0 is outside the allowed range \(0, inf\)"),
        (lambda: bounds.sqrt_eps_bound(0.1, -2, 0.01), r"B = -2"),
        (lambda: bounds.sqrt_eps_bound(0.1, 1.0, 0.01, 0.0), r"gamma = 0.0 is outside the allowed range \(0, 1\]"),
        (lambda: bounds.sqrt_eps_bound(0.1, 1.0, 0.01, 1.5), r"gamma = 1.5"),
        (lambda: bounds.sqrt_eps_bound(-0.1, 1.0, 0.01), r"tau = -0.1"),
        (lambda: bounds.sqrt_eps_bound(0.1, "big", 0.01), r"B must be a number, got str 'big'"),
        (lambda: bounds.eps_for_loss(0.1, 0.3, 1.0), r"target = 0.1 is outside the allowed range \[0.3"),
        (lambda: bounds.key_lemma_bound(1.0, math.nan), r"eps = nan"),
    ],
)
def test_bad_input_gets_a_clear_error(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


def test_check_bound_counts_reports_the_tightest_ratio_and_fails_when_broken(capsys):
    lhs, rhs = [np.array([1.0, 2.0]), np.array([0.0])], [np.array([2.0, 4.0]), np.array([0.0])]
    assert bounds.check_bound("x <= 2x", lhs, rhs, "numbers") is None  # a cell ending with it shows the printout alone
    assert capsys.readouterr().out == "x <= 2x: held on 3/3 numbers;\n  tightest ratio left/right = 0.500\n"
    with pytest.raises(AssertionError, match="broken failed on 1 numbers"):
        bounds.check_bound("broken", [1.0, 3.0], [2.0, 2.0], "numbers")
