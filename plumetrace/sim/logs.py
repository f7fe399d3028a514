"""Write a simulated flight as the files a real operator brings home: an autopilot log and a sensor logger CSV.

The autopilot log is an ArduPilot DataFlash ``.bin`` or a MAVLink telemetry ``.tlog``, written with
pymavlink's own encoders (``DFReader.DFFormat``/``DFMessage.get_msgbuf`` for DataFlash, the ardupilotmega
dialect's ``*_encode``/``pack`` for MAVLink); the DataFlash messages carry the fields plumetrace reads (a subset
of ArduPilot's). The flight gains a take-off (ground idle, climb at 2 m/s) and a landing, as real logs have.
The sensor logger writes its own clock — elapsed milliseconds since power-on, or a calendar clock that is off
by a given offset — and a barometer, so that :func:`plumetrace.io.align.estimate_clock_offset` has something
to align on. These files are what the ingest tests and ``plumetrace convert`` round trips use.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from plumetrace.io.ardupilot import GPS_EPOCH_UNIX, GPS_LEAP_SECONDS
from plumetrace.physics.standard_atmosphere import pressure_at_altitude


@dataclass
class FlightTrack:
    """A flight's true track: UNIX time [s], WGS 84 degrees, altitude MSL and height above ground [m], wind."""

    time: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    alt_msl: np.ndarray
    height: np.ndarray
    wind_speed: np.ndarray | None = None
    wind_dir: np.ndarray | None = None


def track_from_survey(survey: pd.DataFrame, ground_msl_m: float = 120.0, idle_s: float = 20.0,
                      climb_mps: float = 2.0) -> FlightTrack:
    """The survey's track with a take-off before it and a landing after it.

    Parameters
    ----------
    survey : pandas.DataFrame
        Contract-1 columns (``time`` UNIX seconds, ``lat``, ``lon``, ``alt_m`` height above ground).
    ground_msl_m : float
        Ground elevation above mean sea level [m].
    idle_s : float
        Time on the ground before take-off and after landing [s].
    climb_mps : float
        Climb and descent rate [m/s].
    """
    t = survey["time"].to_numpy(float)
    dt = float(np.median(np.diff(t)))
    h0, h1 = float(survey["alt_m"].iloc[0]), float(survey["alt_m"].iloc[-1])
    n_up, n_down, n_idle = int(np.ceil(h0 / climb_mps / dt)), int(np.ceil(h1 / climb_mps / dt)), int(idle_s / dt)
    pre = n_idle + n_up
    post = n_down + n_idle
    time = np.concatenate([t[0] - dt * np.arange(pre, 0, -1), t, t[-1] + dt * np.arange(1, post + 1)])
    height = np.concatenate([np.zeros(n_idle), np.linspace(0.0, h0, n_up, endpoint=False), survey["alt_m"].to_numpy(),
                             np.linspace(h1, 0.0, n_down + 1)[1:], np.zeros(n_idle)])
    lat = np.concatenate([np.full(pre, survey["lat"].iloc[0]), survey["lat"].to_numpy(),
                          np.full(post, survey["lat"].iloc[-1])])
    lon = np.concatenate([np.full(pre, survey["lon"].iloc[0]), survey["lon"].to_numpy(),
                          np.full(post, survey["lon"].iloc[-1])])
    ws = wd = None
    if "wind_speed_mps" in survey and "wind_dir_deg" in survey:
        ws = np.interp(time, t, survey["wind_speed_mps"].to_numpy(float))
        wd = np.interp(time, t, np.unwrap(np.deg2rad(survey["wind_dir_deg"].to_numpy(float))))
        wd = np.mod(np.rad2deg(wd), 360.0)
    return FlightTrack(time, lat, lon, ground_msl_m + height, height, ws, wd)


def _gps_week_ms(unix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    gps = np.asarray(unix, float) - GPS_EPOCH_UNIX + GPS_LEAP_SECONDS
    week = np.floor(gps / 604800.0)
    return week.astype(int), np.round((gps - week * 604800.0) * 1e3).astype(np.int64)


def write_dataflash(path: str | Path, track: FlightTrack, rate_hz: float = 5.0, boot_lead_s: float = 90.0,
                    rng: np.random.Generator | None = None) -> Path:
    """Write ``track`` as an ArduPilot DataFlash log (GPS, POS, RFND and XKF2 wind at ``rate_hz``)."""
    from pymavlink import DFReader

    rng = rng or np.random.default_rng(0)
    path = Path(path)
    specs = {
        "GPS": (130, "QBIHBcLLeffffB", "TimeUS,Status,GMS,GWk,NSats,HDop,Lat,Lng,Alt,Spd,GCrs,VZ,Yaw,U"),
        "POS": (131, "QLLfff", "TimeUS,Lat,Lng,Alt,RelHomeAlt,RelOriginAlt"),
        "RFND": (132, "QBfBB", "TimeUS,Instance,Dist,Stat,Orient"),
        "XKF2": (133, "QBff", "TimeUS,C,VWN,VWE"),
    }
    fmt_fmt = DFReader.DFFormat(0x80, "FMT", 89, "BBnNZ", "Type,Length,Name,Format,Columns")
    formats = {}
    out = bytearray()
    for name, (type_id, fmt, cols) in specs.items():
        f = DFReader.DFFormat(type_id, name, 0, fmt, cols)
        f.len = 3 + struct.calcsize(f.msg_struct)
        formats[name] = f
        out += DFReader.DFMessage(fmt_fmt, [type_id, f.len, name.encode(), fmt.encode(), cols.encode()], True,
                                  None).get_msgbuf()
    step = max(1, int(round(1.0 / rate_hz / float(np.median(np.diff(track.time))))))
    idx = np.arange(0, track.time.size, step)
    boot0 = track.time[0] - boot_lead_s
    weeks, ms = _gps_week_ms(track.time[idx])
    for j, i in enumerate(idx):
        us = int(round((track.time[i] - boot0) * 1e6))
        lat7, lon7 = int(round(track.lat[i] * 1e7)), int(round(track.lon[i] * 1e7))
        gps_alt = track.alt_msl[i] + rng.normal(0.0, 0.3)
        msgs = [
            ("GPS", [us, 3, int(ms[j]), int(weeks[j]), 14, 70, lat7, lon7, int(round(gps_alt * 100)), 5.0, 0.0,
                     0.0, 0.0, 1]),
            ("POS", [us + 200, lat7, lon7, float(track.alt_msl[i]), float(track.height[i]), float(track.height[i])]),
        ]
        if track.height[i] > 0.3:
            msgs.append(("RFND", [us + 400, 0, float(track.height[i] + rng.normal(0.0, 0.05)), 4, 25]))
        if track.wind_speed is not None:
            d = np.deg2rad(track.wind_dir[i])
            msgs.append(("XKF2", [us + 600, 0, float(-track.wind_speed[i] * np.cos(d)),
                                  float(-track.wind_speed[i] * np.sin(d))]))
        for name, values in msgs:
            buf = DFReader.DFMessage(formats[name], values, True, None).get_msgbuf()
            if buf is None:
                raise ValueError(f"pymavlink could not encode {name} {values}")
            out += buf
    path.write_bytes(bytes(out))
    return path


def write_tlog(path: str | Path, track: FlightTrack, rate_hz: float = 5.0, boot_lead_s: float = 90.0,
               latency_s: float = 0.08) -> Path:
    """Write ``track`` as a MAVLink telemetry log as a ground station records it (ardupilotmega dialect)."""
    from pymavlink.dialects.v20 import ardupilotmega as mavlink

    path = Path(path)
    mav = mavlink.MAVLink(None, srcSystem=1, srcComponent=1)
    step = max(1, int(round(1.0 / rate_hz / float(np.median(np.diff(track.time))))))
    boot0 = track.time[0] - boot_lead_s
    last_sys = -np.inf
    with path.open("wb") as fh:
        def emit(t, msg):
            fh.write(struct.pack(">Q", int(round((t + latency_s) * 1e6))) + msg.pack(mav))

        for i in range(0, track.time.size, step):
            t = float(track.time[i])
            boot_ms = int(round((t - boot0) * 1e3))
            if t - last_sys >= 1.0:
                emit(t, mav.system_time_encode(int(round(t * 1e6)), boot_ms))
                last_sys = t
            emit(t, mav.global_position_int_encode(boot_ms, int(round(track.lat[i] * 1e7)),
                                                   int(round(track.lon[i] * 1e7)), int(round(track.alt_msl[i] * 1e3)),
                                                   int(round(track.height[i] * 1e3)), 0, 0, 0, 0))
            emit(t, mav.gps_raw_int_encode(int(round(t * 1e6)), 3, int(round(track.lat[i] * 1e7)),
                                           int(round(track.lon[i] * 1e7)), int(round(track.alt_msl[i] * 1e3)),
                                           80, 120, 500, 0, 14))
            if track.wind_speed is not None:
                emit(t, mav.wind_encode(float(track.wind_dir[i]), float(track.wind_speed[i]), 0.0))
    return path


def write_sensor_log(path: str | Path, survey: pd.DataFrame, track: FlightTrack, channels: list[str],
                     clock: str = "elapsed", clock_offset_s: float = 0.0, power_on_lead_s: float = 60.0,
                     sea_level_hpa: float = 1009.0, pressure_noise_hpa: float = 0.02,
                     rng: np.random.Generator | None = None) -> tuple[Path, float]:
    """Write the gas readings as a stand-alone logger does, on its own clock, with a barometer.

    Parameters
    ----------
    survey : pandas.DataFrame
        The survey whose channels are written (readings before take-off and after landing are the channel's
        first and last reading).
    track : FlightTrack
        The flight (for the barometer and the logger's record span).
    channels : list of str
        Contract-1 channel columns of ``survey`` to write.
    clock : str
        ``"elapsed"``: profile ``elapsed`` (milliseconds since power-on, channel names like ``CH4``);
        ``"calendar"``: profile ``generic`` (UNIX seconds off by ``clock_offset_s``, contract-1 names).
    clock_offset_s : float
        For ``"calendar"``: the true offset (flight time = logger time + offset).

    Returns
    -------
    (pathlib.Path, float)
        The file and the true offset ``flight time − logger time`` [s].
    """
    rng = rng or np.random.default_rng(1)
    path = Path(path)
    t = track.time
    power_on = t[0] - power_on_lead_s * rng.uniform(0.5, 1.0)
    sel = t >= power_on
    st = survey["time"].to_numpy(float)
    table = {}
    if clock == "elapsed":
        offset = float(power_on)
        table["ms"] = np.round((t[sel] - offset) * 1e3).astype(np.int64)
    elif clock == "calendar":
        offset = float(clock_offset_s)
        table["time"] = np.round(t[sel] - offset, 3)
    else:
        raise ValueError(f"clock must be 'elapsed' or 'calendar', not {clock!r}")
    for c in channels:
        v = survey[c].to_numpy(float)
        values = np.interp(t[sel], st, v, left=v[0], right=v[-1])
        name = c.split("_")[0].upper() if clock == "elapsed" else c
        table[name] = np.round(values, 5)
    drift = np.cumsum(rng.normal(0.0, 0.002, sel.sum()))  # weather drift, ~0.1 hPa over 30 min
    p = pressure_at_altitude(track.alt_msl[sel], sea_level_hpa) + drift + rng.normal(0.0, pressure_noise_hpa,
                                                                                     sel.sum())
    table["P_hPa" if clock == "elapsed" else "pressure_hpa"] = np.round(p, 3)
    table["T_C" if clock == "elapsed" else "temp_c"] = np.round(18.0 - 0.0065 * track.height[sel], 2)
    pd.DataFrame(table).to_csv(path, index=False)
    return path, offset
