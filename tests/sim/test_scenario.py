"""Scenario files: simulate end to end, reproducibly; bad files exit 2 naming the file and key."""

import json
import textwrap
import time

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from plumetrace.cli import app
from plumetrace.exceptions import InputError
from plumetrace.sim.scenario import load_scenario
from plumetrace.sim.simulate import simulate, write_simulation

BASE = """
name: t
seed: 3
origin: {lat: 52.0, lon: 5.0}
start: "2026-06-15T12:00:00Z"
town: {blocks: [3, 3]}
atmosphere: {wind_speed: 4 m/s, wind_from: 270 deg, stability: D}
sources:
  - {id: lab, class: clandestine_lab, building: random_house, rate: 0.2 g/s}
flights:
  - {pattern: lawnmower, altitudes: [15 m], spacing: 30 m, sensors: [acetone_ppb, ch4_ppm]}
"""


def write(tmp_path, text):
    p = tmp_path / "scenario.yaml"
    p.write_text(textwrap.dedent(text))
    return p


def run(tmp_path, text):
    path = write(tmp_path, text)
    sc, base = load_scenario(path)
    return simulate(sc, path, base)


def test_simulate_writes_the_three_files(tmp_path):
    sim = run(tmp_path, BASE)
    paths = write_simulation(sim, tmp_path / "out")
    survey = pd.read_csv(paths["survey"])
    assert list(survey.columns[:4]) == ["time", "lat", "lon", "alt_m"]
    assert {"acetone_ppb", "ch4_ppm", "wind_speed_mps", "wind_dir_deg"} <= set(survey.columns)
    assert np.all(np.diff(survey["time"]) >= 0)
    geo = json.loads(paths["buildings"].read_text())
    assert geo["type"] == "FeatureCollection" and all("id" in f["properties"] for f in geo["features"])
    truth = json.loads(paths["truth"].read_text())
    lab = truth["sources"][0]
    assert lab["class"] == "clandestine_lab" and lab["target"] and lab["building_id"].startswith("b")
    assert lab["rates_g_s"]["acetone"] == pytest.approx(0.2)
    # the lab sits on its building
    feature = next(f for f in geo["features"] if f["properties"]["id"] == lab["building_id"])
    assert feature["properties"]["height_m"] > lab["height_m"] > 0
    # the plume is in the data: the largest acetone reading is well above background
    assert survey["acetone_ppb"].max() > 5 * survey["acetone_ppb"].median()


def test_reproducible_and_seed_dependent(tmp_path):
    a = run(tmp_path, BASE).survey
    b = run(tmp_path, BASE).survey
    c = run(tmp_path, BASE.replace("seed: 3", "seed: 4")).survey
    pd.testing.assert_frame_equal(a, b)
    assert not a["acetone_ppb"].equals(c["acetone_ppb"])


def test_clock_offset_shifts_the_gas_channels(tmp_path):
    base = BASE.replace("sensors: [acetone_ppb, ch4_ppm]}", "sensors: [acetone_ppb], clock_offset: 3 s}")
    shifted = run(tmp_path, base)
    plain = run(tmp_path, BASE.replace("sensors: [acetone_ppb, ch4_ppm]}", "sensors: [acetone_ppb]}"))
    assert shifted.truth["platforms"][0]["clock_offset_s"] == 3.0
    x, y = plain.survey["acetone_ppb"].to_numpy(), shifted.survey["acetone_ppb"].to_numpy()
    lags = range(-50, 51)
    best = max(lags, key=lambda k: np.corrcoef(np.roll(x, k)[100:-100], y[100:-100])[0, 1])
    assert best == 30  # 3 s at 10 Hz


def test_thirty_minute_survey_is_fast(tmp_path):
    """Issue #3: <= 5 s per 30-minute survey at 10 Hz (wall time, generous for CI noise)."""
    text = BASE.replace("{pattern: lawnmower,", "{pattern: lawnmower, duration: 30 min,")
    text = text.replace("town: {blocks: [3, 3]}", "town: {blocks: [8, 8]}")
    text = text.replace("sources:", "decoys: {count: 6}\nsources:")
    t0 = time.perf_counter()
    sim = run(tmp_path, text)
    write_simulation(sim, tmp_path / "fast")
    assert len(sim.survey) == 18_000
    assert time.perf_counter() - t0 < 5.0


@pytest.mark.parametrize(
    ("edit", "key", "words"),
    [
        (("wind_from: 270 deg", "wind_form: 270 deg"), "atmosphere.wind_form", "unknown key"),
        (("wind_speed: 4 m/s", "wind_speed: 4 km"), "atmosphere.wind_speed", "not a speed unit"),
        (("rate: 0.2 g/s", "rate: 0.2 kg"), "sources.0.rate", "not a mass rate unit"),
        (("building: random_house", "position: {east: 5 km, north: 0 m}"), "sources.0.position", "outside the town"),
        (("building: random_house", "building: b9999"), "sources.0.building", "no building with id"),
        (("class: clandestine_lab", "class: meth_lab"), "sources.0.class", "unknown source class"),
        (("sensors: [acetone_ppb, ch4_ppm]", "sensors: [acetone_ppb, foo_ppm]"), "flights.0.sensors.1",
         "unknown sensor channel"),
        (("stability: D", "stability: Z"), "atmosphere.stability", "unknown stability"),
        (("start: \"2026-06-15T12:00:00Z\"", "start: \"2026-06-15T12:00:00\""), "start", "time zone"),
        (("origin: {lat: 52.0, lon: 5.0}", "origin: {lat: 95.0, lon: 5.0}"), "origin.lat", "less than or equal"),
        (("name: t\n", ""), "name", "required key is missing"),
    ],
)
def test_bad_scenarios_name_file_and_key(tmp_path, edit, key, words):
    text = textwrap.dedent(BASE).replace(*edit)
    assert text != textwrap.dedent(BASE)
    path = write(tmp_path, text)
    with pytest.raises(InputError) as info:
        sc, base = load_scenario(path)
        simulate(sc, path, base)
    assert info.value.column == key
    assert words in str(info.value)
    assert "scenario.yaml" in str(info.value)


def test_cli_simulate_and_bad_file(tmp_path):
    runner = CliRunner()
    path = write(tmp_path, BASE)
    result = runner.invoke(app, ["simulate", str(path), "--out", str(tmp_path / "o"), "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["targets"] == 1 and (tmp_path / "o" / "truth.json").exists()
    bad = write(tmp_path, BASE.replace("seed: 3", "seed: 3\ncolour: red"))
    result = runner.invoke(app, ["simulate", str(bad), "--out", str(tmp_path / "o2")])
    assert result.exit_code == 2
    assert "scenario.yaml" in result.stderr and "colour" in result.stderr and "unknown key" in result.stderr
    result = runner.invoke(app, ["simulate", str(tmp_path / "missing.yaml"), "--out", str(tmp_path / "o3")])
    assert result.exit_code == 2 and "file not found" in result.stderr
    (tmp_path / "broken.yaml").write_text("name: [unclosed\n")
    result = runner.invoke(app, ["simulate", str(tmp_path / "broken.yaml"), "--out", str(tmp_path / "o4")])
    assert result.exit_code == 2 and "not valid YAML" in result.stderr
