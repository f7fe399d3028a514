"""The levels of the grid search: lattices of cells, their children, the rate integral, the configuration screen.

Pure math on arrays for :mod:`plumetrace.locate.posterior`: a coarse lattice over the searched area, the child
cells of the kept cells at a finer level, the integral of a cell's likelihood over the log-spaced rate grid
(:func:`log_integral_over_rate`, the innermost reduction of every level and of the bagged posterior: compiled),
and which (wind offset, class, σ family) configurations a level refines (:func:`screen_configs`).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from plumetrace.numerics import log_sum_exp

#: The fine level leaves out the configurations holding less than this share of the posterior on a sparser lattice
#: (the middle level, or every other fine cell); they keep that share in ``config["config_mass"]``, which the bag
#: reads.
FINE_MIN_CONFIG_MASS = 1e-6


@numba.njit(cache=True, parallel=True)
def _rate_integral_rows(d, out):
    n = d.shape[1]
    for r in numba.prange(d.shape[0]):
        k = 0
        m = d[r, 0]
        for j in range(1, n):
            if d[r, j] > m:
                m = d[r, j]
                k = j
        if m == -np.inf:
            out[r] = -np.inf
            continue
        s = 0.0
        for j in range(n):
            s += math.exp(d[r, j] - m)
        summed = m + math.log(s)
        kk = min(max(k, 1), n - 2)
        f0 = d[r, kk]
        fm = d[r, kk - 1]
        fp = d[r, kk + 1]
        a = 0.5 * (fm - 2.0 * f0 + fp)
        b = 0.5 * (fp - fm)
        if a < -0.5 and math.isfinite(a):
            out[r] = f0 - b * b / (4.0 * a) + 0.5 * math.log(math.pi / -a)
        else:
            out[r] = summed


def log_integral_over_rate(delta: np.ndarray) -> np.ndarray:
    """Log ∫ exp(f) dk over the last axis (steps of the rate grid), f sampled on the grid.

    Where the likelihood in log Q is narrower than the grid step, a plain sum favours cells whose best rate
    happens to fall on a grid point; a parabola through the best point and its neighbours (Laplace's method)
    gives the integral instead. Broad profiles keep the sum (the two agree there).

    >>> k = np.arange(9.0)
    >>> round(float(log_integral_over_rate(-0.5 * (k - 4.0) ** 2)), 4)  # ∫ exp(−x²/2) dx = √(2π)
    0.9189
    """
    delta = np.asarray(delta, float)
    n = delta.shape[-1]
    if n < 3:
        return log_sum_exp(delta, axis=-1)
    rows = np.ascontiguousarray(delta.reshape(-1, n))
    out = np.empty(rows.shape[0])
    _rate_integral_rows(rows, out)
    return out.reshape(delta.shape[:-1])


#: Release heights [m] of the grid search (uniform prior over them) for legs flown well above every level.
DEFAULT_HEIGHTS = (1.0, 5.0, 10.0)
#: The release levels span this range [m] (ground-level vents to the roofs and chimneys of a town).
RELEASE_RANGE_M = (0.5, 10.0)
#: The finest spacing of release levels [m]: at most eight levels over the range (the cost of the fine pass and of
#: the bag grows with them; session 17 measured eight on the follow-up cases).
MIN_LEVEL_SPACING_M = 1.5


def release_heights(event_altitudes) -> tuple[float, ...]:
    """Release heights [m] resolved by legs whose plume encounters were at ``event_altitudes`` [m above ground].

    A leg at height z sees the plume of a release at height h only where the plume has spread vertically to
    σz ≳ |z − h| / 2 (the Gaussian plume's vertical term exp(−(z − h)² / 2σz²) is e⁻² there; Seinfeld & Pandis
    2016, §18.8), and there the reading changes with h on the scale of σz. So levels spaced Δ apart resolve what
    the lowest leg at z_min sees of the highest release h_max when Δ ≤ (z_min − h_max) / 2. Legs that high (a
    coverage survey at 20 m) keep :data:`DEFAULT_HEIGHTS` (4–5 m apart); lower legs — a follow-up over the roofs
    below 18 m, a curtain at 5 m — get levels evenly spaced over :data:`RELEASE_RANGE_M` with that spacing,
    floored at :data:`MIN_LEVEL_SPACING_M`. Without events, the default.

    >>> release_heights([19.6, 20.4])
    (1.0, 5.0, 10.0)
    >>> release_heights([13.5, 20.0])
    (0.5, 2.083, 3.667, 5.25, 6.833, 8.417, 10.0)
    >>> len(release_heights([5.0]))
    8
    """
    z = np.asarray(list(event_altitudes), float)
    z = z[np.isfinite(z)]
    lo, hi = RELEASE_RANGE_M
    if z.size == 0:
        return DEFAULT_HEIGHTS
    spacing = (float(z.min()) - hi) / 2.0
    default_spacing = float(np.min(np.diff(DEFAULT_HEIGHTS)))
    if spacing >= default_spacing:
        return DEFAULT_HEIGHTS
    n = int(math.ceil((hi - lo) / max(spacing, MIN_LEVEL_SPACING_M) - 1e-9)) + 1
    return tuple(round(float(h), 3) for h in np.linspace(lo, hi, n))


def children(parents: np.ndarray, parent_step: float, child_step: float):
    """Centres of the child cells (side ``child_step``) tiling square parent cells centred at ``parents``."""
    sub = int(round(parent_step / child_step))
    offs = (np.arange(sub) + 0.5) * child_step - parent_step / 2
    x = (parents[:, 0][:, None, None] + offs[None, :, None] + 0 * offs[None, None, :]).ravel()
    y = (parents[:, 1][:, None, None] + 0 * offs[None, :, None] + offs[None, None, :]).ravel()
    return x, y


def every_other(x: np.ndarray, y: np.ndarray, step: float) -> np.ndarray:
    """Which cells of a lattice of side ``step`` lie on every other row and column (a quarter of them)."""
    ix = np.round((x - x.min()) / step).astype(np.int64)
    iy = np.round((y - y.min()) / step).astype(np.int64)
    return (ix % 2 == 0) & (iy % 2 == 0)


def screen_configs(lq: np.ndarray) -> tuple[list[int], np.ndarray]:
    """The configurations a level's posterior keeps, and the share of each of the others (0 for those kept).

    ``lq`` is a level's log posterior (configuration, cell, height; the rate integrated out); kept are the
    configurations holding at least :data:`FINE_MIN_CONFIG_MASS` of it (at least the most probable one).
    """
    share = np.exp(log_sum_exp(lq, axis=(1, 2)) - log_sum_exp(lq))
    keep = share >= FINE_MIN_CONFIG_MASS
    if not keep.any():
        keep[int(np.argmax(share))] = True
    return [int(i) for i in np.flatnonzero(keep)], np.where(keep, 0.0, share)


def lattice(x0: float, x1: float, y0: float, y1: float, step: float) -> tuple[np.ndarray, np.ndarray]:
    """Centres of square cells of side ``step`` [m] tiling the box from (x0, y0) [m]."""
    xs = np.arange(x0 + step / 2, x1, step)
    ys = np.arange(y0 + step / 2, y1, step)
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    return gx.ravel(), gy.ravel()


def cell_keys(cells: np.ndarray) -> list[tuple[float, float]]:
    """Hashable keys of cells (n, 2) [m]: their positions to the millimetre (lattice cells computed two ways match).

    >>> cell_keys(np.array([[1.0000001, 2.5]]))
    [(1.0, 2.5)]
    """
    return [(round(float(a), 3), round(float(b), 3)) for a, b in np.asarray(cells, float)]
