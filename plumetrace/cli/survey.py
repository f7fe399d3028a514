"""Commands on one file: simulate, inspect, convert, detect, locate."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from plumetrace.cli._app import app
from plumetrace.cli._common import err, handle_errors, out, parse_lags, parse_wind, print_fields, print_json
from plumetrace.exceptions import InputError
from plumetrace.io.jsonsafe import json_safe


def _planned(sc, plans: list[Path], delay_min: float, realisation: int):
    """The scenario with its flights replaced by the planned sorties (``simulate --plan``)."""
    import math

    from plumetrace.geo.crs import LocalFrame
    from plumetrace.io.mission import read_mission
    from plumetrace.plan.missions import plan_path_local
    from plumetrace.sim.simulate import follow_up_scenario

    if not (math.isfinite(delay_min) and 0 <= delay_min <= 7 * 24 * 60):
        raise InputError(f"--delay-min: {delay_min!r} must be between 0 and one week")
    if realisation < 1:
        raise InputError("--realisation must be at least 1 (0 is the scenario's own turbulence)")
    frame = LocalFrame(sc.origin.lat, sc.origin.lon)
    missions = [read_mission(p) for p in plans]
    paths = [plan_path_local(m, frame) for m in missions]
    return follow_up_scenario(sc, paths, missions[0].speed_mps, 60.0 * delay_min, realisation)


@app.command("simulate")
@handle_errors
def simulate_cmd(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Output folder (created if needed).")],
    truth_samples: Annotated[bool, typer.Option("--truth-samples", help="Also write truth_samples.csv "
                                                "(noise-free enhancement per sample).")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    plan: Annotated[list[Path] | None, typer.Option("--plan", help="Fly this mission (.plan or .waypoints; "
                                                    "repeatable, one per sortie) in the scenario's world instead of "
                                                    "its flights: same emitters and weather regime, new turbulence.")]
    = None,
    delay_min: Annotated[float, typer.Option(help="With --plan: minutes after the scenario's flight.")] = 60.0,
    realisation: Annotated[int, typer.Option(help="With --plan: the turbulence realisation (≥ 1).")] = 1,
) -> None:
    """Simulate a survey: writes survey.csv, buildings.geojson and truth.json."""
    import time

    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from plumetrace.sim.scenario import load_scenario
    from plumetrace.sim.simulate import simulate, write_simulation

    t0 = time.perf_counter()
    sc, base = load_scenario(scenario)
    if plan:
        sc = _planned(sc, plan, delay_min, realisation)
    with Progress(SpinnerColumn(), TextColumn("{task.description}", markup=False), TimeElapsedColumn(), console=err,
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


@app.command("inspect")
@handle_errors
def inspect_cmd(
    path: Annotated[Path, typer.Argument(metavar="FILE", help="A flight log (PX4 .ulg, ArduPilot .bin, MAVLink "
                                                               ".tlog) or a survey CSV.")],
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """What a flight log or survey file holds: format, time span, samples, channels, wind, position quality."""
    import pandas as pd

    from plumetrace.io.inspect import inspect_file

    info = inspect_file(path)
    fmt_name = info["format"]
    if json_output:
        print_json(info)
        return
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
    print_fields(f"{path.name}: {fmt_name}", rows, info["warnings"])


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
    lags, taus = parse_lags(lag), parse_lags(tau, "--tau")
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
    err = "" if offset.stderr_s is None else f" ± {offset.stderr_s:.2f}"
    rows = [("flight log", f"{flight_log.name} ({log.format}, {log.time_source} time, height from "
                           f"{log.height_source})"),
            ("logger", f"{sensor.name} (profile {logger.profile})"),
            ("clock offset", f"{offset.offset_s:+.2f}{err} s ({offset.method})"),
            ("channels", ", ".join(logger.channels)),
            ("wind", report["wind_source"] or "none in the log (give --wind to locate)"),
            ("dropped", f"{report['dropped_outside_flight']:,} readings outside the flight"),
            ("flagged", ", ".join(f"{k} {v:,}" for k, v in report["flags"].items() if v) or "none"),
            ("metadata", str(meta_path))]
    print_fields(f"{out_path.name}: {report['samples']:,} samples", rows, report["warnings"])


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
    from plumetrace.detect.signatures import load_source_classes
    from plumetrace.io.survey import read_survey

    lags = parse_lags(lag)
    survey = read_survey(survey_path)
    unknown = sorted(set(lags) - set(survey.channels))
    if unknown:
        raise InputError(f"--lag names {', '.join(unknown)}, which the survey does not have; its channels are "
                         f"{', '.join(survey.channels)}")
    library = load_source_classes(classes)
    detector = PlumeDetector(false_alarms_per_hour=false_alarms_per_hour, lags=lags, source_classes=library,
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
        out.print(f"… {len(detector.events_) - 50} more (use --json for all)", style="dim")
    out.print(f"{survey.n_samples:,} samples, {detector.flight_hours_:.2f} flight hours; events by class: "
              + ", ".join(f"{k} {v}" for k, v in detector.summary()["by_class"].items()))


def _print_candidates(candidates: list[dict], survey_paths, buildings) -> None:
    """Evidence below the threshold, and the follow-up command that would settle it."""
    if not candidates:
        return
    table = Table(title=f"{len(candidates)} candidate(s) below the evidence threshold: not sources yet",
                  title_justify="left")
    for col in ("#", "lat", "lon", "species", "evidence (nats)", "r90 m", "class", "events", "why"):
        table.add_column(col, justify="right" if col in ("lat", "lon", "evidence (nats)", "r90 m") else "left")
    for k, c in enumerate(candidates, start=1):
        table.add_row(str(k), f"{c['lat']:.6f}", f"{c['lon']:.6f}", c["species"], f"{c['log_bayes']:.1f}",
                      f"{c['credible90_radius_m']:.0f}", f"{c['class']} ({c['class_probability']:.2f})",
                      ", ".join(c["events"][:4]) + (" …" if len(c["events"]) > 4 else ""), c["reason"])
    out.print(table)
    cmd = " ".join(["plumetrace plan follow-up", *map(str, survey_paths), "--wind SPEED_MPS@FROM_DEG"]
                   + ([f"--buildings {buildings}"] if buildings else []) + ["--out follow-up.plan"])
    out.print(Text.assemble("a follow-up flight would settle them: ", (cmd, "bold")))


def _locate(survey, buildings, preset, stability, wind, lags, progress):
    """Buildings read in the survey's frame and checked, and the fitted locator of the preset."""
    from plumetrace.io.buildings import read_buildings
    from plumetrace.locate import SourceLocator, locator_settings
    from plumetrace.locate.attribution import check_survey_inside_buildings

    footprints = None
    if buildings is not None:
        progress(f"reading {buildings.name}")
        footprints, _ = read_buildings(buildings, survey.frame)
        check_survey_inside_buildings(survey.data["east"].to_numpy(), survey.data["north"].to_numpy(), footprints)
    locator = SourceLocator(**locator_settings(preset, stability=stability.upper() if stability else None,
                                               wind=wind, lags=lags))
    return footprints, locator.fit(survey, footprints, progress=progress)


@app.command("locate")
@handle_errors
def locate_cmd(
    survey_paths: Annotated[list[Path], typer.Argument(metavar="SURVEY.csv…", help="Survey CSV (contract 1); "
                                                       "several surveys of one area are located jointly.")],
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
                                               "with hits (curtain flights; docs/methods.md §5).")] = False,
    preset: Annotated[str, typer.Option(help="Locator preset: survey (default) or campaign "
                                             "(plumetrace.locate.presets).")] = "survey",
) -> None:
    """Locate and quantify the sources of a survey (Bayesian grid posterior), down to the building."""
    from plumetrace.io.survey import merge_surveys, read_survey
    from plumetrace.locate import PRESETS, source_record
    from plumetrace.locate.result import candidate_record
    from plumetrace.physics.stability import VALID_LABELS

    survey_path = survey_paths[0]

    if preset not in PRESETS:
        raise InputError(f"--preset: {preset!r} is not a locator preset; expected one of {', '.join(PRESETS)}")

    if stability is not None and stability.upper() not in ("A", "B", "C", "D", "E", "F"):
        raise InputError(f"--stability: {stability!r} is not a Pasquill class; expected A, B, C, D, E or F "
                         f"(intermediate cells {', '.join(v for v in VALID_LABELS if '-' in v)} are not accepted here)")
    fixed_wind = parse_wind(wind)
    lags = parse_lags(lag)
    target = None
    if not json_output or map_path is not None:  # refuse an unwritable map before the fit, not after it
        target = map_path or survey_path.with_name(survey_path.stem + "_locate.png")
        if not target.parent.is_dir():
            raise InputError(f"--map: the folder {str(target.parent)!r} does not exist", target)
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    # progress on a terminal only: a long survey takes minutes, and a pipe or a log file wants no spinner
    bar = Progress(SpinnerColumn(), TextColumn("{task.description}", markup=False), TimeElapsedColumn(),
                   console=err, transient=True, disable=not err.is_terminal)
    bar.start()
    task = bar.add_task(f"reading {survey_path.name}")
    try:
        survey = merge_surveys([read_survey(p) for p in survey_paths])
        unknown = sorted(set(lags) - set(survey.channels))
        if unknown:
            raise InputError(f"--lag names {', '.join(unknown)}, which the survey does not have; its channels are "
                             f"{', '.join(survey.channels)}")
        footprints, locator = _locate(survey, buildings, preset, stability, fixed_wind, lags,
                                      lambda text: bar.update(task, description=text))
    finally:
        bar.stop()
    hits = int(len(locator.detector_.hits_)) if len(locator.detector_.hits_) else 0
    report = {"sources": [source_record(e, survey.frame, buildings=buildings is not None) for e in locator.sources_],
              "survey": {"samples": survey.n_samples, "hits": hits, "duration_s": survey.duration_s},
              "candidates": [candidate_record(c) for c in locator.candidates_],
              "preset": preset}
    if len(survey_paths) > 1:
        report["survey"]["surveys"] = len(survey_paths)
    flux = None
    if mass_balance:
        from plumetrace.locate.massbalance import MassBalance

        channels = locator.channels_with_events()
        bg = {c: locator.detector_.background_[c].to_numpy(dtype=float) for c in channels}
        flux = MassBalance(wind=fixed_wind).fit(survey, channels, bg).estimates_
        report["mass_balance"] = [f.to_dict() for f in flux]
    if json_output:
        print_json(report)
        return
    where = survey_path if len(survey_paths) == 1 else f"{len(survey_paths)} surveys located jointly"
    table = Table(title=f"{len(locator.sources_)} source(s) in {where}, strongest evidence first",
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
    out.print(f"preset {preset}; stability {locator.stability_}; {survey.n_samples:,} samples, {hits} hits, "
              f"{survey.duration_s / 60:.1f} min")
    _print_candidates(report["candidates"], survey_paths, buildings)
    from plumetrace.locate.plot import posterior_map

    posterior_map(locator, survey, footprints, target)
    out.print(f"posterior map: {target}")


