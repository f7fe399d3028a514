"""`plumetrace demo` (contract 5, docs/formats.md): a hidden lab, three days of flights, the pipeline, a report.

A town, a hidden lab among benign emitters, three days of flights, the whole pipeline on the embedded SQLite
store, a follow-up flight planned over the top candidate and flown, ranked sites against the truth, and a report
folder.

Day 1 builds a grid town and hides a clandestine lab in a random house with benign emitters (bakery, paint
shop, dry cleaner, sewer, traffic) around it; days 2 and 3 fly the same town (its footprints file) with the
same emitters under other winds. Each day's survey goes through detection, localisation and the store; the
sites are fused across days, ranked, and compared with every emitter's true position. Then the follow-up: the
coverage days are located jointly, a 12-minute flight is planned over the top candidate (the lab class first) by
expected information gain (:mod:`plumetrace.plan.followup`), flown in the last day's world an hour later, added
to the store, and all surveys located jointly name the candidate's building with its probability.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

DAYS = ((3.5, 250.0, "D"), (4.0, 205.0, "D"), (3.0, 290.0, "C"))
SENSORS = ["ch4_ppm", "co2_ppm", "co_ppm", "voc_ppb", "acetone_ppb", "toluene_ppb", "methanol_ppb",
           "dichloromethane_ppb", "ethanol_ppb", "hcl_ppb", "nh3_ppb"]


@dataclass
class DemoResult:
    """What the demo produced."""

    out: Path
    report: Path
    db_url: str
    sites: list  # ranked, with the nearest true emitter and the distance to it
    lab: dict
    seconds: float
    summary: object
    follow_up: dict | None = None

    @property
    def lab_error_m(self) -> float | None:
        """Distance from the top-ranked site to the hidden lab [m]."""
        return self.sites[0]["lab_distance_m"] if self.sites else None


def day_scenario(day: int, seed: int, base: dict | None = None, town_file: str | None = None,
                 truth: dict | None = None) -> dict:
    """The scenario mapping of day ``day`` (0-based); days after the first reuse day 1's town and emitters."""
    speed, wind_from, stability = DAYS[day % len(DAYS)]
    start = datetime(2026, 6, 16, 10, 0) + timedelta(days=day)
    sc = {
        "name": f"demo_day{day + 1}", "description": "plumetrace demo: a lab hidden among benign emitters",
        "seed": seed * 10 + day, "origin": {"lat": 52.0907, "lon": 5.1214}, "start": start.isoformat() + "Z",
        "atmosphere": {"wind_speed": f"{speed} m/s", "wind_from": f"{wind_from} deg", "stability": stability},
        "flights": [{"platform": "uav-1", "pattern": "lawnmower", "altitudes": ["20 m"], "spacing": "30 m",
                     "speed": "8 m/s", "sensors": SENSORS}],
    }
    if day == 0:
        sc["town"] = {"blocks": [4, 3]}
        sc["sources"] = [{"id": "lab", "class": "clandestine_lab", "building": "random_house", "rate": "0.1 g/s"}]
        sc["decoys"] = {"count": 6, "near_targets": "60 m"}
    else:
        sc["town"] = {"footprints": town_file}
        sc["sources"] = [{"id": s["id"], "class": s["class"], "building": s["building_id"],
                          "rate": f"{s['rates_g_s'][s['primary']]} g/s"}
                         for s in truth["sources"] if s.get("building_id")]
    return sc


def run_demo(out: str | Path = "plumetrace-demo", seed: int = 7, days: int = 3, progress: bool = True,
             console=None, locator: dict | None = None, follow_up: bool = True) -> DemoResult:
    """Simulate, analyse, fuse, plan and fly the follow-up, and report (see the module docstring)."""
    import yaml

    from plumetrace.geo.crs import geodesic_distance_m
    from plumetrace.pipeline import run_campaign
    from plumetrace.sim.scenario import load_scenario
    from plumetrace.sim.sensors import CATALOGUE
    from plumetrace.sim.simulate import simulate, write_simulation
    from plumetrace.store import Store

    t0 = time.perf_counter()
    out = Path(out)
    flights = out / "flights"
    flights.mkdir(parents=True, exist_ok=True)
    truth = town_file = None
    surveys = []
    for day in range(days):
        folder = flights / f"day{day + 1}"
        folder.mkdir(exist_ok=True)
        sc_path = folder / "scenario.yaml"
        sc_path.write_text(yaml.safe_dump(day_scenario(day, seed, town_file=town_file, truth=truth), sort_keys=False))
        sc, base = load_scenario(sc_path)
        sim = simulate(sc, sc_path, base)
        write_simulation(sim, folder)
        if day == 0:
            truth = sim.truth
            town_file = str((folder / "buildings.geojson").resolve())
        surveys.append(folder / "survey.csv")
    db = out / "plumetrace.db"
    if db.exists():
        db.unlink()
    url = f"sqlite:///{db}"
    store = Store(url)
    lags = {c: CATALOGUE[c].lag for c in SENSORS if CATALOGUE[c].lag > 1.0}
    summary = run_campaign(surveys, store, locator={"lags": lags, **(locator or {})}, buildings=town_file,
                           progress=progress,
                           console=console)
    follow = None
    if follow_up:
        say = (console.print if console is not None and progress else (lambda *a, **k: None))
        say("planning the follow-up flight over the top candidate")
        top = summary.sites[0] if summary.sites else None
        follow = _follow_up(out, surveys, town_file, truth, flights / f"day{days}" / "scenario.yaml", lags, top)
        if follow is not None:
            store.add_plan("follow-up", "follow-up", follow["flight_min"], follow["plan_paths"],
                           document=json.loads(Path(follow["plan"]).read_text()),
                           meta={"candidate": follow["candidate"], "expected_gain_nats": follow["expected_gain_nats"]})
            surveys.append(Path(follow["survey"]))
            summary = run_campaign([Path(follow["survey"])], store, locator={"lags": lags, **(locator or {})},
                                   buildings=town_file, progress=progress, console=console)
    emitters = [s for s in truth["sources"]]
    lab = next(s for s in emitters if s["id"] == "lab")
    ranked = []
    for site in summary.sites:
        d = {s["id"]: float(geodesic_distance_m(site["lat"], site["lon"], s["lat"], s["lon"])) for s in emitters}
        nearest = min(d, key=d.get)
        ranked.append({**site, "nearest_emitter": nearest,
                       "nearest_class": next(s["class"] for s in emitters if s["id"] == nearest),
                       "nearest_distance_m": d[nearest], "lab_distance_m": d["lab"]})
    report = out / "report"
    write_report(report, store, ranked, truth, surveys, town_file, follow["plan_paths"] if follow else None)
    return DemoResult(out, report, url, ranked, lab, time.perf_counter() - t0, summary, follow)


#: Follow-up flight time [min] and how long after the last coverage flight it flies [s].
FOLLOW_UP_BUDGET_MIN = 12.0
FOLLOW_UP_DELAY_S = 3600.0


def _follow_up(out: Path, surveys: list, town_file: str, truth: dict, last_scenario: Path, lags: dict,
               top_site: dict | None) -> dict | None:
    """Plan the follow-up over the top candidate of the coverage days, fly it, locate everything jointly.

    The candidate is the one of the coverage surveys' joint posterior (:func:`follow_up_candidates`) nearest the
    campaign's top-ranked site (the first, the lab class first, without sites); the forecast is the last day's
    wind; the flight is that day's world an hour later. Returns the plan's files, the follow-up survey, and the
    building the joint posterior of all surveys names for the candidate (with its probability), or None when the
    coverage shows no candidate.
    """
    from shapely.geometry import MultiPoint

    from plumetrace.geo.crs import LocalFrame
    from plumetrace.io.buildings import read_buildings
    from plumetrace.io.survey import merge_surveys, read_survey
    from plumetrace.locate import SourceLocator
    from plumetrace.plan.airspace import Airspace
    from plumetrace.plan.followup import FollowUpPlanner, follow_up_candidates
    from plumetrace.plan.missions import write_plan
    from plumetrace.sim.scenario import load_scenario
    from plumetrace.sim.simulate import follow_up_scenario, simulate, write_simulation

    sc, base = load_scenario(last_scenario)
    frame = LocalFrame(sc.origin.lat, sc.origin.lon)
    coverage = merge_surveys([read_survey(p, frame) for p in surveys], frame)
    buildings, _ = read_buildings(town_file, frame)
    cands = follow_up_candidates(SourceLocator(lags=lags).fit(coverage, buildings), 10)
    if not cands:
        return None
    if top_site is not None:
        te, tn = frame.to_local(top_site["lat"], top_site["lon"])
        cands = [min(cands, key=lambda c: float((c.mean[0] - te) ** 2 + (c.mean[1] - tn) ** 2))]
    cands = cands[:1]
    wind = (sc.atmosphere.wind_speed, sc.atmosphere.wind_from)
    work = MultiPoint(coverage.data[["east", "north"]].to_numpy()[::50]).convex_hull.buffer(200.0)
    air = Airspace(None, [], 10.0, 120.0, buildings=buildings, work_area=work)
    planner = FollowUpPlanner(wind=wind, budget_min=FOLLOW_UP_BUDGET_MIN, buildings=buildings).fit(cands, air)
    folder = out / "follow-up"
    folder.mkdir(exist_ok=True)
    files = write_plan(planner.plan_, air, frame, folder / "follow-up.plan", name="follow-up")
    fsc = follow_up_scenario(sc, [s.path for s in planner.plan_.sorties], planner.speed_mps, FOLLOW_UP_DELAY_S)
    flown = out / "flights" / "follow-up"
    write_simulation(simulate(fsc, last_scenario, base), flown)
    joint = merge_surveys([coverage, read_survey(flown / "survey.csv", frame)], frame)
    loc = SourceLocator(lags=lags).fit(joint, buildings)
    target = cands[0].mean
    near = min(loc.sources_, key=lambda e: (e.east - target[0]) ** 2 + (e.north - target[1]) ** 2, default=None)
    lab_e, lab_n = _lab_east(truth, frame)
    plan_paths = []
    for s in planner.plan_.sorties:
        la, lo = frame.to_wgs84(s.path[:, 0], s.path[:, 1])
        plan_paths.append([[float(a), float(b)] for a, b in zip(la, lo, strict=True)])
    return {"plan": files["plan"], "kml": files["kml"], "flight_min": files["flight_min"],
            "expected_gain_nats": planner.gain_, "survey": str(flown / "survey.csv"), "plan_paths": plan_paths,
            "candidate": {"name": cands[0].name, "species": cands[0].species},
            "building_id": near.building_id if near else None,
            "building_probability": near.building_probability if near else None,
            "buildings_top": near.buildings_top if near else [],
            "credible90_radius_m": near.credible90_radius_m if near else None,
            "class": near.source_class if near else None,
            "lab_distance_m": float(((near.east - lab_e) ** 2 + (near.north - lab_n) ** 2) ** 0.5) if near else None}


def _lab_east(truth: dict, frame) -> tuple[float, float]:
    """The hidden lab's position in ``frame`` [m]."""
    lab = next(s for s in truth["sources"] if s["id"] == "lab")
    e, n = frame.to_local(lab["lat"], lab["lon"])
    return float(e), float(n)


def write_report(folder: Path, store, ranked: list, truth: dict, surveys: list, buildings: str | None,
                 plans: list | None = None) -> None:
    """The report folder: index.html (offline Leaflet map), sites.geojson, sites.kml, samples.parquet."""
    from plumetrace.io.export import write_geoparquet_samples, write_html_map, write_sites_geojson, write_sites_kml

    folder.mkdir(parents=True, exist_ok=True)
    write_sites_geojson(folder / "sites.geojson", ranked, store.hits())
    write_sites_kml(folder / "sites.kml", ranked, surveys, store.hits())
    write_geoparquet_samples(folder / "samples.parquet", surveys)
    write_html_map(folder, ranked, surveys, buildings, truth, plans)
    (folder / "truth.json").write_text(json.dumps(truth, indent=1))


def sites_table(ranked: list, lab: dict):
    """A rich table of the ranked sites with their error against the truth."""
    from rich.table import Table

    table = Table(title="sites, strongest evidence first (distance to the hidden truth)", title_justify="left")
    for col in ("#", "status", "confidence", "class", "channels", "seen", "building", "nearest emitter",
                "to lab m"):
        table.add_column(col, justify="right" if col in ("#", "confidence", "to lab m", "seen") else "left")
    for k, s in enumerate(ranked, start=1):
        table.add_row(str(k), s["status"], f"{s['confidence']:.2f}", s["class"], ", ".join(s["channels"][:3]),
                      f"{s['n_detected']}/{s['n_covering']}", s["building_id"] or "–",
                      f"{s['nearest_emitter']} ({s['nearest_class']}, {s['nearest_distance_m']:.0f} m)",
                      f"{s['lab_distance_m']:.1f}")
    return table
