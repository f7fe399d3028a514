"""Straight-line fit with errors in both variables (York et al. 2004).

References
----------
.. [1] York, D., Evensen, N. M., Martínez, M. L. and De Basabe Delgado, J. (2004). Unified equations for the
   slope, intercept, and standard errors of the best straight line. *Am. J. Phys.* 72, 367–375.
   doi:10.1119/1.1632486
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike


@dataclass(frozen=True)
class YorkFit:
    """Result of :func:`york_fit`: y = intercept + slope·x, standard errors and fit quality.

    ``mswd`` is the reduced chi-square (mean square weighted deviation); ``converged`` whether the
    iteration met the tolerance.
    """

    slope: float
    intercept: float
    slope_se: float
    intercept_se: float
    mswd: float
    n: int
    converged: bool


def york_fit(x: ArrayLike, y: ArrayLike, sigma_x: ArrayLike, sigma_y: ArrayLike, r: ArrayLike = 0.0,
             tol: float = 1e-15, max_iter: int = 100) -> YorkFit:
    """Best straight line through points with errors in x and y (York et al. 2004, section III).

    Parameters
    ----------
    x, y : array_like
        Data.
    sigma_x, sigma_y : array_like
        Standard errors of x and y (> 0), scalars or per point.
    r : array_like
        Correlation of the x and y errors.
    tol, max_iter : float, int
        Convergence of the slope iteration.

    Returns
    -------
    YorkFit
        Slope and intercept with the standard errors of York et al. (2004) eqs. 13–14 (not scaled by the
        MSWD).

    Notes
    -----
    Iterates b = Σ W β V / Σ W β U with W = ω_x ω_y / (ω_x + b² ω_y − 2 b r α), U = x − x̄, V = y − ȳ,
    β = W (U/ω_y + b V/ω_x − (b U + V) r/α), α = √(ω_x ω_y), ω = 1/σ². With σ_x → 0 it reduces to weighted
    least squares.
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    n = x.size
    if n < 3 or y.size != n:
        raise ValueError("york_fit needs at least 3 points and x, y of equal length")
    sx = np.broadcast_to(np.asarray(sigma_x, float), x.shape)
    sy = np.broadcast_to(np.asarray(sigma_y, float), x.shape)
    if np.any(sx < 0) or np.any(sy <= 0):
        raise ValueError("standard errors must be >= 0 for x and > 0 for y")
    rr = np.broadcast_to(np.asarray(r, float), x.shape)
    wx = 1.0 / np.maximum(sx, 1e-100) ** 2  # an exact x gets a huge (finite) weight
    wy = 1.0 / sy**2
    alpha = np.sqrt(wx * wy)
    # ordinary least squares start
    b = float(np.polyfit(x, y, 1)[0]) if np.ptp(x) > 0 else 0.0
    converged = False
    for _ in range(max_iter):
        w = wx * wy / (wx + b * b * wy - 2 * b * rr * alpha)
        xbar = np.sum(w * x) / np.sum(w)
        ybar = np.sum(w * y) / np.sum(w)
        u = x - xbar
        v = y - ybar
        beta = w * (u / wy + b * v / wx - (b * u + v) * rr / alpha)
        b_new = float(np.sum(w * beta * v) / np.sum(w * beta * u))
        if abs(b_new - b) <= tol * max(abs(b_new), 1e-300):
            b = b_new
            converged = True
            break
        b = b_new
    w = wx * wy / (wx + b * b * wy - 2 * b * rr * alpha)
    xbar = np.sum(w * x) / np.sum(w)
    ybar = np.sum(w * y) / np.sum(w)
    a = ybar - b * xbar
    u = x - xbar
    v = y - ybar
    beta = w * (u / wy + b * v / wx - (b * u + v) * rr / alpha)
    xadj = xbar + beta
    xadj_bar = np.sum(w * xadj) / np.sum(w)
    uadj = xadj - xadj_bar
    sb = float(np.sqrt(1.0 / np.sum(w * uadj**2)))
    sa = float(np.sqrt(1.0 / np.sum(w) + xadj_bar**2 * sb**2))
    chi2 = float(np.sum(w * (y - b * x - a) ** 2))
    return YorkFit(b, float(a), sb, sa, chi2 / (n - 2), n, converged)
