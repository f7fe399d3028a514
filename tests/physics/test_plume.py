"""Steady Gaussian plume: worked examples, conventions and properties (METHODS.md §4.1)."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.integrate import simpson

from plumetrace.physics.plume import gaussian_plume, plume_coupling
from plumetrace.physics.sigmas import dispersion_coefficients

CLASSES = st.sampled_from(["A", "B", "C", "D", "E", "F", "B-C"])
MODELS = st.sampled_from(["briggs_rural", "briggs_urban", "isc3_rural"])


def test_turner_burning_dump_example():
    """Turner (1994) workbook: 3 g/s ground-level NOx, 3 km, overcast night (D), 7 m/s -> 1.1e-5 g/m³."""
    c = gaussian_plume(3000.0, 0.0, 0.0, 0.0, 0.0, 0.0, 3.0, 7.0, 270.0, "D", model="isc3_rural")
    assert c[0] == pytest.approx(1.1e-5, rel=0.05)


def test_ground_level_centreline_formula():
    """H = 0, z = 0: C = Q / (π u σy σz) (METHODS.md §4.1)."""
    sy, sz = dispersion_coefficients(400.0, "C")
    c = gaussian_plume(0.0, 400.0, 0.0, 0.0, 0.0, 0.0, 10.0, 3.0, 180.0, "C")
    assert c[0] == pytest.approx(10.0 / (math.pi * 3.0 * sy * sz), rel=1e-12)


def test_elevated_source_formula_off_axis():
    x, y, z, h, q, u = 250.0, 30.0, 12.0, 20.0, 2.0, 4.0
    sy, sz = dispersion_coefficients(x, "B", model="briggs_urban")
    expected = q / (2 * math.pi * u * sy * sz) * math.exp(-y * y / (2 * sy * sy)) * (
        math.exp(-((z - h) ** 2) / (2 * sz * sz)) + math.exp(-((z + h) ** 2) / (2 * sz * sz)))
    # wind from the south (180°) blows north: downwind = +north, left of it = west (-east)
    c = gaussian_plume(-y, x, z, 0.0, 0.0, h, q, u, 180.0, "B", model="briggs_urban")
    assert c[0] == pytest.approx(expected, rel=1e-12)


def test_wind_direction_convention():
    """A wind from the west (270°) carries the plume east; nothing goes west."""
    c = gaussian_plume([200.0, -200.0, 0.0, 0.0], [0.0, 0.0, 200.0, -200.0], 2.0, 0.0, 0.0, 1.0, 1.0, 5.0, 270.0)
    assert c[0] > 0 and c[1] == 0 and c[2] == 0 and c[3] == 0


def test_calm_winds_are_reset_to_one_metre_per_second():
    a = gaussian_plume(0.0, -100.0, 1.5, 0.0, 0.0, 0.0, 1.0, 0.3, 0.0, "F")
    b = gaussian_plume(0.0, -100.0, 1.5, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0, "F")
    assert a == pytest.approx(b)


def test_averaging_time_lowers_the_centreline():
    c10 = gaussian_plume(0.0, -300.0, 0.0, 0.0, 0.0, 0.0, 1.0, 3.0, 0.0, "D", averaging_time=600.0)
    c60 = gaussian_plume(0.0, -300.0, 0.0, 0.0, 0.0, 0.0, 1.0, 3.0, 0.0, "D", averaging_time=3600.0)
    assert c60 / c10 == pytest.approx(6.0 ** -0.2)


def test_well_mixed_below_the_lid():
    """σz > 1.6 L: C = Q / (√(2π) u σy L) (Turner 1994 eq. 3.5)."""
    x, lid = 2000.0, 100.0
    sy, sz = dispersion_coefficients(x, "A")
    assert sz > 1.6 * lid
    c = gaussian_plume(0.0, -x, 10.0, 0.0, 0.0, 5.0, 1.0, 2.0, 0.0, "A", mixing_height=lid)
    assert c[0] == pytest.approx(1.0 / (math.sqrt(2 * math.pi) * 2.0 * sy * lid), rel=1e-12)
    above = gaussian_plume(0.0, -x, 150.0, 0.0, 0.0, 5.0, 1.0, 2.0, 0.0, "A", mixing_height=lid)
    assert above[0] == 0.0


def test_coupling_times_rates_equals_sum_and_superposition():
    rng = np.random.default_rng(3)
    rx, ry, rz = rng.uniform(-300, 300, 500), rng.uniform(-300, 300, 500), rng.uniform(0, 40, 500)
    sx, sy, sh = rng.uniform(-50, 50, 4), rng.uniform(-50, 50, 4), rng.uniform(0, 10, 4)
    q = np.array([0.5, 2.0, 1.0, 3.0])
    coupling = plume_coupling(rx, ry, rz, sx, sy, sh, 3.0, 200.0, "C")
    total = gaussian_plume(rx, ry, rz, sx, sy, sh, q, 3.0, 200.0, "C")
    assert coupling.shape == (500, 4)
    np.testing.assert_allclose(coupling @ q, total, rtol=1e-12, atol=0)
    singles = sum(gaussian_plume(rx, ry, rz, sx[k], sy[k], sh[k], q[k], 3.0, 200.0, "C") for k in range(4))
    np.testing.assert_allclose(singles, total, rtol=1e-12, atol=0)


def test_per_receptor_meteorology_matches_scalar_calls():
    rng = np.random.default_rng(4)
    rx, ry = rng.uniform(-200, 200, 50), rng.uniform(-200, 200, 50)
    u, wd = rng.uniform(0.5, 8, 50), rng.uniform(0, 360, 50)
    cls = rng.choice(["A", "C", "D-E", "F"], 50)
    lid = rng.choice([np.nan, 80.0, 300.0], 50)
    together = gaussian_plume(rx, ry, 2.0, 10.0, 5.0, 3.0, 1.5, u, wd, cls, mixing_height=lid)
    alone = [gaussian_plume(rx[i], ry[i], 2.0, 10.0, 5.0, 3.0, 1.5, u[i], wd[i], cls[i], mixing_height=lid[i])[0]
             for i in range(50)]
    np.testing.assert_allclose(together, alone, rtol=1e-12)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="heights"):
        gaussian_plume(0.0, -10.0, -1.0, 0.0, 0.0, 0.0, 1.0, 3.0, 0.0)
    with pytest.raises(ValueError, match="wind_speed"):
        gaussian_plume(0.0, -10.0, 1.0, 0.0, 0.0, 0.0, 1.0, np.nan, 0.0)
    with pytest.raises(ValueError, match="broadcast"):
        gaussian_plume([0.0, 1.0], [0.0, 1.0], 1.0, 0.0, 0.0, 0.0, 1.0, [1.0, 2.0, 3.0], 0.0)


def _crosswind_integral(x, h, cls, model, lid=None):
    """∫∫ C·u dy dz over the plane x = const (Simpson's rule on a fine grid)."""
    sy, sz = dispersion_coefficients(x, cls, model=model)
    y = np.linspace(-10 * sy, 10 * sy, 801)
    # the plume's own depth, or the lid where the plume has reached it (a grid over a lid far above a thin plume
    # would resolve the plume with a few points)
    top = min(lid, h + 10 * sz) if lid is not None else h + 10 * sz
    z = np.linspace(0.0, top, 1601)
    yy, zz = np.meshgrid(y, z, indexing="ij")
    u = 2.5
    c = gaussian_plume(np.full(yy.shape, x), -yy, zz, 0.0, 0.0, h, 1.0, u, 270.0, cls, model=model,
                       mixing_height=lid)
    return simpson(simpson(c * u, x=z, axis=1), x=y)


@given(x=st.floats(20.0, 5000.0), h=st.floats(0.0, 50.0), cls=CLASSES, model=MODELS)
def test_mass_conservation_with_ground_reflection(x, h, cls, model):
    """Reflected plume: ∫∫ C u dy dz = Q at any downwind distance (to 1e-3)."""
    assert _crosswind_integral(x, h, cls, model) == pytest.approx(1.0, abs=1e-3)


@given(x=st.floats(50.0, 3000.0), h=st.floats(0.0, 40.0), lid=st.floats(60.0, 1500.0), cls=CLASSES)
def test_mass_conservation_below_a_mixing_lid(x, h, lid, cls):
    assert _crosswind_integral(x, h, cls, "briggs_rural", lid=lid) == pytest.approx(1.0, abs=1e-3)


@given(
    x=st.floats(1.0, 3000.0), y=st.floats(0.0, 500.0), z=st.floats(0.0, 100.0), h=st.floats(0.0, 60.0),
    wd=st.floats(0.0, 360.0), cls=CLASSES, model=MODELS, q=st.floats(1e-6, 1e4),
)
def test_symmetry_linearity_nonnegativity_and_zero_upwind(x, y, z, h, wd, cls, model, q):
    theta = math.radians(wd)
    down = np.array([-math.sin(theta), -math.cos(theta)])
    left = np.array([math.cos(theta), -math.sin(theta)])
    pts = np.array([x * down + y * left, x * down - y * left, -x * down + y * left])
    c1 = gaussian_plume(pts[:, 0], pts[:, 1], z, 0.0, 0.0, h, 1.0, 3.0, wd, cls, model=model)
    cq = gaussian_plume(pts[:, 0], pts[:, 1], z, 0.0, 0.0, h, q, 3.0, wd, cls, model=model)
    assert np.all(c1 >= 0)
    assert c1[0] == pytest.approx(c1[1], rel=1e-9, abs=1e-300)
    assert c1[2] == 0.0
    np.testing.assert_allclose(cq, q * c1, rtol=1e-12)
