"""Pasquill–Gifford stability classes.

Stability classes are the letters ``A`` (very unstable) to ``F`` (moderately stable). The Pasquill table also
has intermediate cells (``A-B``, ``B-C``, ``C-D``); Turner (1994) recommends averaging the dispersion
coefficients of the two neighbours for them, which :mod:`plumetrace.physics.sigmas` does.

Internally a class is a float *code*: ``A`` = 0, ``B`` = 1, … ``F`` = 5, and an intermediate class is the
half-way value (``A-B`` = 0.5). :func:`stability_code` and :func:`stability_label` convert.

References
----------
.. [1] Pasquill, F. (1961). The estimation of the dispersion of windborne material. *Meteorological
   Magazine* 90, 33–49.
.. [2] Turner, D. B. (1964). A diffusion model for an urban area. *J. Appl. Meteor.* 3, 83–91.
   doi:10.1175/1520-0450(1964)003<0083:ADMFAU>2.0.CO;2
.. [3] Golder, D. (1972). Relations among stability parameters in the surface layer. *Boundary-Layer
   Meteorology* 3, 47–58. doi:10.1007/BF00769106
.. [4] Seinfeld, J. H. and Pandis, S. N. (2006). *Atmospheric Chemistry and Physics*, 2nd ed., Wiley,
   eq. 16.83 and the table beside it (Golder's class lines 1/L = a + b log10 z0).
.. [5] US EPA (2000). *Meteorological Monitoring Guidance for Regulatory Modeling Applications*,
   EPA-454/R-99-005, §6.4 (σA method, class centres 25°, 20°, 15°, 10°, 5°, 2.5°).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

CLASSES: tuple[str, ...] = ("A", "B", "C", "D", "E", "F")
_LABELS = {0.0: "A", 0.5: "A-B", 1.0: "B", 1.5: "B-C", 2.0: "C", 2.5: "C-D", 3.0: "D", 3.5: "D-E",
           4.0: "E", 4.5: "E-F", 5.0: "F"}
_CODES = {label: code for code, label in _LABELS.items()}
VALID_LABELS: tuple[str, ...] = tuple(_CODES)


def _parse_one(value: object) -> float:
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        code = float(value)
        if code * 2 == round(code * 2) and 0.0 <= code <= 5.0:
            return code
        raise ValueError(f"stability code {value!r} is not one of 0, 0.5, …, 5 (A … F)")
    text = str(value).strip().upper().replace("–", "-").replace("/", "-").replace(" ", "")
    if len(text) == 2 and text.isalpha():
        text = f"{text[0]}-{text[1]}"
    try:
        return _CODES[text]
    except KeyError:
        raise ValueError(
            f"unknown stability class {value!r}; expected one of {', '.join(VALID_LABELS)}"
        ) from None


def stability_code(stability: ArrayLike) -> NDArray[np.float64]:
    """Convert Pasquill class labels to numeric codes.

    Parameters
    ----------
    stability : str, float or array_like of them
        Class letters ``A``–``F``, intermediate cells such as ``A-B`` (also ``AB``, ``A/B``, ``A–B``),
        case-insensitive; or codes 0–5 in steps of 0.5 (``A`` = 0, ``F`` = 5).

    Returns
    -------
    numpy.ndarray
        Codes with the shape of the input.

    Raises
    ------
    ValueError
        For an unknown label, listing the valid ones.

    Examples
    --------
    >>> stability_code(["A", "c-d", "F"]).tolist()
    [0.0, 2.5, 5.0]
    """
    arr = np.asarray(stability, dtype=object)
    flat = [_parse_one(v) for v in arr.ravel()]
    return np.asarray(flat, dtype=np.float64).reshape(arr.shape)


def stability_label(code: ArrayLike) -> NDArray[np.str_]:
    """Convert numeric codes back to class labels (``2.5`` → ``"C-D"``)."""
    arr = np.asarray(code, dtype=np.float64)
    out = [_LABELS[_parse_one(float(c))] for c in arr.ravel()]
    return np.asarray(out, dtype="<U3").reshape(arr.shape)


# --- Pasquill (1961) table as printed by NOAA READY (docs/methods.md §2) -------------------------------------
# columns: wind-speed bins  <2, 2-3, 3-5, 5-6, >=6 m/s
_WIND_EDGES = np.array([2.0, 3.0, 5.0, 6.0])
_TABLE = {
    "strong": (0.0, 0.5, 1.0, 2.0, 2.0),
    "moderate": (0.5, 1.0, 1.5, 2.5, 3.0),
    "slight": (1.0, 2.0, 2.0, 3.0, 3.0),
    "night_cloudy": (4.0, 4.0, 3.0, 3.0, 3.0),  # thin overcast or > 4/8 low cloud
    "night_clear": (5.0, 5.0, 4.0, 3.0, 3.0),  # <= 4/8 cloud
}
_COLUMNS = tuple(_TABLE)
_TABLE_ARRAY = np.array([_TABLE[c] for c in _COLUMNS])


def insolation_category(solar_elevation_deg: ArrayLike, cloud_cover_octas: ArrayLike = 0.0) -> NDArray[np.str_]:
    """Daytime insolation category from the sun's elevation and the cloud cover.

    Parameters
    ----------
    solar_elevation_deg : array_like
        Apparent solar elevation above the horizon [degrees].
    cloud_cover_octas : array_like, optional
        Total cloud cover [octas, 0–8].

    Returns
    -------
    numpy.ndarray of str
        ``"strong"`` (elevation > 60°), ``"moderate"`` (35°–60°) or ``"slight"`` (≤ 35°), reduced by one
        category when the cloud cover exceeds 4/8.

    Notes
    -----
    Elevation thresholds are Turner's (1964) insolation classes 4, 3 and 2 (> 60°, 35°–60°, 15°–35°);
    Turner's class 1 (≤ 15°) falls in Pasquill's "slight" column. Turner lowers the net-radiation index
    when cloud cover exceeds 5/10; here a cover above 4/8 lowers the category by one (strong → moderate →
    slight). Fully overcast (8/8) skies are handled by :func:`pasquill_class` (class D).
    """
    elev = np.asarray(solar_elevation_deg, dtype=np.float64)
    cloud = np.broadcast_to(np.asarray(cloud_cover_octas, dtype=np.float64), elev.shape)
    level = np.where(elev > 60.0, 2, np.where(elev > 35.0, 1, 0))
    level = np.where(cloud > 4.0, np.maximum(level - 1, 0), level)
    names = np.array(["slight", "moderate", "strong"])
    return names[level]


def pasquill_class(
    wind_speed: ArrayLike,
    period: ArrayLike,
    insolation: ArrayLike = "moderate",
    cloud_cover_octas: ArrayLike = 0.0,
) -> NDArray[np.float64]:
    """Pasquill stability class from the 10 m wind speed, time of day and insolation or cloud.

    Parameters
    ----------
    wind_speed : array_like
        Surface wind speed at 10 m [m s⁻¹].
    period : array_like of str
        ``"day"``, ``"night"`` or ``"transition"`` (the hour before or after night, see
        :func:`day_period`).
    insolation : array_like of str, optional
        Daytime column: ``"strong"``, ``"moderate"`` or ``"slight"`` (see :func:`insolation_category`).
    cloud_cover_octas : array_like, optional
        Cloud cover [octas]. At night > 4/8 selects the "thin overcast or > 4/8 low cloud" column; 8/8
        (overcast) gives D by day or night.

    Returns
    -------
    numpy.ndarray
        Stability codes (``A`` = 0 … ``F`` = 5, intermediate cells as half values); convert with
        :func:`stability_label`.

    Notes
    -----
    Pasquill's (1961) table as tabulated by NOAA READY (docs/methods.md §2). Its notes: night is the period
    from 1 h before sunset to 1 h after sunrise, and class D is used for overcast conditions by day or
    night and for any sky during the hour before or after night. The table's near-calm night cells (E, F
    below 2 m s⁻¹) are kept as NOAA prints them, though the scheme is unreliable there.
    """
    u = np.asarray(wind_speed, dtype=np.float64)
    period_a, ins_a, cloud_a = np.broadcast_arrays(
        np.asarray(period, dtype=object), np.asarray(insolation, dtype=object), np.asarray(cloud_cover_octas)
    )
    shape = np.broadcast_shapes(u.shape, period_a.shape)
    u = np.broadcast_to(u, shape)
    period_a = np.broadcast_to(period_a, shape)
    ins_a = np.broadcast_to(ins_a, shape)
    cloud_a = np.broadcast_to(cloud_a.astype(np.float64), shape)
    bins = np.searchsorted(_WIND_EDGES, u, side="right")
    period_s = period_a.astype(str)
    ins_s = ins_a.astype(str)
    bad_period = ~np.isin(period_s, ("day", "night", "transition"))
    if np.any(bad_period):
        raise ValueError(f"unknown period {period_s[bad_period][0]!r}; expected day, night or transition")
    is_day = period_s == "day"
    bad_ins = is_day & ~np.isin(ins_s, ("strong", "moderate", "slight"))
    if np.any(bad_ins):
        raise ValueError(f"unknown insolation {ins_s[bad_ins][0]!r}; expected strong, moderate or slight")
    day_col = np.select([ins_s == "strong", ins_s == "moderate"], [0, 1], 2)
    night_col = np.where(cloud_a > 4.0, 3, 4)
    column = np.select([is_day, period_s == "night"], [day_col, night_col], -1)
    codes = np.where(column >= 0, _TABLE_ARRAY[np.maximum(column, 0), bins], 3.0)
    codes = np.where(cloud_a >= 8.0, 3.0, codes)
    if np.any(~np.isfinite(u)):
        codes = np.where(np.isfinite(u), codes, np.nan)
    return codes


def day_period(times, latitude: float, longitude: float) -> tuple[NDArray[np.str_], NDArray[np.float64]]:
    """Classify times as day, night or transition and give the solar elevation (pvlib).

    Parameters
    ----------
    times : pandas.DatetimeIndex or array_like of datetimes
        Time-zone aware times (naive times are taken as UTC).
    latitude, longitude : float
        WGS 84 position [degrees].

    Returns
    -------
    period : numpy.ndarray of str
        ``"night"`` from 1 h before sunset to 1 h after sunrise, ``"transition"`` for the hour before and
        after night, ``"day"`` otherwise (Pasquill 1961 notes). Polar day is "day", polar night "night".
    solar_elevation_deg : numpy.ndarray
        Apparent solar elevation [degrees] (pvlib's NREL SPA).
    """
    import pandas as pd
    import pvlib

    idx = pd.DatetimeIndex(pd.to_datetime(times))
    if idx.tz is None:
        idx = idx.tz_localize("UTC")
    solpos = pvlib.solarposition.get_solarposition(idx, latitude, longitude)
    elevation = solpos["apparent_elevation"].to_numpy(dtype=np.float64)
    # sunrise/sunset of the UTC-local solar day containing each time
    local_offset = pd.Timedelta(hours=longitude / 15.0)
    days = (idx + local_offset).normalize() - local_offset
    rst = pvlib.solarposition.sun_rise_set_transit_spa(days + pd.Timedelta(hours=12), latitude, longitude)
    sunrise = pd.DatetimeIndex(rst["sunrise"])
    sunset = pd.DatetimeIndex(rst["sunset"])
    hour = pd.Timedelta(hours=1)
    period = np.full(len(idx), "day", dtype="<U10")
    has_sun = ~(sunrise.isna() | sunset.isna())
    t = idx
    night = has_sun & ((t < sunrise + hour) | (t >= sunset - hour))
    transition = has_sun & (
        ((t >= sunrise + hour) & (t < sunrise + 2 * hour)) | ((t >= sunset - 2 * hour) & (t < sunset - hour))
    )
    period[np.asarray(night)] = "night"
    period[np.asarray(transition)] = "transition"
    polar_night = ~np.asarray(has_sun) & (elevation <= 0)
    period[polar_night] = "night"
    return period, elevation


def stability_class_turner(
    times, latitude: float, longitude: float, wind_speed: ArrayLike, cloud_cover_octas: ArrayLike = 0.0
) -> NDArray[np.float64]:
    """Pasquill class from time, place, 10 m wind speed and cloud cover (Pasquill 1961 / Turner 1964).

    Combines :func:`day_period` (pvlib solar position), :func:`insolation_category` and
    :func:`pasquill_class`. Returns codes; see :func:`stability_label`.
    """
    period, elevation = day_period(times, latitude, longitude)
    ins = insolation_category(elevation, cloud_cover_octas)
    return pasquill_class(wind_speed, period, ins, cloud_cover_octas)


def admissible_classes(wind_speed_10m: float, period: str) -> NDArray[np.bool_]:
    """Pasquill classes A … F that Pasquill's table allows at a 10 m wind speed in a period of the day, any sky.

    Parameters
    ----------
    wind_speed_10m : float
        Surface wind speed at 10 m [m s⁻¹].
    period : str
        ``"day"`` (any of the three insolation columns), ``"night"`` (either night column), ``"transition"``
        (the hour before or after night: class D) or ``"unknown"`` (every column).

    Returns
    -------
    numpy.ndarray of bool, shape (6,)
        True for each class of the wind speed's row of the table in the period's columns; an intermediate cell
        (A–B) admits both classes; D is always admitted (overcast skies by day or night, Pasquill's notes).

    Notes
    -----
    The table of :func:`pasquill_class` (Pasquill 1961 as tabulated by NOAA READY; docs/methods.md §2). A class
    read from turbulence (σθ) of a short record is uncertain; the wind speed and the sun bound it: at 4 m s⁻¹ by
    day, only B, C or (overcast) D.

    >>> admissible_classes(4.0, "day").tolist()
    [False, True, True, True, False, False]
    >>> admissible_classes(4.0, "night").tolist()
    [False, False, False, True, True, False]
    """
    if period not in ("day", "night", "transition", "unknown"):
        raise ValueError(f"unknown period {period!r}; expected day, night, transition or unknown")
    if not np.isfinite(wind_speed_10m):
        return np.ones(6, dtype=bool)
    column = {"day": [0, 1, 2], "night": [3, 4], "transition": [], "unknown": [0, 1, 2, 3, 4]}[period]
    row = int(np.searchsorted(_WIND_EDGES, wind_speed_10m, side="right"))
    out = np.zeros(6, dtype=bool)
    out[3] = True
    for code in _TABLE_ARRAY[column, row]:
        out[int(np.floor(code))] = out[int(np.ceil(code))] = True
    return out


# --- σθ method (EPA-454/R-99-005 §6.4; NOAA class centres) -----------------------------------------------
#: σθ class centres A … F [degrees] (NOAA READY; the boundaries of EPA-454/R-99-005 Table 6-8): the one table of
#: them in plumetrace.
SIGMA_THETA_CENTRES_DEG = np.array([25.0, 20.0, 15.0, 10.0, 5.0, 2.5])
_SIGMA_THETA_CENTRES = SIGMA_THETA_CENTRES_DEG


def sigma_theta_class_centre(code: ArrayLike) -> NDArray[np.float64]:
    """σθ class centre [degrees] of Pasquill class codes (rounded to the nearest whole class)."""
    c = np.clip(np.rint(np.asarray(code, dtype=np.float64)), 0, 5).astype(int)
    return SIGMA_THETA_CENTRES_DEG[c]


def sigma_theta_of_window_means(time_s: ArrayLike, wind_from_deg: ArrayLike, window_s: float = 60.0) -> float:
    """Spread of the window-mean wind directions of a record [degrees].

    The directions are averaged as unit vectors over consecutive windows of ``window_s`` (one-minute means by
    default), the window means unwrapped around their circular mean, and their standard deviation returned.
    It measures the wind's slow swing (the plume's meander) rather than the turbulence inside a window
    (EPA-454/R-99-005 §6.4 uses σθ of the samples of an hour).

    Parameters
    ----------
    time_s : array_like
        Sample times [s], ascending.
    wind_from_deg : array_like
        Wind directions (from) [degrees].
    window_s : float
        Averaging window [s].

    Returns
    -------
    float
        σθ [degrees]; NaN with fewer than three windows.
    """
    t = np.asarray(time_s, dtype=np.float64)
    theta = np.deg2rad(np.asarray(wind_from_deg, dtype=np.float64))
    if t.size == 0:
        return float("nan")
    window = np.floor((t - t[0]) / window_s).astype(int)
    s = np.bincount(window, weights=np.sin(theta))
    c = np.bincount(window, weights=np.cos(theta))
    ok = (s != 0) | (c != 0)
    means = np.arctan2(s[ok], c[ok])
    if means.size <= 2:
        return float("nan")
    mean = np.arctan2(np.mean(np.sin(means)), np.mean(np.cos(means)))
    dev = np.rad2deg(np.angle(np.exp(1j * (means - mean))))
    return float(np.std(dev))


def stability_class_from_sigma_theta(sigma_theta_deg: ArrayLike) -> NDArray[np.float64]:
    """Pasquill class from the standard deviation of the horizontal wind direction.

    Parameters
    ----------
    sigma_theta_deg : array_like
        σθ (Yamartino estimate recommended) [degrees].

    Returns
    -------
    numpy.ndarray
        Codes 0 (A) … 5 (F): the class whose centre value (A 25°, B 20°, C 15°, D 10°, E 5°, F 2.5°)
        is nearest, i.e. boundaries 22.5°, 17.5°, 12.5°, 7.5°, 3.75°.

    Notes
    -----
    NOAA READY's σθ centres; EPA-454/R-99-005 Table 6-8 uses the same boundaries (3.8° for E/F) for its
    initial daytime estimate. The EPA night-time wind-speed adjustment is not applied.
    """
    s = np.asarray(sigma_theta_deg, dtype=np.float64)
    dist = np.abs(s[..., None] - _SIGMA_THETA_CENTRES)
    codes = np.argmin(dist, axis=-1).astype(np.float64)
    codes = np.where(s > 25.0, 0.0, codes)
    return np.where(np.isfinite(s), codes, np.nan)


# --- Golder (1972) lines 1/L = a + b log10(z0), coefficients from Seinfeld & Pandis (2006) --------------
_GOLDER_A = np.array([-0.096, -0.037, -0.002, 0.0, 0.004, 0.035])
_GOLDER_B = np.array([0.029, 0.029, 0.018, 0.0, -0.018, -0.036])


def inverse_obukhov_length_golder(stability: ArrayLike, roughness_length: ArrayLike) -> NDArray[np.float64]:
    """Centre line of a Pasquill class in 1/L (Golder 1972).

    Parameters
    ----------
    stability : array_like
        Class labels or codes (whole classes only).
    roughness_length : array_like
        Surface roughness length z0 [m].

    Returns
    -------
    numpy.ndarray
        1/L [m⁻¹] with 1/L = a + b·log10(z0); a, b from Seinfeld & Pandis (2006), eq. 16.83.
    """
    code = stability_code(stability)
    if np.any(code != np.round(code)):
        raise ValueError("Golder's lines exist for whole classes A–F only")
    i = code.astype(np.int64)
    return _GOLDER_A[i] + _GOLDER_B[i] * np.log10(np.asarray(roughness_length, dtype=np.float64))


def stability_class_from_obukhov(obukhov_length: ArrayLike, roughness_length: ArrayLike) -> NDArray[np.float64]:
    """Pasquill class nearest in 1/L to Golder's (1972) class centre lines.

    Parameters
    ----------
    obukhov_length : array_like
        Monin–Obukhov length L [m] (negative unstable, positive stable, ±inf neutral).
    roughness_length : array_like
        Roughness length z0 [m], > 0.

    Returns
    -------
    numpy.ndarray
        Codes 0 (A) … 5 (F).
    """
    inv_l = 1.0 / np.asarray(obukhov_length, dtype=np.float64)
    z0 = np.asarray(roughness_length, dtype=np.float64)
    if np.any(z0 <= 0):
        raise ValueError("roughness_length must be > 0 m")
    log_z0 = np.log10(z0)
    centres = _GOLDER_A + _GOLDER_B * log_z0[..., None]
    codes = np.argmin(np.abs(inv_l[..., None] - centres), axis=-1).astype(np.float64)
    return np.where(np.isnan(inv_l), np.nan, codes)


def neighbour_class_weights(code: float, weight: float) -> list[tuple[float, float]]:
    """A prior over Pasquill classes: ``code`` (0–5 for A–F) with ``weight``, its neighbours sharing the rest.

    Returns (class code, prior weight) pairs summing to 1, the central class first; at A or F the one neighbour
    takes the other's share in proportion. A class read from σθ (EPA-454/R-99-005 §6.4) of a short record
    is a category of a continuum and uncertain to about one class, so a locator marginalises over its neighbours.

    >>> neighbour_class_weights(0.0, 0.5)
    [(0.0, 0.6666666666666666), (1.0, 0.3333333333333333)]
    """
    ws = [(code, weight)] + [(k, 0.5 * (1.0 - weight)) for k in (code - 1.0, code + 1.0) if 0.0 <= k <= 5.0]
    total = sum(w for _, w in ws)
    return [(k, w / total) for k, w in ws]
