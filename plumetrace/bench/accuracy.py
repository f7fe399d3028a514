"""Accuracy benchmark: simulate every scenario of a suite, run the pipeline, score it against the truth.

The pipeline stages that exist are scored: today detection and chemical attribution
(:mod:`plumetrace.detect`). Localisation metrics (:func:`plumetrace.bench.scoring.score_sources`) join once
the locator exists (issue #6); until then the report says so instead of inventing numbers.
"""

from __future__ import annotations

import fnmatch
import time
from pathlib import Path

import numpy as np

from plumetrace.bench.scoring import (
    SourcePrediction,
    observable_sources,
    scenario_matches,
    score_detection,
    score_sources,
)
from plumetrace.detect import PlumeDetector
from plumetrace.detect.attribution import class_patterns, ratios_pattern
from plumetrace.detect.signatures import load_source_classes
from plumetrace.exceptions import InputError
from plumetrace.geo.crs import LocalFrame
from plumetrace.io.survey import survey_from_dataframe
from plumetrace.locate import SourceLocator
from plumetrace.sim.scenario import load_scenario
from plumetrace.sim.simulate import simulate

#: Localisation scores reported per world.
WORLD_KEYS = ("targets", "targets_found", "found_observable", "targets_observable", "found_encountered",
              "targets_encountered", "localisation_error_median_m", "building_top1", "building_top3",
              "rate_error_factor_median", "credible90_coverage", "false_sites", "false_sites_per_km2")
DEFAULT_SUITE = Path(__file__).resolve().parents[2] / "benchmarks" / "scenarios"
#: Scenario families of the suite (``benchmarks/make_suite.py``), by the scenario name after its number.
FAMILIES = (("stability_", "stability sweep"), ("wind_shift", "patterns and weather"), ("wind_", "wind sweep"),
            ("rate_", "rate sweep"), ("no_target", "no target"), ("source_free", "source-free"),
            ("two_targets", "several targets"), ("three_targets", "several targets"), ("decoys_", "decoys"),
            ("intermittent", "intermittent"), ("lag_", "sensor lag"), ("gps_", "poor GPS"),
            ("puff_", "puff world"), ("lagrangian_", "particle world (held out)"))


def family_of(name: str) -> str:
    """The suite family of a scenario name (``"28_intermittent_20on_40off"`` → ``"intermittent"``).

    >>> family_of("48_lagrangian_D"), family_of("45_wind_shift"), family_of("my_own")
    ('particle world (held out)', 'patterns and weather', 'patterns and weather')
    """
    stem = name.split("_", 1)[1] if name[:1].isdigit() and "_" in name else name
    return next((family for prefix, family in FAMILIES if stem.startswith(prefix)), "patterns and weather")


def scenario_files(suite: str | Path, select: str | None = None) -> list[Path]:
    """YAML files of a suite folder, optionally filtered by a glob on the file stem."""
    folder = Path(suite)
    if not folder.is_dir():
        raise InputError("is not a folder of scenario files", folder)
    files = sorted(folder.glob("*.yaml"))
    if select:
        patterns = [p.strip() for p in select.split(",") if p.strip()]
        files = [f for f in files if any(fnmatch.fnmatch(f.stem, p) for p in patterns)]
    if not files:
        raise InputError(f"has no scenario files{' matching ' + repr(select) if select else ''}", folder)
    return files


def run_scenario(path: Path, k_sigma: float = 5.0, locate: bool = True, locator_params=None) -> dict:
    """Simulate one scenario, detect and attribute, and score; returns a row of the report.

    ``locator_params``: keyword arguments of :class:`~plumetrace.locate.SourceLocator`, or a function of the
    scenario's truth (``truth.json`` content) returning them — an oracle ablation (the true weather given).
    """
    t0 = time.perf_counter()
    sc, base = load_scenario(path)
    sim = simulate(sc, path, base)
    t_sim = time.perf_counter() - t0
    channels = [c for c in sim.survey.columns if c.endswith(("_ppm", "_ppb"))]
    frame = LocalFrame(sc.origin.lat, sc.origin.lon)
    survey = survey_from_dataframe(sim.survey, channels, path, frame)
    lags = {}
    sigma = {}
    for platform in sim.truth["platforms"]:
        for sensor in platform["sensors"]:
            lags[sensor["column"]] = sensor["lag_s"]
            sigma[sensor["column"]] = sensor["noise"]
    t1 = time.perf_counter()
    detector = PlumeDetector(lags=lags).fit(survey)
    t_detect = time.perf_counter() - t1
    species = [c.rsplit("_", 1)[0] for c in survey.channels]
    patterns = {p.key: p for p in class_patterns(load_source_classes(), species)}
    emitters = {s["id"]: (s["class"], ratios_pattern(s["primary"], s["ratios"], species))
                for s in sim.truth["sources"]}
    scores = score_detection(detector.events_, sim.enhancement, sigma, emitters, patterns,
                             detector.flight_hours_, k_sigma)
    encountered = set(scores.pop("sources_encountered"))
    observable = observable_sources(sim.enhancement, sigma)
    predictions, t_locate = None, None
    if locate:
        t2 = time.perf_counter()
        params = locator_params(sim.truth) if callable(locator_params) else locator_params
        locator = SourceLocator(**{"lags": lags, **(params or {})}).fit(survey, sim.town.buildings)
        t_locate = time.perf_counter() - t2
        predictions = [
            SourcePrediction(east=e.east, north=e.north, rate_g_s=e.rate_g_s, species=e.species,
                             credible90_radius_m=e.credible90_radius_m, credible90=None,
                             source_class=e.source_class, building_id=e.building_id,
                             buildings_top=[b for b, _ in e.buildings_top])
            for e in locator.sources_
        ]
    return {
        "scenario": sc.name, "world": sc.atmosphere.model, "family": family_of(sc.name),
        "stability": str(sim.truth.get("weather", {}).get("stability", sc.atmosphere.stability)),
        "samples": len(sim.survey), "emitters": len(sim.emitters),
        "targets": sum(e.target for e in sim.emitters), "source_free": len(sim.emitters) == 0,
        **scores, "seconds_simulate": t_sim, "seconds_detect": t_detect, "seconds_locate": t_locate,
        "targets_encountered": sorted(e.id for e in sim.emitters if e.target and e.id in encountered),
        "targets_observable": sorted(e.id for e in sim.emitters if e.target and e.id in observable),
        "_predictions": predictions, "_truth": sim.truth,
    }


def run_accuracy(suite: str | Path = DEFAULT_SUITE, select: str | None = None, progress: bool = True,
                 k_sigma: float = 5.0, locate: bool = True, locator_params=None) -> dict:
    """Run the accuracy benchmark on a suite and aggregate (JSON-ready).

    ``locator_params`` are keyword arguments of :class:`~plumetrace.locate.SourceLocator` (for ablations), or
    a function of each scenario's truth returning them (:func:`run_scenario`).
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    files = scenario_files(suite, select)
    rows = []
    t0 = time.perf_counter()
    with Progress(TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(),
                  console=Console(stderr=True), disable=not progress, transient=True) as bar:
        task = bar.add_task("accuracy", total=len(files))
        for f in files:
            bar.update(task, description=f"accuracy: {f.stem}")
            rows.append(run_scenario(f, k_sigma, locate, locator_params))
            bar.advance(task)
    localisation = None
    if locate:
        localisation = _score_rows(rows)
        localisation["median_seconds_locate"] = float(np.median([r["seconds_locate"] for r in rows]))
        # per world (the default meandering Gaussian, puffs, and the held-out Lagrangian particle world), per
        # family of the suite and per true stability class
        for group, key in (("by_world", "world"), ("by_family", "family"), ("by_stability", "stability")):
            localisation[group] = {}
            for value in sorted({r[key] for r in rows}):
                sel = [r for r in rows if r[key] == value]
                sub = _score_rows(sel)
                localisation[group][value] = {k: sub.get(k) for k in WORLD_KEYS} | {"scenarios": len(sel)}
    for r in rows:
        preds = r.pop("_predictions")
        truth = r.pop("_truth")
        r["sources_predicted"] = None if preds is None else len(preds)
        if preds is not None:  # which targets were found, which missed, and where the false sites are
            r["localisation"] = scenario_matches(preds, truth)
    return {"suite": str(suite), "scenarios": rows, "summary": summarise(rows), "localisation": localisation,
            "notes": [] if locate else ["localisation skipped (--no-locate)"],
            "seconds": time.perf_counter() - t0}


def _score_rows(rows: list[dict]) -> dict:
    """Localisation scores of some scenario rows (their predictions against their truths)."""
    return score_sources([r["_predictions"] for r in rows], [r["_truth"] for r in rows],
                         encountered=[set(r["targets_encountered"]) for r in rows],
                         observable=[set(r["targets_observable"]) for r in rows])


def summarise(rows: list[dict]) -> dict:
    """Aggregate detection and attribution scores over scenarios."""
    enc = sum(r["encounters"] for r in rows)
    rec = sum(r["recalled"] for r in rows)
    free = [r for r in rows if r["source_free"]]
    free_hours = sum(r["flight_hours"] for r in free)
    hours = sum(r["flight_hours"] for r in rows)
    labelled = sum(r["labelled"] for r in rows)
    attributed = sum(r["attributed"] for r in rows)
    confusion: dict[str, dict[str, int]] = {}
    for r in rows:
        for t, preds in r["confusion"].items():
            row = confusion.setdefault(t, {})
            for p, n in preds.items():
                row[p] = row.get(p, 0) + n
    return {
        "hit_recall": rec / enc if enc else None, "encounters": enc, "recalled": rec,
        "false_events_per_hour_source_free": (sum(r["false_events"] for r in free) / free_hours
                                              if free_hours else None),
        "false_events_per_hour_all": sum(r["false_events"] for r in rows) / hours if hours else None,
        "flight_hours": hours,
        "attribution_accuracy": sum(r["correct"] for r in rows) / labelled if labelled else None,
        "attribution_exact": sum(r["exact"] for r in rows) / labelled if labelled else None,
        "attribution_mixed_events": sum(r["mixed"] for r in rows),
        "attribution_labelled_fraction": labelled / attributed if attributed else None,
        "attribution_confusion": confusion,
        "median_seconds_detect": float(np.median([r["seconds_detect"] for r in rows])) if rows else None,
        "median_seconds_simulate": float(np.median([r["seconds_simulate"] for r in rows])) if rows else None,
    }


def render_accuracy(report: dict, console) -> None:
    """Rich tables of the report."""
    from rich.table import Table

    table = Table(title="Accuracy per scenario (detection and attribution)", title_justify="left")
    for col in ("scenario", "emitters", "encounters ≥5σ", "recalled", "events", "false", "labelled", "correct",
                "sim s", "detect s"):
        table.add_column(col, justify="left" if col == "scenario" else "right")
    for r in report["scenarios"]:
        table.add_row(r["scenario"], str(r["emitters"]), str(r["encounters"]), str(r["recalled"]), str(r["events"]),
                      str(r["false_events"]), str(r["labelled"]), str(r["correct"]), f"{r['seconds_simulate']:.2f}",
                      f"{r['seconds_detect']:.2f}")
    console.print(table)
    s = report["summary"]

    def pct(v):
        return "–" if v is None else f"{100 * v:.1f} %"

    def num(v, fmt=".2f"):
        return "–" if v is None else format(v, fmt)

    console.print(
        f"hit recall (peak ≥ 5σ): [bold]{pct(s['hit_recall'])}[/] of {s['encounters']} encounters; false events "
        f"per flight hour: {num(s['false_events_per_hour_source_free'])} on source-free surveys, "
        f"{num(s['false_events_per_hour_all'])} overall; attribution accuracy [bold]{pct(s['attribution_accuracy'])}"
        f"[/] of labelled single-source events (exact class {pct(s['attribution_exact'])}; "
        f"{pct(s['attribution_labelled_fraction'])} labelled, {s['attribution_mixed_events']} mixed events left out)",
        markup=True)
    conf = s["attribution_confusion"]
    labels = sorted({p for row in conf.values() for p in row} | set(conf))
    t2 = Table(title="Attribution confusion (rows: true class, columns: predicted)", title_justify="left")
    t2.add_column("true \\ predicted")
    for lab in labels:
        t2.add_column(lab[:10], justify="right")
    for t in sorted(conf):
        t2.add_row(t, *[str(conf[t].get(p, 0) or "") for p in labels])
    console.print(t2)
    loc = report.get("localisation")
    if loc:
        t3 = Table(title="Localisation (targets matched within 50 m)", title_justify="left")
        t3.add_column("metric")
        t3.add_column("value", justify="right")
        rows = [("targets found", f"{loc['targets_found']} of {loc['targets']} ({pct(loc['detection_probability'])})"),
                ("… of targets observable (strongest plume of a sample ≥ 1σ)",
                 f"{loc.get('found_observable', '–')} of {loc.get('targets_observable', '–')} "
                 f"({pct(loc.get('detection_probability_observable'))}; ceiling {pct(loc.get('found_ceiling'))})"),
                ("… of targets encountered ≥ 5σ", f"{loc.get('found_encountered', '–')} of "
                                                   f"{loc.get('targets_encountered', '–')} "
                                                   f"({pct(loc.get('detection_probability_encountered'))})"),
                ("error median / p90 [m]", f"{num(loc['localisation_error_median_m'], '.1f')} / "
                                           f"{num(loc['localisation_error_p90_m'], '.1f')}"),
                ("building top-1 / top-3", f"{pct(loc['building_top1'])} / {pct(loc['building_top3'])}"),
                ("rate error factor (median)", num(loc["rate_error_factor_median"])),
                ("90 % region coverage", pct(loc["credible90_coverage"])),
                ("false sites per km²", num(loc["false_sites_per_km2"])),
                ("median seconds to locate", num(loc["median_seconds_locate"], ".1f"))]
        for name, value in rows:
            t3.add_row(name, value)
        console.print(t3)
        for group, title in (("by_world", "world (lagrangian: the held-out particle world)"),
                             ("by_family", "family"), ("by_stability", "true stability class")):
            groups = loc.get(group) or {}
            if not groups:
                continue
            t4 = Table(title=f"Localisation per {title}", title_justify="left")
            for col in (group[3:], "scenarios", "found", "observable", "≥ 5σ", "median m", "top-1", "top-3",
                        "90 % coverage", "false sites"):
                t4.add_column(col, justify="left" if col == group[3:] else "right")
            for w, v in groups.items():
                t4.add_row(w, str(v["scenarios"]), f"{v['targets_found']}/{v['targets']}",
                           f"{v.get('found_observable', '–')}/{v.get('targets_observable', '–')}",
                           f"{v.get('found_encountered', '–')}/{v.get('targets_encountered', '–')}",
                           num(v["localisation_error_median_m"], ".1f"), pct(v["building_top1"]),
                           pct(v["building_top3"]), pct(v["credible90_coverage"]), str(v.get("false_sites", "–")))
            console.print(t4)
    for note in report["notes"]:
        console.print(f"note: {note}", style="dim")
