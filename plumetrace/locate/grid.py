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
from dataclasses import dataclass, replace

import numba
import numpy as np

from plumetrace.locate.observations import response_decay, sensor_response
from plumetrace.physics.plume import FASTMATH, plume_coupling, unit_concentration_sigmas
from plumetrace.physics.sigmas import sigma_yz_scalar
from plumetrace.physics.stability import stability_label

NU = 4.0
#: Default relative model error α of the likelihood: variance = noise² + (α · prediction)² (the locator's
#: ``model_error``).
ALPHA = 1.0
LATERAL_CUT = 6.0  # beyond 6 σy crosswind the plume is below 2e-8 of its axis value: not evaluated
Q_NEGLIGIBLE = 0.003  # a prediction below this fraction of the noise σ leaves an observation's likelihood unchanged


@numba.njit(cache=True, fastmath=FASTMATH, inline="always")
def _t_loglik(e, var, nu):
    """Student-t log-density of residual ``e`` with scale² ``var``, up to a constant of ν.

    −½[(ν+1) log(νV + e²) − ν log V] = −½ log[a (a/V)^ν] with a = νV + e²; for the default ν = 4 the power is
    two squarings, so one logarithm serves where log1p and log took two (the same value: a/V ≥ ν, and the
    product stays far inside double range for any concentration in ppb).
    """
    if nu == 4.0:
        a = nu * var + e * e
        t = a / var
        t2 = t * t
        return -0.5 * math.log(a * t2 * t2)
    return -0.5 * (nu + 1.0) * math.log(nu * var + e * e) + 0.5 * nu * math.log(var)


@numba.njit(cache=True, fastmath=FASTMATH)
def _pairwise_t(y, mu, var, nu, out):
    half_logdet = 0.5 * np.sum(np.log(var), axis=1)
    inv = 1.0 / (nu * var)
    c = 0.5 * (nu + 1.0)
    for i in range(y.shape[0]):
        for j in range(mu.shape[0]):
            s = 0.0
            for k in range(y.shape[1]):
                e = y[i, k] - mu[j, k]
                s += math.log1p(e * e * inv[j, k])
            out[i, j] = -c * s - half_logdet[j]


def pairwise_t_loglik(y: np.ndarray, mu: np.ndarray, var: np.ndarray, nu: float = NU) -> np.ndarray:
    """The locator's Student-t log-likelihood of every data set under every hypothesis, up to a constant of ν.

    L[i, j] = Σ_k −½(ν+1) log(1 + (y_ik − μ_jk)² / (ν v_jk)) − ½ log v_jk: the t density of scale² v without its
    normalising constant, so it tends to the Gaussian's as ν → ∞. The follow-up planner scores simulated flights
    with it. ``y`` (data sets, points) and ``mu``, ``var`` (hypotheses, points) in the same units (ppb, ppb²).
    """
    y, mu, var = (np.ascontiguousarray(a, float) for a in (y, mu, var))
    if mu.shape != var.shape or y.shape[1] != mu.shape[1]:
        raise ValueError(f"y {y.shape}, mu {mu.shape} and var {var.shape} do not share their points")
    out = np.empty((y.shape[0], mu.shape[0]))
    _pairwise_t(y, mu, var, float(nu), out)
    return out


@numba.njit(cache=True, fastmath=FASTMATH, parallel=True)
def _grid_delta(cx, cy, heights, ox, oy, oz, r, var, sin_k, cos_k, log_w, order, starts, decay, u, code, kind, table,
                lid, q, conv, alpha, nu, beta, log_off, g_min, wedge_a, wedge_d, beam_start, bx, by, bz, wrep, tab,
                tab_lo, tab_h, tab_slope, out, gmax):
    """out[r, c, h, k] = Σ_b wrep[b, r] log[p_off + Σ_j w_j exp(β Σ_{i∈block b} [ℓ(r_i | q_k g̃_ihj) − ℓ(r_i | 0)])].

    ``wrep`` (blocks × replicates) weighs each block's term: one column of ones is the likelihood itself, other columns
    are bootstrap reweightings of the blocks (:mod:`plumetrace.locate.calibration`), computed in the same pass.

    j runs over wind-direction offsets (``sin_k``/``cos_k`` rows), shared by the observations of a block;
    g̃ is the unit-rate prediction passed through the sensor's first-order response (``decay``: per
    observation, exp(−Δt/τ) since the previous one in ``order``; 0 restarts the filter). The σ's of a (cell,
    observation, offset) are computed once for all release heights. ``wedge_a``, ``wedge_d``: a bound
    σy(x) ≤ wedge_a·x + wedge_d of the σ model (inf when it has none); a pair beyond LATERAL_CUT times the bound
    is off the plume without computing σ (the same result, sooner). A path-averaged observation i (an
    open-path beam) has points ``beam_start[i]:beam_start[i + 1]`` of ``bx, by, bz`` and its prediction is their
    mean; a point observation has none and is evaluated at (ox, oy, oz). With a table ``tab`` (observations ×
    points, :func:`likelihood_table`; one column: none) the rate terms of a log-spaced rate grid are read from it
    instead of evaluated, beyond its last column along ``tab_slope`` per unit of log μ (−1 for φ itself, 0 for a
    difference of two tables).
    """
    n_c = cx.size
    n_h = heights.size
    n_q = q.size
    n_k = log_w.size
    n_b = starts.size - 1
    n_r = wrep.shape[1]
    lq0 = math.log(q[0])
    dlq = math.log(q[n_q - 1] / q[0]) / (n_q - 1) if n_q > 1 else 1.0
    filtered = False
    for i in range(decay.size):
        if decay[i] > 0.0:
            filtered = True
            break
    linear = n_k == 1 and log_off == -np.inf
    n_tab = tab.shape[1]
    tabulated = n_tab > 1 and n_q > 2
    tab_step = dlq / tab_h if tabulated else 0.0
    base = np.empty(r.size)  # ℓ(r_i | 0) and the noise σ, once per observation
    sdev = np.empty(r.size)
    for i in range(r.size):
        base[i] = _t_loglik(r[i], var[i], nu)
        sdev[i] = math.sqrt(var[i])
    for c in numba.prange(n_c):
        blk = np.empty((n_h, n_k, n_q))
        acc = np.zeros((n_h, n_q, n_r))  # replicates innermost: their sums run over contiguous memory
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
                    plume = False
                    n_pts = beam_start[i + 1] - beam_start[i]
                    if n_pts > 0:  # a beam: the mean of the plume over its points
                        raw[:] = 0.0
                        for s in range(beam_start[i], beam_start[i + 1]):
                            dx = bx[s] - cx[c]
                            dy = by[s] - cy[c]
                            x = -(dx * sin_k[j, i] + dy * cos_k[j, i])
                            if x <= 0.0:
                                continue
                            y = dx * cos_k[j, i] - dy * sin_k[j, i]
                            if abs(y) > LATERAL_CUT * (wedge_a * x + wedge_d):
                                continue
                            s_y, s_z = sigma_yz_scalar(x, code, kind, table)
                            if abs(y) > LATERAL_CUT * s_y:
                                continue
                            plume = True
                            for hi in range(n_h):
                                raw[hi] += conv * unit_concentration_sigmas(x, y, bz[s], heights[hi], s_y, s_z, u[i],
                                                                            lid) / n_pts
                    else:
                        dx = ox[i] - cx[c]
                        dy = oy[i] - cy[c]
                        x = -(dx * sin_k[j, i] + dy * cos_k[j, i])
                        if x > 0.0:
                            y = dx * cos_k[j, i] - dy * sin_k[j, i]
                            if abs(y) > LATERAL_CUT * (wedge_a * x + wedge_d):
                                s_y = 0.0  # outside the widest plume the σ model allows: not evaluated
                            else:
                                s_y, s_z = sigma_yz_scalar(x, code, kind, table)
                            if s_y > 0.0 and abs(y) <= LATERAL_CUT * s_y:
                                plume = True
                                for hi in range(n_h):
                                    raw[hi] = conv * unit_concentration_sigmas(x, y, oz[i], heights[hi], s_y, s_z, u[i],
                                                                               lid)
                    if not plume:
                        if not filtered:
                            continue
                        raw[:] = 0.0
                    sd = sdev[i]
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
                            log_g = math.log(g)
                            k0 = max(0, int(math.ceil((math.log(Q_NEGLIGIBLE * sd) - log_g - lq0) / dlq)))
                            if tabulated:  # φ_i(log μ) read from the table at μ = q_k g (linear interpolation)
                                pos0 = (log_g + lq0 - tab_lo[i]) / tab_h
                                for k in range(k0, n_q):
                                    pos = pos0 + k * tab_step
                                    jj = int(pos)
                                    if jj >= n_tab - 1:  # beyond the table: φ falls as −log μ
                                        blk[hi, j, k] += tab[i, n_tab - 1] + tab_slope * (pos - (n_tab - 1)) * tab_h
                                    else:
                                        f = pos - jj
                                        blk[hi, j, k] += tab[i, jj] + f * (tab[i, jj + 1] - tab[i, jj])
                                continue
                        for k in range(k0, n_q):
                            mu = q[k] * g
                            blk[hi, j, k] += _t_loglik(r[i] - mu, var[i] + (alpha * mu) ** 2, nu) - base[i]
            for hi in range(n_h):
                if not touched[hi]:
                    continue
                for k in range(n_q):
                    if linear:  # one offset and no off state: the block's term is its log-likelihood sum
                        term = log_w[0] + beta * blk[hi, 0, k]
                        if term != 0.0:
                            for rr in range(n_r):
                                acc[hi, k, rr] += wrep[b, rr] * term
                        continue
                    m = log_off  # the source off during this block: the null likelihood (0 relative to it)
                    for j in range(n_k):
                        v = log_w[j] + beta * blk[hi, j, k]
                        if v > m:
                            m = v
                    s = math.exp(log_off - m)
                    for j in range(n_k):
                        s += math.exp(log_w[j] + beta * blk[hi, j, k] - m)
                    term = m + math.log(s)
                    if term == 0.0:
                        continue  # no rate this small changes the block (the common case for low rates)
                    for rr in range(n_r):
                        acc[hi, k, rr] += wrep[b, rr] * term
        for hi in range(n_h):
            for rr in range(n_r):
                for k in range(n_q):
                    out[rr, c, hi, k] = acc[hi, k, rr]
            gmax[c, hi] = best[hi]


#: Points of :func:`likelihood_table` per step of a rate grid (for the default grid, steps of 0.096 in log μ: the
#: interpolation is within 0.005 nats of the evaluated term for any observation up to 10⁴ σ, tests/locate/test_grid
#: _table.py).
TABLE_POINTS_PER_RATE_STEP = 8


@numba.njit(cache=True, fastmath=FASTMATH)
def _fill_table(r, var, alpha, nu, lo, h, out):
    for i in range(r.shape[0]):
        base = _t_loglik(r[i], var[i], nu)
        for j in range(out.shape[1]):
            mu = math.exp(lo[i] + j * h)
            out[i, j] = _t_loglik(r[i] - mu, var[i] + (alpha * mu) ** 2, nu) - base


def rate_step(q_grid: np.ndarray) -> float:
    """The step of log Q of a log-spaced rate grid (what :func:`likelihood_table` is laid out by)."""
    return math.log(q_grid[-1] / q_grid[0]) / (q_grid.size - 1)


def table_origin(var: np.ndarray) -> np.ndarray:
    """Log μ of :func:`likelihood_table`'s first column per observation: half the negligible prediction."""
    return np.log(0.5 * Q_NEGLIGIBLE * np.sqrt(var))


def likelihood_table(r: np.ndarray, var: np.ndarray, alpha: float, nu: float, q_step_log: float,
                     points_per_step: int = TABLE_POINTS_PER_RATE_STEP, lo: np.ndarray | None = None):
    """φ_i(log μ) = ℓ(r_i − μ | v_i + (αμ)²) − ℓ(r_i | 0) on a grid of log μ, per observation.

    On a log-spaced rate grid the prediction μ = Q g of a rate Q at a unit-rate prediction g steps through log μ
    evenly, so every rate's term of an observation is one function of log μ; tabulated once per observation
    (``points_per_step`` points per rate step ``q_step_log``, from a predicted plume of half the negligible
    fraction of the noise σ to 10⁴ × max(|r_i|, σ_i)), it is read with linear interpolation instead of evaluated
    for every cell, height, offset and rate. Beyond the table φ falls as −log μ (the model error's scale αμ grows
    with μ: the Student-t term tends to −log μ + const). ``lo`` (first log μ per observation; default
    :func:`table_origin`) puts the table on a given grid, e.g. another table's. Returns (table, log μ at its first
    column, step of log μ).
    """
    lo = table_origin(var) if lo is None else np.asarray(lo, float)
    hi = np.log(1e4 * np.maximum(np.abs(r), np.sqrt(var)))
    h = q_step_log / points_per_step
    n = int(math.ceil(float(np.max(hi - lo, initial=0.0)) / h)) + 2
    out = np.empty((r.size, n))
    _fill_table(np.ascontiguousarray(r, float), np.ascontiguousarray(var, float), float(alpha), float(nu), lo, h, out)
    return out, lo, h


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
                        nu: float = NU, beta: float = 1.0, meander: Meander | None = None, p_off: float = 0.0,
                        block_weights: np.ndarray | None = None, tabulated: bool = False, table=None):
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
    block_weights : numpy.ndarray, optional, shape (n_replicates, n_blocks)
        Weights of the blocks of ``meander`` (required with it): each row gives one reweighted log-likelihood
        (a bootstrap replicate), all computed in one pass over the observations.
    tabulated : bool
        Read the rate terms from :func:`likelihood_table` (a log-spaced rate grid of more than two rates, α > 0)
        instead of evaluating them: 25–35 % less time for an interpolation error of at most 0.005 nats per
        observation (before tempering).
    table : tuple, optional
        That table, already built for ``obs`` with this ``alpha``, ``nu`` and rate step (implies ``tabulated``);
        a fourth element, if given, is the slope of its extrapolation (default −1; 0 for a difference of tables).

    Returns
    -------
    delta : numpy.ndarray, shape (n_cells, n_heights, n_q), or (n_replicates, n_cells, n_heights, n_q)
        β Σ_i [ℓ(r_i | Q g) − ℓ(r_i | 0)], the meander offsets marginalised block by block (with
        ``block_weights``: each block's term weighed by each row).
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
    if block_weights is None:
        wrep = np.ones((meander.starts.size - 1, 1))
    else:
        wrep = np.asarray(block_weights, float)
        if wrep.ndim != 2 or wrep.shape[1] != meander.starts.size - 1:
            raise ValueError(f"block_weights must be (replicates, {meander.starts.size - 1} blocks), not {wrep.shape}")
        wrep = np.ascontiguousarray(wrep.T)  # the kernel reads one block's replicate weights contiguously
    out = np.empty((wrep.shape[1], cell_east.size, heights.size, q_grid.size))
    reach = np.empty((cell_east.size, heights.size))
    lid = np.inf if mixing_height is None else float(mixing_height)
    wedge_a, wedge_d = sigma_y_linear_bound(sigma_model, stability_code)
    beam_start, bx, by, bz = obs.beam_points()
    bx, by, bz = (np.ascontiguousarray(v, float) for v in (bx, by, bz))
    slope = -1.0
    if table is not None and q_grid.size > 2:
        tab, tab_lo, tab_h = table[:3]
        slope = float(table[3]) if len(table) > 3 else slope
    elif tabulated and q_grid.size > 2 and alpha > 0:
        tab, tab_lo, tab_h = likelihood_table(obs.enhancement, obs.variance, alpha, nu, rate_step(q_grid))
    else:
        tab, tab_lo, tab_h = np.zeros((1, 1)), np.zeros(1), 1.0
    sin_k, cos_k = np.ascontiguousarray(np.sin(theta)), np.ascontiguousarray(np.cos(theta))
    _grid_delta(np.ascontiguousarray(cell_east, float), np.ascontiguousarray(cell_north, float),
                np.ascontiguousarray(heights, float), obs.east, obs.north, obs.height, obs.enhancement,
                obs.variance, sin_k, cos_k,
                np.ascontiguousarray(meander.log_weights + log_on, float), meander.order, meander.starts, decay,
                obs.wind_speed,
                float(stability_code), sigma_model.kind, sigma_model.table, lid, np.ascontiguousarray(q_grid, float),
                obs.ppb_per_g_m3, alpha, nu, float(beta), float(log_off), 1e-12, wedge_a, wedge_d, beam_start,
                bx, by, bz, wrep, np.ascontiguousarray(tab, float), np.ascontiguousarray(tab_lo, float), float(tab_h),
                slope, out, reach)
    return (out[0] if block_weights is None else out), reach


def sigma_y_linear_bound(sigma_model, stability_code: float) -> tuple[float, float]:
    """(a, d) with σy(x) ≤ a·x + d [m] for every x > 0 of the class; (inf, inf) when the model has none.

    Both rows of an intermediate class are bounded.
    Parametric (Briggs-type) rows σy = ay·x·(1 + by·x)^cy + dy with by ≥ 0 and cy ≤ 0 grow at most linearly:
    a = ay, d = dy. ISC3's σy (a tangent of a logarithm) is left unbounded.
    """
    from plumetrace.physics.sigmas import MODEL_PARAMETRIC

    if sigma_model.kind != MODEL_PARAMETRIC:
        return math.inf, math.inf
    rows = {int(stability_code), min(int(math.ceil(stability_code)), sigma_model.table.shape[0] - 1)}
    coef = sigma_model.table[sorted(rows)]
    if np.any(coef[:, 1] < 0) or np.any(coef[:, 2] > 0):
        return math.inf, math.inf
    return float(coef[:, 0].max()), float(coef[:, 3].max())


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
    if obs.has_beams:  # a path average: the mean of the plume over the beam's points
        start, bx, by, bz = obs.beam_points()
        owner = np.repeat(np.arange(len(obs)), np.diff(start))
        gb = plume_coupling(bx, by, bz, east, north, height, obs.wind_speed[owner],
                            obs.wind_from_deg[owner] + wind_offset_deg, stability_label(stability_code).item(),
                            model=sigma_model, mixing_height=mixing_height, min_wind_speed=0.5)[:, 0]
        beam = np.diff(start) > 0
        g = g.copy()
        g[beam] = np.add.reduceat(gb, start[:-1][beam]) / np.diff(start)[beam]
    return sensor_response(obs, g * obs.ppb_per_g_m3)


def unit_predictions(obs, east: np.ndarray, north: np.ndarray, height: float, wind_offset_deg: float,
                     stability_code: float, sigma_model, mixing_height: float | None = None) -> np.ndarray:
    """:func:`unit_prediction` of many sources at once: (observations, sources) [ppb per g/s]."""
    east, north = np.atleast_1d(np.asarray(east, float)), np.atleast_1d(np.asarray(north, float))
    h = np.full(east.size, float(height))
    label = stability_label(stability_code).item()
    g = plume_coupling(obs.east, obs.north, obs.height, east, north, h, obs.wind_speed,
                       obs.wind_from_deg + wind_offset_deg, label, model=sigma_model, mixing_height=mixing_height,
                       min_wind_speed=0.5)
    if obs.has_beams:
        start, bx, by, bz = obs.beam_points()
        owner = np.repeat(np.arange(len(obs)), np.diff(start))
        gb = plume_coupling(bx, by, bz, east, north, h, obs.wind_speed[owner],
                            obs.wind_from_deg[owner] + wind_offset_deg, label, model=sigma_model,
                            mixing_height=mixing_height, min_wind_speed=0.5)
        beam = np.diff(start) > 0
        g = g.copy()
        g[beam] = np.add.reduceat(gb, start[:-1][beam], axis=0) / np.diff(start)[beam][:, None]
    g = g * obs.ppb_per_g_m3
    if obs.response_time > 0:
        g = np.column_stack([sensor_response(obs, g[:, k]) for k in range(g.shape[1])])
    return g


@numba.njit(cache=True, fastmath=FASTMATH)
def _reachable(ox, oy, theta, cx, cy, radius, spread, code, kind, table, out):
    """out[i] = whether any source within ``radius`` of (cx, cy) can put plume on observation i (see below)."""
    for i in range(ox.size):
        dx = ox[i] - cx
        dy = oy[i] - cy
        s = math.sin(theta[i])
        c = math.cos(theta[i])
        x = -(dx * s + dy * c)
        y = dx * c - dy * s
        eps = math.sqrt(dx * dx + dy * dy) * spread  # how far a turn of the wind by ≤ spread moves the point
        far = x + radius + eps
        if far <= 0.0:
            out[i] = False
            continue
        s_y, _ = sigma_yz_scalar(far, code, kind, table)
        out[i] = abs(y) - radius - eps <= LATERAL_CUT * s_y


def reachable_observations(obs, cell_east, cell_north, wind_offset_deg: float, spread_deg: float,
                           stability_code: float, sigma_model) -> np.ndarray:
    """Observations that some cell's plume can reach: the others add exactly nothing to the likelihood ratio.

    The kernel gives an observation a non-zero prediction from a cell only when the observation is downwind of
    it (x > 0) and within ``LATERAL_CUT`` σy of its axis. For a disc holding every cell centre (the sources the kernel
    evaluates; centre of their bounding box, radius to its corners) and every wind direction within ``spread_deg`` of
    the observation's (turned by ``wind_offset_deg``; meander offsets included by the caller), an observation is
    kept when x + R + ε > 0 and |y| − R − ε ≤ LATERAL_CUT · σy(x + R + ε), with ε the displacement of the
    observation by the largest turn (σy grows with x, so the bound is conservative). Skipping the others changes
    no number; it only saves their evaluation — most of a long survey is far from a small refinement region.
    Not applicable with a modelled sensor response (a prediction carries on along the track after the plume).

    Returns
    -------
    numpy.ndarray of bool, one per observation.
    """
    n = len(obs)
    keep = np.ones(n, dtype=bool)
    if n == 0 or cell_east.size == 0 or obs.response_time > 0:
        return keep
    x0, x1, y0, y1 = cell_east.min(), cell_east.max(), cell_north.min(), cell_north.max()
    cx, cy = 0.5 * (x0 + x1), 0.5 * (y0 + y1)
    radius = 0.5 * math.hypot(x1 - x0, y1 - y0)
    theta = np.deg2rad(obs.wind_from_deg + wind_offset_deg)
    _reachable(obs.east, obs.north, np.ascontiguousarray(theta), float(cx), float(cy), float(radius),
               float(np.deg2rad(spread_deg)), float(stability_code), sigma_model.kind, sigma_model.table, keep)
    if obs.has_beams:  # a beam is kept whole (its points are tested in the kernel)
        keep |= np.isfinite(obs.end_east)
    return keep


def subset(obs, meander: Meander | None, keep: np.ndarray):
    """The observations where ``keep`` is True and the meander blocks restricted to them (same block ids)."""
    idx = np.flatnonzero(keep)
    fields = {k: (v[idx] if isinstance(v, np.ndarray) and v.shape[:1] == keep.shape else v)
              for k, v in obs.__dict__.items()}
    out = type(obs)(**fields)
    if meander is None:
        return out, None
    new_index = np.full(keep.size, -1, dtype=np.int64)
    new_index[idx] = np.arange(idx.size)
    block_of = np.repeat(np.arange(meander.starts.size - 1), np.diff(meander.starts))
    mapped = new_index[meander.order]
    kept = mapped >= 0
    order = mapped[kept]
    blocks = block_of[kept]
    counts = np.bincount(blocks, minlength=meander.starts.size - 1)
    starts = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    return out, replace(meander, order=order.astype(np.int64), starts=starts)
