"""What every flight-log reader returns: :class:`FlightLog`, the track table, and file-format sniffing.

A :class:`FlightLog` holds what the inversion needs from a log: time (UNIX seconds when the log carries GPS
time, otherwise seconds since boot, flagged), WGS 84 position, altitude, height above ground, GPS quality and
the onboard wind estimate. The readers (:mod:`plumetrace.io.ulog`, :mod:`plumetrace.io.ardupilot`) import this
module; the dispatcher :func:`plumetrace.io.flightlog.read_flight_log` imports them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from plumetrace.exceptions import InputError

#: A step between consecutive fixes faster than this is a GPS jump [m/s] …
GPS_JUMP_SPEED_MPS = 50.0
#: … when it is also longer than ordinary GPS scatter [m].
GPS_JUMP_MIN_STEP_M = 10.0

ULOG_MAGIC = b"ULog\x01\x12\x35"


@dataclass
class FlightLog:
    """Positions and wind of one flight (see the module docstring)."""

    path: str
    format: str
    track: pd.DataFrame  # time, lat, lon, alt_m (MSL), height_m (above ground), fix_type, eph_m (may be empty)
    wind: pd.DataFrame  # time, wind_speed_mps, wind_dir_deg (may be empty)
    time_source: str  # "gps" or "boot"
    height_source: str
    topics: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    span: tuple[float, float] = (0.0, 0.0)  # first and last timestamp of the whole log [s]
    truncated: bool = False  # the file ends inside a message (a log cut off while it was written or copied)

    @property
    def has_wind(self) -> bool:
        """Whether the log holds a non-zero wind estimate."""
        return len(self.wind) > 0 and bool(np.any(self.wind["wind_speed_mps"] > 0))


def detect_format(path: str | Path) -> str:
    """``"px4-ulog"``, ``"survey-csv"``, ``"ardupilot-dataflash"``, ``"mavlink-tlog"`` or ``"unknown"``."""
    path = Path(path)
    if path.is_dir():
        raise InputError("is a folder, not a file", path)
    try:
        with path.open("rb") as fh:
            head = fh.read(16)
    except FileNotFoundError:
        raise InputError("file not found", path) from None
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror or exc})", path) from None
    if head.startswith(ULOG_MAGIC):
        return "px4-ulog"
    if head[:2] == b"\xa3\x95":
        return "ardupilot-dataflash"
    if path.suffix.lower() == ".tlog":
        return "mavlink-tlog"
    if path.suffix.lower() == ".csv" or head[:4].lower() == b"time":
        return "survey-csv"
    return "unknown"


def make_track(path, time, lat, lon, alt, height, fix, eph, warnings: list[str]) -> pd.DataFrame:
    """One track table from arrays of a log, shared by every reader.

    Drops records without a valid fix (zero, NaN or out-of-range coordinates, with a warning); height above
    ground defaults to the altitude above the take-off point (the lowest altitude of the first 30 s of fixes).

    Parameters
    ----------
    path : str or pathlib.Path
        The log, for messages.
    time : numpy.ndarray
        Seconds (UNIX when the log has GPS time) of each record.
    lat, lon : numpy.ndarray
        WGS 84 degrees.
    alt : numpy.ndarray
        Altitude above mean sea level [m].
    height : numpy.ndarray or None
        Height above ground [m], or None to use the take-off reference.
    fix : numpy.ndarray
        GPS fix type (3 = 3-D fix).
    eph : numpy.ndarray
        Horizontal position error [m] (NaN when unknown).
    warnings : list of str
        Appended to.

    Raises
    ------
    InputError
        When no record has a valid position.
    """
    time, lat, lon, alt = (np.asarray(a, dtype=np.float64) for a in (time, lat, lon, alt))
    valid = (np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
             & ~((lat == 0) & (lon == 0)) & np.isfinite(time))
    if not np.any(valid):
        raise InputError("has no valid position fix (all latitudes/longitudes are zero or out of range)", path,
                         column="lat")
    if np.any(~valid):
        warnings.append(f"{int((~valid).sum())} position records without a valid fix were left out")
    if height is None:
        first = valid & (time <= time[valid][0] + 30.0)
        height = alt - float(np.nanmin(alt[first]))
    track = pd.DataFrame({"time": time, "lat": lat, "lon": lon, "alt_m": alt,
                          "height_m": np.asarray(height, dtype=np.float64),
                          "fix_type": np.asarray(fix, dtype=np.float64),
                          "eph_m": np.asarray(eph, dtype=np.float64)})[valid]
    track = track.sort_values("time", kind="stable").drop_duplicates("time").reset_index(drop=True)
    return track


def gps_jumps(time: np.ndarray, east: np.ndarray, north: np.ndarray) -> np.ndarray:
    """Per step between consecutive fixes (length n − 1), whether it is a GPS jump.

    A jump implies more than :data:`GPS_JUMP_SPEED_MPS` and is longer than :data:`GPS_JUMP_MIN_STEP_M` (so the
    scatter of fixes a few milliseconds apart is not one). Positions in metres, times in seconds.
    """
    dt = np.diff(np.asarray(time, float))
    step = np.hypot(np.diff(np.asarray(east, float)), np.diff(np.asarray(north, float)))
    return step > np.maximum(GPS_JUMP_SPEED_MPS * dt, GPS_JUMP_MIN_STEP_M)
