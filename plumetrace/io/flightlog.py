"""Any supported flight log — PX4 ULog, ArduPilot DataFlash, MAVLink tlog — read by its format.

The dispatcher over the readers of :mod:`plumetrace.io.ulog` and :mod:`plumetrace.io.ardupilot`; the types they
share live in :mod:`plumetrace.io.logtypes` (re-exported here).
"""

from __future__ import annotations

from pathlib import Path

from plumetrace.exceptions import InputError
from plumetrace.io import ardupilot
from plumetrace.io.logtypes import ULOG_MAGIC, FlightLog, detect_format, make_track
from plumetrace.io.ulog import read_ulog

__all__ = ["ULOG_MAGIC", "FlightLog", "detect_format", "make_track", "read_flight_log", "read_ulog"]

FLIGHT_LOG_FORMATS = ("px4-ulog", "ardupilot-dataflash", "mavlink-tlog")


def read_flight_log(path: str | Path, require_position: bool = True) -> FlightLog:
    """Read any supported flight log: PX4 ULog, ArduPilot DataFlash ``.bin`` or MAVLink ``.tlog``.

    Raises
    ------
    InputError
        For a file of another or unknown format, and whatever the format's reader refuses.
    """
    fmt = detect_format(path)
    if fmt == "px4-ulog":
        return read_ulog(path, require_position)
    if fmt == "ardupilot-dataflash":
        return ardupilot.read_dataflash(path, require_position)
    if fmt == "mavlink-tlog":
        return ardupilot.read_tlog(path, require_position)
    raise InputError("is not a flight log plumetrace reads (PX4 .ulg, ArduPilot DataFlash .bin, MAVLink .tlog)",
                     path, 1)
