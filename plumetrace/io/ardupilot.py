"""ArduPilot flight logs: DataFlash ``.bin`` and MAVLink telemetry ``.tlog``, read with pymavlink.

Both become a :class:`~plumetrace.io.flightlog.FlightLog` like a PX4 ULog.

DataFlash (the autopilot's own log): position from ``POS`` (the EKF's fused position, with the height above
home) or else ``GPS``; UTC from the ``GPS`` messages' GPS week and milliseconds of week (``GWk``, ``GMS``) against
their ``TimeUS`` boot stamps (median offset; GPS time runs ahead of UTC by the leap seconds, 18 s since
2017-01-01 per IERS Bulletin C); height above ground from the rangefinder (``RFND.Dist``), else the terrain
database (``TERR.CHeight``), else ``POS.RelHomeAlt``; wind from the EKF wind states (``XKF2`` or ``NKF2``
``VWN``/``VWE``, the velocity the air moves *towards*).

Telemetry logs (what a ground station records, each packet prefixed with the receive time as a big-endian
64-bit count of microseconds): position from ``GLOBAL_POSITION_INT`` (else ``GPS_RAW_INT``), UTC from
``SYSTEM_TIME`` (vehicle's ``time_unix_usec`` against ``time_boot_ms``) or else the ground station's receive
stamps (flagged), height from ``DISTANCE_SENSOR``/``RANGEFINDER`` else ``relative_alt``, wind from ``WIND``
(direction the wind comes from) in the ArduPilot dialect.

References: ArduPilot "Onboard log messages" (ardupilot.org/copter/docs/logmessages.html); MAVLink common and
ardupilotmega message definitions (mavlink.io); pymavlink ``DFReader`` and ``mavutil``.
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import numpy as np
import pandas as pd

from plumetrace.exceptions import InputError
from plumetrace.io.logtypes import FlightLog, make_track

#: UNIX time of the GPS epoch, 1980-01-06T00:00:00Z [s].
GPS_EPOCH_UNIX = 315964800.0
#: GPS − UTC since 2017-01-01 [s] (IERS Bulletin C).
GPS_LEAP_SECONDS = 18.0
_WEEK = 604800.0


def gps_week_to_unix(week, ms_of_week):
    """UTC UNIX seconds from GPS week number and milliseconds of week.

    Parameters
    ----------
    week : array_like
        GPS week (weeks since 1980-01-06).
    ms_of_week : array_like
        Milliseconds since the start of the week [ms].

    Returns
    -------
    numpy.ndarray
        UNIX seconds (UTC, leap seconds removed).
    """
    return GPS_EPOCH_UNIX + np.asarray(week, float) * _WEEK + np.asarray(ms_of_week, float) * 1e-3 - GPS_LEAP_SECONDS


def _wind_frame(time, speed, direction_from) -> pd.DataFrame:
    df = pd.DataFrame({"time": np.asarray(time, float), "wind_speed_mps": np.asarray(speed, float),
                       "wind_dir_deg": np.mod(np.asarray(direction_from, float), 360.0)})
    return df[np.isfinite(df).all(axis=1)].sort_values("time").reset_index(drop=True)


def _collect(messages, fields: dict[str, tuple[str, ...]]) -> dict[str, dict[str, np.ndarray]]:
    """Columns of the wanted message types from an iterator of pymavlink messages."""
    rows: dict[str, list] = {k: [] for k in fields}
    for m in messages:
        name = m.get_type()
        if name in rows:
            rows[name].append(tuple(getattr(m, f, np.nan) for f in fields[name]) + (getattr(m, "_timestamp", np.nan),))
    out = {}
    for name, r in rows.items():
        if r:
            arr = np.array(r, dtype=np.float64)
            out[name] = {f: arr[:, i] for i, f in enumerate(fields[name] + ("_timestamp",))}
    return out


@contextlib.contextmanager
def _python_indexer():
    """Use pymavlink's Python indexer, whose complaints about corrupt bytes can be captured.

    Its compiled indexer prints them straight to the process's stderr.
    """
    old = os.environ.get("PYMAVLINK_FAST_INDEX")
    os.environ["PYMAVLINK_FAST_INDEX"] = "0"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("PYMAVLINK_FAST_INDEX", None)
        else:
            os.environ["PYMAVLINK_FAST_INDEX"] = old


def read_dataflash(path: str | Path, require_position: bool = True) -> FlightLog:
    """Read an ArduPilot DataFlash ``.bin`` log (see the module docstring).

    Raises
    ------
    InputError
        A file without the DataFlash header, one pymavlink cannot parse, or (when positions are required) one
        without a valid ``POS``/``GPS`` position.
    """
    from pymavlink import DFReader

    path = Path(path)
    if not path.exists():
        raise InputError("file not found", path)
    with path.open("rb") as fh:
        head = fh.read(3)
    if head[:2] != b"\xa3\x95":
        raise InputError("is not an ArduPilot DataFlash log (the first record lacks the 0xA3 0x95 header)", path, 1)
    fields = {
        "GPS": ("TimeUS", "Status", "GMS", "GWk", "Lat", "Lng", "Alt", "HDop"),
        "POS": ("TimeUS", "Lat", "Lng", "Alt", "RelHomeAlt"),
        "RFND": ("TimeUS", "Dist"),
        "TERR": ("TimeUS", "CHeight"),
        "XKF2": ("TimeUS", "VWN", "VWE"),
        "NKF2": ("TimeUS", "VWN", "VWE"),
    }
    noise = io.StringIO()  # pymavlink prints what it skips ("bad header ...") to stdout
    try:
        with contextlib.redirect_stdout(noise), contextlib.redirect_stderr(noise), _python_indexer():
            log = DFReader.DFReader_binary(str(path), zero_time_base=True)
        types = sorted(set(log.name_to_id)) if hasattr(log, "name_to_id") else []
        log._rewind()

        def messages():
            while True:
                m = log.recv_match(type=list(fields))
                if m is None:
                    return
                yield m

        with contextlib.redirect_stdout(noise), contextlib.redirect_stderr(noise):
            cols = _collect(messages(), fields)
    except Exception as exc:  # noqa: BLE001 - pymavlink raises many types on corrupt data
        raise InputError(f"cannot be parsed as DataFlash ({type(exc).__name__}: {exc})", path) from None
    warnings: list[str] = []
    skipped = noise.getvalue().count("bad header")
    if skipped:
        warnings.append(f"{skipped} bytes did not start a valid record (corrupt or truncated log) and were skipped")
    if "unknown msg type" in noise.getvalue():
        warnings.append("a record of an undeclared message type stopped the reading early (corrupt log); "
                        "the records after it are lost")
    gps = cols.get("GPS")
    # UTC from GPS week/ms against the boot clock
    offset, time_source = 0.0, "boot"
    if gps is not None:
        ok = (gps["GWk"] > 0) & (gps["Status"] >= 3)
        if np.any(ok):
            offset = float(np.median(gps_week_to_unix(gps["GWk"][ok], gps["GMS"][ok]) - gps["TimeUS"][ok] * 1e-6))
            time_source = "gps"
    pos = cols.get("POS")
    rel_home = None
    if pos is not None and np.any(np.isfinite(pos["Lat"]) & (pos["Lat"] != 0)):
        t, lat, lon, alt = pos["TimeUS"] * 1e-6, pos["Lat"], pos["Lng"], pos["Alt"]
        rel_home = pos["RelHomeAlt"]
        fix = np.full(t.size, 3.0)
        eph = np.full(t.size, np.nan)
        if gps is not None:
            fix = np.interp(t, gps["TimeUS"] * 1e-6, gps["Status"])
    elif gps is not None:
        t, lat, lon, alt = gps["TimeUS"] * 1e-6, gps["Lat"], gps["Lng"], gps["Alt"]
        fix, eph = gps["Status"], gps["HDop"] * 2.5  # HDOP × a typical 2.5 m UERE
    else:
        message = f"has no position (no POS or GPS messages); message types: {', '.join(types[:12])}"
        if require_position:
            raise InputError(message, path, column="POS")
        return FlightLog(str(path), "ardupilot-dataflash", _empty_track(), _empty_wind(), time_source, "none",
                         types, [message], (0.0, 0.0))
    height, height_source = None, "take-off"
    rf, terr = cols.get("RFND"), cols.get("TERR")
    if rf is not None and np.any(rf["Dist"] > 0):
        ok = rf["Dist"] > 0
        height = np.interp(t, rf["TimeUS"][ok] * 1e-6, rf["Dist"][ok])
        height_source = "distance-sensor"
    elif terr is not None and np.any(np.isfinite(terr["CHeight"])):
        height = np.interp(t, terr["TimeUS"] * 1e-6, terr["CHeight"])
        height_source = "terrain"
    elif rel_home is not None and np.all(np.isfinite(rel_home)):
        height, height_source = rel_home, "home"
    track = make_track(path, t + offset, lat, lon, alt, height, fix, eph, warnings)
    wind = _empty_wind()
    for name in ("XKF2", "NKF2"):
        w = cols.get(name)
        if w is not None:
            vn, ve = w["VWN"], w["VWE"]
            wind = _wind_frame(w["TimeUS"] * 1e-6 + offset, np.hypot(vn, ve), np.rad2deg(np.arctan2(-ve, -vn)))
            break
    span = (float(track["time"].iloc[0]), float(track["time"].iloc[-1]))
    return FlightLog(str(path), "ardupilot-dataflash", track, wind, time_source, height_source, types, warnings,
                     span)


def read_tlog(path: str | Path, require_position: bool = True) -> FlightLog:
    """Read a MAVLink telemetry log ``.tlog`` (see the module docstring).

    Raises
    ------
    InputError
        An empty file, one without any decodable MAVLink packet, or (when positions are required) one without
        ``GLOBAL_POSITION_INT``/``GPS_RAW_INT``.
    """
    from pymavlink import mavutil

    path = Path(path)
    if not path.exists():
        raise InputError("file not found", path)
    if path.stat().st_size < 8 + 8:
        raise InputError("is too short to hold one timestamped MAVLink packet", path, 1)
    fields = {
        "GLOBAL_POSITION_INT": ("time_boot_ms", "lat", "lon", "alt", "relative_alt"),
        "GPS_RAW_INT": ("time_usec", "fix_type", "lat", "lon", "alt", "eph"),
        "SYSTEM_TIME": ("time_unix_usec", "time_boot_ms"),
        "WIND": ("direction", "speed"),
        "DISTANCE_SENSOR": ("time_boot_ms", "current_distance"),
        "RANGEFINDER": ("distance",),
    }
    noise = io.StringIO()
    try:
        with contextlib.redirect_stdout(noise), contextlib.redirect_stderr(noise):
            conn = mavutil.mavlink_connection(str(path), dialect="ardupilotmega", robust_parsing=True)
        seen: set[str] = set()

        def messages():
            while True:
                m = conn.recv_match()
                if m is None:
                    return
                seen.add(m.get_type())
                yield m

        with contextlib.redirect_stdout(noise), contextlib.redirect_stderr(noise):
            cols = _collect(messages(), fields)
        conn.close()
    except Exception as exc:  # noqa: BLE001 - pymavlink raises many types on corrupt data
        raise InputError(f"cannot be parsed as a MAVLink telemetry log ({type(exc).__name__}: {exc})", path) from None
    types = sorted(seen - {"BAD_DATA"})
    if not types:
        raise InputError("holds no decodable MAVLink packet (is it a .tlog from a ground station?)", path, 1)
    warnings: list[str] = []
    if "BAD_DATA" in seen:
        warnings.append("some bytes could not be decoded as MAVLink packets and were skipped")
    st = cols.get("SYSTEM_TIME")
    gpi, raw = cols.get("GLOBAL_POSITION_INT"), cols.get("GPS_RAW_INT")
    boot_offset, time_source = None, "ground-station"
    if st is not None:
        ok = st["time_unix_usec"] > 1e15
        if np.any(ok):
            boot_offset = float(np.median(st["time_unix_usec"][ok] * 1e-6 - st["time_boot_ms"][ok] * 1e-3))
            time_source = "gps"
    if gpi is not None:
        if boot_offset is not None:
            t = gpi["time_boot_ms"] * 1e-3 + boot_offset
        else:
            t = gpi["_timestamp"]
        lat, lon, alt = gpi["lat"] * 1e-7, gpi["lon"] * 1e-7, gpi["alt"] * 1e-3
        rel = gpi["relative_alt"] * 1e-3
        fix, eph = np.full(t.size, 3.0), np.full(t.size, np.nan)
        if raw is not None:
            fix = np.interp(gpi["_timestamp"], raw["_timestamp"], raw["fix_type"])
    elif raw is not None:
        t = raw["time_usec"] * 1e-6 if np.all(raw["time_usec"] > 1e15) else raw["_timestamp"]
        time_source = "gps" if np.all(raw["time_usec"] > 1e15) else time_source
        lat, lon, alt = raw["lat"] * 1e-7, raw["lon"] * 1e-7, raw["alt"] * 1e-3
        rel, fix, eph = None, raw["fix_type"], raw["eph"] * 1e-2
    else:
        message = f"has no position (no GLOBAL_POSITION_INT or GPS_RAW_INT); messages: {', '.join(types[:12])}"
        if require_position:
            raise InputError(message, path, column="GLOBAL_POSITION_INT")
        return FlightLog(str(path), "mavlink-tlog", _empty_track(), _empty_wind(), time_source, "none", types,
                         warnings + [message], (0.0, 0.0))
    if time_source == "ground-station":
        warnings.append("no vehicle UTC (SYSTEM_TIME); times are the ground station's receive stamps")
    # every other message is placed on the vehicle clock through its receive stamp
    stamp_to_time = (t, gpi["_timestamp"] if gpi is not None else raw["_timestamp"])
    height, height_source = None, "take-off"
    ds, rfd = cols.get("DISTANCE_SENSOR"), cols.get("RANGEFINDER")
    if ds is not None and np.any(ds["current_distance"] > 0):
        ok = ds["current_distance"] > 0
        height = np.interp(stamp_to_time[1], ds["_timestamp"][ok], ds["current_distance"][ok] * 1e-2)
        height_source = "distance-sensor"
    elif rfd is not None and np.any(rfd["distance"] > 0):
        ok = rfd["distance"] > 0
        height = np.interp(stamp_to_time[1], rfd["_timestamp"][ok], rfd["distance"][ok])
        height_source = "distance-sensor"
    elif rel is not None:
        height, height_source = rel, "home"
    track = make_track(path, t, lat, lon, alt, height, fix, eph, warnings)
    wind = _empty_wind()
    w = cols.get("WIND")
    if w is not None:
        order = np.argsort(stamp_to_time[1])
        wt = np.interp(w["_timestamp"], stamp_to_time[1][order], stamp_to_time[0][order])
        wind = _wind_frame(wt, w["speed"], w["direction"])
    span = (float(track["time"].iloc[0]), float(track["time"].iloc[-1]))
    return FlightLog(str(path), "mavlink-tlog", track, wind, time_source, height_source, types, warnings, span)


def _empty_track() -> pd.DataFrame:
    return pd.DataFrame(columns=["time", "lat", "lon", "alt_m", "height_m", "fix_type", "eph_m"])


def _empty_wind() -> pd.DataFrame:
    return pd.DataFrame(columns=["time", "wind_speed_mps", "wind_dir_deg"])
