"""``plumetrace plan coverage|follow-up`` and ``simulate --plan`` (contract 7): files, JSON, exit codes."""

import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from plumetrace.cli import app
from plumetrace.geo.crs import LocalFrame
from plumetrace.io.mission import read_qgc_plan
from tests.locate.test_joint import _write
from tests.locate.test_locator import synthetic_survey

FRAME = LocalFrame(52.0, 5.0)
runner = CliRunner()


def polygon_file(path: Path, rings) -> Path:
    feats = []
    for ring in rings:
        lat, lon = FRAME.to_wgs84(np.array([p[0] for p in ring]), np.array([p[1] for p in ring]))
        coords = [[float(b), float(a)] for a, b in zip(lat, lon, strict=True)]
        feats.append({"type": "Feature", "properties": {}, "geometry": {"type": "Polygon",
                                                                        "coordinates": [coords + [coords[0]]]}})
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    return path


def square(c, h):
    return [(c[0] - h, c[1] - h), (c[0] + h, c[1] - h), (c[0] + h, c[1] + h), (c[0] - h, c[1] + h)]


def test_plan_coverage_writes_a_plan_a_kml_and_json(tmp_path):
    area = polygon_file(tmp_path / "area.geojson", [square((0, 0), 250)])
    auth = polygon_file(tmp_path / "auth.geojson", [square((0, 0), 700)])
    nofly = polygon_file(tmp_path / "nofly.geojson", [square((100, 50), 30)])
    r = runner.invoke(app, ["plan", "coverage", "--area", str(area), "--wind", "4@250", "--authorized", str(auth),
                            "--no-fly", str(nofly), "--min-rate-g-s", "0.2", "--out", str(tmp_path / "c.plan"),
                            "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert {"plan", "flight_min", "waypoints", "targets"} <= set(d)
    assert Path(d["plan"]).exists() and (tmp_path / "c.kml").exists()
    missions = [read_qgc_plan(p) for p in d["sorties"]]
    assert all(m.authorised is not None and len(m.no_fly) == 1 for m in missions)
    assert sum(len(m.waypoints) for m in missions) == d["waypoints"]


def test_impossible_coverage_exits_2_naming_the_limit(tmp_path):
    area = polygon_file(tmp_path / "area.geojson", [square((0, 0), 250)])
    auth = polygon_file(tmp_path / "auth.geojson", [square((0, 0), 100)])
    r = runner.invoke(app, ["plan", "coverage", "--area", str(area), "--wind", "4@250", "--authorized", str(auth),
                            "--out", str(tmp_path / "c.plan")])
    assert r.exit_code == 2 and "--authorized" in r.stderr
    assert not (tmp_path / "c.plan").exists()  # nothing written
    r = runner.invoke(app, ["plan", "coverage", "--area", str(area), "--wind", "4@250", "--alt-min-m", "90",
                            "--alt-max-m", "50", "--out", str(tmp_path / "c.plan")])
    assert r.exit_code == 2 and "--alt-min-m" in r.stderr
    bad = tmp_path / "bad.geojson"
    bad.write_text('{"type": "Point", "coordinates": [5, 52]}')
    r = runner.invoke(app, ["plan", "coverage", "--area", str(bad), "--wind", "4@250",
                            "--out", str(tmp_path / "c.plan")])
    assert r.exit_code == 2 and "bad.geojson" in r.stderr


def test_plan_follow_up_over_a_weak_candidate(tmp_path):
    weak = _write(synthetic_survey(0.003, seed=3, rate=0.025), tmp_path / "weak.csv")
    r = runner.invoke(app, ["plan", "follow-up", str(weak), "--wind", "4@270", "--budget-min", "8",
                            "--out", str(tmp_path / "f.plan"), "--format", "wpl", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["flight_min"] <= 8.0 and d["targets"][0]["name"] == "candidate 1"
    assert (tmp_path / "f.plan").read_text().startswith("QGC WPL 110")
    r = runner.invoke(app, ["plan", "follow-up", str(weak), "--wind", "4@270", "--budget-min", "0.1",
                            "--out", str(tmp_path / "g.plan")])
    assert r.exit_code == 2 and "--budget-min" in r.stderr


def test_simulate_flies_a_plan_in_the_same_world(tmp_path):
    from plumetrace.io.mission import Mission, write_qgc_plan

    scenario = Path(__file__).resolve().parents[2] / "benchmarks" / "scenarios" / "14_rate_0p1.yaml"
    base = tmp_path / "base"
    assert runner.invoke(app, ["simulate", str(scenario), "--out", str(base)]).exit_code == 0
    truth = json.loads((base / "truth.json").read_text())
    frame = LocalFrame(52.0907, 5.1214)
    lat, lon = frame.to_wgs84(np.array([0.0, 200.0, 200.0]), np.array([0.0, 0.0, 100.0]))
    wps = [(float(a), float(b), 15.0) for a, b in zip(lat, lon, strict=True)]
    m = Mission(home=(float(lat[0]), float(lon[0])), waypoints=wps, speed_mps=6.0, takeoff_alt_m=15.0)
    write_qgc_plan(m, tmp_path / "p.plan")
    r = runner.invoke(app, ["simulate", str(scenario), "--plan", str(tmp_path / "p.plan"), "--delay-min", "30",
                            "--out", str(tmp_path / "fu"), "--json"])
    assert r.exit_code == 0, r.output
    fu = json.loads((tmp_path / "fu" / "truth.json").read_text())
    assert [(s["id"], s["east_m"], s["north_m"]) for s in fu["sources"]] == \
        [(s["id"], s["east_m"], s["north_m"]) for s in truth["sources"]]
    import pandas as pd

    data = pd.read_csv(tmp_path / "fu" / "survey.csv")
    assert set(data["platform"]) == {"uav-follow-up"}
    assert data["time"].min() >= truth["t_start"] + 30 * 60 - 1
    assert 60 < data["time"].max() - data["time"].min() < 200  # ~560 m at 6 m/s plus the climb
