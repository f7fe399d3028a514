"""`plumetrace analyze`, `sites` and the exports, end to end on the embedded SQLite store."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from plumetrace.cli import app
from plumetrace.io.export import write_geoparquet_samples, write_html_map, write_sites_geojson, write_sites_kml
from tests.fuse.weak import weak_surveys

runner = CliRunner()


@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    d = tmp_path_factory.mktemp("campaign")
    paths, lab = weak_surveys(d, rate_g_s=0.3, n=2, seed=300)  # survey 1 alone: toluene at 10.6 nats
    return d, paths, lab


def test_analyze_then_sites(campaign, tmp_path):
    d, paths, lab = campaign
    db = f"sqlite:///{tmp_path / 'c.db'}"
    bad = tmp_path / "broken.csv"
    bad.write_text("time,lat,lon,alt_m,ch4_ppm\n1,52.09,5.12,20,abc\n")
    r = runner.invoke(app, ["analyze", *map(str, paths), str(bad), "--db", db, "--json"])
    assert r.exit_code == 2, r.output  # the broken file is reported ...
    assert "broken.csv" in r.stderr and "line 2" in r.stderr
    report = json.loads(r.stdout)
    assert report["ingested"] == 2 and report["counts"]["surveys"] == 2  # ... and loses nothing else
    assert report["sites"] and report["sites"][0]["status"] == "confirmed"
    top = report["sites"][0]
    from plumetrace.geo.crs import geodesic_distance_m

    assert geodesic_distance_m(top["lat"], top["lon"], lab["lat"], lab["lon"]) < 20
    again = runner.invoke(app, ["analyze", *map(str, paths), "--db", db, "--json"])
    assert again.exit_code == 0 and json.loads(again.stdout)["skipped_already_stored"] == 2
    s = runner.invoke(app, ["sites", "--db", db, "--json", "--geojson", str(tmp_path / "s.geojson"), "--kml",
                            str(tmp_path / "s.kml")])
    assert s.exit_code == 0
    assert [x["id"] for x in json.loads(s.stdout)["sites"]] == [x["id"] for x in report["sites"]]
    gj = json.loads((tmp_path / "s.geojson").read_text())
    assert gj["type"] == "FeatureCollection" and any(f["properties"]["kind"] == "credible90" for f in gj["features"])
    ET.parse(tmp_path / "s.kml")  # well-formed KML
    human = runner.invoke(app, ["sites", "--db", db])
    assert human.exit_code == 0 and "target classes first" in human.stdout


def test_analyze_refuses_flight_logs_and_missing_files(tmp_path, campaign):
    import pandas as pd

    from plumetrace.sim.logs import track_from_survey, write_tlog

    _, paths, _ = campaign
    log = write_tlog(tmp_path / "f.tlog", track_from_survey(pd.read_csv(paths[0]).head(600)))
    r = runner.invoke(app, ["analyze", str(log), "--db", f"sqlite:///{tmp_path / 'x.db'}"])
    assert r.exit_code == 2 and "plumetrace convert" in r.stderr
    r = runner.invoke(app, ["analyze", str(tmp_path / "nope.csv"), "--db", f"sqlite:///{tmp_path / 'x.db'}"])
    assert r.exit_code == 2 and "not found" in r.stderr
    r = runner.invoke(app, ["analyze", str(paths[0]), "--workers", "2", "--scheduler", "tcp://x:1"])
    assert r.exit_code == 2 and "not both" in r.stderr


def test_exports(campaign, tmp_path):
    _, paths, _ = campaign
    site = {"id": 1, "lat": 52.0906, "lon": 5.1210, "credible90_radius_m": 12.0, "channels": ["acetone_ppb"],
            "species": ["acetone"], "log_bayes": 20.0, "confidence": 0.99, "status": "confirmed",
            "activity": "active", "class": "clandestine_lab", "building_id": "b3", "rate_g_s": 0.1,
            "first_seen": 1.0, "last_seen": 2.0, "n_covering": 2, "n_detected": 2, "history": [], "retired": False}
    hit = {"lat": 52.0907, "lon": 5.1212, "t_start": 1.0, "channels": ["acetone_ppb"], "peak_sigma": 7.0,
           "source_class": "unknown", "class_probability": 0.3}
    gj = json.loads(write_sites_geojson(tmp_path / "a.geojson", [site], [hit]).read_text())
    ring = next(f for f in gj["features"] if f["properties"]["kind"] == "credible90")["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] and len(ring) > 40
    root = ET.parse(write_sites_kml(tmp_path / "a.kml", [site], paths, [hit])).getroot()
    names = [e.text for e in root.iter("{http://www.opengis.net/kml/2.2}name")]
    assert "Sites" in names and "Flight tracks (colour: enhancement)" in names
    t = pq.read_table(write_geoparquet_samples(tmp_path / "s.parquet", paths))
    geo = json.loads(t.schema.metadata[b"geo"])
    assert geo["primary_column"] == "geometry" and geo["columns"]["geometry"]["encoding"] == "WKB"
    assert t.num_rows == sum(len(pd_rows) for pd_rows in (open(p).readlines()[1:] for p in paths))
    html = write_html_map(tmp_path, [site], paths).read_text()
    assert "leaflet/leaflet.js" in html and (tmp_path / "leaflet" / "leaflet.js").exists()
    assert "http://" not in html and "https://" not in html  # offline: no tiles, no CDN


def test_dask_workers_give_the_same_store_as_in_process(campaign, tmp_path):
    from plumetrace.pipeline import dask_executor, run_campaign
    from plumetrace.store import Store

    _, paths, _ = campaign
    serial = Store(f"sqlite:///{tmp_path / 'serial.db'}")
    run_campaign(paths, serial, progress=False)
    parallel = Store(f"sqlite:///{tmp_path / 'dask.db'}")
    with dask_executor(2) as (executor, memory):
        summary = run_campaign(paths, parallel, executor=executor, worker_memory=memory, workers=2, progress=False)
    assert summary.ingested == 2 and summary.workers == 2 and summary.peak_rss_mb > 50
    assert parallel.counts() == serial.counts()

    def comparable(sites):  # survey ids follow the order results arrive in: compare by survey time instead
        return [{**{k: v for k, v in s.items() if k not in ("id", "history")},
                 "history": [(h["time"], h["log_bf"], h["detected"]) for h in s["history"]]} for s in sites]

    assert comparable(parallel.sites()) == comparable(serial.sites())


def test_locate_and_analyze_give_the_same_estimate_by_default(campaign, tmp_path):
    """One configuration: the top estimate of `locate --json` and the site `analyze` stores for the same survey lie
    within 2 m of each other, and both name the preset they used."""
    from plumetrace.geo.crs import geodesic_distance_m

    _, paths, lab = campaign
    loc = runner.invoke(app, ["locate", str(paths[0]), "--json"])
    assert loc.exit_code == 0, loc.output
    located = json.loads(loc.stdout)
    assert located["preset"] == "survey" and located["sources"]
    top = located["sources"][0]
    assert geodesic_distance_m(top["lat"], top["lon"], lab["lat"], lab["lon"]) < 30  # it found the lab
    ana = runner.invoke(app, ["analyze", str(paths[0]), "--db", f"sqlite:///{tmp_path / 'one.db'}", "--json"])
    assert ana.exit_code == 0, ana.output
    analysed = json.loads(ana.stdout)
    assert analysed["preset"] == "campaign"
    site = analysed["sites"][0]
    assert float(geodesic_distance_m(top["lat"], top["lon"], site["lat"], site["lon"])) <= 2.0
    assert site["credible90_radius_m"] == pytest.approx(top["credible90_radius_m"], rel=0.5)
