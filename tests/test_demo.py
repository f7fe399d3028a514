"""`plumetrace demo` (contract 5): the README's main command, end to end on the embedded SQLite store."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
from typer.testing import CliRunner

from plumetrace.cli import app


def test_demo_finds_the_hidden_lab(tmp_path):
    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["top_site_lab_distance_m"] < 15.0  # contract 5 / issue #7
    top = report["sites"][0]
    assert top["class"] == "clandestine_lab" and top["status"] == "confirmed"
    folder = out / "report"
    for name in ("index.html", "sites.geojson", "sites.kml", "samples.parquet", "leaflet/leaflet.js"):
        assert (folder / name).exists(), name
    assert report["report"] == str(folder / "index.html")
    gj = json.loads((folder / "sites.geojson").read_text())
    assert sum(f["properties"]["kind"] == "site" for f in gj["features"]) == len(report["sites"])
    assert pq.read_metadata(folder / "samples.parquet").num_rows > 10_000
    assert (out / "plumetrace.db").exists() and report["store"].startswith("sqlite:///")
