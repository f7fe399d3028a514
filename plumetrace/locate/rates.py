"""Emission rates with the source's position fixed, and their intervals (pure math on arrays).

One estimator is used wherever plumetrace computes a rate from a unit-rate prediction: the weighted
least-squares fit of the time-averaged plume, :func:`wls_rate`. It is unbiased for a meandering, intermittent
plume, whose mean is the steady one (unlike the robust likelihood used to place the source). Its interval,
:func:`rate_interval`, is a block bootstrap over 30-second blocks (plume crossings and their correlated errors
stay together), mixed over the most probable cells of the position posterior.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

#: Bootstrap resamples of the rate interval, shared among the most probable cells in proportion to their mass.
N_BOOTSTRAP = 300
#: Block length of the rate bootstrap [s]: a plume crossing and its correlated model error stay in one block.
BOOTSTRAP_BLOCK_S = 30.0
#: At most this many of the most probable cells (holding 90 % of the position posterior) enter the interval.
INTERVAL_CELLS = 10


def wls_rate(g: np.ndarray, r: np.ndarray, var: np.ndarray) -> tuple[float, float]:
    """Weighted least-squares emission rate of one source from its unit-rate prediction.

    Parameters
    ----------
    g : numpy.ndarray
        Unit-rate prediction at each observation [ppb per g/s].
    r : numpy.ndarray
        Observed enhancement [ppb].
    var : numpy.ndarray
        Observation variance [ppb²].

    Returns
    -------
    rate : float
        Q̂ = Σ g r / v ÷ Σ g² / v, floored at 0 [g/s]; NaN when the source reaches no observation.
    standard_error : float
        (Σ g² / v)^-½ [g/s]; inf when the source reaches no observation.

    >>> wls_rate(np.array([1.0, 2.0]), np.array([0.5, 1.0]), np.array([1.0, 1.0]))
    (0.5, 0.4472135954999579)
    """
    w = 1.0 / var
    den = float(np.sum(w * g * g))
    if not den > 0:
        return math.nan, math.inf
    return max(float(np.sum(w * g * r)) / den, 0.0), math.sqrt(1.0 / den)


def rate_interval(obs, cells: np.ndarray, mass: np.ndarray, predict: Callable[[float, float], np.ndarray],
                  rng: np.random.Generator, n_boot: int = N_BOOTSTRAP,
                  block_s: float = BOOTSTRAP_BLOCK_S) -> tuple[float, tuple[float, float]] | None:
    """Rate at the most probable cell and its 90 % interval.

    Parameters
    ----------
    obs : Observations
        The channel's observations (time [s], enhancement [ppb], variance [ppb²]).
    cells : numpy.ndarray, shape (n, 2)
        Cell centres (east, north) of the position posterior [m].
    mass : numpy.ndarray, shape (n,)
        Their posterior mass.
    predict : callable
        (east, north) → unit-rate prediction at every observation [ppb per g/s].
    rng : numpy.random.Generator
        Source of the bootstrap resamples.
    n_boot : int
        Resamples in all.
    block_s : float
        Bootstrap block length [s].

    Returns
    -------
    (rate, (low, high)) or None
        The WLS rate at the most probable cell and the 5 % and 95 % quantiles of the block-bootstrap rates
        [g/s]; None when no cell's prediction reaches an observation.
    """
    order = np.argsort(-mass)
    take = order[: max(1, int(np.searchsorted(np.cumsum(mass[order]), 0.9)) + 1)][:INTERVAL_CELLS]
    block = np.floor((obs.time - obs.time[0]) / block_s).astype(int)
    ids, inverse = np.unique(block, return_inverse=True)
    w = 1.0 / obs.variance
    samples, central = [], None
    for rank, c in enumerate(take):
        g = predict(cells[c, 0], cells[c, 1])
        num = np.bincount(inverse, weights=w * g * obs.enhancement, minlength=ids.size)
        den = np.bincount(inverse, weights=w * g * g, minlength=ids.size)
        if den.sum() <= 0:
            continue
        if rank == 0:
            central = wls_rate(g, obs.enhancement, obs.variance)[0]
        n = max(1, int(round(n_boot * mass[c] / mass[take].sum())))
        picks = rng.integers(0, ids.size, size=(n, ids.size))
        with np.errstate(invalid="ignore", divide="ignore"):
            boot = num[picks].sum(axis=1) / den[picks].sum(axis=1)
        samples.append(boot[np.isfinite(boot)])
    if central is None or not samples:
        return None
    allb = np.maximum(np.concatenate(samples), 0.0)
    return float(central), (float(np.quantile(allb, 0.05)), float(np.quantile(allb, 0.95)))
