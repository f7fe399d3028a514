"""Numerical helpers shared by the estimators (pure functions on arrays; no I/O)."""

from __future__ import annotations

import numpy as np


def log_sum_exp(a, axis=None):
    """Log Σ exp(a) over ``axis`` (all elements when None), stable for large and −inf entries.

    Plain NumPy: :func:`scipy.special.logsumexp` gives the same values but its array-API dispatch dominates the
    small arrays of the attribution and site code. An all −inf slice gives −inf.

    >>> float(log_sum_exp(np.log([1.0, 2.0, 3.0])))
    1.791759469228055
    """
    a = np.asarray(a, float)
    m = np.max(a, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True)) + m
    return out.squeeze(axis=axis) if axis is not None else float(out.squeeze())


def sample_interval(time_s, default: float = 1.0) -> float:
    """Typical spacing of a time series [s]: the median of its positive steps.

    Rows that share a time (a network of sensors read together, a repeated row) do not make the spacing zero;
    ``default`` when there is no positive step (one sample, or every sample at one time).

    >>> sample_interval(np.array([0.0, 0.0, 0.1, 0.1, 0.2]))
    0.1
    """
    steps = np.diff(np.asarray(time_s, float))
    steps = steps[steps > 0]
    return float(np.median(steps)) if steps.size else float(default)


def as_slice(index: np.ndarray):
    """A slice for an ascending run of consecutive indices (views, not copies, of large arrays), else the indices.

    >>> as_slice(np.array([3, 4, 5]))
    slice(3, 6, None)
    """
    index = np.asarray(index)
    if index.size and index[-1] - index[0] + 1 == index.size and np.all(np.diff(index) == 1):
        return slice(int(index[0]), int(index[-1]) + 1)
    return index
