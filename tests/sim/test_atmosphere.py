"""The simulated atmosphere averages to the steady plume (issue #3) and is rougher at any instant."""

import numpy as np
import pytest

from plumetrace.physics.plume import gaussian_plume
from plumetrace.sim.atmosphere import Atmosphere, Weather, ou_process

DISTANCES = (100.0, 200.0, 300.0, 400.0, 500.0)


def _thirty_minute_ratios(seed, **kw):
    atm = Atmosphere(wind_speed=4.0, wind_from_deg=270.0, stability="D", dispersion="briggs_rural", **kw)
    weather = Weather(atm, 0.0, 1800.0, 1, np.random.default_rng(seed))
    t = np.arange(0.0, 1800.0, 0.1)
    u = atm.speed_at(0.5 * (2.0 + 1.0))
    ratios = []
    for x in DISTANCES:
        c = weather.unit_concentration(t, np.full(t.size, x), np.zeros(t.size), np.full(t.size, 2.0), 0.0, 0.0, 1.0, 0)
        steady = gaussian_plume(x, 0.0, 2.0, 0.0, 0.0, 1.0, 1.0, u, 270.0, "D", model="briggs_rural")[0]
        ratios.append(c.mean() / steady)
    return np.array(ratios)


def test_thirty_minute_average_converges_to_the_steady_plume():
    """30-min centreline averages at 100-500 m: unbiased over realisations, mostly within 10 % each.

    A meandering plume's 30-minute mean still carries sampling noise (the meander has ~90 independent
    swings in 30 min), so the check is statistical: the mean over 8 realisations is within 3 % at every
    distance, and at least 6 of the 8 realisations are within 10 % at all five distances.
    """
    ratios = np.array([_thirty_minute_ratios(seed) for seed in range(8)])
    np.testing.assert_allclose(ratios.mean(axis=0), 1.0, atol=0.03)
    within = np.all(np.abs(ratios - 1.0) <= 0.10, axis=1)
    assert within.sum() >= 6, ratios


def test_instantaneous_plume_is_narrower_and_intermittent():
    atm = Atmosphere(wind_speed=4.0, wind_from_deg=270.0, stability="D", dispersion="briggs_rural")
    weather = Weather(atm, 0.0, 600.0, 1, np.random.default_rng(0))
    t = np.arange(0.0, 600.0, 0.1)
    c = weather.unit_concentration(t, np.full(t.size, 200.0), np.zeros(t.size), np.full(t.size, 2.0), 0, 0, 1.0, 0)
    steady = gaussian_plume(200.0, 0.0, 2.0, 0.0, 0.0, 1.0, 1.0, atm.speed_at(1.5), 270.0, "D")[0]
    assert c.max() > 1.5 * steady  # peaks well above the mean
    assert np.mean(c < 0.1 * steady) > 0.02  # and moments with the plume swung away


def test_schedule_acts_at_emission_time():
    atm = Atmosphere(wind_speed=4.0, wind_from_deg=270.0, stability="D", intermittency=0.0, gustiness=0.0)
    weather = Weather(atm, 0.0, 600.0, 1, np.random.default_rng(1))
    t = np.arange(0.0, 600.0, 1.0)
    on_after_300 = lambda te: (te >= 300.0).astype(float)  # noqa: E731
    c = weather.unit_concentration(t, np.full(t.size, 200.0), np.zeros(t.size), np.full(t.size, 2.0), 0, 0, 1.0, 0,
                                   rate_factor=on_after_300)
    travel = 200.0 / atm.speed_at(1.5)
    assert np.all(c[t < 300 + travel - 1] == 0)
    assert np.all(c[t > 300 + travel + 1] > 0)


def test_ou_process_is_unit_variance_with_its_time_scale():
    x = ou_process(np.random.default_rng(2), 200_000, 1.0, 10.0)
    assert x.std() == pytest.approx(1.0, abs=0.05)
    lag = 10
    assert np.corrcoef(x[:-lag], x[lag:])[0, 1] == pytest.approx(np.exp(-1.0), abs=0.05)


def test_drone_wind_differs_from_the_mean_wind():
    atm = Atmosphere(wind_speed=4.0, wind_from_deg=90.0, stability="C")
    weather = Weather(atm, 0.0, 600.0, 1, np.random.default_rng(3))
    rng = np.random.default_rng(4)
    speed, direction = weather.measured_wind(np.arange(0, 600.0), np.full(600, 30.0), rng)
    assert speed.mean() == pytest.approx(float(atm.speed_at(30.0)), rel=0.15)
    assert 80 < np.mean(direction) < 100 and np.std(direction) > 2


#: Known bug (issue #15, session 12): the meandering and particle worlds swing the plume anticlockwise when the
#: reported wind turns clockwise. The fix (two signs in plumetrace.sim.atmosphere) changes every seeded scenario,
#: so it lands with the seeded tests re-validated on the corrected worlds; until then these cases fail as expected.
@pytest.mark.parametrize("model", ["meander", "lagrangian", "puff"])
def test_the_plume_swings_with_the_wind_the_drone_reports(model):
    """A meander that turns the reported wind clockwise (a larger 'from' direction) turns the plume clockwise.

    Wind from 270° (blowing east): with the meander held at +1 σ the drone reports a wind from more than 270°
    and the plume 100 m downwind must lie south of the axis (to the right of downwind) in every world.
    """
    atm = Atmosphere(wind_speed=4.0, wind_from_deg=270.0, stability="D", dispersion="briggs_rural",
                     intermittency=0.0, gustiness=0.0, model=model)
    weather = Weather(atm, 0.0, 600.0, 1, np.random.default_rng(0))
    weather.meander[:] = 1.0
    t = np.full(201, 500.0)
    north = np.linspace(-60.0, 60.0, t.size)
    _, reported = weather.measured_wind(t, np.full(t.size, 10.0), np.random.default_rng(1), 0.0, 0.0)
    assert np.all(reported > 270.0)
    args = (t, np.full(t.size, 100.0), north, np.full(t.size, 5.0), 0.0, 0.0, 5.0, 0)
    c = {"meander": weather.unit_concentration, "lagrangian": weather.lagrangian_concentration,
         "puff": weather.puff_concentration}[model](*args)
    assert c.sum() > 0
    centroid = float(np.sum(c * north) / np.sum(c))
    assert centroid < -1.0, centroid
