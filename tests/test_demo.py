"""`plumetrace demo` (contract 5): the README's main command, end to end on the embedded SQLite store."""

from __future__ import annotations

import json

import pyarrow.parquet as pq


def test_demo_finds_the_hidden_lab(demo_run):
    out, result = demo_run
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    # contract 5: the top site is the hidden lab. With the one locator configuration of issue #14 (the suite's
    # physics for locate and analyze alike) seeds 1, 2, 3, 4, 7 put it 10.0, 101.1, 18.8, 22.7 and 19.6 m from the
    # lab (benchmarks/locator_options.py demo): about two houses; building-level accuracy needs the follow-up
    # flight of the planning issue
    assert report["top_site_lab_distance_m"] < 25.0
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
