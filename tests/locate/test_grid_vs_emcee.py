"""The grid posterior against MCMC (emcee) on the same likelihood, on a small case."""

import numpy as np
import pytest

from plumetrace.locate import SourceLocator
from plumetrace.locate.grid import grid_log_likelihood

emcee = pytest.importorskip("emcee", reason="emcee is in the [bench] extra")


def test_grid_posterior_matches_emcee():
    from tests.locate.test_locator import SOURCE, synthetic_survey

    survey = synthetic_survey(0.01, seed=3)
    loc = SourceLocator(stability="D", dispersion="briggs_rural", wind_offset_sd_deg=0.0, heights=(SOURCE[2],),
                        resolution=2.5, coarse_resolution=10.0, max_sources=1).fit(survey)
    post = loc.posteriors_[0]
    obs = loc.observations_["ch4_ppm"]
    model = loc.sigma_models_[0]
    beta = loc.search_.beta
    x0, x1 = obs.east.min() - loc.margin, obs.east.max() + loc.margin
    y0, y1 = obs.north.min() - loc.margin, obs.north.max() + loc.margin
    lq0, lq1 = np.log(loc.q_range[0]), np.log(loc.q_range[1])

    def log_prob(theta):
        x, y, lq = theta
        if not (x0 < x < x1 and y0 < y < y1 and lq0 < lq < lq1):
            return -np.inf
        d, _ = grid_log_likelihood(np.array([x]), np.array([y]), np.array([SOURCE[2]]), obs, 0.0, 3.0, model,
                                   np.array([np.exp(lq)]), beta=beta)
        return float(d[0, 0, 0])

    rng = np.random.default_rng(0)
    walkers = 24
    start = np.column_stack((post.east + rng.normal(0, 3, walkers), post.north + rng.normal(0, 3, walkers),
                             np.log(post.rate_g_s) + rng.normal(0, 0.1, walkers)))
    sampler = emcee.EnsembleSampler(walkers, 3, log_prob)
    sampler.random_state = np.random.RandomState(1).get_state()  # emcee's own generator, seeded
    sampler.run_mcmc(start, 1500, progress=False)
    chain = sampler.get_chain(discard=500, flat=True)
    mc_mean = chain[:, :2].mean(axis=0)
    mc_sd = chain[:, :2].std(axis=0)
    grid_mean = post.mass @ post.cells
    grid_sd = np.sqrt(post.mass @ (post.cells - grid_mean) ** 2)
    # the two estimates of the posterior agree to within a grid cell or a third of its spread
    tol = np.maximum(post.resolution, mc_sd / 3)
    assert np.all(np.abs(mc_mean - grid_mean) <= tol), (mc_mean, grid_mean, mc_sd)
    assert np.all(grid_sd <= 2 * mc_sd + post.resolution) and np.all(mc_sd <= 2 * grid_sd + post.resolution)
