"""Grid posterior of one point source: position (x, y) × release height × emission rate (pure math).

Likelihood of an observation r (enhancement, ppb) given the predicted μ = Q·g (g: unit-rate prediction)::

    r − μ ~ Student-t(ν) with scale² = v + (α μ)²

v is the observation's noise variance, and the multiplicative term α μ is model error — an instantaneous,
meandering, intermittent plume scatters about the time-averaged one by about its own size (α ≈ 1) — so a
plume that swung away from a sample (r ≈ 0 where μ is large) costs little, while a consistent absence of
signal downwind of a cell still rules it out. The heavy tail (ν = 4) keeps one spike from another source from
dominating. Samples without a hit count as evidence like all others.

The rate Q enters through a log-spaced grid under a log-uniform prior (a long-tailed, scale-free prior), so
the marginal over Q is a sum. Positions are grid cells (uniform prior); release heights are a small set with
prior weights; wind-direction offsets and stability classes are marginalised by the caller.

References
----------
.. [1] METHODS.md §4.9 (grid posterior, linearity in Q, heavy-tailed likelihoods for intermittency).
.. [2] Hutchinson, M., Oh, H. and Chen, W.-H. (2017). A review of source term estimation methods for
   atmospheric dispersion events using static or mobile sensors. *Information Fusion* 36, 130–148.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from plumetrace.physics.plume import unit_concentration_scalar
from plumetrace.physics.sigmas import FASTMATH

NU = 4.0
ALPHA = 1.0


@numba.njit(cache=True, fastmath=FASTMATH, inline="always")
def _t_loglik(e, var, nu):
    return -0.5 * (nu + 1.0) * math.log1p(e * e / (nu * var)) - 0.5 * math.log(var)


@numba.njit(cache=True, fastmath=FASTMATH, parallel=True)
def _grid_delta(cx, cy, heights, ox, oy, oz, r, var, sin_t, cos_t, u, code, kind, table, lid, q, conv, alpha, nu,
                g_min, out, gmax):
    """out[c, h, k] = Σ_i [ℓ(r_i | q_k g_ic) − ℓ(r_i | 0)] over observations the cell reaches."""
    n_c = cx.size
    n_h = heights.size
    n_q = q.size
    n_o = ox.size
    for c in numba.prange(n_c):
        for hi in range(n_h):
            acc = np.zeros(n_q)
            best = 0.0
            for i in range(n_o):
                g = conv * unit_concentration_scalar(ox[i] - cx[c], oy[i] - cy[c], oz[i], heights[hi], sin_t[i],
                                                     cos_t[i], u[i], code, kind, table, 1.0, lid)
                if g <= g_min or q[n_q - 1] * g < 0.05 * math.sqrt(var[i]):
                    continue  # no rate on the grid makes this observation notice the cell
                if g > best:
                    best = g
                base = _t_loglik(r[i], var[i], nu)
                for k in range(n_q):
                    mu = q[k] * g
                    acc[k] += _t_loglik(r[i] - mu, var[i] + (alpha * mu) ** 2, nu) - base
            for k in range(n_q):
                out[c, hi, k] = acc[k]
            gmax[c, hi] = best


def grid_log_likelihood(cell_east, cell_north, heights, obs, wind_offset_deg: float, stability_code: float,
                        sigma_model, q_grid, mixing_height: float | None = None, alpha: float = ALPHA,
                        nu: float = NU):
    """Log-likelihood ratio against "no source" for every cell × height × rate.

    Parameters
    ----------
    cell_east, cell_north : numpy.ndarray
        Cell centres [m].
    heights : numpy.ndarray
        Release heights [m].
    obs : Observations
        Binned observations (:mod:`plumetrace.locate.observations`).
    wind_offset_deg : float
        Offset added to every observation's wind direction.
    stability_code : float
        Pasquill class code.
    sigma_model : SigmaModel
        Resolved σ model.
    q_grid : numpy.ndarray
        Emission rates [g/s].
    mixing_height : float, optional
    alpha, nu : float
        Model-error fraction and Student-t degrees of freedom.

    Returns
    -------
    delta : numpy.ndarray, shape (n_cells, n_heights, n_q)
        Σ_i ℓ(r_i | Q g) − ℓ(r_i | 0).
    reach : numpy.ndarray, shape (n_cells, n_heights)
        Largest unit-rate prediction at any observation [ppb per g/s] (0: the cell reaches no sample).
    """
    theta = np.deg2rad(obs.wind_from_deg + wind_offset_deg)
    out = np.empty((cell_east.size, heights.size, q_grid.size))
    reach = np.empty((cell_east.size, heights.size))
    lid = np.inf if mixing_height is None else float(mixing_height)
    _grid_delta(np.ascontiguousarray(cell_east, float), np.ascontiguousarray(cell_north, float),
                np.ascontiguousarray(heights, float), obs.east, obs.north, obs.height, obs.enhancement,
                obs.variance, np.sin(theta), np.cos(theta), obs.wind_speed, float(stability_code), sigma_model.kind,
                sigma_model.table, lid, np.ascontiguousarray(q_grid, float), obs.ppb_per_g_m3, alpha, nu, 1e-12,
                out, reach)
    return out, reach


def null_log_likelihood(obs, nu: float = NU) -> float:
    """Σ_i ℓ(r_i | 0): the survey explained by background and noise alone."""
    r, v = obs.enhancement, obs.variance
    return float(np.sum(-0.5 * (nu + 1.0) * np.log1p(r * r / (nu * v)) - 0.5 * np.log(v)))
