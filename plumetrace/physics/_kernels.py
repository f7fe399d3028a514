"""Compiled building blocks shared by the plume and puff kernels (private to :mod:`plumetrace.physics`).

The Gaussian vertical term with ground and lid reflections (Turner 1994, *Workbook of Atmospheric Dispersion
Estimates*, 2nd ed., eq. 3.5; the image sum of docs/methods.md §1), the crosswind × vertical product of the
Gaussian plume per unit mass, and the power law of the parametric σ tables. Every function is a numba
``njit`` kernel inlined into its callers; all lengths in metres.
"""

from __future__ import annotations

import math

import numba
import numpy as np

#: LLVM fast-math flags of the compiled kernels: reassociation, reciprocals, contraction and fast
#: approximate functions, but *not* "no NaNs / no infinities", so inf lids and NaN checks keep their meaning.
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}

#: Pairs farther off-axis than this many σy are skipped (exp(-0.5·9²) ≈ 2.6e-18).
CUT_SIGMAS = 9.0
CUT2 = CUT_SIGMAS * CUT_SIGMAS
_N_IMAGES = 4
_TWO_PI = 2.0 * math.pi
_SQRT_TWO_PI = math.sqrt(2.0 * math.pi)


@numba.njit(cache=True, fastmath=FASTMATH, inline="always")
def vertical_term(z, h, sz, lid):
    """Sum of the vertical Gaussian and its images (Turner 1994 eq. 3.5), 1 for each unit of mass."""
    if lid == np.inf:
        a = (z - h) / sz
        b = (z + h) / sz
        return math.exp(-0.5 * a * a) + math.exp(-0.5 * b * b)
    if z > lid or h > lid:
        return 0.0
    if sz > 1.6 * lid:
        return _SQRT_TWO_PI * sz / lid
    total = 0.0
    for n in range(-_N_IMAGES, _N_IMAGES + 1):
        a = (z - h + 2.0 * n * lid) / sz
        b = (z + h + 2.0 * n * lid) / sz
        total += math.exp(-0.5 * a * a) + math.exp(-0.5 * b * b)
    return total


@numba.njit(cache=True, fastmath=FASTMATH, inline="always")
def gaussian_pair(x, y, z, h, sy, sz, lid):
    """Concentration × wind speed per unit emission rate [m⁻²] given x > 0, y and the σ's."""
    inv_sy = 1.0 / sy
    inv_sz = 1.0 / sz
    ry = y * inv_sy
    ry2 = ry * ry
    if ry2 > CUT2:
        return 0.0
    if lid == np.inf:
        # exp(-ry²/2)·[exp(-a²/2) + exp(-b²/2)] = exp(-(ry² + a²)/2)·[1 + exp(-2zh/σz²)]
        a = (z - h) * inv_sz
        e = ry2 + a * a
        if e > CUT2:
            return 0.0
        return math.exp(-0.5 * e) * (1.0 + math.exp(-2.0 * z * h * inv_sz * inv_sz)) * inv_sy * inv_sz / _TWO_PI
    return math.exp(-0.5 * ry2) * vertical_term(z, h, sz, lid) * inv_sy * inv_sz / _TWO_PI


@numba.njit(cache=True, fastmath=FASTMATH, inline="always")
def unit_concentration_sigmas(x, y, z, h, s_y, s_z, u, lid):
    """Concentration per unit emission rate [s m⁻³] at plume coordinates with the σ's given (compiled kernel).

    ``x`` > 0 downwind and ``y`` crosswind of the source [m], ``z``, ``h`` receptor and release heights [m],
    ``s_y``, ``s_z`` the spreads at x [m], ``u`` wind speed [m s⁻¹], ``lid`` mixing height [m] or inf. For
    kernels that evaluate several release heights per (receptor, source) pair, whose σ's do not depend on the
    height. Same equation as :func:`gaussian_plume`.
    """
    return gaussian_pair(x, y, z, h, s_y, s_z, lid) / u


@numba.njit(cache=True, fastmath=FASTMATH, inline="always")
def growth(base, power):
    """base**power with the exponents of the published tables done without pow()."""
    if power == -0.5:
        return 1.0 / math.sqrt(base)
    if power == 0.0:
        return 1.0
    if power == 0.5:
        return math.sqrt(base)
    if power == -1.0:
        return 1.0 / base
    return base**power
