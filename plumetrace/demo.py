"""`plumetrace demo` (contract 5, docs/formats.md): a hidden lab, three days of flights, the pipeline, a report.

A town, a hidden lab among benign emitters, three days of flights, the whole pipeline on the embedded SQLite
store, ranked sites against the truth, and a report folder.

Day 1 builds a grid town and hides a clandestine lab in a random house with benign emitters (bakery, paint
shop, dry cleaner, sewer, traffic) around it; days 2 and 3 fly the same town (its footprints file) with the
same emitters under other winds. Each day's survey goes through detection, localisation and the store; the
sites are fused across days, ranked, and compared with every emitter's true position.
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
             console=None, locator: dict | None = None) -> DemoResult:
    """Simulate, analyse, fuse and report (see the module docstring)."""
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
    write_report(report, store, ranked, truth, surveys, town_file)
    return DemoResult(out, report, url, ranked, lab, time.perf_counter() - t0, summary)


def write_report(folder: Path, store, ranked: list, truth: dict, surveys: list, buildings: str | None) -> None:
    """The report folder: index.html (offline Leaflet map), sites.geojson, sites.kml, samples.parquet."""
    from plumetrace.io.export import write_geoparquet_samples, write_html_map, write_sites_geojson, write_sites_kml

    folder.mkdir(parents=True, exist_ok=True)
    write_sites_geojson(folder / "sites.geojson", ranked, store.hits())
    write_sites_kml(folder / "sites.kml", ranked, surveys, store.hits())
    write_geoparquet_samples(folder / "samples.parquet", surveys)
    write_html_map(folder, ranked, surveys, buildings, truth)
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
