"""``plumetrace plan coverage|follow-up``: survey plans as ground-station missions (contract 7)."""

from __future__ import annotations

import contextlib
import math
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from plumetrace.cli._app import app
from plumetrace.cli._common import err, handle_errors, out, parse_wind, print_json
from plumetrace.exceptions import InputError

plan_app = typer.Typer(help="Plan surveys: coverage of an area, follow-up flights over candidates (contract 7).",
                       no_args_is_help=True)
app.add_typer(plan_app, name="plan")

AUTH_HELP = "Authorised airspace (GeoJSON polygon, WGS 84): every flight segment stays inside it."
NOFLY_HELP = "No-fly zones (GeoJSON polygons): no segment enters one."


def _check_out(path: Path, fmt: str) -> None:
    if fmt not in ("plan", "wpl"):
        raise InputError(f"--format: {fmt!r} is not 'plan' (QGroundControl) or 'wpl' (QGC WPL 110 waypoints)")
    if not path.parent.is_dir():
        raise InputError(f"--out: the folder {str(path.parent)!r} does not exist", path)


def _positive(name: str, value: float | None, upper: float = math.inf) -> None:
    if value is not None and not (math.isfinite(value) and 0 < value <= upper):
        raise InputError(f"{name}: {value!r} must be a number in (0, {upper:g}]")


def _airspace(frame, authorized, no_fly, footprints, alt_min, alt_max, work_area):
    """The airspace from the option files, in ``frame``; ``footprints``: buildings already read (or [])."""
    from plumetrace.io.areas import read_polygons
    from plumetrace.plan.airspace import Airspace

    auth = None
    if authorized is not None:
        polys, _ = read_polygons(authorized, frame)
        if len(polys) != 1:
            from shapely.ops import unary_union

            auth = unary_union(polys)
            if auth.geom_type != "Polygon":
                raise InputError("the authorised airspace must be one connected polygon", authorized)
        else:
            auth = polys[0]
    zones = read_polygons(no_fly, frame)[0] if no_fly is not None else []
    return Airspace(auth, zones, alt_min, alt_max, buildings=footprints or [], work_area=work_area)


def _report(result: dict, json_output: bool, title: str, info: dict) -> None:
    if json_output:
        print_json({**result, **{k: v for k, v in info.items() if k not in result}})
        return
    table = Table(title=title, title_justify="left", show_header=False)
    table.add_column("field")
    table.add_column("value")
    for k, v in [("plan", result["plan"]), ("sorties", ", ".join(result["sorties"])), ("KML", result["kml"]),
                 ("flight", f"{result['flight_min']:.1f} min"), ("waypoints", str(result["waypoints"]))] + \
            [(k, str(v)) for k, v in info.items()]:
        table.add_row(k, v)
    out.print(table)
    for t in result["targets"]:
        out.print(f"target {t['name']}: {t['lat']:.6f}, {t['lon']:.6f}")


@plan_app.command("coverage")
@handle_errors
def coverage_cmd(
    area: Annotated[Path, typer.Option(help="Area to cover (GeoJSON polygon, WGS 84).")],
    wind: Annotated[str, typer.Option(help="Forecast wind SPEED_MPS@FROM_DEG.")],
    out_path: Annotated[Path, typer.Option("--out", help="The mission file to write (PLAN.plan; KML beside it).")],
    authorized: Annotated[Path | None, typer.Option(help=AUTH_HELP)] = None,
    no_fly: Annotated[Path | None, typer.Option(help=NOFLY_HELP)] = None,
    buildings: Annotated[Path | None, typer.Option(help="Buildings (GeoJSON; height_m = roof height).")] = None,
    alt_min_m: Annotated[float, typer.Option(help="Lowest altitude above take-off [m].")] = 10.0,
    alt_max_m: Annotated[float, typer.Option(help="Highest altitude above take-off [m].")] = 120.0,
    speed_mps: Annotated[float, typer.Option(help="Cruise speed [m/s].")] = 8.0,
    endurance_min: Annotated[float, typer.Option(help="Battery endurance [min] (20 % kept in reserve).")] = 25.0,
    min_rate_g_s: Annotated[float, typer.Option(help="Weakest source to detect [g/s].")] = 0.05,
    species: Annotated[str, typer.Option(help="Gas of --min-rate-g-s and the noise.")] = "ch4",
    noise_ppb: Annotated[float, typer.Option(help="Sensor noise of one reading [ppb].")] = 2.0,
    threshold_sigma: Annotated[float, typer.Option(help="Detection threshold [noise σ].")] = 6.0,
    probability: Annotated[float, typer.Option(help="Required detection probability.")] = 0.9,
    stability: Annotated[str, typer.Option(help="Forecast Pasquill class A-F.")] = "D",
    fmt: Annotated[str, typer.Option("--format", help="plan (QGroundControl) or wpl (QGC WPL 110).")] = "plan",
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Plan crosswind legs over an area so that a source of --min-rate-g-s is detected with --probability."""
    from plumetrace.io.areas import read_polygons
    from plumetrace.plan.coverage import CoveragePlanner
    from plumetrace.plan.missions import write_plan

    _check_out(out_path, fmt)
    w = parse_wind(wind)
    for name, v, up in (("--speed-mps", speed_mps, 30.0), ("--endurance-min", endurance_min, 600.0),
                        ("--min-rate-g-s", min_rate_g_s, 1e4), ("--noise-ppb", noise_ppb, 1e6),
                        ("--threshold-sigma", threshold_sigma, 100.0)):
        _positive(name, v, up)
    if not 0 < probability < 1:
        raise InputError(f"--probability: {probability!r} must be in (0, 1)")
    if stability.upper() not in tuple("ABCDEF"):
        raise InputError(f"--stability: {stability!r} is not a Pasquill class A-F")
    polys, frame = read_polygons(area)
    if len(polys) != 1:
        raise InputError(f"the area must be one polygon, not {len(polys)}", area)
    from plumetrace.io.buildings import read_buildings

    foot = read_buildings(buildings, frame)[0] if buildings is not None else []
    air = _airspace(frame, authorized, no_fly, foot, alt_min_m, alt_max_m, polys[0])
    planner = CoveragePlanner(wind=w, min_rate_g_s=min_rate_g_s, species=species.lower(), noise_ppb=noise_ppb,
                              threshold_sigma=threshold_sigma, probability=probability, stability=stability.upper(),
                              speed_mps=speed_mps, endurance_min=endurance_min)
    plan = planner.plan(polys[0], air)
    result = write_plan(plan, air, frame, out_path, fmt, name="coverage")
    _report(result, json_output, f"coverage plan: {len(plan.sorties)} sortie(s)", plan.info)


@plan_app.command("follow-up")
@handle_errors
def follow_up_cmd(
    survey_paths: Annotated[list[Path], typer.Argument(metavar="SURVEY.csv…", help="The surveys so far.")],
    wind: Annotated[str, typer.Option(help="Forecast wind SPEED_MPS@FROM_DEG.")],
    out_path: Annotated[Path, typer.Option("--out", help="The mission file to write (PLAN.plan; KML beside it).")],
    buildings: Annotated[Path | None, typer.Option(help="Buildings (GeoJSON): the plan aims at the building.")]
    = None,
    authorized: Annotated[Path | None, typer.Option(help=AUTH_HELP)] = None,
    no_fly: Annotated[Path | None, typer.Option(help=NOFLY_HELP)] = None,
    alt_min_m: Annotated[float, typer.Option(help="Lowest altitude above take-off [m].")] = 10.0,
    alt_max_m: Annotated[float, typer.Option(help="Highest altitude above take-off [m].")] = 120.0,
    speed_mps: Annotated[float, typer.Option(help="Cruise speed [m/s].")] = 6.0,
    budget_min: Annotated[float, typer.Option(help="Flight time of the plan, transits included [min].")] = 12.0,
    endurance_min: Annotated[float, typer.Option(help="Battery endurance [min].")] = 25.0,
    noise_ppb: Annotated[float, typer.Option(help="Sensor noise of one reading [ppb].")] = 2.0,
    max_targets: Annotated[int, typer.Option(help="Candidates planned for, strongest first.")] = 3,
    fmt: Annotated[str, typer.Option("--format", help="plan (QGroundControl) or wpl (QGC WPL 110).")] = "plan",
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Plan the next flight over the candidates of the surveys' joint posterior (expected information gain)."""
    from plumetrace.io.survey import merge_surveys, read_survey
    from plumetrace.locate import SourceLocator, locator_settings
    from plumetrace.plan.followup import FollowUpPlanner, follow_up_candidates
    from plumetrace.plan.missions import write_plan

    _check_out(out_path, fmt)
    w = parse_wind(wind)
    for name, v, up in (("--speed-mps", speed_mps, 30.0), ("--budget-min", budget_min, 600.0),
                        ("--endurance-min", endurance_min, 600.0), ("--noise-ppb", noise_ppb, 1e6)):
        _positive(name, v, up)
    if max_targets < 1:
        raise InputError("--max-targets must be at least 1")
    with err.status("locating the surveys jointly", spinner="dots") if err.is_terminal else contextlib.nullcontext():
        survey = merge_surveys([read_survey(p) for p in survey_paths])
        air_buildings = None
        if buildings is not None:
            from plumetrace.io.buildings import read_buildings

            air_buildings, _ = read_buildings(buildings, survey.frame)
        loc = SourceLocator(**locator_settings("survey")).fit(survey, air_buildings)
    targets = follow_up_candidates(loc, max_targets)
    from shapely.geometry import MultiPoint

    work = MultiPoint(survey.data[["east", "north"]].to_numpy()[:: max(1, survey.n_samples // 2000)]).convex_hull \
        .buffer(200.0)
    air = _airspace(survey.frame, authorized, no_fly, air_buildings, alt_min_m, alt_max_m, work)
    planner = FollowUpPlanner(wind=w, budget_min=budget_min, speed_mps=speed_mps, noise_ppb=noise_ppb,
                              endurance_min=endurance_min, buildings=air.buildings or None)
    planner.fit(targets, air)
    result = write_plan(planner.plan_, air, survey.frame, out_path, fmt, name="follow-up")
    _report(result, json_output, f"follow-up plan over {len(targets)} target(s)", planner.plan_.info)
