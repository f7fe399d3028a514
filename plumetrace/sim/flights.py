"""Flight patterns and the sampled track of a platform (true and GPS-reported positions).

Patterns (all in the local frame, with the wind direction to orient them):

- ``lawnmower``: parallel legs across the wind over a rectangle, at one or several altitudes;
- ``curtain``: stacked crosswind transects at a distance downwind of a point (a flux plane);
- ``orbit``: circles around a point at one or several altitudes.

A path is flown at constant ground speed and sampled at the logging rate; it is split into sorties by the
battery endurance, with a gap for each battery swap. GPS errors are white noise plus a slowly varying
bias (Ornstein–Uhlenbeck), optionally with occasional jumps for poor reception.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from plumetrace.physics.wind import wind_axes
from plumetrace.sim.atmosphere import ou_process


@dataclass
class Track:
    """Samples of one platform: times [s], true and reported positions [m], sortie labels."""

    platform: str
    time: np.ndarray
    east: np.ndarray
    north: np.ndarray
    height: np.ndarray
    gps_east: np.ndarray
    gps_north: np.ndarray
    gps_height: np.ndarray
    sortie: np.ndarray
    dt: float


def lawnmower(center, width: float, height: float, spacing: float, altitudes, wind_from_deg: float,
              margin: float = 0.0) -> np.ndarray:
    """Waypoints (east, north, alt) of crosswind legs covering a rectangle centred on ``center``.

    The rectangle's axes follow the wind: legs run across the wind (``width`` long, plus ``margin`` at each
    end) and step downwind by ``spacing`` over ``height``.
    """
    downwind, cross = wind_axes(wind_from_deg)
    c = np.asarray(center, float)
    n_legs = max(int(np.floor(height / spacing)) + 1, 2)
    offsets = np.linspace(-height / 2, height / 2, n_legs)
    half = width / 2 + margin
    pts = []
    for alt in altitudes:
        for k, off in enumerate(offsets):
            a, b = (-half, half) if k % 2 == 0 else (half, -half)
            for s in (a, b):
                p = c + off * downwind + s * cross
                pts.append((p[0], p[1], alt))
    return np.array(pts)


def curtain(center, distance: float, width: float, altitudes, wind_from_deg: float) -> np.ndarray:
    """Stacked crosswind transects ``distance`` downwind of ``center`` (a vertical flux plane)."""
    downwind, cross = wind_axes(wind_from_deg)
    mid = np.asarray(center, float) + distance * downwind
    pts = []
    for k, alt in enumerate(altitudes):
        a, b = (-width / 2, width / 2) if k % 2 == 0 else (width / 2, -width / 2)
        for s in (a, b):
            p = mid + s * cross
            pts.append((p[0], p[1], alt))
    return np.array(pts)


def orbit(center, radius: float, altitudes, laps: int = 1, points_per_lap: int = 72) -> np.ndarray:
    """Circles of ``radius`` around ``center``, ``laps`` times at each altitude."""
    c = np.asarray(center, float)
    ang = np.linspace(0, 2 * np.pi * laps, points_per_lap * laps + 1)
    pts = []
    for alt in altitudes:
        for a in ang:
            pts.append((c[0] + radius * np.sin(a), c[1] + radius * np.cos(a), alt))
    return np.array(pts)


def fly(waypoints: np.ndarray, speed: float, rate_hz: float, t_start: float, endurance: float,
        swap_time: float, rng: np.random.Generator, platform: str = "uav-1", gps_sigma: float = 1.0,
        gps_bias: float = 0.5, gps_jump_rate_per_h: float = 0.0, altitude_sigma: float = 0.5,
        max_duration: float | None = None) -> Track:
    """Fly a waypoint path at constant speed and sample it.

    Parameters
    ----------
    waypoints : numpy.ndarray, shape (n, 3)
        (east, north, height) [m].
    speed : float
        Ground speed [m s⁻¹].
    rate_hz : float
        Logging rate [Hz].
    t_start : float
        UNIX time of the first sample [s].
    endurance, swap_time : float
        Sortie length and battery-swap gap [s]; the path resumes where the last sortie ended.
    rng : numpy.random.Generator
    gps_sigma, gps_bias : float
        White GPS noise and slowly varying bias (60 s time scale) [m].
    gps_jump_rate_per_h : float
        Rate of GPS jumps (10–40 m for 5–20 s) per hour, for poor reception.
    altitude_sigma : float
        Altitude noise [m].
    max_duration : float, optional
        Stop after this much flying time [s].
    """
    if speed <= 0 or rate_hz <= 0 or endurance <= 0:
        raise ValueError("speed, rate and endurance must be > 0")
    seg = np.diff(waypoints, axis=0)
    seg_len = np.hypot(seg[:, 0], seg[:, 1]) + np.abs(seg[:, 2])
    cum = np.concatenate(([0.0], np.cumsum(seg_len)))
    total_time = cum[-1] / speed
    if max_duration is not None:
        total_time = min(total_time, max_duration)
    dt = 1.0 / rate_hz
    fly_t = np.arange(0.0, total_time, dt)
    dist = fly_t * speed
    east = np.interp(dist, cum, waypoints[:, 0])
    north = np.interp(dist, cum, waypoints[:, 1])
    height = np.interp(dist, cum, waypoints[:, 2])
    sortie = (fly_t // endurance).astype(int)
    time = t_start + fly_t + sortie * swap_time
    n = fly_t.size
    bias_e = gps_bias * ou_process(rng, n, dt, 60.0)
    bias_n = gps_bias * ou_process(rng, n, dt, 60.0)
    gps_e = east + bias_e + gps_sigma * rng.standard_normal(n)
    gps_n = north + bias_n + gps_sigma * rng.standard_normal(n)
    if gps_jump_rate_per_h > 0:
        n_jumps = rng.poisson(gps_jump_rate_per_h * total_time / 3600.0)
        for _ in range(n_jumps):
            i0 = rng.integers(0, n)
            length = int(rng.uniform(5, 20) * rate_hz)
            ang = rng.uniform(0, 2 * np.pi)
            size = rng.uniform(10, 40)
            gps_e[i0:i0 + length] += size * np.sin(ang)
            gps_n[i0:i0 + length] += size * np.cos(ang)
    gps_h = height + altitude_sigma * rng.standard_normal(n)
    return Track(platform, time, east, north, height, gps_e, gps_n, gps_h, sortie, dt)
