"""Dispersion coefficients against published tables and worked examples."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from plumetrace.physics.sigmas import SIGMA_MODELS, averaging_time_factor, dispersion_coefficients


def _isc3_sigma_y(x_m, c, d):
    """ISC3 eq. 1-32 recomputed independently from the METHODS.md constants."""
    xkm = x_m / 1000.0
    return 465.11628 * xkm * math.tan(0.017453293 * (c - d * math.log(xkm)))


@pytest.mark.parametrize(
    ("x", "cls", "sy", "sz"),
    [
        # Briggs (1973) rural, METHODS.md §4.3, evaluated by hand
        (1000.0, "D", 0.08 * 1000 / math.sqrt(1.1), 0.06 * 1000 / math.sqrt(2.5)),
        (500.0, "E", 0.06 * 500 / math.sqrt(1.05), 0.03 * 500 / 1.15),
        (1000.0, "F", 0.04 * 1000 / math.sqrt(1.1), 16.0 / 1.3),
        (200.0, "A", 0.22 * 200 / math.sqrt(1.02), 40.0),
        (200.0, "C", 0.11 * 200 / math.sqrt(1.02), 0.08 * 200 / math.sqrt(1.04)),
    ],
)
def test_briggs_rural_table(x, cls, sy, sz):
    got_y, got_z = dispersion_coefficients(x, cls, model="briggs_rural")
    assert got_y == pytest.approx(sy, rel=1e-12)
    assert got_z == pytest.approx(sz, rel=1e-12)


@pytest.mark.parametrize(
    ("x", "cls", "sy", "sz"),
    [
        # urban A-B σz is the one formula with a positive exponent (Griffiths 1994)
        (1000.0, "A", 0.32 * 1000 / math.sqrt(1.4), 0.24 * 1000 * math.sqrt(2.0)),
        (1000.0, "B", 0.32 * 1000 / math.sqrt(1.4), 0.24 * 1000 * math.sqrt(2.0)),
        (1000.0, "C", 0.22 * 1000 / math.sqrt(1.4), 200.0),
        (1000.0, "D", 0.16 * 1000 / math.sqrt(1.4), 0.14 * 1000 / math.sqrt(1.3)),
        (1000.0, "F", 0.11 * 1000 / math.sqrt(1.4), 0.08 * 1000 / math.sqrt(2.5)),
    ],
)
def test_briggs_urban_table(x, cls, sy, sz):
    got_y, got_z = dispersion_coefficients(x, cls, model="briggs_urban")
    assert got_y == pytest.approx(sy, rel=1e-12)
    assert got_z == pytest.approx(sz, rel=1e-12)


def test_isc3_against_turner_workbook_charts():
    """Turner (1994) Figs. 3-2/3-3 read 68 m / 32 m (D, 1 km) and 27 m / 14 m (A, 100 m)."""
    sy, sz = dispersion_coefficients([1000.0, 100.0], ["D", "A"], model="isc3_rural")
    assert sy[0] == pytest.approx(68.0, rel=0.02)
    assert sz[0] == pytest.approx(32.0, rel=0.03)
    assert sy[1] == pytest.approx(27.0, rel=0.03)
    assert sz[1] == pytest.approx(14.0, rel=0.03)


@pytest.mark.parametrize(
    ("x", "cls", "c", "d", "a", "b"),
    [
        (100.0, "A", 24.1670, 2.5334, 158.080, 1.05420),  # 0.10 km is in A's second segment ("< 0.10" is strict)
        (700.0, "A", 24.1670, 2.5334, 453.850, 2.11660),
        (300.0, "B", 18.3330, 1.8096, 98.483, 0.98332),
        (2500.0, "C", 12.5000, 1.0857, 61.141, 0.91465),
        (2000.0, "D", 8.3330, 0.72382, 32.093, 0.64403),
        (5000.0, "E", 6.2500, 0.54287, 24.703, 0.50527),
        (500.0, "F", 4.1667, 0.36191, 14.457, 0.78407),
    ],
)
def test_isc3_formula(x, cls, c, d, a, b):
    sy, sz = dispersion_coefficients(x, cls, model="isc3_rural")
    assert sy == pytest.approx(_isc3_sigma_y(x, c, d), rel=1e-9)
    assert sz == pytest.approx(a * (x / 1000.0) ** b, rel=1e-9)


def test_isc3_sigma_z_cap():
    _, sz = dispersion_coefficients(5000.0, "A", model="isc3_rural")
    assert sz == 5000.0


def test_intermediate_class_averages_neighbours():
    """Turner (1994): for A-B use the average of the A and B values."""
    sy, sz = dispersion_coefficients(400.0, ["A", "B", "A-B"])
    assert sy[2] == pytest.approx(0.5 * (sy[0] + sy[1]))
    assert sz[2] == pytest.approx(0.5 * (sz[0] + sz[1]))


def test_parametric_model_matches_angular_spread():
    coef = (math.tan(math.radians(10)), 0, 0, 1.0, math.tan(math.radians(5)), 0, 0, 0)
    sy, sz = dispersion_coefficients(250.0, "F", model="parametric", coefficients=coef)
    assert sy == pytest.approx(250 * math.tan(math.radians(10)) + 1.0)
    assert sz == pytest.approx(250 * math.tan(math.radians(5)))


def test_upwind_is_nan():
    sy, sz = dispersion_coefficients([-10.0, 0.0], "D")
    assert np.isnan(sy).all() and np.isnan(sz).all()


def test_unknown_model_lists_valid_names():
    with pytest.raises(ValueError, match="briggs_rural, briggs_urban, isc3_rural, parametric"):
        dispersion_coefficients(100.0, "D", model="pasquill")


def test_unknown_class_lists_valid_labels():
    with pytest.raises(ValueError, match="expected one of A, A-B"):
        dispersion_coefficients(100.0, "G")


def test_averaging_time_factor():
    """Turner (1994): σy ∝ t^0.2 relative to the 10-minute curves."""
    assert averaging_time_factor(3600.0) == pytest.approx(6 ** 0.2)
    assert averaging_time_factor(600.0) == 1.0
    with pytest.raises(ValueError):
        averaging_time_factor(0.0)


@given(
    x=st.floats(1.0, 20_000.0),
    factor=st.floats(1.01, 5.0),
    cls=st.sampled_from(["A", "B", "C", "D", "E", "F", "C-D"]),
    model=st.sampled_from([m for m in SIGMA_MODELS if m != "parametric"]),
)
def test_sigmas_grow_with_distance(x, factor, cls, model):
    sy, sz = dispersion_coefficients([x, x * factor], cls, model=model)
    assert sy[1] > sy[0] > 0
    assert sz[1] >= sz[0] > 0
