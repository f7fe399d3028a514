"""Sensor models and flight patterns."""

import numpy as np
import pytest

from plumetrace.sim.flights import curtain, fly, lawnmower, orbit
from plumetrace.sim.sensors import CATALOGUE, channel_spec, first_order_lag, simulate_channel


def test_first_order_lag_step_response():
    """y(t) = 1 − exp(−t/τ) for a unit step (exact discretisation)."""
    x = np.ones(101)
    x[0] = 0.0
    y = first_order_lag(x, 0.1, 2.0)
    t = np.arange(101) * 0.1
    np.testing.assert_allclose(y[1:], 1 - np.exp(-t[1:] / 2.0), rtol=1e-12)


def test_channel_pipeline_noise_quantisation_lod():
    rng = np.random.default_rng(0)
    spec = channel_spec("co_ppm", lag=0.0, noise=0.0, drift_per_hour=0.0)
    true = {"co": np.array([0.02e-6, 0.2e-6, 0.1234e-6])}
    out = simulate_channel(spec, true, 0.1, np.zeros(3, int), rng)
    assert out.tolist() == [0.0, 0.2, 0.12]  # 0.02 ppm is under the 0.05 ppm LOD; 0.01 ppm resolution


def test_pid_cross_sensitivity():
    spec = channel_spec("voc_ppb", lag=0.0, noise=0.0, drift_per_hour=0.0, resolution=0.0, lod=0.0)
    f = {"toluene": np.array([10e-9]), "acetone": np.array([11e-9]), "methanol": np.array([100e-9])}
    out = simulate_channel(spec, f, 0.1, np.zeros(1, int), np.random.default_rng(0))
    # toluene RF 0.5 -> 20 ppb, acetone RF 1.1 -> 10 ppb, methanol invisible to a 10.6 eV lamp
    assert out[0] == pytest.approx(30.0)


def test_unknown_channel_lists_catalogue():
    with pytest.raises(KeyError, match="ch4_ppm"):
        channel_spec("xyz_ppm")
    assert all(c.rsplit("_", 1)[1] in ("ppm", "ppb") for c in CATALOGUE)


def test_lawnmower_legs_are_crosswind():
    wps = lawnmower((0, 0), 200, 100, 50, [20.0], wind_from_deg=270.0)
    legs = wps[1::2] - wps[0::2]
    # wind from the west: legs run north-south
    assert np.allclose(legs[:, 0], 0, atol=1e-9) and np.all(np.abs(legs[:, 1]) == 200)
    assert sorted(set(np.round(wps[:, 0], 6))) == [-50.0, 0.0, 50.0]


def test_curtain_and_orbit():
    wps = curtain((0, 0), 150, 300, [10, 20, 30], wind_from_deg=0.0)
    assert np.allclose(wps[:, 1], -150) and sorted(set(wps[:, 2])) == [10, 20, 30]
    o = orbit((5, 5), 100, [15.0], laps=2)
    assert np.allclose(np.hypot(o[:, 0] - 5, o[:, 1] - 5), 100)


def test_sorties_split_by_endurance_with_swap_gap():
    wps = np.array([[0, 0, 20], [8 * 700, 0, 20]], float)
    tr = fly(wps, 8.0, 10.0, 1000.0, endurance=300.0, swap_time=100.0, rng=np.random.default_rng(0), gps_sigma=0.0,
             gps_bias=0.0, altitude_sigma=0.0)
    assert tr.sortie.max() == 2
    first_of_second = np.flatnonzero(tr.sortie == 1)[0]
    assert tr.time[first_of_second] - tr.time[first_of_second - 1] == pytest.approx(100.1)
    assert np.allclose(tr.gps_east, tr.east)
