"""PX4 ULog flight logs (pyulog) into a :class:`~plumetrace.io.logtypes.FlightLog`.

A :class:`FlightLog` holds what the inversion needs from a log: time (UNIX seconds when the log carries GPS
time, otherwise seconds since boot, flagged), WGS 84 position, altitude, height above ground, GPS quality and
the onboard wind estimate. Every reader refuses a file it cannot use with an :class:`InputError` naming the
file and the record or topic.

Position comes from ``vehicle_global_position`` (the estimator's fused position) or, failing that, from
``vehicle_gps_position`` / ``sensor_gps`` (degrees, or 1e-7 degrees in older logs). GPS time is the median
offset between ``time_utc_usec`` and the log's boot timestamp. Height above ground is the distance-sensor
reading (``vehicle_local_position.dist_bottom`` when valid), else altitude above the terrain estimate, else
altitude above the take-off point (the lowest altitude of the first 30 s). Wind is ``wind`` or
``wind_estimate`` (north/east components), given as speed and the direction it blows from.

References: pyulog (PX4), ULog file format (docs.px4.io, "ULog File Format").
"""

from __future__ import annotations

import contextlib
import io
import struct
from pathlib import Path

import numpy as np
import pandas as pd

from plumetrace.exceptions import InputError
from plumetrace.io.logtypes import FlightLog, detect_format, make_track


def truncated_at(path: Path) -> int | None:
    """Where a ULog's message framing stops short of the file's end (a cut-off log), or None when it is whole.

    After the 16-byte file header every ULog message is a 3-byte header (uint16 payload size, uint8 type) and
    its payload (PX4 "ULog File Format"); a log whose last message runs past the end of the file was cut.
    """
    data = path.read_bytes()
    pos, n = 16, len(data)
    while pos + 3 <= n:
        pos += 3 + struct.unpack_from("<H", data, pos)[0]
    return None if pos == n else min(pos, n)


def _topic(ulog, name):
    for d in ulog.data_list:
        if d.name == name and d.multi_id == 0:
            return d.data
    return None


def read_ulog(path: str | Path, require_position: bool = True) -> FlightLog:
    """Read a PX4 ULog file.

    Parameters
    ----------
    path : str or pathlib.Path
    require_position : bool
        Refuse a log without positions (True, for building surveys); with False such a log is returned with
        an empty track and a warning (for ``plumetrace inspect``).

    Raises
    ------
    InputError
        A missing or unreadable file, a file that is not ULog, or (when positions are required) a log without
        any position topic or whose positions are all invalid.
    """
    from pyulog import ULog

    path = Path(path)
    if detect_format(path) != "px4-ulog":
        raise InputError("is not a PX4 ULog file (missing the 'ULog' header magic)", path, 1)
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):  # pyulog prints its warnings; they belong in ours, not on stdout
            ulog = ULog(str(path))
    except Exception as exc:  # noqa: BLE001 - pyulog raises many types on corrupt data
        raise InputError(f"cannot be parsed as ULog ({type(exc).__name__}: {exc})", path) from None
    topics = sorted({d.name for d in ulog.data_list})
    warnings = [f"pyulog: {line.strip()}" for line in printed.getvalue().splitlines() if line.strip()][:10]
    if getattr(ulog, "file_corruption", False):
        warnings.append("the log is corrupted; pyulog recovered what it could")
    cut = truncated_at(path)
    if cut is not None:
        warnings.append(f"the log is truncated: its last message is cut off at byte {cut:,} of "
                        f"{path.stat().st_size:,}; the span is what was recorded before the cut")
    gpos = _topic(ulog, "vehicle_global_position")
    gps = _topic(ulog, "vehicle_gps_position")
    if gps is None:
        gps = _topic(ulog, "sensor_gps")
    if gpos is not None and len(gpos["timestamp"]):
        t = gpos["timestamp"].astype(np.float64)
        lat, lon, alt = (gpos[k].astype(np.float64) for k in ("lat", "lon", "alt"))
        eph = gpos.get("eph", np.full(t.size, np.nan)).astype(np.float64)
        fix = np.full(t.size, 3.0)
        terrain = gpos.get("terrain_alt")
        terrain_ok = gpos.get("terrain_alt_valid")
    elif gps is not None and len(gps["timestamp"]):
        t = gps["timestamp"].astype(np.float64)
        if "latitude_deg" in gps:
            lat, lon = gps["latitude_deg"].astype(np.float64), gps["longitude_deg"].astype(np.float64)
            alt = gps["altitude_msl_m"].astype(np.float64)
        else:
            lat, lon = gps["lat"] * 1e-7, gps["lon"] * 1e-7
            alt = gps["alt"] * 1e-3
        eph = gps.get("eph", np.full(t.size, np.nan)).astype(np.float64)
        fix = gps.get("fix_type", np.full(t.size, 3)).astype(np.float64)
        terrain = terrain_ok = None
    else:
        message = ("has no position (no vehicle_global_position, vehicle_gps_position or sensor_gps topic); "
                   f"topics: {', '.join(topics[:12])}{'…' if len(topics) > 12 else ''}")
        if require_position:
            raise InputError(message, path, column="vehicle_global_position")
        empty = pd.DataFrame(columns=["time", "lat", "lon", "alt_m", "height_m", "fix_type", "eph_m"])
        wind = _wind(ulog, 0.0)
        return FlightLog(str(path), "px4-ulog", empty, wind, "boot", "none", topics, warnings + [message],
                         (ulog.start_timestamp * 1e-6, ulog.last_timestamp * 1e-6), truncated=cut is not None)
    offset, time_source = 0.0, "boot"
    if gps is not None and "time_utc_usec" in gps:
        utc = gps["time_utc_usec"].astype(np.float64)
        ok = utc > 1e15
        if np.any(ok):
            offset = float(np.median(utc[ok] - gps["timestamp"][ok].astype(np.float64)))
            time_source = "gps"
    # height above ground: distance sensor, else terrain estimate, else above the take-off point
    lpos = _topic(ulog, "vehicle_local_position")
    height_source, height = "take-off", None
    if lpos is not None and "dist_bottom" in lpos and "dist_bottom_valid" in lpos and np.any(lpos["dist_bottom_valid"]):
        ok = lpos["dist_bottom_valid"].astype(bool)
        height = np.interp(t, lpos["timestamp"][ok].astype(np.float64), lpos["dist_bottom"][ok].astype(np.float64))
        height_source = "distance-sensor"
    elif terrain is not None and terrain_ok is not None and np.any(terrain_ok):
        height = alt - terrain.astype(np.float64)
        height_source = "terrain"
    track = make_track(path, (t + offset) * 1e-6, lat, lon, alt, height, fix, eph, warnings)
    wind = _wind(ulog, offset)
    span = ((ulog.start_timestamp + offset) * 1e-6, (ulog.last_timestamp + offset) * 1e-6)
    return FlightLog(str(path), "px4-ulog", track, wind, time_source, height_source, topics, warnings, span,
                     truncated=cut is not None)


def _wind(ulog, offset: float) -> pd.DataFrame:
    """Onboard wind estimate as speed and direction (from), or an empty table."""
    for name in ("wind", "wind_estimate"):
        w = _topic(ulog, name)
        if w is not None and len(w["timestamp"]):
            vn, ve = w["windspeed_north"].astype(np.float64), w["windspeed_east"].astype(np.float64)
            return pd.DataFrame({"time": (w["timestamp"].astype(np.float64) + offset) * 1e-6,
                                 "wind_speed_mps": np.hypot(vn, ve),
                                 "wind_dir_deg": np.mod(np.rad2deg(np.arctan2(-ve, -vn)), 360.0)})
    return pd.DataFrame(columns=["time", "wind_speed_mps", "wind_dir_deg"])
