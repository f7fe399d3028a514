"""Scenario files (YAML): the schema, its checks, and building the simulated world from it.

Every key is checked: an unknown key, a value of the wrong unit or range, an unknown class, building or
sensor, or a source outside the town is refused with :class:`~plumetrace.exceptions.InputError` naming the
file and the key path (``sources.1.rate``). Quantities take units: ``"4 m/s"``, ``"2 kg/h"``, ``"30 min"``.
See docs/simulation.md for the full reference and ``benchmarks/scenarios/`` for examples.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from plumetrace.exceptions import InputError
from plumetrace.io.yamltext import safe_load
from plumetrace.physics.sigmas import SIGMA_MODELS
from plumetrace.physics.stability import VALID_LABELS
from plumetrace.units import UnitError, parse_quantity


def _q(dimension: str, unit: str):
    def convert(value):
        if value is None:
            return None
        try:
            return parse_quantity(value, dimension, unit)
        except UnitError as exc:
            raise ValueError(str(exc)) from None

    return BeforeValidator(convert)


Length = Annotated[float, _q("length", "m")]
Speed = Annotated[float, _q("speed", "m/s")]
Time = Annotated[float, _q("time", "s")]
MassRate = Annotated[float, _q("mass_rate", "g/s")]
Angle = Annotated[float, _q("angle", "deg")]
Temperature = Annotated[float, _q("temperature", "degC")]
Pressure = Annotated[float, _q("pressure", "hPa")]


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Origin(_Base):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class TownSpec(_Base):
    blocks: tuple[int, int] = (6, 5)
    block_size: Length = Field(80.0, gt=20)
    street_width: Length = Field(14.0, gt=3)
    industrial_fraction: float = Field(0.15, ge=0, le=0.8)
    commercial_fraction: float = Field(0.1, ge=0, le=0.8)
    footprints: str | None = None

    @field_validator("blocks")
    @classmethod
    def _blocks(cls, v):
        if v[0] < 1 or v[1] < 1 or v[0] * v[1] > 400:
            raise ValueError("blocks must be two positive integers with at most 400 blocks in all")
        return v


class MeanderSpec(_Base):
    relative_fraction: float = Field(0.7, gt=0, le=1)
    time_scale: Time = Field(20.0, gt=0)


class AtmosphereSpec(_Base):
    wind_speed: Speed = Field(gt=0, le=30)
    wind_from: Angle
    stability: str = "auto"
    cloud_cover_octas: float = Field(4.0, ge=0, le=8)
    mixing_height: Length | None = Field(None, gt=0)
    dispersion: Literal["briggs_rural", "briggs_urban", "isc3_rural"] = "briggs_urban"
    setting: Literal["rural", "urban"] = "urban"
    meander: MeanderSpec = MeanderSpec()
    gustiness: float = Field(0.15, ge=0, le=1)
    intermittency: float = Field(0.5, ge=0, le=2)
    direction_drift: Angle = 0.0
    temperature: Temperature = 288.15
    pressure: Pressure = Field(101325.0, gt=50000, lt=110000)
    model: Literal["meander", "puff", "lagrangian"] = "meander"

    @field_validator("stability")
    @classmethod
    def _stability(cls, v):
        if v != "auto" and v.upper() not in VALID_LABELS:
            raise ValueError(f"unknown stability {v!r}; expected auto or one of {', '.join(VALID_LABELS)}")
        return v if v == "auto" else v.upper()


class ScheduleSpec(_Base):
    kind: Literal["continuous", "intermittent", "windows", "diurnal"] = "continuous"
    on: Time | None = Field(None, gt=0)
    off: Time | None = Field(None, ge=0)
    phase: Time = 0.0
    windows: list[tuple[Time, Time]] | None = None
    profile: list[float] | None = None


class Position(_Base):
    east: Length
    north: Length


class SourceSpec(_Base):
    id: str | None = None
    source_class: str = Field(alias="class")
    building: str | None = None
    position: Position | None = None
    street: int | Literal["random"] | None = None
    near: str | None = None
    distance: Length | None = Field(None, gt=0)
    rate: MassRate | None = Field(None, gt=0)
    release: Literal["roof_vent", "chimney", "window", "ground"] | None = None
    height: Length | None = Field(None, ge=0)
    schedule: ScheduleSpec = ScheduleSpec()


class DecoySpec(_Base):
    count: int = Field(0, ge=0, le=50)
    classes: list[str] = ["bakery", "paint_shop", "dry_cleaner", "sewer", "traffic"]
    near_targets: Length | None = Field(None, gt=0)


class GpsSpec(_Base):
    sigma: Length = Field(1.0, ge=0)
    bias: Length = Field(0.5, ge=0)
    jumps_per_hour: float = Field(0.0, ge=0)
    altitude_sigma: Length = Field(0.5, ge=0)


class SensorSpec(_Base):
    column: str
    lag: Time | None = Field(None, ge=0)
    noise: float | None = Field(None, ge=0)
    drift_per_hour: float | None = Field(None, ge=0)
    resolution: float | None = Field(None, ge=0)
    lod: float | None = Field(None, ge=0)


class AreaSpec(_Base):
    center: Position | None = None
    width: Length | None = Field(None, gt=0)
    height: Length | None = Field(None, gt=0)
    margin: Length = Field(60.0, ge=0)


class WindNoiseSpec(_Base):
    speed: Speed = Field(0.2, ge=0)
    direction: Angle = Field(5.0, ge=0)


class FlightSpec(_Base):
    platform: str = "uav-1"
    pattern: Literal["lawnmower", "curtain", "orbit", "waypoints"] = "lawnmower"
    #: (east, north, altitude) [m] in the scenario's frame, flown in order (``pattern: waypoints``: a planned mission)
    waypoints: list[tuple[float, float, float]] | None = None
    altitudes: list[Length] = Field(default_factory=lambda: [20.0], min_length=1)
    speed: Speed = Field(8.0, gt=0, le=40)
    rate_hz: float = Field(10.0, gt=0, le=100)
    spacing: Length = Field(40.0, gt=1)
    area: AreaSpec = AreaSpec()
    around: str | None = None
    center: Position | None = None
    distance: Length = Field(150.0, gt=0)
    width: Length = Field(300.0, gt=0)
    radius: Length = Field(150.0, gt=0)
    laps: int = Field(1, ge=1, le=50)
    start_offset: Time = Field(0.0, ge=0)
    duration: Time | None = Field(None, gt=0)
    endurance: Time = Field(1500.0, gt=60)
    battery_swap: Time = Field(480.0, ge=0)
    gps: GpsSpec = GpsSpec()
    sensors: list[str | SensorSpec] = Field(
        default_factory=lambda: ["ch4_ppm", "c2h6_ppb", "co2_ppm", "co_ppm", "voc_ppb"], min_length=1)
    clock_offset: Time = 0.0
    wind_noise: WindNoiseSpec = WindNoiseSpec()


class Scenario(_Base):
    """A whole scenario file (see docs/simulation.md)."""

    name: str
    description: str = ""
    seed: int = 0
    origin: Origin
    start: datetime
    town: TownSpec = TownSpec()
    atmosphere: AtmosphereSpec
    sources: list[SourceSpec] = []
    decoys: DecoySpec = DecoySpec()
    flights: list[FlightSpec] = Field(min_length=1)
    source_classes: str | None = None
    #: Turbulence realisation: 0 is the scenario's own; another number keeps the town, emitters and weather
    #: regime and draws new turbulence, winds and sensor noise (a later flight in the same world).
    realisation: int = Field(0, ge=0)

    @field_validator("start")
    @classmethod
    def _aware(cls, v: datetime):
        if v.tzinfo is None:
            raise ValueError("start needs a time zone, e.g. 2026-06-15T10:00:00Z")
        return v


def _format_loc(loc) -> str:
    parts = []
    for p in loc:
        if isinstance(p, str) and p.startswith(("function-", "tagged-union", "union[")):
            continue
        if p in ("str", "SensorSpec", "int", "literal['random']"):
            continue
        parts.append(str(p))
    return ".".join(parts)


def load_scenario(path: str | Path) -> tuple[Scenario, Path]:
    """Read and check a scenario YAML file.

    Returns
    -------
    scenario : Scenario
    base : pathlib.Path
        The file's folder (relative paths in the scenario are resolved against it).

    Raises
    ------
    InputError
        Naming the file and the key path of the first problem.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("file not found", path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot be read as UTF-8 text ({exc})", path) from None
    data = safe_load(text, path)
    if not isinstance(data, dict):
        raise InputError("expected a mapping of scenario keys (name, origin, atmosphere, flights, ...)", path)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        # a misspelt key shows up as "unknown" and "missing": report the unknown one, which names the typo
        err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        key = _format_loc(err["loc"])
        if err["type"] == "extra_forbidden":
            parent = _model_at(Scenario, err["loc"][:-1])
            allowed = ", ".join(sorted(parent.model_fields)) if parent else ""
            msg = f"unknown key; expected one of {allowed}" if allowed else "unknown key"
        elif err["type"] == "missing":
            msg = "required key is missing"
        else:
            msg = err["msg"].removeprefix("Value error, ")
        raise InputError(msg, path, column=key) from None
    return scenario, path.parent


def _model_at(model, loc):
    """The pydantic model class at a location path (for listing the allowed keys)."""
    current = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = current.model_fields.get(part) if current is not None else None
        if field is None:
            by_alias = {f.alias: f for f in current.model_fields.values() if f.alias} if current else {}
            field = by_alias.get(part)
        if field is None:
            return None
        ann = field.annotation
        current = _first_model(ann)
    return current


def _first_model(ann):
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    for arg in getattr(ann, "__args__", ()) or ():
        found = _first_model(arg)
        if found is not None:
            return found
    return None


def scenario_error(path: Path, key: str, message: str) -> InputError:
    """An error about a scenario key found after the schema check (unknown building, class, ...)."""
    return InputError(message, path, column=key)


__all__ = ["Scenario", "load_scenario", "scenario_error", "SIGMA_MODELS"]
