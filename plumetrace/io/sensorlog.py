"""Gas-sensor logger CSVs, described by a small YAML profile per logger model.

A profile names the time column and its format, the gas channels (column → species and unit, optional lag
and response time constant) and, where the logger has one, its barometer and thermometer. The barometer is
what lets :mod:`plumetrace.io.align` estimate the logger's clock offset against the flight log.

Profile keys::

    name: elapsed                       # how the profile is called on the command line
    time: {column: ms, format: elapsed_ms, timezone: UTC}
        # format: auto (UNIX seconds or ISO 8601 with offset) | unix_s | unix_ms | elapsed_s | elapsed_ms
        #         | a strftime pattern such as "%Y-%m-%d %H:%M:%S.%f" (naive times are in `timezone`)
    channels:                           # or `auto`: every column named <species>_<unit> (contract 1)
      CH4: {species: ch4, unit: ppm, lag_s: 1.5, tau_s: 2.0}
    pressure: {column: P_hPa, unit: hPa}   # optional; unit hPa, Pa or kPa
    temperature: {column: T_C, unit: degC} # optional; degC or K
    optional_channels: true             # channels missing from a file are skipped, not an error
    delimiter: ","                      # optional
    comment: "#"                        # optional: lines starting with it are skipped

Built-in profiles live in ``plumetrace/data/sensor_profiles`` (``generic``, ``elapsed``, ``datetime_local``);
``--profile`` also takes a path to a YAML file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from plumetrace.exceptions import InputError
from plumetrace.io.survey import CHANNEL_RE, CHANNEL_UNITS
from plumetrace.io.yamltext import safe_load

UNIT_ALIASES = {"ppm": "ppm", "ppmv": "ppm", "ppb": "ppb", "ppbv": "ppb", "ug_m3": "ug_m3", "ug/m3": "ug_m3",
                "µg/m³": "ug_m3", "µg/m3": "ug_m3", "mg_m3": "mg_m3", "mg/m3": "mg_m3", "mg/m³": "mg_m3"}
PRESSURE_UNITS = {"hpa": 1.0, "mbar": 1.0, "pa": 0.01, "kpa": 10.0}
TEMPERATURE_UNITS = {"degc": 0.0, "c": 0.0, "k": -273.15}
TIME_FORMATS = ("auto", "unix_s", "unix_ms", "elapsed_s", "elapsed_ms")
_PROFILE_KEYS = {"name", "description", "time", "channels", "pressure", "temperature", "optional_channels",
                 "delimiter", "comment"}


@dataclass(frozen=True)
class ChannelSpec:
    """One gas channel of a logger: its column, species, unit and response."""

    column: str
    species: str
    unit: str
    lag_s: float = 0.0
    tau_s: float = 0.0

    @property
    def survey_column(self) -> str:
        """The contract-1 column name, e.g. ``ch4_ppm``."""
        return f"{self.species}_{self.unit}"


@dataclass(frozen=True)
class SensorProfile:
    """How to read one logger model's CSV (see the module docstring)."""

    name: str
    time_column: str
    time_format: str = "auto"
    timezone: str = "UTC"
    channels: tuple[ChannelSpec, ...] | None = None  # None: auto-detect contract-1 names
    pressure: tuple[str, float] | None = None  # column, factor to hPa
    temperature: tuple[str, float] | None = None  # column, offset to °C
    optional_channels: bool = False
    delimiter: str = ","
    comment: str | None = None
    description: str = ""

    @property
    def relative_clock(self) -> bool:
        """Whether the logger's times are elapsed seconds rather than a calendar time."""
        return self.time_format.startswith("elapsed")


@dataclass
class SensorLog:
    """Readings of one logger on its own clock.

    Attributes
    ----------
    time : numpy.ndarray
        Seconds on the logger's clock: UNIX seconds for calendar formats, seconds since power-on for elapsed.
    channels : dict of str to numpy.ndarray
        Contract-1 column name → readings in that unit.
    specs : dict of str to ChannelSpec
        Contract-1 column name → its spec (lag, time constant).
    pressure_hpa, temp_c : numpy.ndarray or None
        Barometer and thermometer, when the logger has them.
    relative_clock : bool
        True when ``time`` is elapsed time (an offset must be given or estimated).
    warnings : list of str
        Recoverable problems (duplicated times dropped, …).
    """

    path: str
    profile: str
    time: np.ndarray
    channels: dict[str, np.ndarray]
    specs: dict[str, ChannelSpec]
    pressure_hpa: np.ndarray | None = None
    temp_c: np.ndarray | None = None
    relative_clock: bool = False
    warnings: list[str] = field(default_factory=list)


def builtin_profiles() -> list[str]:
    """Names of the profiles shipped with plumetrace."""
    folder = resources.files("plumetrace") / "data" / "sensor_profiles"
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_profile(name_or_path: str | Path) -> SensorProfile:
    """A built-in profile by name, or a profile YAML file by path.

    Raises
    ------
    InputError
        Unknown name, unreadable YAML, unknown key, unknown time format or unit (naming the file and key).
    """
    text_path = Path(name_or_path)
    if text_path.suffix.lower() in (".yaml", ".yml") or text_path.exists():
        if not text_path.exists():
            raise InputError("profile file not found", text_path)
        source = str(text_path)
        text = text_path.read_text(encoding="utf-8", errors="replace")
    else:
        name = str(name_or_path)
        if name not in builtin_profiles():
            raise InputError(f"unknown sensor profile {name!r}; built-in profiles: {', '.join(builtin_profiles())}, "
                             "or give a path to a profile YAML file")
        source = f"<built-in profile {name}>"
        text = (resources.files("plumetrace") / "data" / "sensor_profiles" / f"{name}.yaml").read_text("utf-8")
    return parse_profile(safe_load(text, source), source)


def parse_profile(raw, source: str = "<profile>") -> SensorProfile:
    """Check a profile mapping (as loaded from YAML) and build a :class:`SensorProfile`."""
    if not isinstance(raw, dict):
        raise InputError("a sensor profile must be a mapping with at least `time` and `channels`", source)
    unknown = set(raw) - _PROFILE_KEYS
    if unknown:
        raise InputError(f"unknown key(s) {sorted(unknown)}; allowed: {sorted(_PROFILE_KEYS)}", source,
                         column=sorted(unknown)[0])
    t = raw.get("time")
    if not isinstance(t, dict) or "column" not in t:
        raise InputError("needs `time: {column: NAME, format: FORMAT}`", source, column="time")
    fmt = str(t.get("format", "auto"))
    if fmt not in TIME_FORMATS and "%" not in fmt:
        raise InputError(f"time format {fmt!r} is not one of {', '.join(TIME_FORMATS)} or a strftime pattern", source,
                         column="time.format")
    tz = str(t.get("timezone", "UTC"))
    try:
        pd.Timestamp("2020-01-01").tz_localize(tz)
    except Exception:  # noqa: BLE001 - pytz/zoneinfo raise various types
        raise InputError(f"unknown time zone {tz!r} (use an IANA name such as Europe/Berlin)", source,
                         column="time.timezone") from None
    chans = raw.get("channels", "auto")
    specs = None
    if chans != "auto":
        if not isinstance(chans, dict) or not chans:
            raise InputError("`channels` must be `auto` or a mapping column → {species, unit}", source,
                             column="channels")
        from plumetrace.physics.species import SPECIES

        specs = []
        for col, spec in chans.items():
            key = f"channels.{col}"
            if not isinstance(spec, dict) or "species" not in spec or "unit" not in spec:
                raise InputError("needs `{species: ..., unit: ...}`", source, column=key)
            species = str(spec["species"]).lower()
            if species not in SPECIES and species != "voc":
                raise InputError(f"unknown species {species!r}; known: {', '.join(sorted(SPECIES))}, voc", source,
                                 column=key)
            unit = UNIT_ALIASES.get(str(spec["unit"]).strip())
            if unit is None:
                raise InputError(f"unknown unit {spec['unit']!r}; use one of {', '.join(CHANNEL_UNITS)}", source,
                                 column=key)
            extra = set(spec) - {"species", "unit", "lag_s", "tau_s"}
            if extra:
                raise InputError(f"unknown key(s) {sorted(extra)}", source, column=key)
            lag, tau = float(spec.get("lag_s", 0.0)), float(spec.get("tau_s", 0.0))
            if lag < 0 or tau < 0 or not np.isfinite(lag + tau):
                raise InputError("lag_s and tau_s must be finite and ≥ 0", source, column=key)
            specs.append(ChannelSpec(str(col), species, unit, lag, tau))
        specs = tuple(specs)

    def aux(key, units):
        v = raw.get(key)
        if v is None:
            return None
        if not isinstance(v, dict) or "column" not in v:
            raise InputError(f"needs `{key}: {{column: NAME, unit: UNIT}}`", source, column=key)
        unit = str(v.get("unit", next(iter(units)))).lower().replace("°", "deg")
        if unit not in units:
            raise InputError(f"unknown unit {v.get('unit')!r}; use one of {', '.join(units)}", source,
                             column=f"{key}.unit")
        return str(v["column"]), units[unit]

    return SensorProfile(
        name=str(raw.get("name", Path(source).stem)), time_column=str(t["column"]), time_format=fmt, timezone=tz,
        channels=specs, pressure=aux("pressure", PRESSURE_UNITS), temperature=aux("temperature", TEMPERATURE_UNITS),
        optional_channels=bool(raw.get("optional_channels", False)), delimiter=str(raw.get("delimiter", ",")),
        comment=raw.get("comment"), description=str(raw.get("description", "")),
    )


def _numeric(df: pd.DataFrame, col: str, path: Path, header_line: int) -> np.ndarray:
    values = pd.to_numeric(df[col], errors="coerce")
    bad = values.isna() & df[col].notna() & (df[col].astype(str).str.strip() != "")
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"{df[col].iloc[i]!r} is not a number", path, header_line + 1 + i, col)
    return values.to_numpy(dtype=np.float64)


def _unix_seconds(parsed: pd.Series) -> np.ndarray:
    """UNIX seconds of tz-aware timestamps, whatever resolution pandas chose."""
    return ((parsed - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)).to_numpy(dtype=np.float64)


def _times(df: pd.DataFrame, profile: SensorProfile, path: Path, header_line: int) -> np.ndarray:
    col, fmt = profile.time_column, profile.time_format
    raw = df[col]
    if fmt in ("unix_s", "unix_ms", "elapsed_s", "elapsed_ms"):
        t = _numeric(df, col, path, header_line)
        return t * (1e-3 if fmt.endswith("_ms") else 1.0)
    if fmt == "auto":
        numeric = pd.to_numeric(raw, errors="coerce")
        if numeric.notna().all():
            return numeric.to_numpy(dtype=np.float64)
        parsed = pd.to_datetime(raw, errors="coerce", utc=True, format="ISO8601")
        naive = ~raw.astype(str).str.strip().str.contains(r"(Z|[+-]\d\d:?\d\d)$", regex=True)
        bad = parsed.isna() | naive
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(f"{raw.iloc[i]!r} is not UNIX seconds or an ISO 8601 time with a UTC offset", path,
                             header_line + 1 + i, col)
        return _unix_seconds(parsed)
    parsed = pd.to_datetime(raw, errors="coerce", format=fmt)
    if parsed.isna().any():
        i = int(np.flatnonzero(parsed.isna().to_numpy())[0])
        raise InputError(f"{raw.iloc[i]!r} does not match the time format {fmt!r}", path, header_line + 1 + i, col)
    if parsed.dt.tz is None:
        try:
            parsed = parsed.dt.tz_localize(profile.timezone, ambiguous="raise", nonexistent="raise")
        except Exception as exc:  # noqa: BLE001 - ambiguous/nonexistent local times around DST changes
            raise InputError(f"local times around a daylight-saving change cannot be placed in UTC ({exc})",
                             path, column=col) from None
    return _unix_seconds(parsed.dt.tz_convert("UTC"))


def read_sensor_log(path: str | Path, profile: SensorProfile | str = "generic") -> SensorLog:
    """Read a sensor logger CSV with a profile.

    Rows with duplicated times are dropped with a warning; time going backwards, non-numeric readings,
    missing columns and channels with no reading at all are refused.

    Raises
    ------
    InputError
        Naming the file, the line and the column.
    """
    path = Path(path)
    if isinstance(profile, str):
        profile = load_profile(profile)
    if not path.exists():
        raise InputError("file not found", path)
    try:
        df = pd.read_csv(path, sep=profile.delimiter, comment=profile.comment, dtype=str, skipinitialspace=True,
                         encoding="utf-8", on_bad_lines="error")
    except pd.errors.EmptyDataError:
        raise InputError("is empty; expected a header row and readings", path, 1) from None
    except pd.errors.ParserError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise InputError(f"is not a well-formed CSV ({exc})", path, int(m.group(1)) if m else None) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"is not UTF-8 text ({exc.reason} at byte {exc.start})", path) from None
    header_line = 1
    df.columns = [str(c).strip() for c in df.columns]
    if profile.time_column not in df.columns:
        fits = [n for n in builtin_profiles() if load_profile(n).time_column in df.columns]
        hint = f"; try --profile {' or '.join(fits)}" if fits else "; describe the logger in a profile YAML"
        raise InputError(f"has no time column {profile.time_column!r} (profile {profile.name}); columns: "
                         f"{', '.join(df.columns[:12])}{hint}", path, header_line, profile.time_column)
    if len(df) == 0:
        raise InputError("has a header but no readings", path, 2)
    if profile.channels is None:
        specs = []
        for c in df.columns:
            m = CHANNEL_RE.match(c)
            if m and c not in ("alt_m",):
                specs.append(ChannelSpec(c, m.group(1), m.group(2)))
        if not specs:
            raise InputError(f"has no gas channel named <species>_<unit> (unit one of {', '.join(CHANNEL_UNITS)}); "
                             f"profile {profile.name} expects contract-1 names", path, header_line)
    else:
        specs = [s for s in profile.channels if s.column in df.columns]
        missing = [s.column for s in profile.channels if s.column not in df.columns]
        if missing and not profile.optional_channels:
            raise InputError(f"lacks the channel column(s) {missing} of profile {profile.name}", path, header_line,
                             missing[0])
        if not specs:
            raise InputError(f"has none of the channel columns of profile {profile.name} "
                             f"({', '.join(s.column for s in profile.channels)})", path, header_line)
    t = _times(df, profile, path, header_line)
    if np.any(~np.isfinite(t)):
        i = int(np.flatnonzero(~np.isfinite(t))[0])
        raise InputError("time is empty", path, header_line + 1 + i, profile.time_column)
    back = np.flatnonzero(np.diff(t) < 0)
    if back.size:
        i = int(back[0]) + 1
        raise InputError(f"time goes backwards ({t[i]!r} after {t[i - 1]!r})", path, header_line + 1 + i,
                         profile.time_column)
    warnings = []
    keep = np.ones(t.size, bool)
    keep[1:] = np.diff(t) > 0
    if not keep.all():
        first = int(np.flatnonzero(~keep)[0])
        warnings.append(f"{int((~keep).sum())} rows repeat the previous time and were dropped (first at line "
                        f"{header_line + 1 + first})")
    channels, by_name = {}, {}
    for s in specs:
        v = _numeric(df, s.column, path, header_line)
        if not np.any(np.isfinite(v)):
            raise InputError("has no reading at all (empty channel)", path, header_line + 1, s.column)
        channels[s.survey_column] = v[keep]
        by_name[s.survey_column] = s
    pressure = temp = None
    if profile.pressure and profile.pressure[0] in df.columns:
        pressure = _numeric(df, profile.pressure[0], path, header_line)[keep] * profile.pressure[1]
        bad = np.isfinite(pressure) & ((pressure < 100) | (pressure > 1100))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(f"pressure {pressure[i]:.1f} hPa is outside 100..1100 hPa (wrong unit in the profile?)",
                             path, header_line + 1 + i, profile.pressure[0])
    if profile.temperature and profile.temperature[0] in df.columns:
        temp = _numeric(df, profile.temperature[0], path, header_line)[keep] + profile.temperature[1]
    return SensorLog(str(path), profile.name, t[keep], channels, by_name, pressure, temp, profile.relative_clock,
                     warnings)
