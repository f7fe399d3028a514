"""York et al. (2004) regression against the Pearson-York benchmark."""

import numpy as np
import pytest

from plumetrace.detect.york import york_fit

# Pearson (1901) data with York's (1966) weights
X = [0.0, 0.9, 1.8, 2.6, 3.3, 4.4, 5.2, 6.1, 6.5, 7.4]
Y = [5.9, 5.4, 4.4, 4.6, 3.5, 3.7, 2.8, 2.8, 2.4, 1.5]
WX = np.array([1000, 1000, 500, 800, 200, 80, 60, 20, 1.8, 1.0])
WY = np.array([1, 1.8, 4, 8, 20, 20, 70, 70, 100, 500])


def test_pearson_york_benchmark():
    """Exact solution a = 5.47991022, b = -0.480533407 (Neri et al. 1989); York 2004 errors 0.29497, 0.057985."""
    fit = york_fit(X, Y, 1 / np.sqrt(WX), 1 / np.sqrt(WY))
    assert fit.converged
    assert fit.slope == pytest.approx(-0.480533407, abs=1e-7)
    assert fit.intercept == pytest.approx(5.47991022, abs=1e-7)
    assert fit.slope_se == pytest.approx(0.057985, abs=2e-6)
    assert fit.intercept_se == pytest.approx(0.294971, abs=2e-6)
    assert fit.mswd == pytest.approx(1.4833, abs=1e-4)


def test_reduces_to_weighted_least_squares_without_x_errors():
    x = np.linspace(0, 10, 12)
    sy = 0.1 + 0.05 * x
    y = 2 * x + 1 + np.random.default_rng(0).normal(0, sy)
    fit = york_fit(x, y, 0.0, sy)
    w = 1 / sy**2
    slope, intercept = np.polyfit(x, y, 1, w=np.sqrt(w))
    assert fit.slope == pytest.approx(slope, rel=1e-9)
    assert fit.intercept == pytest.approx(intercept, rel=1e-9)


def test_bad_input():
    with pytest.raises(ValueError):
        york_fit([1, 2], [1, 2], 1, 1)
    with pytest.raises(ValueError):
        york_fit([1, 2, 3], [1, 2, 3], 1, 0)
