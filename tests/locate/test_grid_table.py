"""The tabulated rate terms of the likelihood kernel (the coarse pass's screening quadrature)."""

import math

import numpy as np
import pytest

from plumetrace.locate.grid import Q_NEGLIGIBLE, _t_loglik, grid_log_likelihood, likelihood_table, unit_prediction
from plumetrace.locate.observations import Observations
from plumetrace.physics.sigmas import sigma_model


def _interpolate(tab, lo, h, i, s):
    pos = (s - lo[i]) / h
    last = tab.shape[1] - 1
    j = np.minimum(pos.astype(int), last - 1)
    f = pos - j
    return np.where(pos >= last, tab[i, last] - (pos - last) * h, tab[i, j] + f * (tab[i, j + 1] - tab[i, j]))


def test_table_matches_the_evaluated_terms_over_the_whole_range():
    rng = np.random.default_rng(3)
    n = 300
    sd = 10 ** rng.uniform(-1, 2, n)
    z = np.concatenate([rng.normal(0, 1, n // 2), 10 ** rng.uniform(0, 4, n - n // 2)])
    r, var = z * sd, sd ** 2
    tab, lo, h = likelihood_table(r, var, 1.0, 4.0, math.log(1e6) / 18)
    worst = 0.0
    for i in range(n):
        # from the negligible prediction to beyond the table's end (where φ is extrapolated)
        s = np.linspace(math.log(Q_NEGLIGIBLE * sd[i]), math.log(1e6 * max(abs(r[i]), sd[i])), 800)
        mu = np.exp(s)
        exact = np.array([_t_loglik(r[i] - m, var[i] + m * m, 4.0) - _t_loglik(r[i], var[i], 4.0) for m in mu])
        worst = max(worst, float(np.max(np.abs(_interpolate(tab, lo, h, i, s) - exact))))
    assert worst < 0.006


def _observations(n=400, seed=0):
    """Four transects 40–220 m downwind of a 0.5 g/s source at the origin (south wind), 2 ppb noise."""
    rng = np.random.default_rng(seed)
    east = np.tile(np.linspace(-150, 150, 100), n // 100)
    north = np.repeat(np.linspace(40, 220, n // 100), 100)
    obs = Observations(channel="acetone_ppb", species="acetone", time=np.arange(n, dtype=float), east=east,
                       north=north, height=np.full(n, 20.0), enhancement=np.zeros(n), variance=np.full(n, 4.0),
                       wind_speed=np.full(n, 3.0), wind_from_deg=np.full(n, 180.0), temperature=288.0,
                       pressure=101325.0, platform=np.array(["uav"] * n))
    g = unit_prediction(obs, 0.0, 0.0, 2.0, 0.0, 3.0, sigma_model("briggs_rural"))
    obs.enhancement = 0.5 * g + rng.normal(0.0, 2.0, n)
    return obs


def test_tabulated_kernel_agrees_with_the_evaluated_one():
    obs = _observations()
    cx, cy = np.meshgrid(np.arange(-100.0, 101.0, 25.0), np.arange(-100.0, 101.0, 25.0))
    q = np.logspace(-4, 2, 19)
    model = sigma_model("briggs_rural")
    args = (cx.ravel(), cy.ravel(), np.array([2.0]), obs, 0.0, 3.0, model, q)
    exact, reach = grid_log_likelihood(*args)
    table, reach_t = grid_log_likelihood(*args, tabulated=True)
    assert np.array_equal(reach, reach_t)
    hit = (exact != 0).sum(axis=-1) > 0
    assert hit.sum() > 10  # the plume reaches some cells' predictions
    # per cell and rate, within 0.005 nats for every observation the cell's plume reaches
    n_obs = len(obs)
    assert np.max(np.abs(table - exact)) <= 0.005 * n_obs
    assert np.max(np.abs(table - exact)) < 0.5
    assert np.argmax(exact.max(axis=-1)[:, 0]) == np.argmax(table.max(axis=-1)[:, 0])


def test_coarse_pass_after_a_subtraction_is_the_full_pass():
    from plumetrace.bench.locate_speed import make_survey
    from plumetrace.locate import SourceLocator
    from plumetrace.locate.observations import changed_observations

    survey, _, channel = make_survey(5, 12.0)
    loc = SourceLocator().fit(survey)
    search, obs = loc.search_, loc.observations_[channel]
    post = next(p for p in loc.posteriors_ if p.channel == channel)
    first = search.coarse_pass(obs)
    residual = search.subtract(obs, post, loc.subtract_error)
    changed = changed_observations(obs, residual)
    assert 0 < changed.sum() < 0.5 * changed.size  # part of the survey: the update visits only that part
    updated = search.coarse_pass(residual, previous=first)
    full = search.coarse_pass(residual)
    for a, b, before in zip(updated.delta, full.delta, first.delta, strict=True):
        assert np.max(np.abs(b - before)) > 1.0  # the subtraction moved the pass
        assert np.max(np.abs(a - b)) < 0.05  # the update lands on the full pass (rate terms within the table's error)


def test_the_searchs_model_error_reaches_the_exact_and_the_tabulated_kernel():
    """GridSearch(model_error=α) scores with variance + (α μ)² in both kernels, not the module's default α."""
    from plumetrace.locate.posterior import GridSearch

    obs = _observations()
    model = sigma_model("briggs_rural")
    q = np.logspace(-4, 2, 19)
    x, y = np.array([0.0, 25.0]), np.array([0.0, 0.0])
    common = dict(sigma_models=[model], stability_weights=[(3.0, 1.0)], resolution=5.0, coarse_resolution=25.0,
                  margin=50.0, heights=np.array([2.0]), q_grid=q, wind_offset_sd_deg=0.0, mixing_height=None,
                  beta=1.0, p_off=0.0, meander_sd_deg=None, meander_block_s=10.0, meander_offsets=1,
                  min_log_bayes=8.0, exclusion_radius=30.0)
    for alpha in (0.5, 1.0):
        search = GridSearch(**common, model_error=alpha)
        exact = search._loglik(x, y, np.array([2.0]), obs, 0.0, 3.0, 0, q, None)[0]
        tabulated = search._loglik(x, y, np.array([2.0]), obs, 0.0, 3.0, 0, q, None, tabulated=True)[0]
        direct = grid_log_likelihood(x, y, np.array([2.0]), obs, 0.0, 3.0, model, q, alpha=alpha)[0]
        other = grid_log_likelihood(x, y, np.array([2.0]), obs, 0.0, 3.0, model, q, alpha=1.5 - alpha)[0]
        np.testing.assert_allclose(exact, direct, rtol=1e-9, atol=1e-9)
        assert np.max(np.abs(tabulated - direct)) < 0.5
        assert np.max(np.abs(direct - other)) > 5.0  # α matters at the rates that put plume on the data


def test_pairwise_student_t_is_the_t_density_up_to_a_constant():
    from scipy.stats import t as student

    from plumetrace.locate.grid import pairwise_t_loglik

    rng = np.random.default_rng(3)
    y, mu = rng.normal(size=(5, 7)), rng.normal(size=(4, 7))
    var = rng.uniform(0.5, 2.0, size=(4, 7))
    for nu in (4.0, 2.5):
        ref = np.array([[student.logpdf(y[i] - mu[j], nu, scale=np.sqrt(var[j])).sum() for j in range(4)]
                        for i in range(5)])
        diff = pairwise_t_loglik(y, mu, var, nu) - ref
        assert np.ptp(diff) < 1e-9  # one constant of ν: it cancels between hypotheses
    with pytest.raises(ValueError, match="points"):
        pairwise_t_loglik(y, mu[:, :6], var[:, :6])
