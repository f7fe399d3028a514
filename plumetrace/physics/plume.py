"""Steady Gaussian plume of continuous point sources, many receptors × many sources.

Coordinates are a local metric frame: east and north [m] on the ground plane and heights above ground [m].
The wind direction is meteorological: the direction the wind blows *from*, degrees clockwise from north.
Receptor-dependent meteorology (wind speed and direction, stability, mixing height) lets each survey sample
carry its own wind.

The kernels are compiled with numba and run in parallel over receptors; a pair of receptor and source
costs a few nanoseconds, and pairs upwind or far off the plume axis are skipped before any exponential.

References
----------
.. [1] Turner, D. B. (1994). *Workbook of Atmospheric Dispersion Estimates*, 2nd ed., Lewis Publishers,
   eqs. 3.1–3.5 (ground reflection, reflection from the mixing lid, uniform mixing when σz > 1.6 L).
.. [2] US EPA (2000). *Meteorological Monitoring Guidance for Regulatory Modeling Applications*,
   EPA-454/R-99-005, §6.9: winds below 1 m s⁻¹ are reset to 1 m s⁻¹ in steady-state Gaussian models.
.. [3] Stockie, J. M. (2011). The mathematics of atmospheric dispersion modeling. *SIAM Review* 53,
   349–372. doi:10.1137/10080991X
"""

from __future__ import annotations

import numba
import numpy as np
from numpy.typing import ArrayLike, NDArray

from plumetrace.physics._kernels import CUT_SIGMAS, FASTMATH, gaussian_pair, growth
from plumetrace.physics._kernels import unit_concentration_sigmas as unit_concentration_sigmas
from plumetrace.physics.sigmas import (
    MODEL_PARAMETRIC,
    averaging_time_factor,
    sigma_model,
    sigma_yz_scalar,
)
from plumetrace.physics.stability import stability_code

#: Winds below this speed are reset to it (EPA-454/R-99-005 §6.9) [m s⁻¹].
MIN_WIND_SPEED = 1.0
@numba.njit(cache=True, fastmath=FASTMATH, inline="always")
def unit_concentration_scalar(dx, dy, z, h, sin_t, cos_t, u, code, kind, table, sy_scale, lid):
    """Concentration per unit emission rate [s m⁻³] of one source at one receptor (compiled scalar kernel).

    For other compiled kernels (the locator's grid likelihood). ``dx``, ``dy``: receptor minus source, east
    and north [m]; ``z``, ``h``: receptor and release heights [m]; ``sin_t``, ``cos_t``: sine and cosine of
    the direction the wind blows from; ``u``: wind speed [m s⁻¹]; ``code``, ``kind``, ``table``: stability
    code and resolved σ model (:func:`plumetrace.physics.sigmas.sigma_model`); ``sy_scale``: factor on σy;
    ``lid``: mixing height [m] or inf. Same equation as :func:`gaussian_plume`.
    """
    x = -(dx * sin_t + dy * cos_t)
    if x <= 0.0:
        return 0.0
    y = dx * cos_t - dy * sin_t
    s_y, s_z = sigma_yz_scalar(x, code, kind, table)
    return gaussian_pair(x, y, z, h, s_y * sy_scale, s_z, lid) / u


@numba.njit(cache=True, fastmath=FASTMATH, inline="always")
def _receptor_sum(xr, yr, zr, u, sin_t, cos_t, code, lid, scale, sx, sy, sh, q, kind, table, row_out, matrix):
    """Sum over sources of q·C/u at one receptor; with ``matrix`` also store each unit-rate term."""
    lo = int(code)
    fast = kind == MODEL_PARAMETRIC and code == lo
    ay = by = cy = dy = az = bz = cz = dz = 0.0
    if fast:
        ay, by, cy, dy = table[lo, 0], table[lo, 1], table[lo, 2], table[lo, 3]
        az, bz, cz, dz = table[lo, 4], table[lo, 5], table[lo, 6], table[lo, 7]
    # a cheap cone test before the σ's: σy <= (ay·x + dy)·scale whenever cy <= 0
    cone = fast and cy <= 0.0
    cone_a = CUT_SIGMAS * ay * scale
    cone_d = CUT_SIGMAS * dy * scale
    inv_u = 1.0 / u
    acc = 0.0
    for j in range(sx.size):
        dx = xr - sx[j]
        dy_ = yr - sy[j]
        # downwind unit vector is (-sin θ, -cos θ) for a wind from θ
        x = -(dx * sin_t + dy_ * cos_t)
        value = 0.0
        if x > 0.0:
            y = dx * cos_t - dy_ * sin_t
            if not (cone and abs(y) > cone_a * x + cone_d):
                if fast:
                    s_y = ay * x * growth(1.0 + by * x, cy) + dy
                    s_z = az * x * growth(1.0 + bz * x, cz) + dz
                else:
                    s_y, s_z = sigma_yz_scalar(x, code, kind, table)
                value = gaussian_pair(x, y, zr, sh[j], s_y * scale, s_z, lid) * inv_u
        if matrix:
            row_out[j] = value
        acc += q[j] * value
    return acc


@numba.njit(cache=True, fastmath=FASTMATH, parallel=True)
def _plume_sum(rx, ry, rz, met, sx, sy, sh, q, kind, table, out):
    stride = 1 if met.shape[0] > 1 else 0
    dummy = np.empty(0)
    for i in numba.prange(rx.size):
        m = i * stride
        out[i] = _receptor_sum(rx[i], ry[i], rz[i], met[m, 0], met[m, 1], met[m, 2], met[m, 3], met[m, 4],
                               met[m, 5], sx, sy, sh, q, kind, table, dummy, False)


@numba.njit(cache=True, fastmath=FASTMATH, parallel=True)
def _plume_matrix(rx, ry, rz, met, sx, sy, sh, kind, table, out):
    stride = 1 if met.shape[0] > 1 else 0
    q = np.ones(sx.size)
    for i in numba.prange(rx.size):
        m = i * stride
        _receptor_sum(rx[i], ry[i], rz[i], met[m, 0], met[m, 1], met[m, 2], met[m, 3], met[m, 4], met[m, 5],
                      sx, sy, sh, q, kind, table, out[i], True)


def _prepare(
    receptor_east, receptor_north, receptor_height, source_east, source_north, source_height,
    wind_speed, wind_direction_deg, stability, model, coefficients, mixing_height, averaging_time,
    min_wind_speed, sigma_y_scale=1.0,
):
    """Flatten receptors and sources; pack the meteorology into one (1 or n_receptors) × 6 array."""
    shape = np.broadcast_shapes(np.shape(receptor_east), np.shape(receptor_north), np.shape(receptor_height))
    shape = shape if shape else (1,)

    def flat(value, name, target):
        arr = np.asarray(value, dtype=np.float64)
        try:
            return np.ascontiguousarray(np.broadcast_to(arr, target), dtype=np.float64).ravel()
        except ValueError:
            raise ValueError(f"{name} of shape {arr.shape} does not broadcast to {target}") from None

    rec = tuple(flat(v, n, shape) for v, n in ((receptor_east, "receptor_east"),
                                               (receptor_north, "receptor_north"),
                                               (receptor_height, "receptor_height")))
    resolved = sigma_model(model, coefficients)
    code = stability_code(stability)
    if resolved.fixed_class:
        code = np.zeros_like(code)
    lid = np.asarray(np.inf if mixing_height is None else mixing_height, dtype=np.float64)
    scale = np.asarray(1.0 if averaging_time is None else averaging_time_factor(averaging_time))
    scale = scale * np.asarray(sigma_y_scale, dtype=np.float64)
    if np.any(~(scale > 0)):
        raise ValueError("sigma_y_scale must be > 0")
    met_inputs = (wind_speed, wind_direction_deg, code, lid, scale)
    names = ("wind_speed", "wind_direction_deg", "stability", "mixing_height", "averaging_time")
    uniform = all(np.size(v) == 1 for v in met_inputs)
    met_shape = (1,) if uniform else shape
    u, direction, code_f, lid_f, scale_f = (flat(v, n, met_shape) for v, n in zip(met_inputs, names, strict=True))
    if np.any(~np.isfinite(u)) or np.any(u < 0):
        raise ValueError("wind_speed must be finite and >= 0 m/s")
    theta = np.deg2rad(direction)
    lid_f = np.where(np.isnan(lid_f) | (lid_f <= 0), np.inf, lid_f)
    met = np.column_stack((np.maximum(u, min_wind_speed), np.sin(theta), np.cos(theta), code_f, lid_f, scale_f))
    src_shape = np.broadcast_shapes(np.shape(source_east), np.shape(source_north), np.shape(source_height))
    src = tuple(flat(v, n, src_shape if src_shape else (1,))
                for v, n in ((source_east, "source_east"), (source_north, "source_north"),
                             (source_height, "source_height")))
    if np.any(src[2] < 0) or np.any(rec[2] < 0):
        raise ValueError("heights above ground must be >= 0 m")
    return shape, rec, np.ascontiguousarray(met), src, resolved


def gaussian_plume(
    receptor_east: ArrayLike,
    receptor_north: ArrayLike,
    receptor_height: ArrayLike,
    source_east: ArrayLike,
    source_north: ArrayLike,
    source_height: ArrayLike,
    emission_rate: ArrayLike,
    wind_speed: ArrayLike,
    wind_direction_deg: ArrayLike,
    stability: ArrayLike = "D",
    model: str = "briggs_rural",
    coefficients: ArrayLike | None = None,
    mixing_height: ArrayLike | None = None,
    averaging_time: ArrayLike | None = None,
    min_wind_speed: float = MIN_WIND_SPEED,
    sigma_y_scale: ArrayLike = 1.0,
) -> NDArray[np.float64]:
    r"""Concentration of steady Gaussian plumes from point sources, summed over the sources.

    Parameters
    ----------
    receptor_east, receptor_north : array_like
        Receptor position in the local metric frame [m].
    receptor_height : array_like
        Receptor height above ground z [m].
    source_east, source_north : array_like
        Source positions [m], one per source (1-D or scalar).
    source_height : array_like
        Effective release height H of each source above ground [m].
    emission_rate : array_like
        Emission rate Q of each source [g s⁻¹] (any mass unit per second; the result has the same mass
        unit per m³).
    wind_speed : array_like
        Mean wind speed u at plume height [m s⁻¹], scalar or per receptor. Speeds below
        ``min_wind_speed`` are reset to it (EPA guidance).
    wind_direction_deg : array_like
        Direction the wind blows from, degrees clockwise from north, scalar or per receptor.
    stability : array_like
        Pasquill class (``"A"`` … ``"F"``, or codes), scalar or per receptor.
    model : str
        σ model, see :func:`plumetrace.physics.sigmas.dispersion_coefficients`.
    coefficients : array_like, optional
        Coefficients for ``model="parametric"``.
    mixing_height : array_like, optional
        Height L of the mixing lid [m], scalar or per receptor; ``None``, NaN or ≤ 0 means no lid.
    averaging_time : array_like, optional
        Averaging time of the concentration [s]; σy is scaled by (t / 600 s)^0.2.
    min_wind_speed : float
        Calm threshold [m s⁻¹] (default 1).
    sigma_y_scale : array_like
        Extra factor on σy, scalar or per receptor (e.g. the relative dispersion of an instantaneous,
        meandering plume, Gifford 1959); applied on top of the averaging-time factor.

    Returns
    -------
    numpy.ndarray
        Concentration C [g m⁻³ for Q in g s⁻¹], shape of the receptors.

    Notes
    -----
    For each source (Turner 1994 eq. 3.1 with reflections, docs/methods.md §1):

    .. math::

        C = \frac{Q}{2\pi u \sigma_y \sigma_z} \exp\left(-\frac{y^2}{2\sigma_y^2}\right)
            \sum_n \left[\exp\left(-\frac{(z-H+2nL)^2}{2\sigma_z^2}\right)
            + \exp\left(-\frac{(z+H+2nL)^2}{2\sigma_z^2}\right)\right]

    with n = 0 only (ground reflection) without a lid, n = −4…4 below a lid L, and the well-mixed form
    C = Q / (√(2π) u σy L) · exp(−y²/2σy²) once σz > 1.6 L. Receptors at or upwind of the source
    (x ≤ 0) and receptors above the lid receive nothing. The steady model assumes winds ≥ ~1 m s⁻¹,
    flat terrain and steady conditions; use :func:`plumetrace.physics.puff.gaussian_puff` for unsteady
    wind or emissions.

    Examples
    --------
    Turner's (1994) burning-dump problem: 3 g/s at ground level, 3 km downwind, class D, 7 m/s
    (answer in the workbook: 1.1e-5 g/m³).

    >>> c = gaussian_plume(0.0, -3000.0, 0.0, 0.0, 0.0, 0.0, 3.0, 7.0, 0.0, "D", model="isc3_rural")
    >>> f"{float(c[0]):.2e}"
    '1.13e-05'
    """
    shape, rec, met, src, resolved = _prepare(
        receptor_east, receptor_north, receptor_height, source_east, source_north, source_height,
        wind_speed, wind_direction_deg, stability, model, coefficients, mixing_height, averaging_time,
        min_wind_speed, sigma_y_scale,
    )
    q = np.ascontiguousarray(np.broadcast_to(np.asarray(emission_rate, dtype=np.float64), src[0].shape))
    out = np.empty(rec[0].size, dtype=np.float64)
    _plume_sum(*rec, met, *src, q, resolved.kind, resolved.table, out)
    return out.reshape(shape)


def plume_coupling(
    receptor_east: ArrayLike,
    receptor_north: ArrayLike,
    receptor_height: ArrayLike,
    source_east: ArrayLike,
    source_north: ArrayLike,
    source_height: ArrayLike,
    wind_speed: ArrayLike,
    wind_direction_deg: ArrayLike,
    stability: ArrayLike = "D",
    model: str = "briggs_rural",
    coefficients: ArrayLike | None = None,
    mixing_height: ArrayLike | None = None,
    averaging_time: ArrayLike | None = None,
    min_wind_speed: float = MIN_WIND_SPEED,
    sigma_y_scale: ArrayLike = 1.0,
) -> NDArray[np.float64]:
    """Unit-rate concentration of every source at every receptor (the coupling matrix).

    Same parameters as :func:`gaussian_plume` without ``emission_rate``.

    Returns
    -------
    numpy.ndarray
        Shape ``receptor_shape + (n_sources,)``: concentration per unit emission rate [s m⁻³]; the
        concentration of rates ``Q`` is ``coupling @ Q`` (linearity in Q, docs/methods.md §1).
    """
    shape, rec, met, src, resolved = _prepare(
        receptor_east, receptor_north, receptor_height, source_east, source_north, source_height,
        wind_speed, wind_direction_deg, stability, model, coefficients, mixing_height, averaging_time,
        min_wind_speed, sigma_y_scale,
    )
    out = np.empty((rec[0].size, src[0].size), dtype=np.float64)
    _plume_matrix(*rec, met, *src, resolved.kind, resolved.table, out)
    return out.reshape(shape + (src[0].size,))


def is_calm(wind_speed: ArrayLike, threshold: float = MIN_WIND_SPEED) -> NDArray[np.bool_]:
    """Flag calms: wind speeds below ``threshold`` [m s⁻¹], where the steady plume is unreliable."""
    return np.asarray(wind_speed, dtype=np.float64) < threshold
