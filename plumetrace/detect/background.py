"""Moving background and noise of a gas channel.

Background: the ``quantile`` (default 10 %) of each ``block`` of samples (the detector uses 15 s), smoothed
by a running median over ``smooth_blocks`` blocks (3) and interpolated between block centres; the series'
median offset above that low quantile is added back so the background sits at the typical plume-free level.
It follows drifts slower than about ``block × smooth_blocks`` (45 s) and ignores plume crossings shorter than
a block, which is what a drone's transects through a plume look like (docs/methods.md §6: low percentile of the
recent series, as OTM-33A does with its 5th percentile). Slower sensors spread a crossing over about three
response times; for lags beyond ~10 s a longer block keeps more of the plume out of the background.

Noise: σ = 1.4826 × MAD of the background-subtracted series (the median absolute deviation scaled to a
Gaussian σ), over the whole series; robust to the few per cent of samples that are plume.
"""

from __future__ import annotations

import numba
import numpy as np

MAD_TO_SIGMA = 1.4826


@numba.njit(cache=True)
def _block_quantiles(values, block_id, quantile):
    n = values.size
    # blocks are contiguous because samples are in time order
    starts = [0]
    for i in range(1, n):
        if block_id[i] != block_id[i - 1]:
            starts.append(i)
    starts.append(n)
    nb = len(starts) - 1
    q = np.empty(nb)
    centre = np.empty(nb, dtype=np.int64)
    for b in range(nb):
        seg = values[starts[b]:starts[b + 1]]
        finite = seg[np.isfinite(seg)]
        q[b] = np.quantile(finite, quantile) if finite.size else np.nan
        centre[b] = (starts[b] + starts[b + 1] - 1) // 2
    return q, centre


def moving_background(values: np.ndarray, time: np.ndarray, block: float = 30.0, quantile: float = 0.1,
                      smooth_blocks: int = 5) -> np.ndarray:
    """Background of a channel (see the module docstring for the method and time scales).

    Parameters
    ----------
    values : numpy.ndarray
        Channel readings in time order (NaN allowed).
    time : numpy.ndarray
        Sample times [s].
    block : float
        Block length [s].
    quantile : float
        Low quantile taken in each block.
    smooth_blocks : int
        Width of the running median over blocks (odd).

    Returns
    -------
    numpy.ndarray
        Background at every sample, in the channel's unit.
    """
    values = np.asarray(values, float)
    time = np.asarray(time, float)
    if values.size == 0:
        return values.copy()
    block_id = np.floor((time - time[0]) / block).astype(np.int64)
    q, centre = _block_quantiles(values, block_id, quantile)
    ok = np.isfinite(q)
    q, centre = q[ok], centre[ok]
    if q.size == 0:
        return np.full_like(values, np.nan)
    k = max(1, smooth_blocks // 2)
    padded = np.concatenate((np.full(k, q[0]), q, np.full(k, q[-1])))
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * k + 1)
    smooth = np.median(windows, axis=1)
    low = np.interp(time, time[centre], smooth)
    offset = np.nanmedian(values - low)
    return low + offset


def noise_sigma(residual: np.ndarray) -> float:
    """Robust σ of a background-subtracted series: 1.4826 × MAD (NaNs ignored)."""
    r = np.asarray(residual, float)
    r = r[np.isfinite(r)]
    if r.size == 0:
        return float("nan")
    return float(MAD_TO_SIGMA * np.median(np.abs(r - np.median(r))))
