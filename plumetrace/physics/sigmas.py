"""Dispersion coefficients σy(x), σz(x) of the Gaussian plume.

Models, selected by name with ``model=``:

``"briggs_rural"``, ``"briggs_urban"``
    Briggs (1973) open-country and urban curves, as tabulated in docs/methods.md §3 (via AIChE/CCPS 1999 and
    Griffiths 1994). Fitted for roughly 100 m – 10 km; extrapolated below.
``"isc3_rural"``
    The Pasquill–Gifford curves in the analytic form of the ISC3 model (US EPA 1995, EPA-454/B-95-003b,
    eqs. 1-32 to 1-34 and Table 1-1), σz capped at 5000 m.
``"parametric"``
    ``σ = a·x·(1 + b·x)^c + d`` with user coefficients, the family of the Briggs formulas; with b = c = 0
    it is the "angular" model σ = tan(θ)·x + d of pyELQ, and it is the form whose growth parameters a
    locator may estimate jointly with the source (Newman et al. 2024).

The reference averaging time of all three published models is taken as 10 minutes (Turner 1994); use
:func:`averaging_time_factor` to scale σy to another averaging time.

References
----------
.. [1] Briggs, G. A. (1973). Diffusion estimation for small emissions. ATDL contribution 79, NOAA.
   doi:10.2172/5118833
.. [2] Griffiths, R. F. (1994). Errors in the use of the Briggs parameterization for atmospheric
   dispersion coefficients. *Atmos. Environ.* 28, 2861–2865. doi:10.1016/1352-2310(94)90086-8
.. [3] US EPA (1995). User's guide for the Industrial Source Complex (ISC3) dispersion models, vol. II,
   EPA-454/B-95-003b, §1.1.5.
.. [4] Turner, D. B. (1994). *Workbook of Atmospheric Dispersion Estimates*, 2nd ed., Lewis Publishers.
"""

from __future__ import annotations

import numba
import numpy as np
from numpy.typing import ArrayLike, NDArray

from plumetrace.physics._kernels import FASTMATH, growth
from plumetrace.physics.stability import stability_code

SIGMA_MODELS: tuple[str, ...] = ("briggs_rural", "briggs_urban", "isc3_rural", "parametric")

# Parametric table rows A..F: (ay, by, cy, dy, az, bz, cz, dz) with sigma = a x (1 + b x)^c + d  [x in m]
BRIGGS_RURAL = np.array(
    [
        [0.22, 1e-4, -0.5, 0.0, 0.20, 0.0, 0.0, 0.0],
        [0.16, 1e-4, -0.5, 0.0, 0.12, 0.0, 0.0, 0.0],
        [0.11, 1e-4, -0.5, 0.0, 0.08, 2e-4, -0.5, 0.0],
        [0.08, 1e-4, -0.5, 0.0, 0.06, 1.5e-3, -0.5, 0.0],
        [0.06, 1e-4, -0.5, 0.0, 0.03, 3e-4, -1.0, 0.0],
        [0.04, 1e-4, -0.5, 0.0, 0.016, 3e-4, -1.0, 0.0],
    ]
)
# Urban: Briggs gives A-B and E-F as single rows; they are repeated for A, B and E, F.
BRIGGS_URBAN = np.array(
    [
        [0.32, 4e-4, -0.5, 0.0, 0.24, 1e-3, 0.5, 0.0],
        [0.32, 4e-4, -0.5, 0.0, 0.24, 1e-3, 0.5, 0.0],
        [0.22, 4e-4, -0.5, 0.0, 0.20, 0.0, 0.0, 0.0],
        [0.16, 4e-4, -0.5, 0.0, 0.14, 3e-4, -0.5, 0.0],
        [0.11, 4e-4, -0.5, 0.0, 0.08, 1.5e-3, -0.5, 0.0],
        [0.11, 4e-4, -0.5, 0.0, 0.08, 1.5e-3, -0.5, 0.0],
    ]
)

# ISC3 rural Pasquill-Gifford: sigma_y = 465.11628 x tan(0.017453293 (c - d ln x)), x in km
ISC3_SIGMA_Y = np.array(
    [[24.1670, 2.5334], [18.3330, 1.8096], [12.5000, 1.0857], [8.3330, 0.72382], [6.2500, 0.54287],
     [4.1667, 0.36191]]
)
_INF = np.inf
# sigma_z = a x^b piecewise: rows A..F, upper bounds of each segment in km (inf = open end)
ISC3_SIGMA_Z_BOUNDS = np.array(
    [
        [0.10, 0.15, 0.20, 0.25, 0.30, 0.40, 0.50, _INF, _INF, _INF],
        [0.20, 0.40, _INF, _INF, _INF, _INF, _INF, _INF, _INF, _INF],
        [_INF, _INF, _INF, _INF, _INF, _INF, _INF, _INF, _INF, _INF],
        [0.30, 1.0, 3.0, 10.0, 30.0, _INF, _INF, _INF, _INF, _INF],
        [0.10, 0.30, 1.0, 2.0, 4.0, 10.0, 20.0, 40.0, _INF, _INF],
        [0.20, 0.70, 1.0, 2.0, 3.0, 7.0, 15.0, 30.0, 60.0, _INF],
    ]
)
ISC3_SIGMA_Z_A = np.array(
    [
        [122.800, 158.080, 170.220, 179.520, 217.410, 258.890, 346.750, 453.850, 453.850, 453.850],
        [90.673, 98.483, 109.300, 109.300, 109.300, 109.300, 109.300, 109.300, 109.300, 109.300],
        [61.141] * 10,
        [34.459, 32.093, 32.093, 33.504, 36.650, 44.053, 44.053, 44.053, 44.053, 44.053],
        [24.260, 23.331, 21.628, 21.628, 22.534, 24.703, 26.970, 35.420, 47.618, 47.618],
        [15.209, 14.457, 13.953, 13.953, 14.823, 16.187, 17.836, 22.651, 27.074, 34.219],
    ]
)
ISC3_SIGMA_Z_B = np.array(
    [
        [0.94470, 1.05420, 1.09320, 1.12620, 1.26440, 1.40940, 1.72830, 2.11660, 2.11660, 2.11660],
        [0.93198, 0.98332, 1.09710, 1.09710, 1.09710, 1.09710, 1.09710, 1.09710, 1.09710, 1.09710],
        [0.91465] * 10,
        [0.86974, 0.81066, 0.64403, 0.60486, 0.56589, 0.51179, 0.51179, 0.51179, 0.51179, 0.51179],
        [0.83660, 0.81956, 0.75660, 0.63077, 0.57154, 0.50527, 0.46713, 0.37615, 0.29592, 0.29592],
        [0.81558, 0.78407, 0.68465, 0.63227, 0.54503, 0.46490, 0.41507, 0.32681, 0.27436, 0.21716],
    ]
)
# class A segments are "x < bound" in ISC3; the others "x <= bound"
ISC3_STRICT = np.array([True, False, False, False, False, False])
ISC3_SIGMA_Z_CAP = 5000.0

MODEL_PARAMETRIC = 0
MODEL_ISC3 = 1


class SigmaModel:
    """Resolved coefficient tables of one σ model, ready for the compiled kernels.

    Build with :func:`sigma_model`; the attributes are read-only numpy arrays.
    """

    __slots__ = ("name", "kind", "table", "fixed_class")

    def __init__(self, name: str, kind: int, table: NDArray[np.float64], fixed_class: bool):
        self.name = name
        self.kind = kind
        self.table = table
        self.fixed_class = fixed_class

    def __repr__(self) -> str:
        return f"SigmaModel({self.name!r})"


def sigma_model(model: str = "briggs_rural", coefficients: ArrayLike | None = None) -> SigmaModel:
    """Resolve a σ model name (and coefficients for ``"parametric"``).

    Parameters
    ----------
    model : str
        One of :data:`SIGMA_MODELS`.
    coefficients : array_like of 8 floats, optional
        Required for ``"parametric"``: ``(ay, by, cy, dy, az, bz, cz, dz)`` with
        σy = ay·x·(1 + by·x)^cy + dy and σz likewise [x and σ in m]. The stability class is then ignored.

    Raises
    ------
    ValueError
        For an unknown name (listing the valid ones) or missing/invalid coefficients.
    """
    if isinstance(model, SigmaModel):
        return model
    if model == "briggs_rural":
        return SigmaModel(model, MODEL_PARAMETRIC, BRIGGS_RURAL, False)
    if model == "briggs_urban":
        return SigmaModel(model, MODEL_PARAMETRIC, BRIGGS_URBAN, False)
    if model == "isc3_rural":
        return SigmaModel(model, MODEL_ISC3, BRIGGS_RURAL, False)
    if model == "parametric":
        if coefficients is None:
            raise ValueError("model='parametric' needs coefficients=(ay, by, cy, dy, az, bz, cz, dz)")
        coef = np.asarray(coefficients, dtype=np.float64).reshape(-1)
        if coef.size != 8 or not np.all(np.isfinite(coef)):
            raise ValueError(f"parametric coefficients must be 8 finite numbers, got {coefficients!r}")
        if coef[0] <= 0 or coef[4] <= 0 or coef[3] < 0 or coef[7] < 0:
            raise ValueError("parametric coefficients need ay, az > 0 and dy, dz >= 0")
        return SigmaModel(model, MODEL_PARAMETRIC, np.repeat(coef[None, :], 6, axis=0), True)
    raise ValueError(f"unknown dispersion-coefficient model {model!r}; expected one of {', '.join(SIGMA_MODELS)}")


@numba.njit(cache=True, fastmath=FASTMATH, inline="always")
def _parametric_row(x, table, row):
    sy = table[row, 0] * x * growth(1.0 + table[row, 1] * x, table[row, 2]) + table[row, 3]
    sz = table[row, 4] * x * growth(1.0 + table[row, 5] * x, table[row, 6]) + table[row, 7]
    return sy, sz


@numba.njit(cache=True, fastmath=FASTMATH)
def _isc3_row(x, row):
    xkm = x * 1e-3
    angle = 0.017453293 * (ISC3_SIGMA_Y[row, 0] - ISC3_SIGMA_Y[row, 1] * np.log(xkm))
    if angle > 1.5533430342749532:  # 89 degrees: the formula leaves its range very close to the source
        angle = 1.5533430342749532
    sy = 465.11628 * xkm * np.tan(angle)
    seg = 0
    strict = ISC3_STRICT[row]
    while seg < 9:
        bound = ISC3_SIGMA_Z_BOUNDS[row, seg]
        if (strict and xkm < bound) or ((not strict) and xkm <= bound):
            break
        seg += 1
    sz = ISC3_SIGMA_Z_A[row, seg] * xkm ** ISC3_SIGMA_Z_B[row, seg]
    if sz > ISC3_SIGMA_Z_CAP:
        sz = ISC3_SIGMA_Z_CAP
    return sy, sz


@numba.njit(cache=True, fastmath=FASTMATH)
def sigma_yz_scalar(x, code, kind, table):
    """σy, σz [m] at downwind distance x [m] > 0 for class code ``code`` (compiled scalar kernel)."""
    lo = int(code)
    frac = code - lo
    if kind == MODEL_ISC3:
        sy, sz = _isc3_row(x, lo)
        if frac > 0.0:
            sy2, sz2 = _isc3_row(x, lo + 1)
            sy = 0.5 * (sy + sy2)
            sz = 0.5 * (sz + sz2)
    else:
        sy, sz = _parametric_row(x, table, lo)
        if frac > 0.0:
            sy2, sz2 = _parametric_row(x, table, lo + 1)
            sy = 0.5 * (sy + sy2)
            sz = 0.5 * (sz + sz2)
    return sy, sz


@numba.njit(cache=True)
def _sigma_array(x, code, kind, table, sy_out, sz_out):
    for i in range(x.size):
        if x[i] > 0.0 and code[i] == code[i]:
            sy_out[i], sz_out[i] = sigma_yz_scalar(x[i], code[i], kind, table)
        else:
            sy_out[i] = np.nan
            sz_out[i] = np.nan


def dispersion_coefficients(
    downwind_distance: ArrayLike,
    stability: ArrayLike = "D",
    model: str = "briggs_rural",
    coefficients: ArrayLike | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Horizontal and vertical dispersion coefficients of a continuous plume.

    Parameters
    ----------
    downwind_distance : array_like
        Distance x from the source along the mean wind [m]. x ≤ 0 gives NaN (no plume upwind).
    stability : array_like
        Pasquill class labels or codes, broadcast against ``downwind_distance``. Intermediate classes
        (``"A-B"``) average the σ of the two neighbours (Turner 1994).
    model : str
        One of :data:`SIGMA_MODELS`; see the module docstring.
    coefficients : array_like, optional
        Coefficients of ``model="parametric"`` (see :func:`sigma_model`).

    Returns
    -------
    sigma_y, sigma_z : numpy.ndarray
        Crosswind and vertical standard deviations of the time-averaged plume [m], for the models'
        ~10-minute reference averaging time.

    Notes
    -----
    Briggs (1973): σ = a·x·(1 + b·x)^c, coefficients of docs/methods.md §3. ISC3: σy =
    465.11628·x·tan(0.017453293·(c − d·ln x)), σz = a·x^b piecewise (x in km), σz ≤ 5000 m.
    The published curves start at 100 m; nearer the source they are extrapolated, which is what drone
    surveys at 10–200 m need (docs/methods.md §3, drone-scale caveat).

    Examples
    --------
    >>> sy, sz = dispersion_coefficients(1000.0, "D", model="isc3_rural")
    >>> round(float(sy), 1), round(float(sz), 1)
    (68.1, 32.1)
    """
    resolved = sigma_model(model, coefficients)
    x = np.asarray(downwind_distance, dtype=np.float64)
    code = stability_code(stability)
    if resolved.fixed_class:
        code = np.zeros_like(code)
    x_b, code_b = np.broadcast_arrays(x, code)
    xf = np.array(x_b, dtype=np.float64).ravel()  # copies: a broadcast view is read-only
    cf = np.array(code_b, dtype=np.float64).ravel()
    sy = np.empty_like(xf)
    sz = np.empty_like(xf)
    _sigma_array(xf, cf, resolved.kind, resolved.table, sy, sz)
    return sy.reshape(x_b.shape), sz.reshape(x_b.shape)


def averaging_time_factor(
    averaging_time: ArrayLike, reference_time: float = 600.0, exponent: float = 0.2
) -> NDArray[np.float64]:
    """Factor that scales σy from the reference averaging time to another one.

    Parameters
    ----------
    averaging_time : array_like
        Concentration averaging time t [s], > 0.
    reference_time : float
        Averaging time t0 of the σ curves [s]; 600 s (10 min) for Pasquill–Gifford and Briggs.
    exponent : float
        Power p of the correction; 0.2 (Turner 1994, §4; valid about 3 min – 1 h).

    Returns
    -------
    numpy.ndarray
        (t / t0)^p; multiply σy by it. Centreline concentrations scale by its inverse.
    """
    t = np.asarray(averaging_time, dtype=np.float64)
    if np.any(t <= 0):
        raise ValueError("averaging_time must be > 0 s")
    return (t / reference_time) ** exponent


def sigmas_from_turbulence(
    downwind_distance: ArrayLike,
    wind_speed: ArrayLike,
    sigma_theta_deg: ArrayLike,
    sigma_phi_deg: ArrayLike,
    lagrangian_time_s: float = 50.0,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    r"""Plume spread from the measured turbulence: σy, σz [m] at ``downwind_distance`` [m].

    Taylor's (1921) statistical theory with the interpolation between its near- and far-field limits used in
    the Handbook on Atmospheric Diffusion (Hanna, Briggs & Hosker 1982, §4; Seinfeld & Pandis 2016, §18.5):

    .. math:: σ_y = σ_v\,t\,(1 + t / 2T_L)^{-1/2},\qquad σ_z = σ_w\,t\,(1 + t / 2T_L)^{-1/2},

    with travel time t = x / u, σ_v = u tan σθ and σ_w = u tan σφ from the standard deviations of the horizontal
    and vertical wind angles over the averaging time of the concentrations (a one-minute mean concentration is
    spread by that minute's turbulence, EPA 2000 §6.2), and T_L a Lagrangian time scale [s] (tens of seconds
    near the surface). Near the source (t ≪ T_L) σy = x tan σθ: the plume is as wide as the wind's swing.
    x ≤ 0 gives NaN (no plume upwind).

    Parameters
    ----------
    downwind_distance : array_like
        x [m].
    wind_speed : array_like
        u [m s⁻¹] (broadcast against x).
    sigma_theta_deg, sigma_phi_deg : array_like
        Standard deviations of the horizontal and vertical wind directions [deg].
    lagrangian_time_s : float
        T_L [s].
    """
    x = np.asarray(downwind_distance, dtype=np.float64)
    u = np.maximum(np.asarray(wind_speed, dtype=np.float64), 0.1)
    t = x / u
    f = 1.0 / np.sqrt(1.0 + t / (2.0 * lagrangian_time_s))
    sv = u * np.tan(np.deg2rad(np.asarray(sigma_theta_deg, dtype=np.float64)))
    sw = u * np.tan(np.deg2rad(np.asarray(sigma_phi_deg, dtype=np.float64)))
    with np.errstate(invalid="ignore"):
        sy = np.where(x > 0, sv * t * f, np.nan)
        sz = np.where(x > 0, sw * t * f, np.nan)
    return sy, sz
