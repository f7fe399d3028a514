"""The survey CSV (contract 1, docs/formats.md) and the in-memory :class:`Survey`.

Reading uses pyarrow's multi-threaded CSV parser; every check names the file, the line (header = line 1)
and the column: missing required columns, no gas channel, an unknown unit suffix, non-numeric values,
positions outside WGS 84, and time going backwards. Other columns are kept and ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from plumetrace.exceptions import InputError
from plumetrace.geo.crs import LocalFrame

REQUIRED = ("time", "lat", "lon", "alt_m")
CHANNEL_UNITS = ("ppm", "ppb", "ug_m3", "mg_m3")
CHANNEL_RE = re.compile(r"^([a-z][a-z0-9]*)_(ppm|ppb|ug_m3|mg_m3)$")
_UNIT_LIKE = re.compile(r"^([a-z][a-z0-9]*)_([a-z0-9_]+)$")
NON_CHANNEL = {"alt_m", "wind_speed_mps", "wind_dir_deg", "temp_c", "pressure_hpa", "end_alt_m",
               "wind_dir_sd_deg", "wind_elev_sd_deg"}
#: Optional columns of the second round of contract 1: a path-averaged reading ends at (end_lat, end_lon, end_alt_m);
#: the spread of the wind direction over the reading's window.
BEAM_COLUMNS = ("end_lat", "end_lon", "end_alt_m")
DEFAULT_TEMP_C = 15.0
DEFAULT_PRESSURE_HPA = 1013.25

#: Physically possible values of each column (inclusive; docs/formats.md). A value outside is refused with the
#: file, line and column: a survey's numbers must be finite and possible, not merely parseable.
LIMITS = {
    "time": (0.0, 4_102_444_800.0, "UNIX seconds between 1970 and 2100"),
    "lat": (-90.0, 90.0, "degrees"),
    "lon": (-180.0, 180.0, "degrees"),
    "alt_m": (-500.0, 20_000.0, "m above ground"),
    "wind_speed_mps": (0.0, 75.0, "m/s"),
    "wind_dir_deg": (0.0, 360.0, "degrees"),
    "temp_c": (-90.0, 60.0, "°C"),
    "pressure_hpa": (100.0, 1100.0, "hPa"),
    "wind_dir_sd_deg": (0.0, 180.0, "degrees"),
    "wind_elev_sd_deg": (0.0, 90.0, "degrees"),
}
LIMITS.update({f"end_{c}": LIMITS[c] for c in ("lat", "lon", "alt_m")})  # a beam's far end: as its start
#: Largest magnitude of a gas reading per unit: pure gas (10⁶ ppm; about 2 kg/m³ for the heaviest species here).
CHANNEL_LIMITS = {"ppm": 1e6, "ppb": 1e9, "ug_m3": 1e10, "mg_m3": 1e7}


@dataclass
class Survey:
    """Samples of one survey in time order, with positions in a local metric frame.

    Attributes
    ----------
    data : pandas.DataFrame
        The contract-1 columns (``time`` as UNIX seconds) plus ``east``, ``north`` [m].
    channels : list of str
        Gas channel columns, e.g. ``["ch4_ppm", "c2h6_ppb"]``.
    frame : LocalFrame
        The local frame of ``east``/``north``.
    path : str
        Where it was read from ('' for in-memory surveys).
    metadata : dict
        Platform, sensors, wind source and anything known about the survey.
    """

    data: pd.DataFrame
    channels: list[str]
    frame: LocalFrame
    path: str = ""
    metadata: dict = field(default_factory=dict)

    @property
    def n_samples(self) -> int:
        """Number of samples."""
        return len(self.data)

    @property
    def duration_s(self) -> float:
        """Time from the first to the last sample [s]."""
        t = self.data["time"].to_numpy()
        return float(t[-1] - t[0]) if t.size else 0.0

    @property
    def has_wind(self) -> bool:
        """Whether the survey carries wind speed and direction."""
        return {"wind_speed_mps", "wind_dir_deg"} <= set(self.data.columns) and bool(
            self.data["wind_speed_mps"].notna().any())

    @staticmethod
    def channel_parts(column: str) -> tuple[str, str]:
        """(species, unit) of a channel column."""
        m = CHANNEL_RE.match(column)
        if not m:
            raise ValueError(f"{column!r} is not a channel column")
        return m.group(1), m.group(2)


def mean_air(data: pd.DataFrame) -> tuple[float, float]:
    """Mean air temperature [K] and pressure [Pa] of a survey's samples (ICAO standard values without them)."""
    temp = float(np.nanmean(data["temp_c"])) + 273.15 if "temp_c" in data.columns else 288.15
    pres = float(np.nanmean(data["pressure_hpa"])) * 100.0 if "pressure_hpa" in data.columns else 101325.0
    return temp, pres


def ppb_factor(unit: str, species: str, temperature=288.15, pressure=101325.0):
    """Factor from a channel's unit to mole fraction in ppb.

    ``ppm`` and ``ppb`` are mole fractions already; ``ug_m3`` and ``mg_m3`` go through the ideal gas law at
    ``temperature`` [K] and ``pressure`` [Pa] (scalars or arrays) with the species' molar mass.
    """
    if unit == "ppm":
        return 1e3
    if unit == "ppb":
        return 1.0
    from plumetrace.physics.species import SPECIES, mole_fraction

    if species not in SPECIES:
        raise InputError(f"cannot convert {unit} of unknown species {species!r} to a mole fraction",
                         column=f"{species}_{unit}")
    per = 1e-9 if unit == "ug_m3" else 1e-6  # kg/m³ per unit
    return mole_fraction(per, SPECIES[species].molar_mass, temperature, pressure) * 1e9


def _parse_time(col: pd.Series, path: Path) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(col.dtype):  # the CSV parser recognised ISO 8601 itself
        if getattr(col.dt, "tz", None) is None:
            raise InputError(f"{col.iloc[0]} has no UTC offset (write e.g. 2026-06-15T10:00:00Z)", path, 2, "time")
        ticks = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}[col.dt.unit]
        return col.dt.tz_convert("UTC").astype("int64").to_numpy(dtype=np.float64) / ticks
    numeric = pd.to_numeric(col, errors="coerce")
    if numeric.notna().all():
        return numeric.to_numpy(dtype=np.float64)
    if numeric.notna().any():
        bad = int(np.flatnonzero(numeric.isna().to_numpy())[0])
        raise InputError(f"{col.iloc[bad]!r} is not a UNIX time (the column mixes numbers and text)", path,
                         bad + 2, "time")
    parsed = pd.to_datetime(col, errors="coerce", utc=True, format="ISO8601")
    if parsed.isna().any():
        bad = int(np.flatnonzero(parsed.isna().to_numpy())[0])
        raise InputError(f"{col.iloc[bad]!r} is not UNIX seconds or an ISO 8601 time with offset", path,
                         bad + 2, "time")
    naive = ~col.astype(str).str.contains(r"(Z|[+-]\d\d:?\d\d)$", regex=True)
    if naive.any():
        bad = int(np.flatnonzero(naive.to_numpy())[0])
        raise InputError(f"{col.iloc[bad]!r} has no UTC offset (write e.g. 2026-06-15T10:00:00Z)", path, bad + 2,
                         "time")
    return (parsed.astype("int64") / 1e9).to_numpy(dtype=np.float64)


class LineMap:
    """Row index of a parsed CSV → its 1-based line number in the file (header = line 1).

    The CSV parser skips empty lines (CRLF ones too), so row i is line i + 2 only in a file without them;
    the file is scanned for its empty lines only when a message needs a line number.
    """

    def __init__(self, path: Path):
        self.path = path
        self._lines = None

    def __call__(self, row: int) -> int:
        """The line of data row ``row`` (0-based)."""
        if self._lines is None:
            raw = np.frombuffer(self.path.read_bytes(), dtype=np.uint8)
            nl = np.flatnonzero(raw == 10)
            starts = np.concatenate(([0], nl + 1))
            ends = np.concatenate((nl, [raw.size]))
            length = ends - starts
            cr = (length > 0) & (raw[np.clip(ends - 1, 0, max(raw.size - 1, 0))] == 13) if raw.size else length > 0
            self._lines = np.flatnonzero((length - cr) > 0)[1:] + 1  # data rows: non-empty lines after the header
        return int(self._lines[row]) if 0 <= row < self._lines.size else row + 2


def read_survey(path: str | Path, frame: LocalFrame | None = None) -> Survey:
    """Read a survey CSV (contract 1).

    Parameters
    ----------
    path : str or pathlib.Path
    frame : LocalFrame, optional
        Local frame for ``east``/``north``; by default one centred on the survey.

    Raises
    ------
    InputError
        Naming the file, line and column of the first problem.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    path = Path(path)
    if not path.exists():
        raise InputError("file not found", path)
    if not path.is_file():
        raise InputError("is a folder, not a survey CSV file", path)
    try:
        table = pacsv.read_csv(path, read_options=pacsv.ReadOptions(use_threads=True),
                               convert_options=pacsv.ConvertOptions(strings_can_be_null=True))
        columns = [c.strip() for c in table.column_names]
        # column by column, freeing the Arrow buffers as they convert: memory stays near one copy of the data
        df = table.to_pandas(self_destruct=True, split_blocks=True)
        del table
        pa.default_memory_pool().release_unused()
    except pa.ArrowInvalid as exc:
        text = str(exc)
        m = re.search(r"[Rr]ow #?(\d+)", text)
        raise InputError(f"is not a well-formed CSV ({text.splitlines()[0] if text else 'unreadable'})", path,
                         int(m.group(1)) + 1 if m else None) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"is not UTF-8 text ({exc.reason} at byte {exc.start})", path) from None
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"cannot be read ({exc})", path) from None
    seen = set()
    for c in columns:
        if c in seen:
            raise InputError(f"column {c!r} appears twice in the header", path, 1, c)
        seen.add(c)
    df.columns = columns
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise InputError(f"missing required column(s) {', '.join(missing)}; the header has {', '.join(columns)}",
                         path, 1, missing[0])
    channels = []
    for c in columns:
        if c in NON_CHANNEL:
            continue
        if CHANNEL_RE.match(c):
            channels.append(c)
        else:
            m = _UNIT_LIKE.match(c)
            if m and m.group(1) in _known_species() and c not in NON_CHANNEL:
                raise InputError(f"unknown unit '{m.group(2)}' for gas {m.group(1)}; expected one of "
                                 f"{', '.join(CHANNEL_UNITS)}", path, 1, c)
    if not channels:
        raise InputError("has no gas channel; expected at least one column <species>_<unit> with unit "
                         f"{', '.join(CHANNEL_UNITS)}, e.g. ch4_ppm", path, 1)
    if len(df) == 0:
        raise InputError("has a header but no samples", path, 2)
    survey = survey_from_dataframe(df, channels, path, frame, line_of=LineMap(path))
    sidecar = path.with_suffix(".meta.json")  # written by `plumetrace convert`: platform, clock offset, wind source
    if sidecar.exists():
        import json

        try:
            meta = json.loads(sidecar.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise InputError(f"is not valid JSON ({exc})", sidecar) from None
        if isinstance(meta, dict):
            survey.metadata.update({k: v for k, v in meta.items() if k != "survey"})
    return survey


def survey_from_dataframe(df: pd.DataFrame, channels: list[str], path: str | Path = "<memory>",
                          frame: LocalFrame | None = None, line_of=None) -> Survey:
    """Check and convert a table with contract-1 columns (already split into channels) into a :class:`Survey`.

    Used by :func:`read_survey` and by callers that hold a survey in memory (the simulator, the benchmark).
    ``line_of`` maps a row index to its line in the file (default: row + 2, a file without empty lines).
    """
    path = Path(path)
    line_of = line_of or (lambda i: i + 2)
    try:
        time = _parse_time(df["time"], path)
    except InputError as exc:  # _parse_time names row + 2: give the file's own line
        if exc.row is not None and exc.row >= 2:
            exc = InputError(exc.message, path, line_of(exc.row - 2), exc.column)
        raise exc from None
    cols: dict[str, np.ndarray] = {"time": time}
    for c in ("lat", "lon", "alt_m", *channels, "wind_speed_mps", "wind_dir_deg", "temp_c", "pressure_hpa",
              *BEAM_COLUMNS, "wind_dir_sd_deg", "wind_elev_sd_deg"):
        if c not in df.columns:
            continue
        values = pd.to_numeric(df[c], errors="coerce")
        bad = values.isna() & df[c].notna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(f"{df[c].iloc[i]!r} is not a number", path, line_of(i), c)
        cols[c] = values.to_numpy(dtype=np.float64)
    for c in df.columns:
        if c not in cols:
            cols[c] = df[c].to_numpy()
    n = time.size
    if "temp_c" not in cols:
        cols["temp_c"] = np.full(n, DEFAULT_TEMP_C)
    if "pressure_hpa" not in cols:
        cols["pressure_hpa"] = np.full(n, DEFAULT_PRESSURE_HPA)
    _check_ranges(cols, path, channels, line_of)
    if frame is None:
        frame = LocalFrame.around(cols["lat"], cols["lon"])
    cols["east"], cols["north"] = frame.to_local(cols["lat"], cols["lon"])
    if "end_lat" in cols or "end_lon" in cols:
        _beam_ends(cols, path, line_of, frame)
    if "sensor_id" in cols and "platform" not in cols:
        # backgrounds, noise and lags are per instrument: a fixed network's sensors are its "platforms"
        cols["platform"] = np.asarray(cols["sensor_id"]).astype(str)
    order = [c for c in df.columns if c in cols] + [c for c in cols if c not in df.columns]
    out = pd.DataFrame({c: cols[c] for c in order}, copy=False)
    meta = {"format": "survey-csv", "wind_source": "survey" if "wind_speed_mps" in out.columns else None}
    return Survey(out, list(channels), frame, str(path), meta)


def _beam_ends(cols: dict, path: Path, line_of, frame: LocalFrame) -> None:
    """Local end points of path-averaged readings (``end_east``, ``end_north``, ``end_height``; NaN for points).

    A row is a path average when both ``end_lat`` and ``end_lon`` are given (``end_alt_m`` defaults to ``alt_m``);
    one of the two without the other is refused.
    """
    n = cols["time"].size
    lat = cols.get("end_lat", np.full(n, np.nan))
    lon = cols.get("end_lon", np.full(n, np.nan))
    half = np.isnan(lat) != np.isnan(lon)
    if half.any():
        i = int(np.flatnonzero(half)[0])
        col = "end_lon" if np.isnan(lon[i]) else "end_lat"
        raise InputError("a path-averaged reading needs both end_lat and end_lon (or neither)", path, line_of(i), col)
    beam = ~np.isnan(lat)
    east = np.full(n, np.nan)
    north = np.full(n, np.nan)
    if beam.any():
        east[beam], north[beam] = frame.to_local(lat[beam], lon[beam])
    height = cols.get("end_alt_m", np.full(n, np.nan)).copy()
    height = np.where(beam & np.isnan(height), cols["alt_m"], height)
    cols["end_east"], cols["end_north"], cols["end_height"] = east, north, np.where(beam, height, np.nan)


def _known_species():
    from plumetrace.physics.species import SPECIES

    return SPECIES


def _check_ranges(out: dict, path: Path, channels, line_of) -> None:
    def first(mask, col, msg):
        if mask.any():
            i = int(np.flatnonzero(mask)[0])
            raise InputError(msg.format(v=out[col][i]), path, line_of(i), col)

    for col in ("time", "lat", "lon", "alt_m"):
        first(np.isnan(out[col]), col, "is empty; a value is required")
    for col, (lo, hi, unit) in LIMITS.items():
        if col in out:
            v = out[col]
            first(np.isfinite(v) == np.isnan(v), col, f"{{v}} is not a finite number ({unit})")  # ±inf
            first((v < lo) | (v > hi), col, f"{{v}} is outside {lo:g}..{hi:g} ({unit})")
    for col in channels:
        v = out[col]
        if v.size and np.isnan(v).all():
            raise InputError("has no reading at all (an empty channel)", path, 1, col)
        limit = CHANNEL_LIMITS[Survey.channel_parts(col)[1]]
        first(np.isinf(v), col, "{v} is not a finite reading")
        first(np.abs(v) > limit, col, f"reading {{v}} is beyond ±{limit:g} (more than the pure gas)")
    t = out["time"]
    back = np.flatnonzero(np.diff(t) < 0)
    if back.size:
        i = int(back[0]) + 1
        raise InputError(f"time goes backwards ({t[i]!r} after {t[i - 1]!r}); rows must be in time order", path,
                         line_of(i), "time")


#: Columns derived from others (the local frame) that the content hash leaves out.
DERIVED_COLUMNS = ("east", "north", "end_east", "end_north", "end_height")


def content_hash(survey: Survey) -> str:
    """SHA-256 of a survey's samples as parsed — the same for the same data in any encoding of the file.

    Columns in name order, each as its name and its values (float64 little-endian for numbers, UTF-8 text
    otherwise); the local frame's ``east``/``north`` are left out. Line endings, a byte-order mark, the order of
    the columns and number formatting (``1.50`` against ``1.5``) do not change it; any changed value does.
    """
    import hashlib

    h = hashlib.sha256()
    data = survey.data
    for col in sorted(c for c in data.columns if c not in DERIVED_COLUMNS):
        h.update(col.encode("utf-8") + b"\0")
        values = data[col]
        if pd.api.types.is_numeric_dtype(values.dtype):
            h.update(np.ascontiguousarray(values.to_numpy(dtype="<f8")).tobytes())
        else:
            h.update("\x1f".join("" if v is None or v != v else str(v) for v in values.tolist()).encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()


def merge_surveys(surveys: list[Survey], frame: LocalFrame | None = None) -> Survey:
    """Several surveys of one area as one, for a joint inversion (contract 3: ``locate A.csv B.csv …``).

    Positions go into one frame centred on all of them; each survey's platforms become its own
    (``s1:uav-1``, ``s2:beam-3``…), so that backgrounds, noise, lags and winds stay per survey and per sensor;
    the rows are ordered by time (a fixed network and a drone flown together interleave). A channel one survey
    lacks is blank (NaN) in its rows. ``metadata["surveys"]`` holds the number of surveys and their paths.
    ``frame``: the common frame (by default one centred on all the positions).
    """
    if not surveys:
        raise ValueError("no survey to merge")
    if len(surveys) == 1 and frame is None:
        return surveys[0]
    frame = frame or LocalFrame.around(np.concatenate([s.data["lat"].to_numpy() for s in surveys]),
                              np.concatenate([s.data["lon"].to_numpy() for s in surveys]))
    channels = list(dict.fromkeys(c for s in surveys for c in s.channels))
    parts = []
    for k, s in enumerate(surveys, start=1):
        d = s.data.copy()
        d["east"], d["north"] = frame.to_local(d["lat"].to_numpy(), d["lon"].to_numpy())
        if "end_lat" in d.columns:
            beam = d["end_lat"].notna().to_numpy() & d["end_lon"].notna().to_numpy()
            east, north = np.full(len(d), np.nan), np.full(len(d), np.nan)
            if beam.any():
                east[beam], north[beam] = frame.to_local(d["end_lat"].to_numpy()[beam], d["end_lon"].to_numpy()[beam])
            d["end_east"], d["end_north"] = east, north
        plat = d["platform"].astype(str) if "platform" in d.columns else pd.Series("uav", index=d.index)
        d["platform"] = f"s{k}:" + plat
        d["survey_index"] = k
        parts.append(d)
    data = pd.concat(parts, ignore_index=True, sort=False)
    data = data.iloc[np.argsort(data["time"].to_numpy(), kind="stable")].reset_index(drop=True)
    paths = [s.path for s in surveys]
    meta = {"format": "survey-csv", "surveys": len(surveys), "paths": paths,
            "wind_source": "survey" if "wind_speed_mps" in data.columns else None}
    return Survey(data, channels, frame, " + ".join(paths), meta)
