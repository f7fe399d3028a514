"""The ``plumetrace`` command line (DESIGN.md contract 6).

A thin typer layer: each command parses its options, calls the library and renders the result as rich
tables or, with ``--json``, one JSON object on standard output. Exit codes: 0 success, 2 bad input (a
one-paragraph message on standard error naming the file, row or field), 1 internal error.
"""

from __future__ import annotations

import functools
import json
import math
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from plumetrace import __version__
from plumetrace.exceptions import InputError
from plumetrace.io.jsonsafe import json_safe

app = typer.Typer(
    name="plumetrace",
    help="Find hidden emission sources from airborne gas-sensor surveys.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
validate_app = typer.Typer(help="Validate the physics against field experiments.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks, with ratios against baselines run in the same process.",
                        no_args_is_help=True)
app.add_typer(validate_app, name="validate")
app.add_typer(bench_app, name="bench")

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def _fail_input(exc: Exception) -> None:
    err.print(f"[bold red]error:[/] {exc}", soft_wrap=True)
    raise typer.Exit(2)


def handle_errors(func):
    """Map InputError to exit 2 and unexpected exceptions to exit 1, never showing a traceback."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except InputError as exc:
            _fail_input(exc)
        except Exception as exc:  # noqa: BLE001 - the CLI boundary
            if os.environ.get("PLUMETRACE_DEBUG"):
                raise
            err.print(
                f"[bold red]internal error:[/] {type(exc).__name__}: {exc}. This is a bug in plumetrace; "
                "rerun with PLUMETRACE_DEBUG=1 for the traceback and report it.",
                soft_wrap=True,
            )
            raise typer.Exit(1) from None

    return wrapper


def _version_callback(value: bool) -> None:
    if value:
        out.print(f"plumetrace {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", help="Show the version and exit.",
                                          callback=_version_callback, is_eager=True)] = False,
) -> None:
    """Find hidden emission sources from airborne gas-sensor surveys."""


def print_json(obj: dict) -> None:
    """Write one JSON object to standard output (NaN and infinities as null)."""
    text = json.dumps(json_safe(obj), allow_nan=False)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:.{digits}g}" if abs(value) >= 1000 else f"{value:.{digits}f}"


def _stats_table(title: str, comparison, dims: str) -> Table:
    table = Table(title=title, title_justify="left")
    for col in (dims, "N", "FB", "NMSE", "MG", "VG", "FAC2"):
        table.add_column(col, justify="right" if col != dims else "left")
    rows = [("all", comparison.overall)]
    rows += list(comparison.by_stability.items() if dims == "class" else comparison.by_distance.items())
    for name, s in rows:
        fac2 = _fmt(s.FAC2, 2)
        style = "green" if s.FAC2 >= 0.5 else "red"
        table.add_row(name, str(s.N), _fmt(s.FB), _fmt(s.NMSE), _fmt(s.MG), _fmt(s.VG), f"[{style}]{fac2}[/]")
    return table


@validate_app.command("dispersion")
@handle_errors
def validate_dispersion_cmd(
    directory: Annotated[Path, typer.Argument(help="Field-experiment folder (runs.csv, concentrations.csv).")],
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    model: Annotated[str, typer.Option(help="σ model: briggs_rural, briggs_urban or isc3_rural.")] = "briggs_rural",
    threshold: Annotated[float, typer.Option(help="Lower threshold for MG, VG, FAC2 [µg/m³].", min=0.0)] = 0.0,
) -> None:
    """Score the plume model on a field experiment: FB, NMSE, MG, VG, FAC2 (Chang & Hanna 2004)."""
    from plumetrace.io.field_experiment import read_field_experiment
    from plumetrace.physics.sigmas import SIGMA_MODELS
    from plumetrace.validation.dispersion import validate_dispersion

    allowed = [m for m in SIGMA_MODELS if m != "parametric"]
    if model not in allowed:
        raise InputError(f"--model: unknown model {model!r}; expected one of {', '.join(allowed)}")
    experiment = read_field_experiment(directory)
    result = validate_dispersion(experiment, model=model, threshold=threshold)
    if json_output:
        print_json(result.as_dict())
        return
    out.print(f"[bold]Dispersion validation[/] of {result.dataset} — model [cyan]{model}[/], {result.n_runs} runs")
    out.print(_stats_table("Observations (concentrations.csv) by stability class", result.observations, "class"))
    out.print(_stats_table("Observations by downwind distance [m]", result.observations, "x_m"))
    if result.samplers is not None:
        out.print(_stats_table("Every sampler (samplers.csv) by stability class", result.samplers, "class"))
    for note in result.notes:
        out.print(f"[dim]note: {note}[/]")


@app.command("simulate")
@handle_errors
def simulate_cmd(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Output folder (created if needed).")],
    truth_samples: Annotated[bool, typer.Option("--truth-samples", help="Also write truth_samples.csv "
                                                "(noise-free enhancement per sample).")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Simulate a survey: writes survey.csv, buildings.geojson and truth.json."""
    import time

    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from plumetrace.sim.scenario import load_scenario
    from plumetrace.sim.simulate import simulate, write_simulation

    t0 = time.perf_counter()
    sc, base = load_scenario(scenario)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err,
                  transient=True, disable=json_output) as bar:
        task = bar.add_task(f"simulating {sc.name}")
        sim = simulate(sc, scenario, base, progress=lambda s: bar.update(task, description=f"{sc.name}: {s}"))
        paths = write_simulation(sim, out_dir, with_samples=truth_samples)
    elapsed = time.perf_counter() - t0
    summary = {
        "scenario": sc.name, "samples": len(sim.survey), "duration_s": sim.truth["t_end"] - sim.truth["t_start"],
        "sources": len(sim.emitters), "targets": sum(e.target for e in sim.emitters),
        "files": {k: str(v) for k, v in paths.items()}, "seconds": round(elapsed, 3),
    }
    if json_output:
        print_json(summary)
        return
    table = Table(title=f"Simulated {sc.name}", title_justify="left")
    for col in ("id", "class", "target", "east m", "north m", "height m", "building", "primary rate g/s"):
        table.add_column(col)
    for s in sim.truth["sources"]:
        table.add_row(s["id"], s["class"], "yes" if s["target"] else "", f"{s['east_m']:.0f}", f"{s['north_m']:.0f}",
                      f"{s['height_m']:.1f}", s["building_id"] or "–", f"{s['rates_g_s'][s['primary']]:.3g}")
    out.print(table)
    w = sim.truth["weather"]
    out.print(f"{summary['samples']:,} samples over {summary['duration_s'] / 60:.1f} min; wind "
              f"{w['wind_speed_10m_mps']:g} m/s from {w['wind_from_deg']:g}°, class {w['stability']}; "
              f"written to {out_dir} in {elapsed:.2f} s")


def _parse_lags(values: list[str] | None) -> dict[str, float]:
    lags = {}
    for item in values or []:
        column, sep, seconds = item.partition("=")
        try:
            if not sep:
                raise ValueError
            lags[column.strip()] = float(seconds)
        except ValueError:
            raise InputError(f"{item!r} is not COLUMN=SECONDS (e.g. co_ppm=15)") from None
    return lags


def _track_quality(time, lat, lon, frame=None) -> dict:
    """Fix spread and GPS jumps (implied speed above 50 m/s) of a position series."""
    import numpy as np

    from plumetrace.io.crs import LocalFrame

    if len(lat) == 0:
        return {"extent_m": [0.0, 0.0], "gps_jumps": 0, "max_speed_mps": 0.0}
    frame = frame or LocalFrame.around(lat, lon)
    e, n = frame.to_local(lat, lon)
    dt = np.diff(time)
    step = np.hypot(np.diff(e), np.diff(n))
    # a jump moves farther than 50 m/s allows, beyond 10 m of ordinary GPS scatter
    jumps = step > np.maximum(50.0 * dt, 10.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        speed = np.where(dt > 0, step / dt, np.nan)
    return {"extent_m": [float(np.ptp(e)), float(np.ptp(n))], "gps_jumps": int(np.sum(jumps)),
            "max_speed_mps": float(np.nanmax(speed)) if np.any(np.isfinite(speed)) else 0.0}


@app.command("inspect")
@handle_errors
def inspect_cmd(
    path: Annotated[Path, typer.Argument(metavar="FILE", help="A flight log (PX4 .ulg, ArduPilot .bin, MAVLink "
                                                               ".tlog) or a survey CSV.")],
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """What a flight log or survey file holds: format, time span, samples, channels, wind, position quality."""
    import pandas as pd

    from plumetrace.io.flightlog import detect_format, read_flight_log
    from plumetrace.io.survey import read_survey

    fmt = detect_format(path)
    if fmt in ("px4-ulog", "ardupilot-dataflash", "mavlink-tlog"):
        log = read_flight_log(path, require_position=False)
        tr = log.track
        start, end = log.span
        info = {
            "file": str(path), "format": fmt, "time_source": log.time_source,
            "start": start, "end": end, "duration_s": end - start, "samples": len(tr),
            "position_fixes": int((tr["fix_type"] >= 3).sum()), "channels": [],
            "wind": {"present": log.has_wind, "records": len(log.wind),
                     "mean_speed_mps": float(log.wind["wind_speed_mps"].mean()) if len(log.wind) else None},
            "height_source": log.height_source,
            "position": _track_quality(tr["time"].to_numpy(float), tr["lat"].to_numpy(float),
                                       tr["lon"].to_numpy(float)),
            "topics": len(log.topics), "warnings": log.warnings,
        }
    elif fmt == "survey-csv":
        s = read_survey(path)
        d = s.data
        info = {
            "file": str(path), "format": fmt, "time_source": "utc",
            "start": float(d["time"].iloc[0]), "end": float(d["time"].iloc[-1]), "duration_s": s.duration_s,
            "samples": s.n_samples, "position_fixes": int(d[["lat", "lon"]].notna().all(axis=1).sum()),
            "channels": s.channels,
            "wind": {"present": s.has_wind, "records": int(d["wind_speed_mps"].notna().sum()) if s.has_wind else 0,
                     "mean_speed_mps": float(d["wind_speed_mps"].mean()) if s.has_wind else None},
            "height_source": "alt_m column", "position": _track_quality(d["time"].to_numpy(), d["lat"].to_numpy(),
                                                                        d["lon"].to_numpy(), s.frame),
            "topics": None, "warnings": [],
        }
    else:
        raise InputError("is neither a flight log (PX4 .ulg, ArduPilot DataFlash .bin, MAVLink .tlog) nor a survey "
                         "CSV (contract 1)", path, 1)
    if json_output:
        print_json(info)
        return
    table = Table(title=f"{path.name}: {fmt}", title_justify="left", show_header=False)
    table.add_column("field")
    table.add_column("value")
    if info["time_source"] == "boot":
        span = f"{info['start']:.1f}–{info['end']:.1f} s since boot (no GPS time in the log)"
    else:
        span = (pd.Timestamp(info["start"], unit="s", tz="UTC").isoformat() + " → " +
                pd.Timestamp(info["end"], unit="s", tz="UTC").isoformat())
    rows = [("time", span), ("duration", f"{info['duration_s']:.1f} s"), ("samples", f"{info['samples']:,}"),
            ("position fixes", f"{info['position_fixes']:,}"),
            ("extent", f"{info['position']['extent_m'][0]:.0f} m × {info['position']['extent_m'][1]:.0f} m"),
            ("GPS jumps (> 50 m/s)", str(info["position"]["gps_jumps"])),
            ("wind", "present" if info["wind"]["present"] else "absent or all zero"),
            ("height", info["height_source"])]
    if info["channels"]:
        rows.append(("gas channels", ", ".join(info["channels"])))
    for k, v in rows:
        table.add_row(k, v)
    out.print(table)
    for w in info["warnings"]:
        out.print(f"[yellow]warning:[/] {w}")


@app.command("convert")
@handle_errors
def convert_cmd(
    flight_log: Annotated[Path, typer.Argument(metavar="FLIGHT_LOG",
                                               help="PX4 .ulg, ArduPilot DataFlash .bin or MAVLink .tlog.")],
    sensor: Annotated[Path, typer.Option("--sensor", metavar="SENSOR.csv", help="The gas logger's CSV.")],
    out_path: Annotated[Path, typer.Option("--out", metavar="SURVEY.csv", help="Survey CSV to write (contract 1).")],
    clock_offset: Annotated[float | None, typer.Option("--clock-offset", metavar="S",
                                                       help="Flight time = logger time + S; estimated from the "
                                                            "logger's barometer when left out.")] = None,
    profile: Annotated[str, typer.Option(help="Logger profile: a built-in name (generic, elapsed, datetime_local) "
                                              "or a YAML file.")] = "generic",
    lag: Annotated[list[str] | None, typer.Option(help="Inlet delay, COLUMN=SECONDS (overrides the profile); "
                                                       "repeatable.")] = None,
    tau: Annotated[list[str] | None, typer.Option(help="First-order response time to deconvolve, COLUMN=SECONDS; "
                                                       "repeatable.")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Flight log + sensor logger → survey CSV, with the clock offset and its uncertainty."""
    import json

    from plumetrace.io.align import ClockOffset, estimate_clock_offset, merge
    from plumetrace.io.flightlog import read_flight_log
    from plumetrace.io.sensorlog import read_sensor_log

    log = read_flight_log(flight_log)
    logger = read_sensor_log(sensor, profile)
    lags, taus = _parse_lags(lag), _parse_lags(tau)
    unknown = sorted((set(lags) | set(taus)) - set(logger.channels))
    if unknown:
        raise InputError(f"--lag/--tau name {', '.join(unknown)}, which the logger does not have; its channels are "
                         f"{', '.join(logger.channels)}")
    overrides = {c: (lags.get(c, logger.specs[c].lag_s), taus.get(c, logger.specs[c].tau_s))
                 for c in set(lags) | set(taus)}
    offset = (ClockOffset(clock_offset, None, "given") if clock_offset is not None
              else estimate_clock_offset(log, logger))
    survey, report = merge(log, logger, offset, overrides)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    survey.to_csv(out_path, index=False, float_format="%.7f")
    meta = {
        "survey": str(out_path), "flight_log": str(flight_log), "flight_log_format": log.format,
        "sensor_log": str(sensor), "profile": logger.profile, "channels": list(logger.channels),
        "clock_offset": {"offset_s": offset.offset_s, "stderr_s": offset.stderr_s, "method": offset.method,
                         "correlation": offset.correlation},
        "time_source": log.time_source, "height_source": log.height_source, **report,
    }
    meta_path = out_path.with_suffix(".meta.json")
    meta_path.write_text(json.dumps(json_safe(meta), indent=2))
    if json_output:
        print_json(meta)
        return
    table = Table(title=f"{out_path.name}: {report['samples']:,} samples", title_justify="left", show_header=False)
    table.add_column("field")
    table.add_column("value")
    err = "" if offset.stderr_s is None else f" ± {offset.stderr_s:.2f}"
    for k, v in [("flight log", f"{flight_log.name} ({log.format}, {log.time_source} time, height from "
                                f"{log.height_source})"),
                 ("logger", f"{sensor.name} (profile {logger.profile})"),
                 ("clock offset", f"{offset.offset_s:+.2f}{err} s ({offset.method})"),
                 ("channels", ", ".join(logger.channels)),
                 ("wind", report["wind_source"] or "none in the log (give --wind to locate)"),
                 ("dropped", f"{report['dropped_outside_flight']:,} readings outside the flight"),
                 ("flagged", ", ".join(f"{k} {v:,}" for k, v in report["flags"].items() if v) or "none"),
                 ("metadata", str(meta_path))]:
        table.add_row(k, v)
    out.print(table)
    for w in report["warnings"]:
        out.print(f"[yellow]warning:[/] {w}")


@app.command("detect")
@handle_errors
def detect_cmd(
    survey_path: Annotated[Path, typer.Argument(metavar="SURVEY.csv", help="Survey CSV (contract 1).")],
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    false_alarms_per_hour: Annotated[float, typer.Option(help="Target false hits per flight hour (whole survey).",
                                                         min=0.001)] = 0.5,
    lag: Annotated[list[str] | None, typer.Option(help="Sensor response lag, COLUMN=SECONDS; repeatable.")] = None,
    min_probability: Annotated[float, typer.Option(help="Posterior needed to name a class.", min=0.0,
                                                   max=1.0)] = 0.5,
    classes: Annotated[Path | None, typer.Option(help="Extra source classes (YAML, same form as the library).")]
    = None,
) -> None:
    """Find plume hits over a moving background and attribute each event to a source class."""
    from plumetrace.detect import PlumeDetector
    from plumetrace.io.survey import read_survey
    from plumetrace.signatures import load_source_classes

    lags = _parse_lags(lag)
    survey = read_survey(survey_path)
    unknown = sorted(set(lags) - set(survey.channels))
    if unknown:
        raise InputError(f"--lag names {', '.join(unknown)}, which the survey does not have; its channels are "
                         f"{', '.join(survey.channels)}")
    library = load_source_classes(classes)
    detector = PlumeDetector(false_alarms_per_hour=false_alarms_per_hour, lags=lags, classes=library,
                             min_probability=min_probability).fit(survey)
    report = {
        "survey": {"path": str(survey_path), "samples": survey.n_samples, "duration_s": survey.duration_s,
                   "flight_hours": detector.flight_hours_, "channels": survey.channels},
        "channels": detector.channel_stats_.to_dict(orient="records"),
        "events": [e.as_dict() for e in detector.events_],
        "summary": detector.summary(),
    }
    if json_output:
        print_json(report)
        return
    import pandas as pd

    t1 = Table(title=f"Channels of {survey_path}", title_justify="left")
    for col in ("platform", "channel", "noise σ", "threshold", "hits"):
        t1.add_column(col, justify="left" if col in ("platform", "channel") else "right")
    for r in report["channels"]:
        t1.add_row(r["platform"], r["channel"], f"{r['sigma']:.3g}", f"{r['k']:.2f} σ" + (" (LOD)" if r["clipped"]
                   else ""), str(r["hits"]))
    out.print(t1)
    t2 = Table(title=f"{len(detector.events_)} plume events, strongest first", title_justify="left")
    for col in ("id", "time (UTC)", "peak", "lat", "lon", "channels", "class", "p"):
        t2.add_column(col, justify="right" if col in ("peak", "p", "lat", "lon") else "left")
    for e in detector.events_[:50]:
        when = pd.Timestamp(e.t_peak, unit="s", tz="UTC").strftime("%H:%M:%S")
        t2.add_row(e.id, when, f"{e.peak_sigma:.1f} σ", f"{e.lat:.6f}", f"{e.lon:.6f}",
                   ", ".join(c.rsplit("_", 1)[0] for c in e.channels), e.label, f"{e.probability:.2f}")
    out.print(t2)
    if len(detector.events_) > 50:
        out.print(f"[dim]… {len(detector.events_) - 50} more (use --json for all)[/]")
    out.print(f"{survey.n_samples:,} samples, {detector.flight_hours_:.2f} flight hours; events by class: "
              + ", ".join(f"{k} {v}" for k, v in detector.summary()["by_class"].items()))


def _parse_wind(text: str | None) -> tuple[float, float] | None:
    if text is None:
        return None
    speed, sep, frm = text.partition("@")
    try:
        if not sep:
            raise ValueError
        value = (float(speed), float(frm))
    except ValueError:
        raise InputError(f"--wind: {text!r} is not SPEED_MPS@FROM_DEG (e.g. 4.5@250)") from None
    if not (0 < value[0] < 50 and 0 <= value[1] <= 360):
        raise InputError(f"--wind: {text!r} needs a speed in (0, 50) m/s and a direction in 0..360 degrees")
    return value


@app.command("locate")
@handle_errors
def locate_cmd(
    survey_path: Annotated[Path, typer.Argument(metavar="SURVEY.csv", help="Survey CSV (contract 1).")],
    buildings: Annotated[Path | None, typer.Option(help="Building footprints (GeoJSON, contract 2).")] = None,
    stability: Annotated[str | None, typer.Option(help="Pasquill class A-F (default: from the wind's variability).")]
    = None,
    wind: Annotated[str | None, typer.Option(help="Fixed wind SPEED_MPS@FROM_DEG instead of the survey's.")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object (contract 3).")] = False,
    lag: Annotated[list[str] | None, typer.Option(help="Sensor response time (first-order time constant), "
                                                  "COLUMN=SECONDS; repeatable.")] = None,
    map_path: Annotated[Path | None, typer.Option("--map", help="Posterior map PNG (default: next to the "
                                                  "survey, without --json).")] = None,
    mass_balance: Annotated[bool, typer.Option("--mass-balance", help="Also the flux-plane rate of every channel "
                                               "with hits (curtain flights; METHODS §4.8).")] = False,
) -> None:
    """Locate and quantify the sources of a survey (Bayesian grid posterior), down to the building."""
    from plumetrace.io.buildings import read_buildings
    from plumetrace.io.survey import read_survey
    from plumetrace.locate import SourceLocator
    from plumetrace.locate.locator import check_survey_inside_buildings
    from plumetrace.locate.report import source_to_dict
    from plumetrace.physics.stability import VALID_LABELS

    if stability is not None and stability.upper() not in ("A", "B", "C", "D", "E", "F"):
        raise InputError(f"--stability: {stability!r} is not a Pasquill class; expected A, B, C, D, E or F "
                         f"(intermediate cells {', '.join(v for v in VALID_LABELS if '-' in v)} are not accepted here)")
    fixed_wind = _parse_wind(wind)
    lags = _parse_lags(lag)
    survey = read_survey(survey_path)
    footprints = None
    if buildings is not None:
        footprints, _ = read_buildings(buildings, survey.frame)
        check_survey_inside_buildings(survey, footprints)
    locator = SourceLocator(stability=stability.upper() if stability else None, wind=fixed_wind, lags=lags)
    locator.fit(survey, footprints)
    hits = int(len(locator.detector_.hits_)) if len(locator.detector_.hits_) else 0
    report = {"sources": [source_to_dict(e, survey.frame) for e in locator.sources_],
              "survey": {"samples": survey.n_samples, "hits": hits, "duration_s": survey.duration_s}}
    for src in report["sources"]:
        if buildings is None:
            src["building_id"] = src["building_probability"] = src["buildings_top"] = None
    flux = None
    if mass_balance:
        from plumetrace.locate.massbalance import MassBalance

        channels = locator._channels()
        bg = {c: locator.detector_.background_[c].to_numpy(dtype=float) for c in channels}
        flux = MassBalance(wind=fixed_wind).fit(survey, channels, bg).estimates_
        report["mass_balance"] = [f.to_dict() for f in flux]
    if json_output:
        print_json(report)
        return
    table = Table(title=f"{len(locator.sources_)} source(s) in {survey_path}, strongest evidence first",
                  title_justify="left")
    for col in ("#", "lat", "lon", "height m", "species", "rate g/s (90 %)", "r90 m", "class", "building"):
        table.add_column(col, justify="right" if col in ("lat", "lon", "height m", "r90 m") else "left")
    for k, (e, src) in enumerate(zip(locator.sources_, report["sources"], strict=True), start=1):
        b = f"{src['building_id']} ({src['building_probability']:.2f})" if src["building_id"] else "–"
        table.add_row(str(k), f"{e.lat:.6f}", f"{e.lon:.6f}", f"{e.height_m:.1f}", e.species,
                      f"{e.rate_g_s:.3g} ({e.rate_ci90_g_s[0]:.2g}–{e.rate_ci90_g_s[1]:.2g})",
                      f"{e.credible90_radius_m:.0f}", f"{e.source_class} ({e.class_probability:.2f})", b)
    out.print(table)
    if flux:
        ftable = Table(title="mass balance through the curtain (flux plane)", title_justify="left")
        for col in ("channel", "rate g/s (90 %)", "layers", "below lowest", "top layer"):
            ftable.add_column(col, justify="left" if col == "channel" else "right")
        for f in flux:
            ftable.add_row(f.channel, f"{f.rate_g_s:.3g} ({f.rate_ci90_g_s[0]:.2g}–{f.rate_ci90_g_s[1]:.2g})",
                           str(len(f.layers_m)), f"{f.below_lowest_fraction:.0%}", f"{f.top_layer_fraction:.0%}")
        out.print(ftable)
    out.print(f"stability {locator.stability_}; {survey.n_samples:,} samples, {hits} hits, "
              f"{survey.duration_s / 60:.1f} min")
    target = map_path or survey_path.with_name(survey_path.stem + "_locate.png")
    from plumetrace.locate.plot import posterior_map

    posterior_map(locator, survey, footprints, target)
    out.print(f"posterior map: {target}")


DB_HELP = "Store URL: sqlite:///FILE (default sqlite:///plumetrace.db or $PLUMETRACE_DB) or postgresql://..."


@app.command("analyze")
@handle_errors
def analyze_cmd(
    paths: Annotated[list[Path], typer.Argument(metavar="SURVEY_OR_LOG...", help="Survey CSVs (contract 1); flight "
                                                "logs are joined with their sensor file by `convert` first.")],
    db: Annotated[str | None, typer.Option(help=DB_HELP)] = None,
    workers: Annotated[int | None, typer.Option(help="Start a Dask LocalCluster with N single-threaded workers.",
                                                min=1)] = None,
    scheduler: Annotated[str | None, typer.Option(help="Address of an existing Dask scheduler.")] = None,
    buildings: Annotated[Path | None, typer.Option(help="Building footprints (GeoJSON, contract 2).")] = None,
    lag: Annotated[list[str] | None, typer.Option(help="Sensor response lag, COLUMN=SECONDS; repeatable.")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """The whole pipeline into the store: surveys → hits → estimates → fused sites (Dask for many files)."""
    from plumetrace.pipeline import run_campaign
    from plumetrace.store import Store

    if workers and scheduler:
        raise InputError("give either --workers or --scheduler, not both")
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise InputError("file not found", missing[0])
    store = Store(db)
    summary = run_campaign(paths, store, workers=workers, scheduler=scheduler, buildings=str(buildings) if buildings
                           else None, locator={"lags": _parse_lags(lag)}, progress=not json_output, console=err)
    report = {"store": store.url_safe, "files": summary.files, "ingested": summary.ingested,
              "skipped_already_stored": summary.skipped, "failed": [{"file": f, "error": e} for f, e in summary.failed],
              "seconds": summary.seconds, "surveys_per_minute": 60 * summary.throughput if summary.ingested else None,
              "workers": summary.workers, "peak_rss_mb": summary.peak_rss_mb, "site_changes": summary.site_changes,
              "sites": summary.sites, "counts": store.counts()}
    if json_output:
        print_json(report)
    else:
        changes = summary.site_changes
        table = Table(title=f"campaign in {store.url_safe}", title_justify="left", show_header=False)
        table.add_column("field")
        table.add_column("value")
        for k, v in [("files", f"{summary.files} ({summary.ingested} analysed, {summary.skipped} already stored, "
                                f"{len(summary.failed)} failed)"),
                     ("time", f"{summary.seconds:.1f} s ({summary.analysis_seconds:.1f} s of analysis)"),
                     ("peak memory", f"{summary.peak_rss_mb:.0f} MB"),
                     ("sites", f"{len(summary.sites)} ({changes['new']} new, {changes['updated']} updated, "
                               f"{changes['retired']} retired)"),
                     ("store", ", ".join(f"{k} {v}" for k, v in store.counts().items()))]:
            table.add_row(k, v)
        out.print(table)
        if summary.sites:
            out.print(_sites_table(summary.sites))
    for _, e in summary.failed:
        err.print(f"[red]error:[/] {e}", highlight=False, soft_wrap=True)
    if summary.failed:
        raise typer.Exit(2)


def _sites_table(sites: list[dict]) -> Table:
    table = Table(title="sites: target classes first, then unattributed, then benign; by confidence",
                  title_justify="left")
    for col in ("id", "status", "activity", "confidence", "lat", "lon", "r90 m", "class", "channels", "seen",
                "building"):
        table.add_column(col, justify="right" if col in ("id", "confidence", "lat", "lon", "r90 m", "seen") else "left")
    for s in sites:
        table.add_row(str(s["id"]), s["status"], s["activity"], f"{s['confidence']:.2f}", f"{s['lat']:.6f}",
                      f"{s['lon']:.6f}", f"{s['radius90_m']:.0f}", s["class"], ", ".join(s["channels"][:3]),
                      f"{s['n_detected']}/{s['n_covering']}", s["building_id"] or "–")
    return table


@app.command("sites")
@handle_errors
def sites_cmd(
    db: Annotated[str | None, typer.Option(help=DB_HELP)] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    retired: Annotated[bool, typer.Option(help="Include retired sites.")] = False,
    geojson: Annotated[Path | None, typer.Option(help="Also write the sites as GeoJSON here.")] = None,
    kml: Annotated[Path | None, typer.Option(help="Also write the sites as KML here.")] = None,
) -> None:
    """Persistent sites with evidence, confidence and history."""
    from plumetrace.io.export import write_sites_geojson, write_sites_kml
    from plumetrace.pipeline import ranked_sites
    from plumetrace.store import Store

    store = Store(db)
    sites = ranked_sites(store, include_retired=retired)
    if geojson:
        write_sites_geojson(geojson, sites, store.hits())
    if kml:
        write_sites_kml(kml, sites, None, store.hits())
    if json_output:
        print_json({"store": store.url_safe, "sites": sites})
        return
    out.print(_sites_table(sites))
    if not sites:
        out.print("no sites yet: run `plumetrace analyze SURVEY.csv ...` first")


@app.command("demo")
@handle_errors
def demo_cmd(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the flights, the store and the report.")]
    = Path("plumetrace-demo"),
    seed: Annotated[int, typer.Option(help="Random seed of the town, emitters and weather.")] = 7,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Simulate a town with a hidden lab, fly three days of surveys, run the pipeline, report the sites."""
    from plumetrace.demo import run_demo, sites_table

    if not json_output:
        out.print("[bold]plumetrace demo[/]: a town, a lab hidden among benign emitters, three days of flights")
    result = run_demo(out_dir, seed, progress=not json_output, console=err)
    report = {"out": str(result.out), "report": str(result.report / "index.html"), "store": result.db_url,
              "seconds": result.seconds, "lab": {"lat": result.lab["lat"], "lon": result.lab["lon"],
                                                 "building_id": result.lab.get("building_id")},
              "top_site_lab_distance_m": result.lab_error_m, "sites": result.sites}
    if json_output:
        print_json(report)
        return
    out.print(sites_table(result.sites, result.lab))
    if result.sites:
        top = result.sites[0]
        out.print(f"top site: {top['class']} at {top['lat']:.6f}, {top['lon']:.6f} — {top['lab_distance_m']:.1f} m "
                  f"from the hidden lab (building {result.lab.get('building_id')}; site building "
                  f"{top['building_id'] or '–'})")
    else:
        out.print("[yellow]no site found[/]")
    out.print(f"report: {result.report / 'index.html'} (also sites.geojson, sites.kml, samples.parquet); "
              f"{result.seconds:.0f} s")


@bench_app.command("speed")
@handle_errors
def bench_speed_cmd(
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    receptors: Annotated[int, typer.Option(help="Receptors for the plume-model benchmark.", min=1000)] = 1_000_000,
    samples: Annotated[int, typer.Option(help="Samples for the detection benchmark.", min=10_000)] = 2_000_000,
    quick: Annotated[bool, typer.Option(help="Small sizes, for a smoke test.")] = False,
    no_locate: Annotated[bool, typer.Option("--no-locate", help="Skip the localisation benchmark (emcee, pyELQ).")]
    = False,
) -> None:
    """Forward model, detection and localisation speed against baselines measured in this process."""
    from plumetrace.bench.detect_speed import render_detection_report, run_detection_benchmark
    from plumetrace.bench.forward import render_forward_report, run_forward_benchmark

    forward = run_forward_benchmark(n_receptors=receptors if not quick else 20_000, quick=quick,
                                    progress=not json_output)
    detection = run_detection_benchmark(n_samples=samples if not quick else 50_000,
                                        n_baseline=200_000 if not quick else 20_000)
    locate = None
    if not no_locate:
        from plumetrace.bench.locate_speed import render_locate_report, run_locate_benchmark

        locate = run_locate_benchmark(budget_s=20.0 if quick else 180.0, minutes=6.0 if quick else 30.0,
                                      pyelq_iterations=300 if quick else 3000)
    if json_output:
        print_json({"forward": forward, "detection": detection, "locate": locate})
    else:
        render_forward_report(forward, out)
        render_detection_report(detection, out)
        if locate is not None:
            render_locate_report(locate, out)


@bench_app.command("accuracy")
@handle_errors
def bench_accuracy_cmd(
    suite: Annotated[Path | None, typer.Option(help="Folder of scenario YAML files.")] = None,
    select: Annotated[str | None, typer.Option(help="Comma-separated globs on scenario names.")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    locate: Annotated[bool, typer.Option("--locate/--no-locate", help="Also run and score the locator.")] = True,
) -> None:
    """Simulate a scenario suite, run the pipeline and score it against the ground truth."""
    from plumetrace.bench.accuracy import DEFAULT_SUITE, render_accuracy, run_accuracy

    report = run_accuracy(suite or DEFAULT_SUITE, select, progress=not json_output, locate=locate)
    if json_output:
        print_json(report)
    else:
        render_accuracy(report, out)


def main() -> None:
    """Entry point of the ``plumetrace`` script."""
    app(prog_name="plumetrace")


if __name__ == "__main__":
    main()
