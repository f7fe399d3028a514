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
.. [1] docs/methods.md §8 (grid posterior, linearity in Q, heavy-tailed likelihoods for intermittency).
.. [2] Hutchinson, M., Oh, H. and Chen, W.-H. (2017). A review of source term estimation methods for
   atmospheric dispersion events using static or mobile sensors. *Information Fusion* 36, 130–148.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

from plumetrace.locate.observations import response_decay, sensor_response
from plumetrace.physics.plume import FASTMATH, plume_coupling, unit_concentration_sigmas
from plumetrace.physics.sigmas import sigma_yz_scalar
from plumetrace.physics.stability import stability_label

NU = 4.0
ALPHA = 1.0
LATERAL_CUT = 6.0  # beyond 6 σy crosswind the plume is below 2e-8 of its axis value: not evaluated
Q_NEGLIGIBLE = 0.003  # a prediction below this fraction of the noise σ leaves an observation's likelihood unchanged


@numba.njit(cache=True, fastmath=FASTMATH, inline="always")
def _t_loglik(e, var, nu):
    return -0.5 * (nu + 1.0) * math.log1p(e * e / (nu * var)) - 0.5 * math.log(var)


@numba.njit(cache=True, fastmath=FASTMATH, parallel=True)
def _grid_delta(cx, cy, heights, ox, oy, oz, r, var, sin_k, cos_k, log_w, order, starts, decay, u, code, kind, table,
                lid, q, conv, alpha, nu, beta, log_off, g_min, out, gmax):
    """out[c, h, k] = Σ_blocks log[p_off + Σ_j w_j exp(β Σ_{i∈block} [ℓ(r_i | q_k g̃_ihj) − ℓ(r_i | 0)])].

    j runs over wind-direction offsets (``sin_k``/``cos_k`` rows), shared by the observations of a block;
    g̃ is the unit-rate prediction passed through the sensor's first-order response (``decay``: per
    observation, exp(−Δt/τ) since the previous one in ``order``; 0 restarts the filter). The σ's of a (cell,
    observation, offset) are computed once for all release heights.
    """
    n_c = cx.size
    n_h = heights.size
    n_q = q.size
    n_k = log_w.size
    n_b = starts.size - 1
    lq0 = math.log(q[0])
    dlq = math.log(q[n_q - 1] / q[0]) / (n_q - 1) if n_q > 1 else 1.0
    filtered = False
    for i in range(decay.size):
        if decay[i] > 0.0:
            filtered = True
            break
    for c in numba.prange(n_c):
        blk = np.empty((n_h, n_k, n_q))
        acc = np.zeros((n_h, n_q))
        best = np.zeros(n_h)
        touched = np.zeros(n_h, dtype=np.bool_)
        state = np.zeros((n_k, n_h))
        raw = np.zeros(n_h)
        for b in range(n_b):
            touched[:] = False
            blk[:, :, :] = 0.0
            for j in range(n_k):
                for t in range(starts[b], starts[b + 1]):
                    i = order[t]
                    dx = ox[i] - cx[c]
                    dy = oy[i] - cy[c]
                    x = -(dx * sin_k[j, i] + dy * cos_k[j, i])
                    plume = False
                    if x > 0.0:
                        y = dx * cos_k[j, i] - dy * sin_k[j, i]
                        s_y, s_z = sigma_yz_scalar(x, code, kind, table)
                        if abs(y) <= LATERAL_CUT * s_y:
                            plume = True
                            for hi in range(n_h):
                                raw[hi] = conv * unit_concentration_sigmas(x, y, oz[i], heights[hi], s_y, s_z, u[i],
                                                                           lid)
                    if not plume:
                        if not filtered:
                            continue
                        raw[:] = 0.0
                    sd = math.sqrt(var[i])
                    base = _t_loglik(r[i], var[i], nu)
                    for hi in range(n_h):
                        g = raw[hi]
                        if filtered:
                            g = decay[i] * state[j, hi] + (1.0 - decay[i]) * g
                            state[j, hi] = g
                        if g <= g_min or q[n_q - 1] * g < Q_NEGLIGIBLE * sd:
                            continue  # no rate on the grid makes this observation notice the cell
                        touched[hi] = True
                        if g > best[hi]:
                            best[hi] = g
                        k0 = 0
                        if n_q > 2:  # rates too small to change this observation's likelihood are skipped
                            k0 = max(0, int(math.ceil((math.log(Q_NEGLIGIBLE * sd / g) - lq0) / dlq)))
                        for k in range(k0, n_q):
                            mu = q[k] * g
                            blk[hi, j, k] += _t_loglik(r[i] - mu, var[i] + (alpha * mu) ** 2, nu) - base
            for hi in range(n_h):
                if not touched[hi]:
                    continue
                for k in range(n_q):
                    m = log_off  # the source off during this block: the null likelihood (0 relative to it)
                    for j in range(n_k):
                        v = log_w[j] + beta * blk[hi, j, k]
                        if v > m:
                            m = v
                    s = math.exp(log_off - m)
                    for j in range(n_k):
                        s += math.exp(log_w[j] + beta * blk[hi, j, k] - m)
                    acc[hi, k] += m + math.log(s)
        for hi in range(n_h):
            for k in range(n_q):
                out[c, hi, k] = acc[hi, k]
            gmax[c, hi] = best[hi]


@dataclass(frozen=True)
class Meander:
    """Per-block wind-direction offsets: the plume's meander as a random effect shared within a block.

    A meandering plume (Gifford 1959) swings its axis across the wind over tens of seconds, so the
    observations of one plume crossing share one unknown offset of the axis, while crossings far apart in time
    have independent offsets. ``offsets_deg`` and ``log_weights`` (normalised) describe that offset's
    distribution; ``order`` lists observation indices block after block and ``starts`` where each block
    begins (``starts[-1] == len(order)``).
    """

    offsets_deg: np.ndarray
    log_weights: np.ndarray
    order: np.ndarray
    starts: np.ndarray


def meander_blocks(time_s: np.ndarray, platform: np.ndarray, block_s: float, sd_deg: float,
                   n_offsets: int = 3) -> Meander:
    """Blocks of ``block_s`` seconds per platform and a normal offset distribution (σ = ``sd_deg``).

    The offset is integrated by ``n_offsets``-point Gauss–Hermite quadrature (probabilists' form; 3 points:
    0 and ±√3 σ with weights ⅔, ⅙, ⅙ — exact for polynomials up to degree 5).
    """
    t = np.asarray(time_s, float)
    plat = np.asarray(platform).astype(str)
    key = np.floor((t - t.min()) / max(block_s, 1e-9)).astype(np.int64)
    _, pid = np.unique(plat, return_inverse=True)
    order = np.lexsort((t, key, pid))
    k_sorted = (pid[order].astype(np.int64) << 40) + key[order]
    starts = np.flatnonzero(np.concatenate(([True], k_sorted[1:] != k_sorted[:-1])))
    starts = np.append(starts, order.size).astype(np.int64)
    if sd_deg <= 0 or n_offsets <= 1:
        z, w = np.zeros(1), np.ones(1)
    else:
        z, w = np.polynomial.hermite_e.hermegauss(n_offsets)  # nodes and weights for exp(-z²/2)
    logw = np.log(w / np.sum(w))
    return Meander(offsets_deg=z * sd_deg, log_weights=logw, order=order.astype(np.int64), starts=starts)


def grid_log_likelihood(cell_east, cell_north, heights, obs, wind_offset_deg: float, stability_code: float,
                        sigma_model, q_grid, mixing_height: float | None = None, alpha: float = ALPHA,
                        nu: float = NU, beta: float = 1.0, meander: Meander | None = None, p_off: float = 0.0):
    """Tempered log-likelihood ratio against "no source" for every cell × height × rate.

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
        Emission rates [g/s], log-spaced (terms with q·g below ``Q_NEGLIGIBLE`` noise σ are taken as zero).
    mixing_height : float, optional
    alpha, nu : float
        Model-error fraction and Student-t degrees of freedom.
    beta : float
        Tempering of the observation log-likelihoods (correlated errors; ``bin / correlation time``).
    meander : Meander, optional
        Per-block direction offsets marginalised inside each block (:func:`meander_blocks`); without it every
        observation uses ``wind_offset_deg`` alone.
    p_off : float
        Probability that the source is off (or its plume missed) during a block — an intermittent source; the
        explicit background-only / missed-detection probabilities of Hutchinson et al. (2020), docs/methods.md §8:
        a block is then explained by background and noise alone. Without ``meander`` the whole survey is one block
        (give blocks with ``meander_blocks(..., sd_deg=0)``).

    Returns
    -------
    delta : numpy.ndarray, shape (n_cells, n_heights, n_q)
        β Σ_i [ℓ(r_i | Q g) − ℓ(r_i | 0)], the meander offsets marginalised block by block.
    reach : numpy.ndarray, shape (n_cells, n_heights)
        Largest unit-rate prediction at any observation [ppb per g/s] (0: the cell reaches no sample).
    """
    n = len(obs)
    if meander is None:
        order = np.lexsort((obs.time, np.asarray(obs.platform).astype(str))).astype(np.int64)
        meander = Meander(np.zeros(1), np.zeros(1), order, np.array([0, n], dtype=np.int64))
    decay = response_decay(obs)
    theta = np.deg2rad(obs.wind_from_deg[None, :] + wind_offset_deg + meander.offsets_deg[:, None])
    log_on = math.log1p(-p_off) if p_off > 0 else 0.0
    log_off = math.log(p_off) if p_off > 0 else -np.inf
    out = np.empty((cell_east.size, heights.size, q_grid.size))
    reach = np.empty((cell_east.size, heights.size))
    lid = np.inf if mixing_height is None else float(mixing_height)
    _grid_delta(np.ascontiguousarray(cell_east, float), np.ascontiguousarray(cell_north, float),
                np.ascontiguousarray(heights, float), obs.east, obs.north, obs.height, obs.enhancement,
                obs.variance, np.ascontiguousarray(np.sin(theta)), np.ascontiguousarray(np.cos(theta)),
                np.ascontiguousarray(meander.log_weights + log_on, float), meander.order, meander.starts, decay,
                obs.wind_speed,
                float(stability_code), sigma_model.kind, sigma_model.table, lid, np.ascontiguousarray(q_grid, float),
                obs.ppb_per_g_m3, alpha, nu, float(beta), float(log_off), 1e-12, out, reach)
    return out, reach


def null_log_likelihood(obs, nu: float = NU) -> float:
    """Σ_i ℓ(r_i | 0): the survey explained by background and noise alone."""
    r, v = obs.enhancement, obs.variance
    return float(np.sum(-0.5 * (nu + 1.0) * np.log1p(r * r / (nu * v)) - 0.5 * np.log(v)))


def unit_prediction(obs, east: float, north: float, height: float, wind_offset_deg: float, stability_code: float,
                    sigma_model, mixing_height: float | None = None) -> np.ndarray:
    """Unit-rate prediction [ppb per g/s] of one source at every observation: the forward operator.

    The Gaussian plume (:func:`plumetrace.physics.plume_coupling`, winds below 0.5 m/s taken as 0.5 m/s) of a
    source at (``east``, ``north``, ``height``) [m] with the observations' wind turned by ``wind_offset_deg``,
    converted to mole fraction and passed through the sensor's first-order response
    (:func:`plumetrace.locate.observations.sensor_response`).
    """
    g = plume_coupling(obs.east, obs.north, obs.height, east, north, height, obs.wind_speed,
                       obs.wind_from_deg + wind_offset_deg, stability_label(stability_code).item(),
                       model=sigma_model, mixing_height=mixing_height, min_wind_speed=0.5)[:, 0]
    return sensor_response(obs, g * obs.ppb_per_g_m3)
