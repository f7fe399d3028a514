"""Background, noise and hit segmentation on signals with known answers."""

import numpy as np
import pytest

from plumetrace.detect.background import moving_background, noise_sigma
from plumetrace.detect.hits import calibrate_threshold, channel_standardise, gaussian_threshold, segments


def test_noise_sigma_of_gaussian_with_outliers():
    rng = np.random.default_rng(0)
    x = rng.normal(0, 2.0, 100_000)
    assert noise_sigma(x) == pytest.approx(2.0, rel=0.01)
    x[:3000] += 50  # 3 % of samples in plumes move the MAD by under 5 %
    assert noise_sigma(x) == pytest.approx(2.0, rel=0.05)


def test_background_follows_slow_drift_and_ignores_short_plumes():
    t = np.arange(0, 3600, 0.1)
    drift = 1.9 + 0.05 * np.sin(2 * np.pi * t / 1800)  # 30-minute swing
    rng = np.random.default_rng(1)
    x = drift + rng.normal(0, 0.003, t.size)
    plumes = np.zeros_like(t)
    for c in range(300, 3600, 300):
        plumes += 0.2 * np.exp(-0.5 * ((t - c) / 1.5) ** 2)  # 3-second crossings
    bg = moving_background(x + plumes, t, block=15, quantile=0.1, smooth_blocks=3)
    err = bg - drift
    assert np.max(np.abs(err[600:-600])) < 0.004  # within ~1.3 σ everywhere, plumes included
    assert abs(np.median(err)) < 0.001


def test_segments_with_hysteresis_min_length_and_breaks():
    z = np.zeros(100)
    z[10:20] = 6.0
    z[20:23] = 2.5  # above k/2 = 2: extends the segment
    z[40] = 9.0  # an isolated spike is not a hit (min_len 3)
    z[60:70] = 5.0
    z[72:80] = 5.0  # two-sample gap bridged (max_gap 2)
    breaks = np.zeros(100, bool)
    breaks[0] = True
    s, e = segments(z, breaks, 4.0, 3, 2)
    assert list(zip(s.tolist(), e.tolist(), strict=True)) == [(10, 23), (60, 80)]
    breaks[75] = True  # a new sortie starts inside the second plume: the run is cut there
    s, e = segments(z, breaks, 4.0, 3, 2)
    assert list(zip(s.tolist(), e.tolist(), strict=True)) == [(10, 23), (60, 75), (75, 80)]


def test_threshold_from_negative_excursions():
    rng = np.random.default_rng(3)
    z = rng.standard_normal(36_000)  # one hour at 10 Hz, white noise
    z[1000:1030] += 30  # a plume only on the positive side does not change the calibration
    breaks = np.zeros(z.size, bool)
    breaks[0] = True
    k, rate = calibrate_threshold(z, breaks, 1.0, 0.5, 3, 5, k_min=2.0)
    assert rate <= 0.5
    assert 2.0 <= k <= 4.0
    s, _ = segments(z, breaks, k, 3, 5)
    assert s.size >= 1  # the plume is still found


def test_gaussian_threshold_and_clipped_channels():
    # 36 000 samples per hour × Q(k) <= 0.5: Q(4.25) = 1.07e-5 passes, Q(4.0) = 3.2e-5 does not
    assert gaussian_threshold(10.0, 0.5, 1, k_min=2.0) == 4.25
    rng = np.random.default_rng(4)
    raw = rng.normal(0, 10.0, 50_000)
    reading = np.where(raw > 30.0, raw, 0.0)  # an electrochemical cell with a 30 ppb LOD
    t = np.arange(reading.size) * 0.1
    _, _, sigma, z, clipped = channel_standardise(reading, t, 15, 0.1, 3)
    assert clipped
    assert sigma == pytest.approx(10.0, rel=0.1)
