"""Observations for the inversion: one gas channel of a survey, lag-corrected, background-subtracted, binned.

Every sample counts (hits and plume-free samples alike). The channel is shifted back by its response lag (a
first-order sensor's mean delay equals its time constant), the detector's moving background and the
remaining offset (the median residual of the platform's samples) are removed, the
readings are converted to mole fraction (ppb), and consecutive samples are averaged into bins of ``bin_s``
seconds (1 s ≈ 8 m of track) with their mean position, so that a 30-minute 10 Hz survey becomes ~2,000
observations. The wind of each bin is the vector mean of the survey's wind over ``wind_window_s`` (60 s): a
plume is carried by the wind of its travel time, not by the gust at the drone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from plumetrace.exceptions import InputError
from plumetrace.io.survey import Survey, mean_air, ppb_factor
from plumetrace.numerics import as_slice, sample_interval
from plumetrace.physics.species import SPECIES, mole_fraction

#: Spacing of the points along an open-path beam at which the forward operator averages the plume [m].
BEAM_STEP_M = 0.5


#: Species keys of broadband sensors (a PID's total VOC sums every organic compound of every source).
BROADBAND = frozenset({"voc"})
#: A quiet channel whose residuals' mean exceeds their median by this (in noise σ) is not searched: clipped or
#: quantised noise, whose positive tail would read as a broad, weak source.
QUIET_SKEW_LIMIT = 0.3

@dataclass
class Observations:
    """Binned observations of one channel (arrays of equal length)."""

    channel: str
    species: str
    time: np.ndarray
    east: np.ndarray
    north: np.ndarray
    height: np.ndarray
    enhancement: np.ndarray  # ppb
    variance: np.ndarray  # ppb²
    wind_speed: np.ndarray  # m/s
    wind_from_deg: np.ndarray
    temperature: float  # K
    pressure: float  # Pa
    platform: np.ndarray
    response_time: float = 0.0  # first-order time constant of the sensor modelled in the forward operator [s]
    end_east: np.ndarray | None = None  # path-averaged readings: the segment's far end [m] (NaN for points)
    end_north: np.ndarray | None = None
    end_height: np.ndarray | None = None

    @property
    def has_beams(self) -> bool:
        """Whether some observation is a path average (an open-path beam)."""
        return self.end_east is not None and bool(np.any(np.isfinite(self.end_east)))

    def beam_points(self, step_m: float = BEAM_STEP_M):
        """Points along every path-averaged observation, for the forward operator's average along the beam.

        Returns ``(start, east, north, height)``: the points of observation i are ``start[i]:start[i + 1]``
        (none for a point reading) — K = ⌈length / step_m⌉ (at least 2) midpoints of equal sub-segments, so
        that their mean is the midpoint rule of the line integral of the plume along the beam divided by its
        length.
        """
        n = len(self)
        if not self.has_beams:
            return np.zeros(n + 1, dtype=np.int64), np.empty(0), np.empty(0), np.empty(0)
        beam = np.isfinite(self.end_east)
        length = np.hypot(np.hypot(self.end_east - self.east, self.end_north - self.north),
                          self.end_height - self.height)
        k = np.where(beam, np.maximum(2, np.ceil(np.nan_to_num(length) / step_m)), 0).astype(np.int64)
        start = np.concatenate(([0], np.cumsum(k))).astype(np.int64)
        owner = np.repeat(np.arange(n), k)
        frac = (np.arange(start[-1]) - start[owner] + 0.5) / k[owner]
        e = self.east[owner] + frac * (self.end_east[owner] - self.east[owner])
        nn = self.north[owner] + frac * (self.end_north[owner] - self.north[owner])
        h = self.height[owner] + frac * (self.end_height[owner] - self.height[owner])
        return start, e, nn, np.maximum(h, 0.0)

    @property
    def ppb_per_g_m3(self) -> float:
        """Mole fraction [ppb] of 1 g/m³ of the species at the survey's temperature and pressure."""
        if self.species not in SPECIES:
            raise InputError(f"cannot quantify unknown species {self.species!r}", column=self.channel)
        return float(mole_fraction(1e-3, SPECIES[self.species].molar_mass, self.temperature, self.pressure) * 1e9)

    def __len__(self) -> int:
        return int(self.time.size)


def _smoothed_wind(t: np.ndarray, speed: np.ndarray, direction: np.ndarray, window_s: float):
    theta = np.deg2rad(direction)
    u = pd.Series(-speed * np.sin(theta))
    v = pd.Series(-speed * np.cos(theta))
    dt = sample_interval(t)
    w = max(int(round(window_s / dt)), 1)
    um = u.rolling(w, center=True, min_periods=1).mean().to_numpy()
    vm = v.rolling(w, center=True, min_periods=1).mean().to_numpy()
    spd = pd.Series(speed).rolling(w, center=True, min_periods=1).mean().to_numpy()  # scalar mean speed (EPA)
    frm = np.mod(np.rad2deg(np.arctan2(-um, -vm)), 360.0)
    return spd, frm


#: Samples binned at a time (whole bins): the binning's memory does not grow with the survey beyond this.
BIN_CHUNK_ROWS = 500_000


def _chunk_bounds(bin_id: np.ndarray, rows: int) -> list[int]:
    """Indices cutting ``bin_id`` (non-decreasing runs of equal ids) into pieces of about ``rows``, between bins."""
    n = bin_id.size
    cuts = [0]
    while cuts[-1] + rows < n:
        k = cuts[-1] + rows
        while k < n and bin_id[k] == bin_id[k - 1]:
            k += 1
        cuts.append(k)
    cuts.append(n)
    return cuts


def response_decay(obs: Observations, gap_factor: float = 5.0) -> np.ndarray:
    """Per observation, the decay exp(−Δt/τ) of a first-order sensor since the platform's previous observation.

    τ = ``obs.response_time``; Δt from the previous observation of the same platform in time; 0 (the filter
    restarts) at a platform's first observation, after a gap longer than ``gap_factor`` × the median spacing, and
    everywhere when τ = 0.
    """
    n = len(obs)
    out = np.zeros(n)
    tau = float(obs.response_time)
    if tau <= 0 or n < 2:
        return out
    plat = np.asarray(obs.platform).astype(str)
    for p in np.unique(plat):
        idx = np.flatnonzero(plat == p)
        idx = idx[np.argsort(obs.time[idx], kind="stable")]
        dt = np.diff(obs.time[idx])
        if dt.size == 0:
            continue
        gap = gap_factor * float(np.median(dt))
        out[idx[1:]] = np.where(dt <= gap, np.exp(-dt / tau), 0.0)
    return out


def sensor_response(obs: Observations, values: np.ndarray) -> np.ndarray:
    """Pass a predicted series (one value per observation) through the sensor's first-order response.

    y_i = a_i y_{i−1} + (1 − a_i) x_i with a_i from :func:`response_decay` — the discrete first-order
    (exponential) response of the sensor to a concentration that changes along the flight.
    """
    a = response_decay(obs)
    x = np.asarray(values, float)
    if not np.any(a):
        return x.copy()
    order = np.lexsort((obs.time, np.asarray(obs.platform).astype(str)))
    y = np.empty_like(x)
    prev = 0.0
    for i in order:
        prev = a[i] * prev + (1.0 - a[i]) * x[i]
        y[i] = prev
    return y


def build_observations(survey: Survey, channel: str, background: np.ndarray, sigma_by_platform: dict,
                       lag_s: float = 0.0, bin_s: float = 1.0, wind_window_s: float = 60.0,
                       wind: tuple[float, float] | None = None, response_time: float = 0.0) -> Observations:
    """Bin one channel of a survey for the locator.

    Parameters
    ----------
    survey : Survey
    channel : str
        Gas channel column.
    background : numpy.ndarray
        Background of the channel at every sample (:attr:`PlumeDetector.background_`).
    sigma_by_platform : dict
        Platform → noise σ of the channel [channel unit].
    lag_s : float
        Response lag of the channel [s]: readings are moved back by it (a pure delay).
    response_time : float
        Time constant of a first-order sensor [s], modelled in the forward operator instead
        (:func:`sensor_response`; use with ``lag_s=0``).
    bin_s : float
        Bin length [s].
    wind_window_s : float
        Averaging window of the measured wind [s].
    wind : (speed, from_deg), optional
        A fixed wind to use instead of the survey's.

    Raises
    ------
    InputError
        When the survey has no wind and none is given.
    """
    data = survey.data
    species, unit = Survey.channel_parts(channel)
    if wind is None and not survey.has_wind:
        raise InputError("the survey has no wind (wind_speed_mps, wind_dir_deg); give one with --wind "
                         "SPEED_MPS@FROM_DEG", survey.path)
    if wind is None and not np.any(data["wind_speed_mps"].to_numpy(dtype=float) > 0):
        raise InputError("the wind speed is 0 on every row: in a calm a plume has no direction to locate a source "
                         "along; give the wind with --wind SPEED_MPS@FROM_DEG", survey.path, column="wind_speed_mps")
    platforms = data["platform"].astype(str).to_numpy() if "platform" in data.columns else np.full(len(data), "uav")
    beams = "end_east" in data.columns and bool(data["end_east"].notna().any())
    temp, pres = mean_air(data)
    to_ppb = float(ppb_factor(unit, species, temp, pres))
    parts = []
    for platform in pd.unique(platforms):
        idx = as_slice(np.flatnonzero(platforms == platform))
        t = data["time"].to_numpy()[idx]
        dt = sample_interval(t)
        resid = (data[channel].to_numpy(dtype=float)[idx] - background[idx]) * to_ppb
        # the channel's background offset: a moving low quantile sits below the mean of the noise (more so for a
        # coarse, quantised sensor); most samples are plume-free, so their median is the offset
        resid = resid - float(np.nanmedian(resid)) if np.isfinite(resid).any() else resid
        # the reading at time t was taken at about t - lag: move it back onto the position it belongs to
        shift = int(round(lag_s / dt))
        if shift > 0:
            resid = np.concatenate((resid[shift:], np.full(shift, np.nan)))
        if wind is None:
            speed, frm = _smoothed_wind(t, data["wind_speed_mps"].to_numpy(dtype=float)[idx],
                                        data["wind_dir_deg"].to_numpy(dtype=float)[idx], wind_window_s)
        else:
            speed, frm = np.full(t.size, wind[0]), np.full(t.size, wind[1])
        gap = np.concatenate(([True], np.diff(t) > 5 * dt))
        segment = np.cumsum(gap)
        bin_id = segment * 10**7 + np.floor((t - t[0]) / bin_s).astype(np.int64)
        east, north = data["east"].to_numpy()[idx], data["north"].to_numpy()[idx]
        height = data["alt_m"].to_numpy(dtype=float)[idx]
        ends = {c: data[c].to_numpy(dtype=float)[idx] for c in ("end_east", "end_north", "end_height")} if beams \
            else {}
        # binned in chunks of whole bins: a bin's mean is the same, and memory stays linear in a small constant
        cuts = _chunk_bounds(bin_id, BIN_CHUNK_ROWS)
        chunks = []
        for a, b in zip(cuts[:-1], cuts[1:], strict=True):
            theta = np.deg2rad(frm[a:b])
            frame = pd.DataFrame({
                "bin": bin_id[a:b], "time": t[a:b], "east": east[a:b], "north": north[a:b], "height": height[a:b],
                "r": resid[a:b], "speed": speed[a:b], "u": -speed[a:b] * np.sin(theta),
                "v": -speed[a:b] * np.cos(theta), **{c: v[a:b] for c, v in ends.items()},
            }).dropna(subset=["r", "speed"])
            g = frame.groupby("bin", sort=True)
            chunks.append(g.agg(time=("time", "mean"), east=("east", "mean"), north=("north", "mean"),
                                height=("height", "mean"), r=("r", "mean"), n=("r", "size"), speed=("speed", "mean"),
                                u=("u", "mean"), v=("v", "mean"), **{c: (c, "mean") for c in ends}))
        agg = pd.concat(chunks) if len(chunks) > 1 else chunks[0]
        sigma = float(sigma_by_platform.get(str(platform), np.nanstd(resid))) * to_ppb
        # white noise of the bin plus the background's uncertainty (a 15-second block of samples)
        var = sigma**2 / agg["n"].to_numpy() + sigma**2 / max(15.0 / dt, 1.0)
        # checked against the binned residuals themselves: where their robust spread (MAD; plume bins are a
        # minority) exceeds the model's — drift, quantisation, ambient variability the detector's noise misses —
        # the variance is scaled up to it (never down)
        z = agg["r"].to_numpy() / np.sqrt(var)
        if z.size >= 30:
            spread = 1.4826 * float(np.median(np.abs(z - np.median(z))))
            var = var * max(spread, 1.0) ** 2
        agg["var"] = var
        agg["from"] = np.mod(np.rad2deg(np.arctan2(-agg["u"], -agg["v"])), 360.0)
        agg["platform"] = str(platform)
        parts.append(agg)
    allb = pd.concat(parts, ignore_index=True).sort_values("time")
    return Observations(
        channel=channel, species=species, time=allb["time"].to_numpy(), east=allb["east"].to_numpy(),
        north=allb["north"].to_numpy(), height=np.maximum(allb["height"].to_numpy(), 0.0),
        enhancement=allb["r"].to_numpy(), variance=allb["var"].to_numpy(),
        wind_speed=np.maximum(allb["speed"].to_numpy(), 0.5), wind_from_deg=allb["from"].to_numpy(),
        temperature=temp, pressure=pres, platform=allb["platform"].to_numpy(), response_time=float(response_time),
        **({"end_east": allb["end_east"].to_numpy(), "end_north": allb["end_north"].to_numpy(),
            "end_height": np.maximum(allb["end_height"].to_numpy(), 0.0)} if beams else {}),
    )


def changed_observations(before: Observations, after: Observations) -> np.ndarray | None:
    """Which observations of ``after`` differ from ``before`` in enhancement or variance (None: not comparable).

    The two must be the same observations (times, positions, winds) from a sensor without a modelled response.
    A difference under 1e-9 of the noise σ (enhancement) or of the variance — a subtracted plume's Gaussian tail
    far from its axis — changes no likelihood term by more than that relative amount and counts as none.
    """
    if (len(before) != len(after) or before.response_time > 0 or after.response_time > 0
            or before.has_beams or after.has_beams
            or not all(np.array_equal(getattr(before, k), getattr(after, k))
                       for k in ("time", "east", "north", "height", "wind_speed", "wind_from_deg"))):
        return None
    return ((np.abs(after.enhancement - before.enhancement) > 1e-9 * np.sqrt(before.variance))
            | (np.abs(after.variance - before.variance) > 1e-9 * before.variance))


def skewed(obs: Observations, limit: float = QUIET_SKEW_LIMIT) -> bool:
    """Whether a channel's residuals are skewed positive beyond ``limit`` (mean − median, in noise units)."""
    z = obs.enhancement / np.sqrt(obs.variance)
    return bool(z.size >= 30 and float(np.mean(z) - np.median(z)) > limit)
