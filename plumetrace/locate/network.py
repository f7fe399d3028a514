"""Fixed sensor networks and open-path beams: one source located from readings that never move.

A network of fixed point sensors or open-path lasers (Chilbolton's seven beams; contract 1's ``end_*``,
``sensor_id``, ``wind_dir_sd_deg`` and ``wind_elev_sd_deg`` columns) is not a drone survey: the same few paths
are read again and again, usually as one-minute means, and a release nearby may be on them most of the time. So
its background cannot be taken from a low quantile of its own readings, as the drone detector does. Here:

- **Background per session and per sensor** are parameters: each session (readings more than an hour apart) has
  an offset b_s, and each sensor (beam) in it its own deviation δ_k ~ N(0, τ²) — an open-path instrument's beams
  differ by their own path's offsets — fitted jointly with the source, not subtracted beforehand. For a source at a
  cell the readings are y_i = b_s(i) + δ_k(i) + Q g_i + ε_i, linear in (b, δ, Q): a ridge least-squares fit. τ is
  chosen by empirical Bayes (the value under which the readings are most probable, offsets integrated out and the
  position averaged; 10–1000 ppb): offsets the data do not ask for are not allowed to absorb the plume.
- **Noise per sensor and session** is learnt from the data: σ_k² = RSS_k / n_k at the fitted source, so the width
  of the posterior comes from how far this record's readings disagree with the model (the profile likelihood
  −½ Σ_k n_k log RSS_k); the log-likelihood is tempered by the effective fraction of independent readings,
  (1 − ρ)/(1 + ρ) for the lag-1 autocorrelation ρ of the residuals at the best cell (consecutive minutes are not
  independent).
- **Plume spread from the measured turbulence** of each reading's averaging window
  (:func:`plumetrace.physics.sigmas.sigmas_from_turbulence`: σy = σv t (1 + t/2T_L)^−½ from ``wind_dir_sd_deg``
  and ``wind_elev_sd_deg``), marginalised over a spread factor (0.75, 1, 1.33) for the error of Taylor's
  interpolation and over the source's own size (an initial spread of 0.5, 1 or 2 m added in quadrature);
  without those columns, the stability class's open-country σ curves matched at 50 m. The ground reflects.
- **Path averaging**: a beam's reading is the mean of the plume at points 1 m apart along it (the midpoint rule
  of the line integral divided by the length). The plume starts abruptly at the source (x = 0), where the rule
  errs by O(h) for a beam passing beside it (9.6 % of the largest prediction on Chilbolton's beams against 0.05 m
  points): the point whose piece x = 0 cuts counts only its downwind part, evaluated at that part's middle (1.3 %;
  ``python benchmarks/locator_options.py beam-average``).

The rate is integrated out with a Laplace approximation under the log-uniform prior; the position prior is
uniform over the searched area; the release heights are ground-level by default (a network watches the ground).
A coarse pass (4 m cells, central spread and height, beam points 2 m apart, taken in groups where the plume is
wide: ``COARSE_GROUP``) finds where the posterior lives; 1 m cells there give the posterior, its 90 % region and
the Bayes factor against "no source" (the offsets alone).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numba
import numpy as np
import pandas as pd
from shapely.geometry import box
from shapely.ops import unary_union

from plumetrace.exceptions import InputError
from plumetrace.io.survey import Survey, mean_air, ppb_factor
from plumetrace.numerics import log_sum_exp
from plumetrace.physics.sigmas import dispersion_coefficients
from plumetrace.physics.species import SPECIES, mole_fraction

#: Readings more than this apart start a new session (its own offsets) [s].
SESSION_GAP_S = 3600.0
#: Spacing of the points along a beam [m].
BEAM_STEP_M = 1.0
#: Spread factors marginalised (equal weights) and the Lagrangian time scale [s].
SPREAD_FACTORS = (0.75, 1.0, 1.33)
LAGRANGIAN_TIME_S = 50.0
#: σφ / σθ used when only ``wind_dir_sd_deg`` is given (near-neutral surface layer, σw/σv ≈ 0.6; Panofsky & Dutton
#: 1984).
PHI_OVER_THETA = 0.6
#: Initial spreads of the source [m] marginalised (equal weights): a real release is no point — a vent, a window, a
#: frame on the ground; its size adds to σy, σz in quadrature (the virtual-source idea of Turner 1994, §3)
INITIAL_SPREADS_M = (0.5, 1.0, 2.0)
#: Without measured turbulence the class's σ curves are matched at this distance [m].
MATCH_DISTANCE_M = 50.0
#: Spreads τ of the sensors' offsets tried [ppb] (the one under which the readings are most probable is used).
TAU_GRID_PPB = (10.0, 30.0, 100.0, 300.0, 1000.0)
#: The coarse pass takes a beam's points in groups up to this many of the narrowest σy long (:func:`_group_size`):
#: on Chilbolton's 1,944 coarse cells it is 1.6 times faster and moves the plain rule's predictions by 0.8 % of the
#: largest, against 14.5 % for the 2 m points' own error (``benchmarks/locator_options.py beam-average``).
COARSE_GROUP = 1.0


@numba.njit(cache=True, fastmath=True)
def _group_size(x, dx, left, step, u, tan_th, tl, s_min, s0_min, group):
    """How many consecutive beam points (``step`` [m] apart, ``left`` remaining) one midpoint may stand for.

    The piece they make may be ``group`` times the narrowest σy at its upwind end long [m] (at most 64 points):
    across a Gaussian the midpoint rule with step h ≤ σ errs by about 2 exp(−2π²σ²/h²) < 1e-8 (the aliasing error
    of the trapezoid and midpoint rules; Trefethen & Weideman 2014, SIAM Review 56(3), §5). Where the beam ends,
    or x = 0 cuts the plume, the error is of order h², not that small: the coarse pass only (see
    :meth:`NetworkLocator.fit`). ``x`` is the point's downwind distance and ``dx`` its change per point [m].
    """
    g = 1
    for it in range(2):
        xe = x + min(0.0, (g - 1) * dx)  # the group's most upwind point (σy grows downwind)
        if xe <= 0.0:
            return 1
        t = xe / u
        a = s_min * u * tan_th * t / math.sqrt(1.0 + t / (2.0 * tl))
        sy = math.sqrt(a * a + s0_min * s0_min)
        cap = max(1, min(left, int(group * sy / step), 64))
        g = cap if it == 0 else min(g, cap)
    return g


@numba.njit(cache=True, fastmath=True, inline="always")
def _accumulate(acc, w, dx, dy, z, sin_t, cos_t, u, tan_th, tan_ph, tl, sf, s0, hs):
    """Add ``w`` times the unit-rate reflected plume at one point to acc[spread, height] (see :func:`_coupling`).

    The point is ``dx``, ``dy`` [m] east and north of the cell, at height ``z`` [m].
    """
    x = -dx * sin_t - dy * cos_t
    if x <= 0.0:
        return
    y = dx * cos_t - dy * sin_t
    t = x / u
    f = 1.0 / math.sqrt(1.0 + t / (2.0 * tl))
    a0 = u * tan_th * t * f
    b0 = u * tan_ph * t * f
    for j in range(sf.size):
        a = sf[j] * a0
        sy = math.sqrt(a * a + s0[j] * s0[j])
        if abs(y) > 6.0 * sy:
            continue
        b = sf[j] * b0
        sz = math.sqrt(b * b + s0[j] * s0[j])
        lateral = w * math.exp(-0.5 * y * y / (sy * sy)) / (2.0 * math.pi * u * sy * sz)
        for k in range(hs.size):
            zm = z - hs[k]
            zp = z + hs[k]
            acc[j, k] += lateral * (math.exp(-0.5 * zm * zm / (sz * sz)) + math.exp(-0.5 * zp * zp / (sz * sz)))


@numba.njit(cache=True, parallel=True, fastmath=True)
def _coupling(cx, cy, hs, px, py, pz, start, u, sin_t, cos_t, tan_th, tan_ph, tl, sf, s0, group, out):
    """out[j, k, c, i]: mean over reading i's points of the unit-rate reflected plume (cell c, height hs[k], spread j).

    Spread j: the σ's from the reading's turbulence times ``sf[j]`` with an initial spread ``s0[j]`` [m] added.
    The geometry of a point (downwind and crosswind distance, travel time) is computed once for every spread and
    release height, the horizontal part and σz once for every release height.
    """
    ns, nh, nc, nr = out.shape
    s_max = 0.0
    s0_max = 0.0
    s_min = np.inf
    s0_min = np.inf
    for j in range(ns):
        s_max = max(s_max, sf[j])
        s0_max = max(s0_max, s0[j])
        s_min = min(s_min, sf[j])
        s0_min = min(s0_min, s0[j])
    for c in numba.prange(nc):
        acc = np.zeros((ns, nh))
        for i in range(nr):
            acc[:, :] = 0.0
            n = start[i + 1] - start[i]
            if n <= 0:
                out[:, :, c, i] = 0.0
                continue
            # x and y are linear along a straight beam: a beam wholly upwind of the cell, or wholly beyond six
            # of its widest σy to one side, gets no plume (the same result without visiting its points)
            pa, pb = start[i], start[i + 1] - 1
            xa = -(px[pa] - cx[c]) * sin_t[i] - (py[pa] - cy[c]) * cos_t[i]
            xb = -(px[pb] - cx[c]) * sin_t[i] - (py[pb] - cy[c]) * cos_t[i]
            dxp = (xb - xa) / (n - 1) if n > 1 else 0.0  # x's change from one point to the next
            half = 0.5 * abs(dxp) if group <= 0.0 else 0.0  # how far downwind a point's piece reaches
            xm = max(xa, xb)
            if xm + half <= 0.0:
                out[:, :, c, i] = 0.0
                continue
            xm = max(xm, half)
            ya = (px[pa] - cx[c]) * cos_t[i] - (py[pa] - cy[c]) * sin_t[i]
            yb = (px[pb] - cx[c]) * cos_t[i] - (py[pb] - cy[c]) * sin_t[i]
            tm = xm / u[i]
            am = s_max * u[i] * tan_th[i] * tm / math.sqrt(1.0 + tm / (2.0 * tl))
            lim = 6.0 * math.sqrt(am * am + s0_max * s0_max) + 1.0
            if min(ya, yb) > lim or max(ya, yb) < -lim:
                out[:, :, c, i] = 0.0
                continue
            sx = px[pa + 1] - px[pa] if n > 1 else 0.0  # one step along the path [m]
            sy_ = py[pa + 1] - py[pa] if n > 1 else 0.0
            sz_ = pz[pa + 1] - pz[pa] if n > 1 else 0.0
            if group <= 0.0:
                # the piece of a point that x = 0 cuts (where the plume starts) counts only its downwind part,
                # evaluated at that part's middle: the midpoint rule errs there by O(h) otherwise
                for p in range(pa, pb + 1):
                    xp = xa + (p - pa) * dxp
                    if half > 0.0 and abs(xp) < half:
                        frac = (xp + half) / (2.0 * half)
                        shift = 0.5 * (half - xp) / dxp  # points from p to the downwind part's middle
                        _accumulate(acc, frac, px[p] + shift * sx - cx[c], py[p] + shift * sy_ - cy[c],
                                    max(pz[p] + shift * sz_, 0.0), sin_t[i], cos_t[i], u[i], tan_th[i], tan_ph[i],
                                    tl, sf, s0, hs)
                    else:
                        _accumulate(acc, 1.0, px[p] - cx[c], py[p] - cy[c], pz[p], sin_t[i], cos_t[i], u[i],
                                    tan_th[i], tan_ph[i], tl, sf, s0, hs)
            else:
                # g consecutive points stand for one piece g steps long, evaluated at its middle (weight g), where
                # the narrowest plume is ``group`` times wider than the piece (_group_size; a loop of its own: the
                # single-point loop above runs faster without it)
                step = math.hypot(sx, sy_)
                p = pa
                while p <= pb:
                    g = 1
                    if step > 0.0:
                        g = _group_size(xa + (p - pa) * dxp, dxp, pb - p + 1, step, u[i], tan_th[i], tl, s_min,
                                        s0_min, group)
                    q = p + g - 1
                    _accumulate(acc, float(g), 0.5 * (px[p] + px[q]) - cx[c], 0.5 * (py[p] + py[q]) - cy[c],
                                0.5 * (pz[p] + pz[q]), sin_t[i], cos_t[i], u[i], tan_th[i], tan_ph[i], tl, sf, s0,
                                hs)
                    p = q + 1
            for j in range(ns):
                for k in range(nh):
                    out[j, k, c, i] = acc[j, k] / n


@dataclass
class NetworkReadings:
    """A fixed network's readings prepared for the inversion (arrays of one entry per reading)."""

    y: np.ndarray  # ppb
    group: np.ndarray  # sensor × session index
    n_groups: int
    session: np.ndarray  # session index
    n_session: int
    u: np.ndarray
    sin_t: np.ndarray
    cos_t: np.ndarray
    tan_th: np.ndarray
    tan_ph: np.ndarray
    start: np.ndarray
    px: np.ndarray
    py: np.ndarray
    pz: np.ndarray
    ppb_per_g_m3: float
    extent: tuple
    ends: np.ndarray  # (readings, 6): each path's start and end east, north, height [m] (equal for a point)

    def resampled(self, step_m: float) -> NetworkReadings:
        """The same readings with their paths sampled at points ``step_m`` [m] apart."""
        start, px, py, pz = _path_points(self.ends, step_m)
        return replace(self, start=start, px=px, py=py, pz=pz)


def _path_points(ends: np.ndarray, step_m: float):
    """(start, east, north, height): the midpoints of ⌈length / step_m⌉ equal pieces of each path (one for a point).

    The points of reading i are ``start[i]:start[i + 1]``; heights below the ground are taken as the ground.
    """
    e0, n0, z0, e1, n1, z1 = ends.T
    k = np.maximum(1, np.ceil(np.hypot(e1 - e0, n1 - n0) / step_m)).astype(np.int64)
    start = np.concatenate(([0], np.cumsum(k))).astype(np.int64)
    owner = np.repeat(np.arange(k.size), k)
    frac = np.where(k[owner] > 1, (np.arange(start[-1]) - start[owner] + 0.5) / k[owner], 0.0)
    px = e0[owner] + frac * (e1 - e0)[owner]
    py = n0[owner] + frac * (n1 - n0)[owner]
    pz = np.maximum(z0[owner] + frac * (z1 - z0)[owner], 0.0)
    return start, px, py, pz


def network_readings(survey: Survey, channel: str, stability: str = "D",
                     wind: tuple[float, float] | None = None) -> NetworkReadings:
    """One channel of a fixed network as :class:`NetworkReadings` (beams as points 1 m apart).

    ``wind`` (speed [m/s], from [deg]) replaces the survey's wind. Raises InputError (naming the file) for a record
    without wind or in a calm, as the drone path does.
    """
    d = survey.data.copy()
    if wind is not None:
        d["wind_speed_mps"], d["wind_dir_deg"] = float(wind[0]), float(wind[1])
    elif not survey.has_wind:
        raise InputError("the survey has no wind (wind_speed_mps, wind_dir_deg); give one with --wind "
                         "SPEED_MPS@FROM_DEG", survey.path)
    elif not np.any(d["wind_speed_mps"].to_numpy(dtype=float) > 0):
        raise InputError("the wind speed is 0 on every row: in a calm a plume has no direction to locate a source "
                         "along; give the wind with --wind SPEED_MPS@FROM_DEG", survey.path, column="wind_speed_mps")
    species, unit = Survey.channel_parts(channel)
    temp, pres = mean_air(d)
    y = d[channel].to_numpy(float) * float(ppb_factor(unit, species, temp, pres))
    ok = (np.isfinite(y) & np.isfinite(d["wind_speed_mps"].to_numpy(float))
          & np.isfinite(d["wind_dir_deg"].to_numpy(float)))
    d = d.loc[ok]
    y = y[ok]
    sensor = d["platform"].astype(str).to_numpy() if "platform" in d.columns else np.full(len(d), "sensor")
    t = d["time"].to_numpy(float)
    order = np.argsort(t, kind="stable")
    session = np.concatenate(([0], np.cumsum(np.diff(t[order]) > SESSION_GAP_S)))
    sess = np.empty_like(session)
    sess[order] = session
    keys = pd.Series([f"{a}#{b}" for a, b in zip(sensor, sess, strict=True)])
    group, names = pd.factorize(keys)
    theta = np.deg2rad(d["wind_dir_deg"].to_numpy(float))
    u = np.maximum(d["wind_speed_mps"].to_numpy(float), 0.5)
    # without measured turbulence, the class's open-country σ curves (Briggs 1973) matched at 50 m downwind
    sy50, sz50 = dispersion_coefficients(np.array([MATCH_DISTANCE_M]), stability, "briggs_rural")
    f50 = 1.0 / np.sqrt(1.0 + (MATCH_DISTANCE_M / u) / (2.0 * LAGRANGIAN_TIME_S))
    th_class = np.rad2deg(np.arctan(float(sy50[0]) / (MATCH_DISTANCE_M * f50)))
    ph_class = np.rad2deg(np.arctan(float(sz50[0]) / (MATCH_DISTANCE_M * f50)))
    sth = d["wind_dir_sd_deg"].to_numpy(float) if "wind_dir_sd_deg" in d.columns else np.full(len(d), np.nan)
    measured = np.isfinite(sth) & (sth > 0)
    sth = np.where(measured, np.clip(sth, 1.0, 60.0), th_class)
    sph = d["wind_elev_sd_deg"].to_numpy(float) if "wind_elev_sd_deg" in d.columns else np.full(len(d), np.nan)
    sph = np.where(np.isfinite(sph) & (sph > 0), np.clip(sph, 0.5, 40.0),
                   np.where(measured, PHI_OVER_THETA * sth, ph_class))
    e0, n0, z0 = d["east"].to_numpy(float), d["north"].to_numpy(float), d["alt_m"].to_numpy(float)
    if "end_east" in d.columns:
        e1 = np.where(np.isfinite(d["end_east"]), d["end_east"], e0)
        n1 = np.where(np.isfinite(d["end_north"]), d["end_north"], n0)
        z1 = np.where(np.isfinite(d["end_height"]), d["end_height"], z0)
    else:
        e1, n1, z1 = e0, n0, z0
    ends = np.column_stack((e0, n0, z0, e1, n1, z1))
    start, px, py, pz = _path_points(ends, BEAM_STEP_M)
    ppb = float(mole_fraction(1e-3, SPECIES[species].molar_mass, temp, pres) * 1e9)
    return NetworkReadings(y, group.astype(np.int64), len(names), sess.astype(np.int64), int(sess.max()) + 1, u,
                           np.sin(theta), np.cos(theta), np.tan(np.deg2rad(sth)), np.tan(np.deg2rad(sph)), start,
                           px, py, pz, ppb, (px.min(), px.max(), py.min(), py.max()), ends)


@dataclass
class OffsetModel:
    """The readings' offsets: one per session (flat prior) plus one per sensor and session, N(0, τ²) about it.

    For weights w (1/σ² per reading) the offsets β = (b_session, δ_sensor) are the ridge solution
    β = A⁻¹ Fᵀ W (y − Q g), A = FᵀWF + diag(0, 1/τ²); ``H`` = A⁻¹FᵀW, and ``logdet`` = log det A − n_δ log(1/τ²)
    enters the marginal likelihood of τ (the offsets integrated out).
    """

    F: np.ndarray  # (n, p) one-hot sessions, then sensors × sessions
    n_session: int
    w: np.ndarray  # (n,)
    tau: float
    H: np.ndarray  # (p, n)
    logdet: float

    @classmethod
    def build(cls, r: NetworkReadings, w: np.ndarray, tau: float) -> OffsetModel:
        """The offsets of ``r``'s sessions and sensors under weights ``w`` and spread ``tau`` [ppb]."""
        n = r.y.size
        F = np.zeros((n, r.n_session + r.n_groups))
        F[np.arange(n), r.session] = 1.0
        F[np.arange(n), r.n_session + r.group] = 1.0
        pen = np.concatenate((np.zeros(r.n_session), np.full(r.n_groups, 1.0 / tau ** 2)))
        # a tiny ridge on the session intercepts too: they are collinear with the sensors' offsets only through
        # the penalty, which makes A invertible
        A = F.T @ (F * w[:, None]) + np.diag(pen + 1e-9)
        Ainv = np.linalg.inv(A)
        sign, logdet = np.linalg.slogdet(A)
        return cls(F, r.n_session, w, tau, Ainv @ (F.T * w[None, :]),
                   float(logdet) - r.n_groups * math.log(1.0 / tau ** 2))


def _profile(g: np.ndarray, r: NetworkReadings, om: OffsetModel):
    """Per cell (rows of g): rate Q̂ ≥ 0, its variance, the log-likelihood and the residuals.

    The offsets are the ridge solution of :class:`OffsetModel`; the log-likelihood profiles each sensor's noise,
    −½ Σ_k n_k log(RSS_k/n_k), less the offsets' penalty ½ Σ δ²/τ².
    """
    k = r.group
    n_k = np.bincount(k, minlength=r.n_groups).astype(float)
    w = om.w
    hy = om.H @ r.y
    yt = r.y - om.F @ hy
    hg = g @ om.H.T  # (cells, p)
    gt = g - hg @ om.F.T
    num = g @ (w * yt)
    den = np.sum(g * w[None, :] * gt, axis=1)
    q = np.where(den > 0, np.maximum(num / np.where(den > 0, den, 1.0), 0.0), 0.0)
    res = yt[None, :] - q[:, None] * gt
    beta = hy[None, :] - q[:, None] * hg
    delta = beta[:, om.n_session:]
    onehot = np.zeros((k.size, r.n_groups))
    onehot[np.arange(k.size), k] = 1.0
    rss = np.maximum((res * res) @ onehot, 1e-12)  # per cell and sensor
    ll = -0.5 * np.sum(n_k * np.log(rss / n_k), axis=1) - 0.5 * np.sum(delta * delta, axis=1) / om.tau ** 2
    sig2 = rss / n_k
    var_q = 1.0 / np.maximum(np.sum(g * gt / sig2[:, k], axis=1), 1e-300)
    return q, var_q, ll, res


def _marginal(g: np.ndarray, r: NetworkReadings, om: OffsetModel) -> np.ndarray:
    """Gaussian log-likelihood of the readings with the offsets integrated out, per cell (weights fixed)."""
    q, _, _, res = _profile(g, r, om)
    hy = om.H @ r.y
    beta = hy[None, :] - q[:, None] * (g @ om.H.T)
    delta = beta[:, om.n_session:]
    quad = np.sum(res * res * om.w[None, :], axis=1) + np.sum(delta * delta, axis=1) / om.tau ** 2
    return -0.5 * quad - 0.5 * om.logdet


@dataclass
class NetworkSource:
    """The located source of a fixed network (local frame [m], rates [g/s])."""

    east: float
    north: float
    height: float
    rate_g_s: float
    rate_ci90_g_s: tuple
    log_bayes: float
    cells: np.ndarray
    mass: np.ndarray
    resolution: float
    tempering: float

    def credible_radius(self, level: float = 0.9) -> float:
        """Radius of the disc around the estimate holding ``level`` of the posterior mass [m]."""
        d = np.hypot(self.cells[:, 0] - self.east, self.cells[:, 1] - self.north)
        o = np.argsort(d)
        k = int(np.searchsorted(np.cumsum(self.mass[o]), level))
        return float(d[o][min(k, d.size - 1)] + self.resolution / 2)

    def credible_polygon(self, level: float = 0.9):
        """Union of the highest-posterior cells holding ``level`` of the mass."""
        o = np.argsort(-self.mass)
        k = int(np.searchsorted(np.cumsum(self.mass[o]), level)) + 1
        h = self.resolution / 2
        return unary_union([box(x - h, y - h, x + h, y + h) for x, y in self.cells[o[:k]]])


class NetworkLocator:
    """Locate one source in a fixed network's readings (see the module docstring).

    Parameters
    ----------
    resolution, coarse_resolution : float
        Fine and coarse cell sides [m].
    margin : float
        Distance beyond the network's extent searched [m].
    heights : sequence of float
        Release heights [m] (uniform prior).
    spread_factors : sequence of float
        Factors on the turbulence-based σy, σz marginalised with equal weights.
    q_range : (float, float)
        Log-uniform prior range of the rate [g/s].
    stability : str
        Class whose σθ is used when the readings carry no ``wind_dir_sd_deg``.
    min_log_bayes : float
        Evidence needed to report the source [nats].
    initial_spreads : sequence of float
        Source sizes marginalised (initial spread added in quadrature) [m].
    wind : (speed, from_deg), optional
        A fixed wind instead of the readings' own.
    random_state : int

    Attributes
    ----------
    source_ : NetworkSource or None
    log_bayes_ : float
    readings_ : NetworkReadings
    """

    def __init__(self, resolution: float = 1.0, coarse_resolution: float = 4.0, margin: float = 60.0,
                 heights=(0.3, 1.0, 3.0), spread_factors=SPREAD_FACTORS, q_range=(1e-4, 1e2), stability: str = "D",
                 min_log_bayes: float = 8.0, initial_spreads=INITIAL_SPREADS_M, wind: tuple[float, float] | None = None,
                 random_state: int = 0):
        self.resolution = resolution
        self.wind = wind
        self.initial_spreads = initial_spreads
        self.coarse_resolution = coarse_resolution
        self.margin = margin
        self.heights = heights
        self.spread_factors = spread_factors
        self.q_range = q_range
        self.stability = stability
        self.min_log_bayes = min_log_bayes
        self.random_state = random_state

    def _g(self, r: NetworkReadings, cx, cy, heights, spreads, group: float = 0.0):
        """Unit-rate predictions [ppb per g/s], (spreads, heights, cells, readings).

        ``spreads``: [(spread factor, initial spread [m]), …]; ``group`` > 0 takes a beam's points in groups where
        the plume is wide (:func:`_group_size`).
        """
        hs = np.atleast_1d(np.asarray(heights, float))
        sf = np.array([s for s, _ in spreads], float)
        s0 = np.array([s0 for _, s0 in spreads], float)
        out = np.empty((sf.size, hs.size, cx.size, r.y.size))
        _coupling(np.ascontiguousarray(cx), np.ascontiguousarray(cy), hs, r.px, r.py, r.pz, r.start, r.u,
                  r.sin_t, r.cos_t, r.tan_th, r.tan_ph, LAGRANGIAN_TIME_S, sf, s0, float(group), out)
        return out * r.ppb_per_g_m3

    def _score(self, r, cx, cy, configs, om, beta, g_given=None):
        """Log p(y | cell) − log p(y | none), the rate integrated out (Laplace), per config and cell."""
        lq_range = math.log(self.q_range[1] / self.q_range[0])
        if g_given is not None:
            scored = [self._score_one(g, r, om, beta, lq_range) for g in g_given]
        else:
            # every spread and release height in one pass over the points (their geometry computed once)
            heights = sorted({h for h, _, _ in configs})
            spreads = sorted({(s, s0) for _, s, s0 in configs})
            g_all = self._g(r, cx, cy, heights, spreads)
            scored = [self._score_one(g_all[spreads.index((s, s0)), heights.index(h)], r, om, beta, lq_range)
                      for h, s, s0 in configs]
        return np.stack([sc for sc, _ in scored]), [rq for _, rq in scored]

    def _score_one(self, g, r, om, beta, lq_range):
        """One configuration's per-cell score and its (rate, variance) (see :meth:`_score`)."""
        q, var_q, ll, _ = _profile(g, r, om)
        qq = np.clip(q, self.q_range[0], self.q_range[1])
        laplace = 0.5 * np.log(2 * np.pi * var_q) - np.log(qq * lq_range)
        # the rate's likelihood is at most as wide as the prior: the Laplace term never adds evidence
        laplace = np.minimum(laplace, 0.0)
        return beta * (ll - self._ll0) + np.where(q > 0, laplace, 0.0), (q, var_q)

    def fit(self, survey: Survey, channel: str | None = None) -> NetworkLocator:
        """Locate the source of ``channel`` (default: the first channel with a molar mass)."""
        channel = channel or next(c for c in survey.channels if Survey.channel_parts(c)[0] in SPECIES)
        r = network_readings(survey, channel, self.stability, self.wind)
        # the coarse pass samples the beams at half its cell side: finer points than that resolve nothing the 4 m
        # cells can tell apart
        r_coarse = r.resampled(max(BEAM_STEP_M, 0.5 * self.coarse_resolution))
        self.readings_ = r
        n_k = np.bincount(r.group, minlength=r.n_groups).astype(float)
        # noise per sensor and session from the offsets-only fit (twice: the weights enter the offsets)
        w = np.ones(r.y.size)
        for _ in range(2):
            om = OffsetModel.build(r, w, TAU_GRID_PPB[-1])
            res0 = r.y - om.F @ (om.H @ r.y)
            sig2 = np.maximum(np.bincount(r.group, weights=res0 * res0, minlength=r.n_groups) / n_k, 1e-6)
            w = 1.0 / sig2[r.group]
        x0, x1, y0, y1 = r.extent
        m, c = self.margin, self.coarse_resolution
        xs = np.arange(x0 - m + c / 2, x1 + m, c)
        ys = np.arange(y0 - m + c / 2, y1 + m, c)
        gx, gy = (a.ravel() for a in np.meshgrid(xs, ys, indexing="ij"))
        heights = list(self.heights)
        mid = (heights[len(heights) // 2], 1.0, float(np.median(self.initial_spreads)))
        # τ, the spread of the sensors' offsets, by empirical Bayes: the value under which the readings are most
        # probable, the offsets integrated out and the source's position averaged over the coarse grid
        g_coarse = self._g(r_coarse, gx, gy, [mid[0]], [mid[1:]], group=COARSE_GROUP)[0, 0]
        evid = [float(log_sum_exp(_marginal(g_coarse, r, OffsetModel.build(r, w, tau)))) for tau in TAU_GRID_PPB]
        self.tau_ppb_ = float(TAU_GRID_PPB[int(np.argmax(evid))])
        om = OffsetModel.build(r, w, self.tau_ppb_)
        self._ll0 = float(_profile(np.zeros((1, r.y.size)), r, om)[2][0])
        # tempering from the residual autocorrelation at the best coarse cell (readings are not independent)
        coarse, rates = self._score(r, gx, gy, [mid], om, 1.0, g_given=[g_coarse])
        best = int(np.argmax(coarse[0]))
        _, _, _, res = _profile(g_coarse[best:best + 1], r, om)
        self.tempering_ = _tempering(res[0], r)
        coarse = coarse * self.tempering_  # (its Laplace term is small against the likelihood on a coarse cell)
        post = np.exp(coarse[0] - log_sum_exp(coarse[0]))
        o = np.argsort(-post)
        keep = o[: int(np.searchsorted(np.cumsum(post[o]), 0.999)) + 1][:60]
        sub = int(round(c / self.resolution))
        offs = (np.arange(sub) + 0.5) * self.resolution - c / 2
        fx = (gx[keep][:, None, None] + offs[None, :, None] + 0 * offs[None, None, :]).ravel()
        fy = (gy[keep][:, None, None] + 0 * offs[None, :, None] + offs[None, None, :]).ravel()
        nbr = []
        for dx, dy in ((0, 0), (-c, 0), (c, 0), (0, -c), (0, c)):
            nbr.append(np.column_stack((fx + dx, fy + dy)))
        cells = np.unique(np.round(np.vstack(nbr), 3), axis=0)
        configs = [(h, s, s0) for h in heights for s in self.spread_factors for s0 in self.initial_spreads]
        lp, rates = self._score(r, cells[:, 0], cells[:, 1], configs, om, self.tempering_)
        log_prior_cell = math.log(self.resolution ** 2 / ((x1 - x0 + 2 * m) * (y1 - y0 + 2 * m)))
        lp = lp - math.log(len(configs)) + log_prior_cell
        total = float(log_sum_exp(lp))
        self.log_bayes_ = total
        cell_mass = np.exp(log_sum_exp(lp, axis=0) - total)
        cfg_mass = np.exp(lp - total)
        i_map = int(np.argmax(cell_mass))
        h_mass = cfg_mass.reshape(len(heights), -1).sum(axis=1)
        # the rate: a mixture over (config, cell) of normals N(Q̂, var) with the posterior weights
        rng = np.random.default_rng(self.random_state)
        flat = cfg_mass.ravel()
        pick = rng.choice(flat.size, size=4000, p=flat / flat.sum())
        qs = np.concatenate([rates[j][0][None, :] for j in range(len(configs))]).ravel()[pick]
        vs = np.concatenate([rates[j][1][None, :] for j in range(len(configs))]).ravel()[pick]
        draws = np.maximum(qs + np.sqrt(vs) * rng.standard_normal(pick.size), self.q_range[0])
        self.source_ = None
        if total >= self.min_log_bayes:
            self.source_ = NetworkSource(
                east=float(cells[i_map, 0]), north=float(cells[i_map, 1]), height=float(h_mass @ np.array(heights)),
                rate_g_s=float(np.median(draws)),
                rate_ci90_g_s=(float(np.quantile(draws, 0.05)), float(np.quantile(draws, 0.95))), log_bayes=total,
                cells=cells, mass=cell_mass, resolution=self.resolution, tempering=self.tempering_)
        return self


def _tempering(res: np.ndarray, r: NetworkReadings) -> float:
    """(1 − ρ)/(1 + ρ) for the lag-1 autocorrelation ρ of each sensor's residual series (clipped to 0.05–1)."""
    num = den = 0.0
    for k in range(r.n_groups):
        e = res[r.group == k]
        e = e - e.mean()
        if e.size > 2:
            num += float(np.sum(e[1:] * e[:-1]))
            den += float(np.sum(e * e))
    rho = num / den if den > 0 else 0.0
    return float(np.clip((1 - rho) / (1 + rho), 0.05, 1.0))


def is_fixed_network(survey: Survey, tolerance_m: float = 2.0) -> bool:
    """Whether every sensor of a survey stays within ``tolerance_m`` of where it started (a fixed record)."""
    d = survey.data
    plat = d["platform"].astype(str) if "platform" in d.columns else pd.Series("uav", index=d.index)
    for _, g in d.groupby(plat):
        e, n = g["east"].to_numpy(), g["north"].to_numpy()
        if float(np.hypot(e - e[0], n - n[0]).max()) > tolerance_m:
            return False
    return True
