"""The ICAO standard atmosphere below 11 km: pressure altitude.

Reference: ICAO (1993) *Manual of the ICAO Standard Atmosphere*, Doc 7488/3 — troposphere with a lapse rate
of 6.5 K/km from 288.15 K and 1013.25 hPa at mean sea level.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

#: Sea-level standard pressure [hPa], temperature [K], lapse rate [K/m].
P0_HPA = 1013.25
T0_K = 288.15
LAPSE_K_PER_M = 0.0065
#: g0·M / (R·L) for dry air (ICAO Doc 7488): the exponent of the troposphere's pressure law.
EXPONENT = 5.255877


def pressure_altitude(pressure_hpa: ArrayLike, reference_hpa: float = P0_HPA) -> np.ndarray:
    """Height of the standard-atmosphere level with pressure ``pressure_hpa`` above ``reference_hpa`` [m].

    ``h = T0/L · (1 − (p/p_ref)^(1/EXPONENT))`` (ICAO Doc 7488, troposphere).

    Parameters
    ----------
    pressure_hpa : array_like
        Static pressure [hPa].
    reference_hpa : float
        Pressure of the zero level [hPa] (mean sea level by default).

    Returns
    -------
    numpy.ndarray
        Pressure altitude [m].

    Examples
    --------
    >>> round(float(pressure_altitude(898.75)), 0)
    1000.0
    """
    p = np.asarray(pressure_hpa, dtype=np.float64)
    return T0_K / LAPSE_K_PER_M * (1.0 - (p / reference_hpa) ** (1.0 / EXPONENT))


def pressure_at_altitude(height_m: ArrayLike, reference_hpa: float = P0_HPA) -> np.ndarray:
    """Standard-atmosphere pressure at ``height_m`` above the level of ``reference_hpa`` [hPa].

    The inverse of :func:`pressure_altitude` (ICAO Doc 7488).
    """
    h = np.asarray(height_m, dtype=np.float64)
    return reference_hpa * (1.0 - LAPSE_K_PER_M * h / T0_K) ** EXPONENT
