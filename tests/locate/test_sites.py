"""Site assembly: exclusion of found sources, intermittency, the sensor response, subtraction."""

import numpy as np
import pytest

from plumetrace.locate import SourceLocator
from plumetrace.locate.grid import grid_log_likelihood, meander_blocks
from plumetrace.physics.sigmas import sigma_model
from tests.locate.test_locator import synthetic_survey


def test_exclusion_removes_cells_near_found_sources():
    survey = synthetic_survey(0.01, seed=4)
    search = SourceLocator(stability="D", dispersion="briggs_rural", max_sources=1,
                           exclusion_radius=30.0).fit(survey).search_
    x, y = np.array([0.0, 20.0, 40.0, 100.0]), np.zeros(4)
    kx, ky = search._excluded(x, y, [(0.0, 0.0)])
    assert kx.tolist() == [40.0, 100.0] and ky.tolist() == [0.0, 0.0]


def test_off_state_bounds_the_cost_of_a_silent_crossing():
    """A plume predicted where nothing was measured: with p_off each block costs at most log(1/p_off)."""
    survey = synthetic_survey(0.01, seed=4)
    loc = SourceLocator(stability="D", dispersion="briggs_rural", max_sources=1).fit(survey)
    obs = loc.observations_["ch4_ppm"]
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
                        subtract_error=alpha, model_error=alpha).fit(survey)
    assert loc.search_.model_error == alpha  # the likelihood's model error reaches the search
    obs = loc.observations_["ch4_ppm"]
    post = loc.posteriors_[0]
    out = loc.search_.subtract(obs, post, alpha)
    cfg = post.config
    pred = obs.enhancement - out.enhancement
    g = loc.search_.prediction(obs, cfg["east"], cfg["north"], cfg["height"], cfg["offset"], cfg["code"],
                               cfg["model"])
    q = float(np.sum(g * obs.enhancement / obs.variance) / np.sum(g * g / obs.variance))
    np.testing.assert_allclose(pred, q * g, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(out.variance, obs.variance + (alpha * pred) ** 2, rtol=1e-12)
    peak = int(np.argmax(obs.enhancement))
    assert abs(out.enhancement[peak]) < 0.5 * obs.enhancement[peak]  # the plume is explained away


@pytest.mark.parametrize(("rates", "expected"), [
    # a lab at its class's median molar ratios (toluene 0.5, methanol 0.5, HCl 0.3 per acetone), no methane
    ({"acetone": 0.2, "toluene": 0.1587, "methanol": 0.0552, "hcl": 0.0377, "ch4": 0.0}, "clandestine_lab"),
    # a paint shop: toluene with as many moles of acetone, nothing else
    ({"toluene": 0.2, "acetone": 0.126, "methanol": 0.0, "hcl": 0.0, "ch4": 0.0}, "paint_shop"),
])
def test_a_site_is_attributed_from_its_molar_rates(rates, expected):
    """Session 13: the site's rates were scaled beyond the attribution's strength grid and every class fitted
    equally badly (near-uniform probabilities); at the class's own ratios the class must win."""
    from plumetrace.detect.attribution import attribute_rates
    from plumetrace.detect.signatures import load_source_classes

    label, prob, probs = attribute_rates({k: (v, 0.1 * v + 1e-4) for k, v in rates.items()}, load_source_classes())
    assert label == expected and prob > 0.6, probs
