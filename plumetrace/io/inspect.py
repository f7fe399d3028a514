"""What a flight log or survey file holds (``plumetrace inspect``): format, span, samples, channels, wind, track.

:func:`inspect_file` reads any supported file and returns one JSON-ready report; :func:`track_quality` is the
position check shared by every format (extent, GPS jumps, fastest implied speed).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from plumetrace.exceptions import InputError
from plumetrace.geo.crs import LocalFrame
from plumetrace.io.flightlog import FLIGHT_LOG_FORMATS, detect_format, read_flight_log
from plumetrace.io.logtypes import gps_jumps
from plumetrace.io.survey import read_survey


def track_quality(time, lat, lon, frame: LocalFrame | None = None) -> dict:
    """Extent [m], GPS jumps and the fastest implied speed [m/s] of a position series.

    Jumps as :func:`plumetrace.io.logtypes.gps_jumps` defines them.
    """
    if len(lat) == 0:
        return {"extent_m": [0.0, 0.0], "gps_jumps": 0, "max_speed_mps": 0.0}
    frame = frame or LocalFrame.around(lat, lon)
    e, n = frame.to_local(lat, lon)
    dt = np.diff(np.asarray(time, float))
    step = np.hypot(np.diff(e), np.diff(n))
    jumps = gps_jumps(time, e, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        speed = np.where(dt > 0, step / dt, np.nan)
    return {"extent_m": [float(np.ptp(e)), float(np.ptp(n))], "gps_jumps": int(np.sum(jumps)),
            "max_speed_mps": float(np.nanmax(speed)) if np.any(np.isfinite(speed)) else 0.0}


def inspect_file(path: str | Path) -> dict:
    """A report of what a flight log (PX4 .ulg, ArduPilot .bin, MAVLink .tlog) or survey CSV holds.

    Keys: ``file``, ``format``, ``time_source`` ("gps", "boot" or "utc"), ``start``, ``end``, ``duration_s``,
    ``samples``, ``position_fixes``, ``channels``, ``wind`` {present, records, mean_speed_mps},
    ``height_source``, ``position`` (:func:`track_quality`), ``topics``, ``warnings``, ``truncated`` (a flight
    log cut off inside a message).

    Raises
    ------
    InputError
        For a file of no supported format, and whatever its reader refuses.
    """
    path = Path(path)
    fmt = detect_format(path)
    if fmt in FLIGHT_LOG_FORMATS:
        log = read_flight_log(path, require_position=False)
        tr = log.track
        start, end = log.span
        return {
            "file": str(path), "format": fmt, "time_source": log.time_source,
            "start": start, "end": end, "duration_s": end - start, "samples": len(tr),
            "position_fixes": int((tr["fix_type"] >= 3).sum()), "channels": [],
            "wind": {"present": log.has_wind, "records": len(log.wind),
                     "mean_speed_mps": float(log.wind["wind_speed_mps"].mean()) if len(log.wind) else None},
            "height_source": log.height_source,
            "position": track_quality(tr["time"].to_numpy(float), tr["lat"].to_numpy(float),
                                      tr["lon"].to_numpy(float)),
            "topics": len(log.topics), "warnings": log.warnings, "truncated": log.truncated,
        }
    if fmt == "survey-csv":
        s = read_survey(path)
        d = s.data
        return {
            "file": str(path), "format": fmt, "time_source": "utc",
            "start": float(d["time"].iloc[0]), "end": float(d["time"].iloc[-1]), "duration_s": s.duration_s,
            "samples": s.n_samples, "position_fixes": int(d[["lat", "lon"]].notna().all(axis=1).sum()),
            "channels": s.channels,
            "wind": {"present": s.has_wind, "records": int(d["wind_speed_mps"].notna().sum()) if s.has_wind else 0,
                     "mean_speed_mps": float(d["wind_speed_mps"].mean()) if s.has_wind else None},
            "height_source": "alt_m column",
            "position": track_quality(d["time"].to_numpy(), d["lat"].to_numpy(), d["lon"].to_numpy(), s.frame),
            "topics": None, "warnings": [], "truncated": False,
        }
    raise InputError("is neither a flight log (PX4 .ulg, ArduPilot DataFlash .bin, MAVLink .tlog) nor a survey "
                     "CSV (contract 1)", path, 1)
