"""Site assembly: combining a site's gases, exclusion of found sources, intermittency, broad posteriors."""

import numpy as np
import pytest

from plumetrace.locate import SourceLocator
from plumetrace.locate.grid import grid_log_likelihood, meander_blocks
from plumetrace.locate.locator import ChannelPosterior
from plumetrace.physics.sigmas import sigma_model
from tests.locate.test_locator import synthetic_survey


def _post(channel, centre, sd, step=5.0):
    xs = np.arange(-100.0, 100.0, step) + step / 2
    gx, gy = np.meshgrid(xs, xs, indexing="ij")
    cells = np.column_stack((gx.ravel(), gy.ravel()))
    logm = -0.5 * ((cells[:, 0] - centre[0]) ** 2 + (cells[:, 1] - centre[1]) ** 2) / sd**2
    mass = np.exp(logm - logm.max())
    mass /= mass.sum()
    k = int(np.argmax(mass))
    return ChannelPosterior(channel=channel, species=channel.split("_")[0], cells=cells, resolution=step, mass=mass,
                            q_grid=np.array([1.0]), q_mass=np.array([1.0]), log_bayes=20.0, east=cells[k, 0],
                            north=cells[k, 1], height=5.0, rate_g_s=1.0, rate_ci90_g_s=(0.5, 2.0))


def test_combine_moves_the_site_towards_a_consistent_second_gas_and_ignores_a_distant_one():
    loc = SourceLocator(combine_weight=1.0)
    lead = _post("acetone_ppb", (0.0, 0.0), 15.0)
    near = _post("toluene_ppb", (20.0, 0.0), 15.0)
    combined = loc._combine([lead, near])
    assert 7.0 <= combined.east <= 13.0 and abs(combined.north) <= 3.0  # product of equal Gaussians: midway
    assert combined.credible_radius() < lead.credible_radius()
    far = _post("toluene_ppb", (80.0, 0.0), 15.0)  # outside the lead's 90 % radius: another source's plume
    assert loc._combine([lead, far]).east == lead.east
    tempered = SourceLocator(combine_weight=0.5)._combine([lead, near])
    assert abs(tempered.east) < abs(combined.east) + 1e-9 and tempered.credible_radius() >= combined.credible_radius()


def test_exclusion_removes_cells_near_found_sources():
    loc = SourceLocator(exclusion_radius=30.0)
    x, y = np.array([0.0, 20.0, 40.0, 100.0]), np.zeros(4)
    kx, ky = loc._excluded(x, y, [(0.0, 0.0)])
    assert kx.tolist() == [40.0, 100.0]


def test_off_state_bounds_the_cost_of_a_silent_crossing():
    """A plume predicted where nothing was measured: with p_off each block costs at most log(1/p_off)."""
    survey = synthetic_survey(0.01, seed=4)
    loc = SourceLocator(stability="D", dispersion="briggs_rural", max_sources=1).fit(survey)
    obs = loc._observations(survey, "ch4_ppm", {})
    silent = obs.__class__(**{**obs.__dict__})
    silent.enhancement = np.zeros(len(obs))  # the source was off the whole survey
    blocks = meander_blocks(obs.time, obs.platform, 10.0, 0.0)
    q = np.logspace(-2, 1, 7)
    cell = (np.array([40.0]), np.array([-20.0]))
    model = sigma_model("briggs_rural")
    plain, _ = grid_log_likelihood(*cell, np.array([5.0]), silent, 0.0, 3.0, model, q, beta=0.2, meander=blocks)
    mixed, _ = grid_log_likelihood(*cell, np.array([5.0]), silent, 0.0, 3.0, model, q, beta=0.2, meander=blocks,
                                   p_off=0.2)
    n_blocks = blocks.starts.size - 1
    assert mixed[0, 0, -1] >= n_blocks * np.log(0.2) - 1e-9
    assert mixed[0, 0, -1] > plain[0, 0, -1] + 10.0


def test_sensor_response_matches_the_simulators_first_order_lag():
    """The forward operator's sensor filter equals the simulator's first-order lag on the same series."""
    from plumetrace.locate.observations import Observations, response_decay, sensor_response
    from plumetrace.sim.sensors import first_order_lag

    t = np.arange(0.0, 60.0, 1.0)
    x = np.where((t > 20) & (t < 24), 50.0, 0.0)
    n = t.size
    obs = Observations(channel="acetone_ppb", species="acetone", time=t, east=np.zeros(n), north=np.zeros(n),
                       height=np.zeros(n), enhancement=np.zeros(n), variance=np.ones(n), wind_speed=np.ones(n),
                       wind_from_deg=np.zeros(n), temperature=288.15, pressure=101325.0,
                       platform=np.array(["a"] * n), response_time=2.0)
    y = sensor_response(obs, x)
    np.testing.assert_allclose(y, first_order_lag(x, 1.0, 2.0), rtol=1e-9, atol=1e-9)
    assert y.sum() == pytest.approx(x.sum(), rel=1e-3)  # a first-order response keeps the integral
    assert response_decay(obs)[0] == 0.0 and response_decay(obs)[1] == pytest.approx(np.exp(-0.5))
    obs.response_time = 0.0
    np.testing.assert_array_equal(sensor_response(obs, x), x)


@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_subtraction_removes_the_fitted_plume_and_keeps_a_fraction_as_model_error(alpha):
    """The found plume is subtracted at its weighted least-squares rate; variance grows by (α·prediction)²."""
    survey = synthetic_survey(0.003, seed=2)
    loc = SourceLocator(stability="D", dispersion="briggs_rural", wind_offset_sd_deg=0.0, max_sources=1,
                        subtract_error=alpha).fit(survey)
    obs = loc._observations(survey, "ch4_ppm", {})
    post = loc.posteriors_[0]
    out = loc._subtract(obs, post)
    cfg = post.config
    pred = obs.enhancement - out.enhancement
    g = loc._prediction(obs, cfg["east"], cfg["north"], cfg["height"], cfg["offset"], cfg["code"], cfg["model"])
    q = float(np.sum(g * obs.enhancement / obs.variance) / np.sum(g * g / obs.variance))
    np.testing.assert_allclose(pred, q * g, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(out.variance, obs.variance + (alpha * pred) ** 2, rtol=1e-12)
    peak = int(np.argmax(obs.enhancement))
    assert abs(out.enhancement[peak]) < 0.5 * obs.enhancement[peak]  # the plume is explained away
