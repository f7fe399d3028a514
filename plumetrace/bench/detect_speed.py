"""Detection speed: samples per second per channel, against a pandas rolling-quantile baseline.

A synthetic survey (10 Hz, slowly drifting background, white noise, a plume crossing every two minutes)
is processed by :class:`plumetrace.detect.PlumeDetector` twice: hits only (background, noise, calibrated
threshold, segmentation) and the full chain with events and attribution. The baseline is the textbook way:
a pandas rolling 10 % quantile over the same 45 s as background, a MAD noise and a Python loop for the
segments, on the same data.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from plumetrace.detect import PlumeDetector
from plumetrace.geo.crs import LocalFrame
from plumetrace.io.survey import Survey


def synthetic_survey(n: int, channels: tuple[str, ...] = ("ch4_ppm", "c2h6_ppb"), seed: int = 0) -> Survey:
    """A long survey with plumes every ~120 s (ethane/methane 0.04, like natural gas)."""
    rng = np.random.default_rng(seed)
    t = 1.78e9 + 0.1 * np.arange(n)
    data = {"time": t, "lat": np.full(n, 52.0), "lon": np.full(n, 5.0), "alt_m": np.full(n, 20.0),
            "east": 8.0 * (np.arange(n) % 1000) * 0.1, "north": np.zeros(n), "temp_c": 15.0, "pressure_hpa": 1013.25,
            "wind_speed_mps": np.full(n, 4.0), "wind_dir_deg": np.full(n, 270.0)}
    centres = np.arange(600, n, 1200)
    plume = np.zeros(n)
    for c in centres:
        lo, hi = max(c - 40, 0), min(c + 40, n)
        plume[lo:hi] += 0.05 * np.exp(-0.5 * ((np.arange(lo, hi) - c) / 10.0) ** 2)
    drift = np.cumsum(rng.standard_normal(n)) * 1e-4
    base = {"ch4_ppm": (1.95, 0.003, 1.0), "c2h6_ppb": (1.5, 0.8, 40.0)}
    for ch in channels:
        bg, noise, scale = base.get(ch, (1.0, 0.01, 1.0))
        data[ch] = bg + drift * scale + plume * scale + noise * rng.standard_normal(n)
    return Survey(pd.DataFrame(data), list(channels), LocalFrame(52.0, 5.0), "<synthetic>")


def baseline_hits(values: np.ndarray, window: int = 450, k: float = 4.0) -> int:
    """Textbook detection: pandas rolling quantile, MAD noise, Python loop over samples."""
    s = pd.Series(values)
    bg = s.rolling(window, center=True, min_periods=1).quantile(0.1).to_numpy()
    r = values - bg
    r = r - np.median(r)
    sigma = 1.4826 * np.median(np.abs(r))
    z = r / sigma
    count, inside = 0, False
    for v in z:
        if not inside and v > k:
            inside, count = True, count + 1
        elif inside and v < k / 2:
            inside = False
    return count


def run_detection_benchmark(n_samples: int = 2_000_000, n_baseline: int = 200_000) -> dict:
    """Time hit detection, the full chain, and the baseline; JSON-ready."""
    warm = synthetic_survey(20_000)
    PlumeDetector().fit(warm)  # compile the kernels
    survey = synthetic_survey(n_samples)
    n_ch = len(survey.channels)
    t0 = time.perf_counter()
    hits_only = PlumeDetector(build_events=False).fit(survey)
    t_hits = time.perf_counter() - t0
    t0 = time.perf_counter()
    full = PlumeDetector().fit(survey)
    t_full = time.perf_counter() - t0
    part = synthetic_survey(n_baseline)
    t0 = time.perf_counter()
    for ch in part.channels:
        baseline_hits(part.data[ch].to_numpy())
    t_base = time.perf_counter() - t0
    rate_hits = n_samples * n_ch / t_hits
    rate_base = n_baseline * n_ch / t_base
    return {
        "samples": n_samples, "channels": n_ch,
        "hits_seconds": t_hits, "hits_channel_samples_per_s": rate_hits,
        "full_seconds": t_full, "full_channel_samples_per_s": n_samples * n_ch / t_full,
        "events": len(full.events_), "hits": int(len(hits_only.hits_)),
        "baseline_samples": n_baseline, "baseline_seconds": t_base, "baseline_channel_samples_per_s": rate_base,
        "ratio_vs_baseline": rate_hits / rate_base,
        "meets_2e6_per_channel": rate_hits >= 2e6,
    }


def render_detection_report(report: dict, console) -> None:
    """Print the detection benchmark as a rich table."""
    from rich.table import Table

    table = Table(title="Detection: channel-samples per second", title_justify="left")
    for col in ("implementation", "samples × channels", "seconds", "samples/s", "plumetrace ×"):
        table.add_column(col, justify="left" if col == "implementation" else "right")
    n = report["samples"] * report["channels"]
    table.add_row("plumetrace hits (background, noise, threshold, segments)", f"{n:,}",
                  f"{report['hits_seconds']:.2f}", f"{report['hits_channel_samples_per_s']:.3g}", "1.0")
    table.add_row(f"plumetrace full chain ({report['events']} events attributed)", f"{n:,}",
                  f"{report['full_seconds']:.2f}", f"{report['full_channel_samples_per_s']:.3g}", "")
    table.add_row("pandas rolling quantile + Python loop", f"{report['baseline_samples'] * report['channels']:,}",
                  f"{report['baseline_seconds']:.2f}", f"{report['baseline_channel_samples_per_s']:.3g}",
                  f"{report['ratio_vs_baseline']:.1f}")
    console.print(table)
    verdict = "[green]meets[/]" if report["meets_2e6_per_channel"] else "[red]misses[/]"
    console.print(f"hit detection {verdict} the 2e6 samples/s per channel target", markup=True)
