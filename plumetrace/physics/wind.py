"""Mean wind speed profiles in the surface layer.

References
----------
.. [1] US EPA (1995). ISC3 user's guide vol. II, EPA-454/B-95-003b, §1.1.3 (power-law exponents after
   Irwin 1979).
.. [2] Irwin, J. S. (1979). A theoretical variation of the wind profile power-law exponent as a function of
   surface roughness and stability. *Atmos. Environ.* 13, 191–194. doi:10.1016/0004-6981(79)90260-9
.. [3] Businger, J. A., Wyngaard, J. C., Izumi, Y. and Bradley, E. F. (1971). Flux-profile relationships in
   the atmospheric surface layer. *J. Atmos. Sci.* 28, 181–189.
   doi:10.1175/1520-0469(1971)028<0181:FPRITA>2.0.CO;2
.. [4] Paulson, C. A. (1970). The mathematical representation of wind speed and temperature profiles in the
   unstable atmospheric surface layer. *J. Appl. Meteor.* 9, 857–861 (the integrated unstable ψ).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from plumetrace.physics.stability import admissible_classes, stability_code

#: ISC3 / Irwin (1979) power-law exponents for classes A..F.
POWER_LAW_EXPONENTS = {
    "rural": np.array([0.07, 0.07, 0.10, 0.15, 0.35, 0.55]),
    "urban": np.array([0.15, 0.15, 0.20, 0.25, 0.30, 0.30]),
}
#: von Kármán constant paired with the Businger et al. (1971) profile functions.
VON_KARMAN_BUSINGER = 0.35


def power_law_exponent(stability: ArrayLike, setting: str = "rural") -> NDArray[np.float64]:
    """Wind-profile power-law exponent p of ISC3 for a Pasquill class.

    Parameters
    ----------
    stability : array_like
        Class labels or codes; intermediate classes average their neighbours.
    setting : {"rural", "urban"}
        ISC3 rural (A 0.07, B 0.07, C 0.10, D 0.15, E 0.35, F 0.55) or urban (A 0.15, B 0.15, C 0.20,
        D 0.25, E 0.30, F 0.30) table.

    Returns
    -------
    numpy.ndarray
        Exponent p [-].
    """
    if setting not in POWER_LAW_EXPONENTS:
        raise ValueError(f"unknown setting {setting!r}; expected one of {', '.join(POWER_LAW_EXPONENTS)}")
    table = POWER_LAW_EXPONENTS[setting]
    code = stability_code(stability)
    lo = np.floor(code).astype(np.int64)
    hi = np.ceil(code).astype(np.int64)
    return 0.5 * (table[lo] + table[hi])


def wind_speed_power_law(
    wind_speed_ref: ArrayLike, height_ref: ArrayLike, height: ArrayLike, exponent: ArrayLike
) -> NDArray[np.float64]:
    """Wind speed at ``height`` from a reference measurement by the power law.

    Parameters
    ----------
    wind_speed_ref : array_like
        Measured speed u_ref [m s⁻¹].
    height_ref : array_like
        Its measurement height z_ref [m], > 0.
    height : array_like
        Target height z [m], > 0.
    exponent : array_like
        Power p [-], e.g. from :func:`power_law_exponent`.

    Returns
    -------
    numpy.ndarray
        u(z) = u_ref · (z / z_ref)^p [m s⁻¹].
    """
    z = np.asarray(height, dtype=np.float64)
    zr = np.asarray(height_ref, dtype=np.float64)
    if np.any(z <= 0) or np.any(zr <= 0):
        raise ValueError("heights of a power-law profile must be > 0 m")
    return np.asarray(wind_speed_ref, dtype=np.float64) * (z / zr) ** np.asarray(exponent, dtype=np.float64)


def stability_correction_momentum(height: ArrayLike, obukhov_length: ArrayLike) -> NDArray[np.float64]:
    """Integrated stability function ψm(z/L) of Businger et al. (1971) / Paulson (1970).

    Parameters
    ----------
    height : array_like
        Height z [m].
    obukhov_length : array_like
        Monin–Obukhov length L [m]; ±inf for neutral.

    Returns
    -------
    numpy.ndarray
        ψm [-]: 0 when neutral; −4.7 z/L when stable (L > 0); for L < 0,
        2 ln((1+a)/2) + ln((1+a²)/2) − 2 atan(a) + π/2 with a = (1 − 15 z/L)^¼.
    """
    z = np.asarray(height, dtype=np.float64)
    inv_l = 1.0 / np.asarray(obukhov_length, dtype=np.float64)
    zeta = z * inv_l
    a = np.power(np.maximum(1.0 - 15.0 * zeta, 1.0), 0.25)
    unstable = 2.0 * np.log((1.0 + a) / 2.0) + np.log((1.0 + a * a) / 2.0) - 2.0 * np.arctan(a) + np.pi / 2.0
    return np.where(zeta < 0, unstable, -4.7 * zeta)


def wind_speed_log_law(
    friction_velocity: ArrayLike,
    height: ArrayLike,
    roughness_length: ArrayLike,
    obukhov_length: ArrayLike = np.inf,
    von_karman: float = VON_KARMAN_BUSINGER,
) -> NDArray[np.float64]:
    """Monin–Obukhov log-law wind speed.

    Parameters
    ----------
    friction_velocity : array_like
        u* [m s⁻¹].
    height : array_like
        Height z above the displacement height [m], ≥ 0.
    roughness_length : array_like
        z0 [m], > 0.
    obukhov_length : array_like
        L [m]; inf for neutral.
    von_karman : float
        k; 0.35 with Businger's functions (as in docs/methods.md §4).

    Returns
    -------
    numpy.ndarray
        u(z) = (u*/k)·[ln((z + z0)/z0) − ψm(z/L)] [m s⁻¹].
    """
    z = np.asarray(height, dtype=np.float64)
    z0 = np.asarray(roughness_length, dtype=np.float64)
    if np.any(z0 <= 0):
        raise ValueError("roughness_length must be > 0 m")
    psi = stability_correction_momentum(z, obukhov_length)
    return np.asarray(friction_velocity, dtype=np.float64) / von_karman * (np.log((z + z0) / z0) - psi)


def friction_velocity_from_wind(
    wind_speed: ArrayLike,
    height: ArrayLike,
    roughness_length: ArrayLike,
    obukhov_length: ArrayLike = np.inf,
    von_karman: float = VON_KARMAN_BUSINGER,
) -> NDArray[np.float64]:
    """Invert :func:`wind_speed_log_law` for u* from one measured speed [m s⁻¹]."""
    z = np.asarray(height, dtype=np.float64)
    z0 = np.asarray(roughness_length, dtype=np.float64)
    psi = stability_correction_momentum(z, obukhov_length)
    return np.asarray(wind_speed, dtype=np.float64) * von_karman / (np.log((z + z0) / z0) - psi)


def wind_axes(wind_from_deg: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Unit vectors (east, north) of the downwind and crosswind directions of a wind blowing from ``wind_from_deg``.

    The direction is meteorological (where the wind comes from, clockwise from north); downwind is opposite it,
    crosswind is (cos θ, −sin θ) for θ = ``wind_from_deg``, the axis every crosswind leg and plume offset uses.
    """
    th = np.deg2rad(float(wind_from_deg))
    return np.array([-np.sin(th), -np.cos(th)]), np.array([np.cos(th), -np.sin(th)])


def bounded_class_weights(weights: list[tuple[float, float]], wind_speed: float, height: float, period: str,
                          inadmissible_weight: float = 0.1) -> list[tuple[float, float]]:
    """A prior over Pasquill classes (e.g. read from σθ) weighed with what the wind speed and the sun allow.

    Parameters
    ----------
    weights : list of (class code, weight)
        The prior (codes 0–5 for A–F), e.g. :func:`neighbour_class_weights`.
    wind_speed : float
        Mean wind speed measured at ``height`` [m s⁻¹].
    height : float
        Height of the measurement above ground [m] (floored at 2 m); the speed is brought to 10 m with each
        class's ISC3 rural power law (:func:`power_law_exponent`).
    period : str
        ``"day"``, ``"night"``, ``"transition"`` or ``"unknown"`` (:func:`plumetrace.physics.stability.day_period`).
    inadmissible_weight : float
        Factor on the weight of a class
        :func:`plumetrace.physics.stability.admissible_classes` does not allow (the table is a guide, not a
        law: 0.1 keeps such a class in the marginal).

    Returns
    -------
    list of (class code, weight)
        Normalised, most probable class first.

    >>> bounded_class_weights([(4.0, 0.5), (3.0, 0.25), (5.0, 0.25)], 4.4, 20.0, "day")[0][0]
    3.0
    """
    out = []
    for code, w in weights:
        u10 = float(wind_speed_power_law(wind_speed, max(height, 2.0), 10.0, power_law_exponent(code, "rural")))
        ok = bool(admissible_classes(u10, period)[int(round(code))])
        out.append((code, w * (1.0 if ok else inadmissible_weight)))
    total = sum(w for _, w in out)
    return sorted(((c, w / total) for c, w in out), key=lambda cw: -cw[1])
