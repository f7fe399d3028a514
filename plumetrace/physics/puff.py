"""Gaussian puff model for time-varying wind and emissions.

A release is a train of puffs of mass m_k = Q(t_k)·Δt released at t_k. Every puff is carried by the
(spatially uniform, time-varying) wind, so its centre at time t is the source position plus the wind's
displacement between t_k and t, and its spread is the Gaussian plume's σ at the puff's travel distance
(docs/methods.md §5; Daniels et al. 2024). The displacement of all puffs is a difference of one cumulative
integral of the wind, computed once (as in the JAX port of DLQ, docs/methods.md §5).

References
----------
.. [1] Ludwig, F. L., Gasiorek, L. S. and Ruff, R. E. (1977). Simplification of a Gaussian puff model for
   real-time minicomputer use. *Atmos. Environ.* 11, 431–436. doi:10.1016/0004-6981(77)90004-X
.. [2] Daniels, W. S. et al. (2024). Toward multiscale measurement-informed methane inventories:
   the DLQ framework. *Atmos. Meas. Tech.* (puff-based localisation and quantification).
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numpy.typing import ArrayLike, NDArray

from plumetrace.physics._kernels import CUT_SIGMAS, FASTMATH, vertical_term
from plumetrace.physics.sigmas import sigma_model, sigma_yz_scalar
from plumetrace.physics.stability import stability_code

_TWO_PI_3_2 = (2.0 * math.pi) ** 1.5
#: Floor on the wind speed used for puff travel [m s⁻¹]; puffs, unlike the steady plume, handle light winds.
MIN_PUFF_WIND_SPEED = 0.05


def wind_displacement(
    time: ArrayLike, wind_speed: ArrayLike, wind_direction_deg: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Cumulative displacement of an air parcel by a uniform wind series (trapezoidal rule).

    Parameters
    ----------
    time : array_like
        Increasing times [s].
    wind_speed : array_like
        Speed [m s⁻¹] at those times.
    wind_direction_deg : array_like
        Direction the wind blows from [degrees clockwise from north].

    Returns
    -------
    east, north, path : numpy.ndarray
        Displacement east and north [m] and travelled path length [m] since ``time[0]``.
    """
    t = np.asarray(time, dtype=np.float64)
    if t.ndim != 1 or t.size < 2 or np.any(np.diff(t) <= 0):
        raise ValueError("wind time series needs >= 2 strictly increasing times")
    speed = np.broadcast_to(np.asarray(wind_speed, dtype=np.float64), t.shape)
    theta = np.deg2rad(np.broadcast_to(np.asarray(wind_direction_deg, dtype=np.float64), t.shape))
    ve = -speed * np.sin(theta)
    vn = -speed * np.cos(theta)
    dt = np.diff(t)

    def cumtrapz(v):
        return np.concatenate(([0.0], np.cumsum(0.5 * (v[1:] + v[:-1]) * dt)))

    return cumtrapz(ve), cumtrapz(vn), cumtrapz(speed)


@numba.njit(cache=True, fastmath=FASTMATH, parallel=True)
def _puff_kernel(rt, rx, ry, rz, re, rn, rs, code, lid, pt, px, py, ph, pm, pe, pn, ps, kind, table, sy_scale,
                 out):
    n_p = pt.size
    for i in numba.prange(rt.size):
        acc = 0.0
        for k in range(n_p):
            if pt[k] >= rt[i]:
                continue
            travel = rs[i] - ps[k]
            if travel <= 0.0:
                continue
            sy, sz = sigma_yz_scalar(travel, code[i], kind, table)
            sy *= sy_scale
            dx = rx[i] - (px[k] + re[i] - pe[k])
            dy = ry[i] - (py[k] + rn[i] - pn[k])
            r2 = (dx * dx + dy * dy) / (sy * sy)
            if r2 > CUT_SIGMAS * CUT_SIGMAS:
                continue
            acc += pm[k] * math.exp(-0.5 * r2) * vertical_term(rz[i], ph[k], sz, lid[i]) / (
                _TWO_PI_3_2 * sy * sy * sz
            )
        out[i] = acc


def gaussian_puff(
    receptor_time: ArrayLike,
    receptor_east: ArrayLike,
    receptor_north: ArrayLike,
    receptor_height: ArrayLike,
    puff_time: ArrayLike,
    puff_east: ArrayLike,
    puff_north: ArrayLike,
    puff_height: ArrayLike,
    puff_mass: ArrayLike,
    wind_time: ArrayLike,
    wind_speed: ArrayLike,
    wind_direction_deg: ArrayLike,
    stability: ArrayLike = "D",
    model: str = "briggs_rural",
    coefficients: ArrayLike | None = None,
    mixing_height: ArrayLike | None = None,
    sigma_y_scale: float = 1.0,
) -> NDArray[np.float64]:
    r"""Concentration from Gaussian puffs advected by a time-varying uniform wind.

    Parameters
    ----------
    receptor_time : array_like
        Sample times [s] (same clock as ``wind_time``).
    receptor_east, receptor_north, receptor_height : array_like
        Sample positions [m] (height above ground).
    puff_time : array_like
        Release time t_k of each puff [s].
    puff_east, puff_north, puff_height : array_like
        Release position of each puff [m].
    puff_mass : array_like
        Mass of each puff m_k [g]; for a rate Q(t) sampled every Δt, m_k = Q(t_k)·Δt.
    wind_time, wind_speed, wind_direction_deg : array_like
        The wind series [s, m s⁻¹, degrees from]; speeds below 1 m s⁻¹ are kept (puffs handle light
        winds) but floored at :data:`MIN_PUFF_WIND_SPEED` for the travel distance.
    stability : array_like
        Pasquill class, scalar or per receptor.
    model, coefficients : optional
        σ model (see :mod:`plumetrace.physics.sigmas`), evaluated at each puff's travel distance.
    mixing_height : array_like, optional
        Lid height [m], scalar or per receptor.
    sigma_y_scale : float
        Factor on the horizontal σ (e.g. < 1 for puffs that meander as whole, relative dispersion).

    Returns
    -------
    numpy.ndarray
        Concentration [g m⁻³], shape of the receptors.

    Notes
    -----
    Each puff contributes (docs/methods.md §5, σx = σy)

    .. math::

        C_k = \frac{m_k}{(2\pi)^{3/2}\sigma_y^2\sigma_z}
              \exp\left(-\frac{\Delta x^2 + \Delta y^2}{2\sigma_y^2}\right)
              \left[e^{-(z-H)^2/2\sigma_z^2} + e^{-(z+H)^2/2\sigma_z^2}\right]

    with the same lid images as the plume. Puffs released at or after a receptor's time contribute
    nothing. With steady wind and Δt small against σy/u the sum converges to the steady plume.
    """
    rt = np.atleast_1d(np.asarray(receptor_time, dtype=np.float64))
    shape = np.broadcast_shapes(rt.shape, np.shape(receptor_east), np.shape(receptor_north),
                                np.shape(receptor_height))

    def per(value, n_shape):
        return np.ascontiguousarray(np.broadcast_to(np.asarray(value, dtype=np.float64), n_shape)).ravel()

    rtf, rx, ry, rz = (per(v, shape) for v in (receptor_time, receptor_east, receptor_north, receptor_height))
    p_shape = np.broadcast_shapes(np.shape(puff_time), np.shape(puff_east), np.shape(puff_north),
                                  np.shape(puff_height), np.shape(puff_mass))
    pt, px, py, ph, pm = (per(v, p_shape) for v in (puff_time, puff_east, puff_north, puff_height, puff_mass))
    wt = np.asarray(wind_time, dtype=np.float64)
    speed = np.maximum(np.broadcast_to(np.asarray(wind_speed, dtype=np.float64), wt.shape), MIN_PUFF_WIND_SPEED)
    we, wn, ws = wind_displacement(wt, speed, wind_direction_deg)
    if rtf.size and (rtf.min() < wt[0] or rtf.max() > wt[-1] or (pt.size and pt.min() < wt[0])):
        raise ValueError("receptor and puff times must lie within the wind series")
    re, rn, rs = (np.interp(rtf, wt, w) for w in (we, wn, ws))
    pe, pn, ps = (np.interp(pt, wt, w) for w in (we, wn, ws))
    resolved = sigma_model(model, coefficients)
    code = stability_code(stability)
    if resolved.fixed_class:
        code = np.zeros_like(code)
    code = per(code, shape)
    lid = per(np.inf if mixing_height is None else mixing_height, shape)
    lid = np.where(np.isnan(lid) | (lid <= 0), np.inf, lid)
    out = np.empty(rtf.size, dtype=np.float64)
    if not sigma_y_scale > 0:
        raise ValueError("sigma_y_scale must be > 0")
    _puff_kernel(rtf, rx, ry, rz, re, rn, rs, code, lid, pt, px, py, ph, pm, pe, pn, ps, resolved.kind,
                 resolved.table, float(sigma_y_scale), out)
    return out.reshape(shape)


def release_puffs(
    source_east: float,
    source_north: float,
    source_height: float,
    emission_rate: ArrayLike,
    start: float,
    stop: float,
    interval: float,
) -> tuple[NDArray[np.float64], ...]:
    """Discretise a (possibly time-varying) release into puffs.

    Parameters
    ----------
    source_east, source_north, source_height : float
        Source position [m].
    emission_rate : float or callable
        Rate Q [g s⁻¹], or a function of time returning it (e.g. an on/off batch schedule).
    start, stop : float
        Release window [s].
    interval : float
        Δt between puffs [s]; each puff carries Q(t_k + Δt/2)·Δt, released mid-interval.

    Returns
    -------
    time, east, north, height, mass : numpy.ndarray
        Puff arrays for :func:`gaussian_puff`.
    """
    if interval <= 0 or stop <= start:
        raise ValueError("need interval > 0 and stop > start")
    t = np.arange(start, stop, interval) + 0.5 * interval
    rate = emission_rate(t) if callable(emission_rate) else np.full_like(t, float(emission_rate))
    mass = np.asarray(rate, dtype=np.float64) * interval
    n = t.size
    return t, np.full(n, float(source_east)), np.full(n, float(source_north)), np.full(n, float(source_height)), mass

