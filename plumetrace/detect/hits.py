"""Plume-hit detection over a moving background.

For each platform and gas channel: background and noise (:mod:`plumetrace.detect.background`), the
standardised enhancement z = (reading − background)/σ, then segments where z rises above k with hysteresis
(a segment starts above k and extends while z > k/2), a minimum duration, and gaps shorter than
``merge_gap`` bridged. Channel hits that overlap in time on one platform form one *event*; an event
carries, per channel, the peak and the time-integrated enhancement over a window widened by the channel's
response lag (a first-order lag spreads a plume but keeps its integral, so integrals can be compared across
sensors of different speeds).

The threshold k is not hand-tuned: it is the smallest value in [``k_min``, ``k_max``] at which the rate of
*negative* excursions (−z beyond k, with the same hysteresis and duration rules) stays at or below the
target false-alarm rate per flight hour. Noise is symmetric about the background while plumes only add, so
the negative side measures the false-alarm rate on background alone (a mirror or "sideband" estimate).
Channels that report 0 below a limit of detection have no negative side; their σ comes from a clipped-
Gaussian model of the readings and k from the Gaussian false-alarm rate (:func:`gaussian_threshold`).
"""

from __future__ import annotations

import numba
import numpy as np
import pandas as pd
from scipy.stats import norm

from plumetrace.detect.background import moving_background, noise_sigma


@numba.njit(cache=True)
def _segments(z, breaks, k_on, k_off, min_len, max_gap):
    n = z.size
    starts = []
    ends = []
    i = 0
    while i < n:
        if z[i] > k_on:
            s = i
            while s > 0 and not breaks[s] and z[s - 1] > k_off:
                s -= 1
            e = i + 1
            while e < n and not breaks[e] and z[e] > k_off:
                e += 1
            # only sustained runs count; isolated spikes are noise
            if e - s >= min_len:
                merged = False
                if len(ends) > 0 and s - ends[-1] <= max_gap:
                    no_break = True
                    for j in range(ends[-1], s + 1):
                        if breaks[j]:
                            no_break = False
                            break
                    if no_break:
                        ends[-1] = e
                        merged = True
                if not merged:
                    starts.append(s)
                    ends.append(e)
            i = e
        else:
            i += 1
    return np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64)


def segments(z: np.ndarray, breaks: np.ndarray, k: float, min_len: int, max_gap: int, hysteresis: float = 0.5):
    """Start and end (exclusive) indices of runs of z above k (extended while z > hysteresis·k)."""
    z = np.nan_to_num(np.asarray(z, float), nan=-np.inf)
    return _segments(z, np.asarray(breaks, bool), float(k), float(hysteresis * k), int(min_len), int(max_gap))


def calibrate_threshold(z: np.ndarray, breaks: np.ndarray, hours: float, false_alarms_per_hour: float,
                        min_len: int, max_gap: int, k_min: float = 3.0, k_max: float = 12.0,
                        step: float = 0.25) -> tuple[float, float]:
    """Smallest k whose negative-excursion rate is at most the target (see the module docstring).

    Returns
    -------
    k : float
        Threshold in units of σ.
    rate : float
        Measured negative-excursion rate at k [per hour].
    """
    neg = -np.asarray(z, float)
    if hours <= 0:
        return k_max, 0.0
    for k in np.arange(k_min, k_max + 1e-9, step):
        s, _ = segments(neg, breaks, k, min_len, max_gap)
        rate = s.size / hours
        if rate <= false_alarms_per_hour:
            return float(k), float(rate)
    return float(k_max), float(segments(neg, breaks, k_max, min_len, max_gap)[0].size / hours)


def channel_standardise(values: np.ndarray, time: np.ndarray, block: float, quantile: float, smooth_blocks: int):
    """Background, residual, σ, z-score and whether the channel is clipped at a limit of detection.

    A channel that reads exactly 0 more than half of the time reports 0 below a limit of detection L. Its
    readings are modelled as Gaussian noise N(0, σ²) clipped at L: with p the fraction of positive readings
    and L the smallest one, σ = L / Φ⁻¹(1 − p); the residual subtracts the clipped noise's mean σ·φ(L/σ).
    """
    finite = values[np.isfinite(values)]
    clipped = finite.size > 0 and np.mean(finite == 0.0) > 0.5
    if clipped:
        positive = finite[finite > 0]
        if positive.size:
            lod = float(positive.min())
            p = positive.size / finite.size
            sigma = lod / float(norm.isf(min(max(p, 1e-9), 0.49)))
            floor = sigma * float(norm.pdf(lod / sigma))
        else:
            sigma, floor = 1.0, 0.0
        bg = np.full_like(values, floor)
        resid = values - floor
        return bg, resid, sigma, values / sigma, True
    bg = moving_background(values, time, block, quantile, smooth_blocks)
    resid = values - bg
    sigma = noise_sigma(resid)
    if not sigma > 0:
        diffs = np.abs(np.diff(finite))
        sigma = float(diffs[diffs > 0].min()) if np.any(diffs > 0) else 1.0
    return bg, resid, sigma, resid / sigma, False


def gaussian_threshold(rate_hz: float, false_alarms_per_hour: float, min_len: int, k_min: float = 3.0,
                       k_max: float = 12.0, step: float = 0.25, hysteresis: float = 0.5) -> float:
    """Threshold for white Gaussian noise, where no negative side can be measured.

    The smallest k with rate·3600·Q(k)·Q(h·k)^(min_len−1) ≤ the target false-alarm rate per hour.
    """
    for k in np.arange(k_min, k_max + 1e-9, step):
        expected = rate_hz * 3600.0 * norm.sf(k) * norm.sf(hysteresis * k) ** max(min_len - 1, 0)
        if expected <= false_alarms_per_hour:
            return float(k)
    return float(k_max)


def segment_breaks(time: np.ndarray, dt: float, factor: float = 5.0) -> np.ndarray:
    """True where a new contiguous stretch starts (first sample, or a time gap > factor·dt)."""
    br = np.zeros(time.size, dtype=bool)
    if time.size:
        br[0] = True
        br[1:] = np.diff(time) > factor * dt
    return br


def hits_table(platform: str, channel: str, time: np.ndarray, z: np.ndarray, resid: np.ndarray, starts, ends,
               sigma: float, k: float) -> pd.DataFrame:
    """One row per channel hit: span, peak and its time."""
    rows = []
    for s, e in zip(starts, ends, strict=True):
        p = s + int(np.nanargmax(z[s:e]))
        rows.append({"platform": platform, "channel": channel, "start": int(s), "end": int(e),
                     "t_start": float(time[s]), "t_end": float(time[e - 1]), "peak_index": int(p),
                     "t_peak": float(time[p]), "peak": float(resid[p]), "peak_sigma": float(z[p]),
                     "sigma": float(sigma), "k": float(k)})
    return pd.DataFrame(rows, columns=["platform", "channel", "start", "end", "t_start", "t_end", "peak_index",
                                       "t_peak", "peak", "peak_sigma", "sigma", "k"])
