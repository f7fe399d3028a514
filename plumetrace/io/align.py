"""Time alignment of a sensor logger with a flight log, sensor-lag compensation, and the merged survey.

Clock offset (``flight_time = logger_time + offset``): given by the user, or estimated by cross-correlating a
signal both devices see — the barometric altitude of the logger (ICAO standard atmosphere) against the flight
log's altitude. Both are resampled to 10 Hz, smoothed over 1 s and differenced (vertical speed: immune to the
barometer's offset and slow weather drift), normalised, and cross-correlated with FFTs over the allowed offsets;
the peak is refined with a parabola through its neighbours. The uncertainty is the spread of the same estimate
on four disjoint quarters of the logger record (standard error of their mean), floored at the resampling
resolution. A logger with a calendar clock and no barometer is taken at its word (offset 0, with a warning).

Lag: a reading at logger time ``t`` measured the air sampled at ``t − lag`` (inlet transit time). A sensor
with a first-order response of time constant τ is deconvolved as ``x = y + τ dy/dt`` with a Savitzky–Golay
derivative (Savitzky & Golay 1964) over about τ, which limits the noise the derivative amplifies.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import signal

from plumetrace.exceptions import InputError
from plumetrace.io.logtypes import GPS_JUMP_SPEED_MPS, FlightLog, gps_jumps
from plumetrace.io.sensorlog import SensorLog
from plumetrace.physics.standard_atmosphere import pressure_altitude

#: Resampling step of the alignment signals [s].
ALIGN_DT = 0.1

QC_OUTSIDE_TRACK_GAP = 1  # the position was interpolated across a gap of more than 2 s
QC_GPS_JUMP = 2  # a GPS jump (plumetrace.io.logtypes.gps_jumps) within 1 s
QC_ON_GROUND = 4  # height above ground below 1 m
QC_CHANNEL_GAP = 8  # a gas channel is empty (NaN) in this row


@dataclass
class ClockOffset:
    """The logger's clock offset: ``flight_time = logger_time + offset_s``."""

    offset_s: float
    stderr_s: float | None
    method: str  # "given", "barometric cross-correlation", "calendar clocks"
    correlation: float | None = None
    segments_s: list[float] = field(default_factory=list)


def _uniform(t: np.ndarray, y: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
    ok = np.isfinite(t) & np.isfinite(y)
    t, y = t[ok], y[ok]
    grid = np.arange(t[0], t[-1], dt)
    return grid, np.interp(grid, t, y)


def _vertical_speed(y: np.ndarray, dt: float) -> np.ndarray:
    n = max(3, int(round(1.0 / dt)))
    smooth = np.convolve(y, np.ones(n) / n, mode="same")
    v = np.gradient(smooth, dt)
    v[: n] = 0.0
    v[-n:] = 0.0
    s = np.std(v)
    return (v - np.mean(v)) / s if s > 0 else v * 0.0


def _best_lag(ref: np.ndarray, ref_t0: float, x: np.ndarray, x_t0: float, dt: float,
              bounds: tuple[float, float]) -> tuple[float, float]:
    """Offset (ref time − x time) maximising the normalised cross-correlation, and the peak value."""
    corr = signal.correlate(ref, x, mode="full", method="fft")
    lags = np.arange(-(x.size - 1), ref.size) * dt  # ref index i ↔ x index i - lag
    overlap = np.minimum(np.minimum(np.arange(1, corr.size + 1), corr.size - np.arange(corr.size)),
                         min(ref.size, x.size)).astype(float)
    offsets = ref_t0 - x_t0 + lags
    ok = (offsets >= bounds[0]) & (offsets <= bounds[1]) & (overlap >= min(x.size, ref.size) * 0.25)
    if not np.any(ok):
        return np.nan, 0.0
    score = np.where(ok, corr / np.maximum(overlap, 1.0), -np.inf)
    k = int(np.argmax(score))
    peak = float(score[k])
    if 0 < k < score.size - 1 and np.isfinite(score[k - 1]) and np.isfinite(score[k + 1]):
        a, b, c = score[k - 1], score[k], score[k + 1]
        denom = a - 2 * b + c
        frac = 0.5 * (a - c) / denom if denom < 0 else 0.0
    else:
        frac = 0.0
    return float(offsets[k] + frac * dt), peak


def estimate_clock_offset(flight: FlightLog, sensor: SensorLog, search_s: float | None = None) -> ClockOffset:
    """Estimate the logger's clock offset from its barometer against the flight log's altitude.

    Parameters
    ----------
    flight : FlightLog
        The flight log (its ``alt_m`` track).
    sensor : SensorLog
        The logger, with ``pressure_hpa``.
    search_s : float, optional
        Largest offset considered [s]; by default ±600 s for calendar clocks and the whole record for elapsed
        clocks.

    Raises
    ------
    InputError
        When the logger has no barometer (and no calendar clock), the flight has too little vertical motion
        to align on, or the correlation is too weak to trust.
    """
    if sensor.pressure_hpa is None or np.sum(np.isfinite(sensor.pressure_hpa)) < 100:
        if not sensor.relative_clock:
            return ClockOffset(0.0, None, "calendar clocks")
        raise InputError("the logger's clock counts from power-on and it has no barometer to align on: give the "
                         "offset with --clock-offset SECONDS (flight time = logger time + offset)", sensor.path,
                         column="time")
    ft, fa = flight.track["time"].to_numpy(float), flight.track["alt_m"].to_numpy(float)
    if ft.size < 10 or np.nanstd(fa) < 1.0:
        raise InputError("the flight log has too little altitude change to align the logger's clock on; give "
                         "--clock-offset", flight.path, column="alt_m")
    dt = ALIGN_DT
    t_ref, a_ref = _uniform(ft, fa, dt)
    t_x, a_x = _uniform(sensor.time, pressure_altitude(sensor.pressure_hpa), dt)
    ref, x = _vertical_speed(a_ref, dt), _vertical_speed(a_x, dt)
    if search_s is None:
        if sensor.relative_clock:
            bounds = (-np.inf, np.inf)
        else:
            bounds = (-600.0, 600.0)
    else:
        bounds = (-abs(search_s), abs(search_s))
    offset, peak = _best_lag(ref, t_ref[0], x, t_x[0], dt, bounds)
    if not np.isfinite(offset) or peak < 0.3:
        raise InputError(f"the logger's barometric altitude does not match the flight's altitude (best correlation "
                         f"{peak:.2f} < 0.3); check that the files belong to the same flight or give --clock-offset",
                         sensor.path, column="pressure")
    # uncertainty: the same estimate on four quarters of the logger record, near the global optimum
    parts = []
    for chunk in np.array_split(np.arange(x.size), 4):
        if chunk.size < 50 or np.std(x[chunk]) == 0:
            continue
        o, p = _best_lag(ref, t_ref[0], x[chunk], t_x[chunk[0]], dt, (offset - 5.0, offset + 5.0))
        if np.isfinite(o) and p > 0.2:
            parts.append(o)
    if len(parts) >= 2:
        stderr = float(max(np.std(parts, ddof=1) / np.sqrt(len(parts)), dt / np.sqrt(12)))
    else:
        stderr = float(dt)
    return ClockOffset(float(offset), stderr, "barometric cross-correlation", peak, [float(p) for p in parts])


def apply_lag(time: np.ndarray, values: np.ndarray, lag_s: float = 0.0, tau_s: float = 0.0) -> tuple[np.ndarray,
                                                                                                        np.ndarray]:
    """Compensate a channel's response: shift by ``lag_s`` and deconvolve a first-order lag of ``tau_s``.

    Parameters
    ----------
    time : numpy.ndarray
        Sample times [s], increasing.
    values : numpy.ndarray
        Readings.
    lag_s : float
        Transit delay [s]: the reading at ``t`` belongs to the air at ``t − lag_s``.
    tau_s : float
        First-order time constant [s] (0: no deconvolution).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        The times the readings belong to, and the (deconvolved) readings.
    """
    values = np.asarray(values, dtype=np.float64)
    out = values.copy()
    if tau_s > 0 and values.size >= 7:
        dt = float(np.median(np.diff(time)))
        largest = values.size if values.size % 2 else values.size - 1
        window = min(max(5, int(round(tau_s / dt)) | 1), largest)
        filled = pd.Series(values).interpolate(limit_direction="both").to_numpy()
        deriv = signal.savgol_filter(filled, window, 2, deriv=1, delta=dt)
        out = values + tau_s * deriv
    return np.asarray(time, dtype=np.float64) - lag_s, out


def merge(flight: FlightLog, sensor: SensorLog, offset: ClockOffset,
          lags: dict[str, tuple[float, float]] | None = None) -> tuple[pd.DataFrame, dict]:
    """The survey table (contract 1 columns plus ``qc_flags``) on the logger's samples, in flight time.

    Positions and heights above ground are interpolated from the track; readings outside the track's time
    span are dropped (counted in the report). Wind comes from the log's onboard estimate when it has one
    (interpolated as a vector).

    Parameters
    ----------
    lags : dict, optional
        Contract-1 channel → (lag_s, tau_s), overriding the profile's values.

    Returns
    -------
    (pandas.DataFrame, dict)
        The survey and a report (samples kept and dropped, flag counts, wind source, warnings).
    """
    if flight.time_source not in ("gps",):
        raise InputError(f"has no GPS (UTC) time ({flight.time_source} clock only); a survey needs UTC. "
                         "Fly with a GPS fix or convert a log that records GPS time", flight.path, column="time")
    lags = lags or {}
    tr = flight.track
    ft = tr["time"].to_numpy(float)
    t = sensor.time + offset.offset_s
    inside = (t >= ft[0]) & (t <= ft[-1])
    if not np.any(inside):
        raise InputError(f"no logger reading falls inside the flight ({ft[0]:.1f}–{ft[-1]:.1f} s) with the clock "
                         f"offset {offset.offset_s:+.2f} s; check the offset or the files", sensor.path, column="time")
    out = pd.DataFrame({"time": t})
    for col in ("lat", "lon"):
        out[col] = np.interp(t, ft, tr[col].to_numpy(float))
    out["alt_m"] = np.interp(t, ft, tr["height_m"].to_numpy(float))
    for col, v in sensor.channels.items():
        spec = sensor.specs[col]
        lag, tau = lags.get(col, (spec.lag_s, spec.tau_s))
        tt, vv = apply_lag(t, v, lag, tau)
        out[col] = np.interp(t, tt, vv, left=np.nan, right=np.nan) if lag else vv
    wind_source = None
    if flight.has_wind:
        w = flight.wind
        wt = w["time"].to_numpy(float)
        sp, dr = w["wind_speed_mps"].to_numpy(float), np.deg2rad(w["wind_dir_deg"].to_numpy(float))
        u, v = np.interp(t, wt, -sp * np.sin(dr)), np.interp(t, wt, -sp * np.cos(dr))
        out["wind_speed_mps"] = np.hypot(u, v)
        out["wind_dir_deg"] = np.mod(np.rad2deg(np.arctan2(-u, -v)), 360.0)
        wind_source = "onboard estimate"
    if sensor.temp_c is not None:
        out["temp_c"] = sensor.temp_c
    if sensor.pressure_hpa is not None:
        out["pressure_hpa"] = sensor.pressure_hpa
    # quality flags
    flags = np.zeros(t.size, dtype=np.int64)
    k = np.clip(np.searchsorted(ft, t), 1, ft.size - 1)
    flags[(ft[k] - ft[k - 1]) > 2.0] |= QC_OUTSIDE_TRACK_GAP
    from plumetrace.geo.crs import LocalFrame

    frame = LocalFrame.around(tr["lat"].to_numpy(float), tr["lon"].to_numpy(float))
    e, n = frame.to_local(tr["lat"].to_numpy(float), tr["lon"].to_numpy(float))
    jump_times = ft[1:][gps_jumps(ft, e, n)]
    if jump_times.size:
        near = np.abs(t[:, None] - jump_times[None, :]).min(axis=1) < 1.0 if t.size * jump_times.size < 5e7 else \
            np.zeros(t.size, bool)
        flags[near] |= QC_GPS_JUMP
    flags[out["alt_m"].to_numpy() < 1.0] |= QC_ON_GROUND
    chan = np.column_stack([out[c].to_numpy() for c in sensor.channels])
    flags[~np.isfinite(chan).all(axis=1)] |= QC_CHANNEL_GAP
    out["qc_flags"] = flags
    out = out[inside].reset_index(drop=True)
    warnings = list(flight.warnings) + list(sensor.warnings)
    if jump_times.size:
        warnings.append(f"{jump_times.size} GPS jumps (implied speed > {GPS_JUMP_SPEED_MPS:.0f} m/s); nearby samples "
                        "flagged")
    report = {
        "samples": int(len(out)), "dropped_outside_flight": int((~inside).sum()),
        "flags": {"position_gap": int((out["qc_flags"] & QC_OUTSIDE_TRACK_GAP).astype(bool).sum()),
                  "gps_jump": int((out["qc_flags"] & QC_GPS_JUMP).astype(bool).sum()),
                  "on_ground": int((out["qc_flags"] & QC_ON_GROUND).astype(bool).sum()),
                  "channel_gap": int((out["qc_flags"] & QC_CHANNEL_GAP).astype(bool).sum())},
        "wind_source": wind_source, "warnings": warnings,
    }
    return out, report
