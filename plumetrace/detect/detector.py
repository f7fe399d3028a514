"""The plume detector: hits per channel, events across channels, and their chemical attribution."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from plumetrace.detect.attribution import attribute, class_patterns
from plumetrace.detect.hits import (
    calibrate_threshold,
    channel_standardise,
    gaussian_threshold,
    hits_table,
    segment_breaks,
    segments,
)
from plumetrace.detect.signatures import load_source_classes
from plumetrace.detect.york import york_fit
from plumetrace.exceptions import InputError
from plumetrace.io.survey import Survey, ppb_factor
from plumetrace.numerics import as_slice, sample_interval

#: A background block holds at least this many samples (a 15-s block of 1-minute means would hold none).
MIN_BLOCK_SAMPLES = 10


@dataclass
class Event:
    """One plume encounter: overlapping channel hits on one platform."""

    id: str
    platform: str
    t_start: float
    t_end: float
    t_peak: float
    peak_sigma: float
    lat: float
    lon: float
    east: float
    north: float
    alt_m: float
    wind_speed_mps: float | None
    wind_dir_deg: float | None
    channels: list[str]
    peak: dict[str, float]
    integral: dict[str, float]
    integral_se: dict[str, float]
    ratios: dict[str, dict]
    reference: str
    label: str = "unknown"
    probability: float = 0.0
    probabilities: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict:
        """JSON-ready dict."""
        d = dict(self.__dict__)
        d["class"] = d.pop("label")
        d["class_probability"] = d.pop("probability")
        return d


class PlumeDetector:
    """Detect plume hits over a moving background and attribute each event to a source class.

    Parameters
    ----------
    false_alarms_per_hour : float
        Target false-alarm rate of the whole survey per flight hour; each of the n channels gets 1/n of it,
        which sets its threshold (see :mod:`plumetrace.detect.hits`).
    block, quantile, smooth_blocks : float, float, int
        Background estimator settings (:func:`~plumetrace.detect.background.moving_background`).
    min_duration, merge_gap : float
        Shortest hit and longest gap bridged inside one hit [s].
    k_min, k_max : float
        Range of the threshold [σ].
    lags : dict, optional
        Channel → response lag [s]; the event location is taken at the peak time minus the lag of the
        channel that peaked most strongly.
    source_classes : dict, optional
        Source-class library (default: :func:`plumetrace.detect.signatures.load_source_classes`).
    prior_unknown, min_probability : float
        Attribution settings (:func:`plumetrace.detect.attribution.attribute`).
    class_prior : dict, optional
        Relative prior weight of each class (uniform when absent), e.g. the area's prior learnt from outcomes
        (:func:`plumetrace.detect.learning.class_prior`).
    build_events : bool
        Form and attribute events (default); False stops after the channel hits.

    Attributes
    ----------
    channel_stats_ : pandas.DataFrame
        Per platform and channel: σ, threshold k, measured negative-excursion rate, clipped flag.
    hits_ : pandas.DataFrame
        Channel hits.
    events_ : list of Event
        Events, strongest first.
    background_ : pandas.DataFrame
        Background of every channel at every sample.
    flight_hours_ : float
        Total logged time.
    """

    def __init__(self, false_alarms_per_hour: float = 0.5, block: float = 15.0, quantile: float = 0.1,
                 smooth_blocks: int = 3, min_duration: float = 0.5, merge_gap: float = 2.0, k_min: float = 4.0,
                 k_max: float = 12.0, lags: dict | None = None, source_classes: dict | None = None,
                 prior_unknown: float = 0.1, min_probability: float = 0.5, build_events: bool = True,
                 class_prior: dict | None = None):
        self.false_alarms_per_hour = false_alarms_per_hour
        self.block = block
        self.quantile = quantile
        self.smooth_blocks = smooth_blocks
        self.min_duration = min_duration
        self.merge_gap = merge_gap
        self.k_min = k_min
        self.k_max = k_max
        self.lags = lags
        self.source_classes = source_classes
        self.prior_unknown = prior_unknown
        self.min_probability = min_probability
        self.build_events = build_events
        self.class_prior = class_prior

    def fit(self, survey: Survey) -> PlumeDetector:
        """Run detection and attribution on a survey; returns self."""
        if self.false_alarms_per_hour <= 0:
            raise ValueError("false_alarms_per_hour must be > 0")
        data = survey.data
        lags = dict(self.lags or {})
        classes = self.source_classes if self.source_classes is not None else load_source_classes()
        species = [Survey.channel_parts(c)[0] for c in survey.channels]
        patterns = class_patterns(classes, species)
        platforms = data["platform"].astype(str).to_numpy() if "platform" in data.columns else \
            np.full(len(data), "uav")
        times = data["time"].to_numpy()
        if times.size > 1 and not np.any(np.diff(times) > 0):
            raise InputError(f"all {times.size:,} samples share one time ({float(times[0])!r}): detection needs "
                             "readings over time", survey.path or None, column="time")
        stats, hits, events = [], [], []
        background = {ch: np.full(len(data), np.nan) for ch in survey.channels}
        hours = 0.0
        for platform in pd.unique(platforms):
            idx = as_slice(np.flatnonzero(platforms == platform))
            t = np.array(data["time"].to_numpy()[idx], dtype=float)  # an owned copy: np.interp copies views per call
            dt = sample_interval(t)
            # a background block needs several samples: slow records (fixed sensors' 1-minute means) get longer ones
            block = max(self.block, MIN_BLOCK_SAMPLES * dt)
            breaks = segment_breaks(t, dt)
            h = t.size * dt / 3600.0
            hours += h
            min_len = max(1, int(math.ceil(self.min_duration / dt)))
            max_gap = int(round(self.merge_gap / dt))
            z_all, resid_all, sig_all = {}, {}, {}
            per_channel = self.false_alarms_per_hour / len(survey.channels)
            for ch in survey.channels:
                values = data[ch].to_numpy(dtype=float)[idx]
                bg, resid, sigma, z, clipped = channel_standardise(values, t, block, self.quantile,
                                                                   self.smooth_blocks)
                if clipped:
                    k = gaussian_threshold(1.0 / dt, per_channel, min_len, self.k_min, self.k_max)
                    rate = float("nan")
                else:
                    k, rate = calibrate_threshold(z, breaks, h, per_channel, min_len, max_gap, self.k_min, self.k_max)
                s, e = segments(z, breaks, k, min_len, max_gap)
                hits.append(hits_table(str(platform), ch, t, z, resid, s, e, sigma, k))
                stats.append({"platform": str(platform), "channel": ch, "sigma": sigma, "k": k,
                              "negative_rate_per_h": rate, "clipped": bool(clipped), "hits": int(s.size),
                              "background_median": float(np.nanmedian(bg))})
                background[ch][idx] = bg
                z_all[ch], resid_all[ch], sig_all[ch] = z, resid, sigma
            platform_hits = hits[-len(survey.channels):]
            if not self.build_events:
                continue
            events += self._events(str(platform), idx, t, dt, block, breaks, data, survey, z_all, resid_all, sig_all,
                                   platform_hits, lags, patterns)
        self.channel_stats_ = pd.DataFrame(stats)
        self.hits_ = pd.concat(hits, ignore_index=True) if hits else pd.DataFrame()
        events.sort(key=lambda ev: -ev.peak_sigma)
        for n, ev in enumerate(events, start=1):
            ev.id = f"e{n}"
        self.events_ = events
        self.background_ = pd.DataFrame(background, index=data.index, copy=False)
        self.flight_hours_ = hours
        return self

    def _events(self, platform, idx, t, dt, block, breaks, data, survey, z_all, resid_all, sig_all, platform_hits, lags,
                patterns):
        spans = []
        for table in platform_hits:
            for row in table.itertuples():
                spans.append((row.start, row.end))
        if not spans:
            return []
        spans.sort()
        merged = [list(spans[0])]
        for s, e in spans[1:]:
            if s <= merged[-1][1] + int(round(self.merge_gap / dt)):
                merged[-1][1] = max(merged[-1][1], e)
            else:
                merged.append([s, e])
        temp = data["temp_c"].to_numpy()[idx] + 273.15 if "temp_c" in data.columns else np.full(t.size, 288.15)
        pres = data["pressure_hpa"].to_numpy()[idx] * 100.0 if "pressure_hpa" in data.columns else \
            np.full(t.size, 101325.0)
        out = []
        n = t.size
        # arrays taken once (per event they would copy the whole survey: quadratic in its length)
        east_p = np.array(data["east"].to_numpy()[idx], dtype=float)  # owned copies (np.interp copies views)
        north_p = np.array(data["north"].to_numpy()[idx], dtype=float)
        spans_of = [(table.channel.iloc[0], table.start.to_numpy(), table.end.to_numpy())
                    for table in platform_hits if len(table)]
        for s, e in merged:
            triggered = [ch for ch, starts, ends in spans_of if np.any((starts < e) & (ends > s))]
            peak_ch = max(triggered, key=lambda c: np.nanmax(z_all[c][s:e]))
            p = s + int(np.nanargmax(z_all[peak_ch][s:e]))
            integral, se, peak = {}, {}, {}
            windows = {}
            for ch in survey.channels:
                z = z_all[ch]
                a, b = s, e
                limit_back = max(0, s - int(10 / dt))
                while a > limit_back and not breaks[a] and z[a - 1] > 0.5:
                    a -= 1
                limit_fwd = min(n, e + int(60 / dt))
                while b < limit_fwd and not breaks[b] and z[b] > 0.5:
                    b += 1
                windows[ch] = (a, b)
                species, unit = Survey.channel_parts(ch)
                to_ppb = np.broadcast_to(ppb_factor(unit, species, temp[a:b], pres[a:b]), (b - a,))
                r = resid_all[ch][a:b] * to_ppb
                integral[ch] = float(np.nansum(r) * dt)
                # white noise over the window, the background's own uncertainty (one block of samples), and a
                # 10 % calibration error
                m = max(b - a, 1)
                noise = sig_all[ch] * np.mean(to_ppb) * dt
                n_block = max(block / dt, 1.0)
                se[ch] = float(math.sqrt(noise**2 * m + (noise * m) ** 2 / n_block + (0.1 * integral[ch]) ** 2))
                peak[ch] = float(np.nanmax(resid_all[ch][s:e]))
            reference = max(survey.channels, key=lambda c: integral[c] / se[c] if se[c] > 0 else 0)
            ratios = {}
            for ch in survey.channels:
                if ch == reference:
                    continue
                ratio = integral[ch] / integral[reference] if integral[reference] != 0 else float("nan")
                ratio_se = abs(ratio) * math.hypot(se[ch] / integral[ch] if integral[ch] else float("inf"),
                                                   se[reference] / integral[reference])
                entry = {"ratio": ratio, "ratio_se": ratio_se}
                a = min(windows[ch][0], windows[reference][0])
                b = max(windows[ch][1], windows[reference][1])
                if b - a >= 5:
                    fit = york_fit(resid_all[reference][a:b], resid_all[ch][a:b], sig_all[reference], sig_all[ch])
                    entry.update(york_slope=fit.slope, york_slope_se=fit.slope_se)
                ratios[ch] = entry
            gi = idx.start + p if isinstance(idx, slice) else int(idx[p])
            lag = float(lags.get(peak_ch, 0.0))
            loc_t = t[p] - lag
            east = float(np.interp(loc_t, t, east_p))
            north = float(np.interp(loc_t, t, north_p))
            lat, lon = survey.frame.to_wgs84(east, north)
            ws = float(data["wind_speed_mps"].iloc[gi]) if "wind_speed_mps" in data.columns else None
            wd = float(data["wind_dir_deg"].iloc[gi]) if "wind_dir_deg" in data.columns else None
            channels = list(survey.channels)
            att = attribute(np.array([integral[c] for c in channels]), np.array([se[c] for c in channels]),
                            patterns, self.prior_unknown, self.min_probability, self.class_prior)
            out.append(Event(
                id="", platform=platform, t_start=float(t[s]), t_end=float(t[e - 1]), t_peak=float(t[p]),
                peak_sigma=float(z_all[peak_ch][p]), lat=float(lat), lon=float(lon), east=east, north=north,
                alt_m=float(data["alt_m"].iloc[gi]), wind_speed_mps=ws, wind_dir_deg=wd, channels=triggered,
                peak=peak, integral=integral, integral_se=se, ratios=ratios, reference=reference,
                label=att.label, probability=att.probability, probabilities=att.probabilities,
            ))
        return out

    def summary(self) -> dict:
        """Counts for reports: events, events per class, flight hours."""
        labels = pd.Series([e.label for e in self.events_], dtype=object)
        return {"events": len(self.events_), "flight_hours": self.flight_hours_,
                "by_class": labels.value_counts().to_dict() if len(labels) else {}}
