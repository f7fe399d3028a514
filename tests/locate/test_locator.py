"""Source localisation: recovery of known sources, the contract-3 output, and bad inputs."""

import json

import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box
from typer.testing import CliRunner

from plumetrace.cli import app
from plumetrace.geo.buildings import Building
from plumetrace.geo.crs import LocalFrame
from plumetrace.io.buildings import write_buildings
from plumetrace.io.survey import survey_from_dataframe
from plumetrace.locate import SourceLocator
from plumetrace.physics.plume import gaussian_plume
from plumetrace.physics.species import SPECIES, mole_fraction

FRAME = LocalFrame(52.0, 5.0)
SOURCE = (40.0, -20.0, 5.0)
RATE = 0.5  # g/s of CH4


def synthetic_survey(noise_ppm: float, seed: int = 0, rate: float = RATE, wind=(4.0, 270.0)):
    """Crosswind transects downwind of one steady source, read by a noisy CH4 sensor (10 Hz)."""
    rng = np.random.default_rng(seed)
    rows = []
    t = 1.78e9
    for k, x in enumerate(np.arange(-150.0, 300.0, 30.0)):
        ys = np.arange(-200.0, 200.0, 0.8)
        if k % 2:
            ys = ys[::-1]
        for y in ys:
            rows.append((t, x, y))
            t += 0.1
    t, e, n = (np.array(v) for v in zip(*rows, strict=True))
    z = np.full(t.size, 15.0)
    c = gaussian_plume(e, n, z, *SOURCE, rate, wind[0], wind[1], "D", model="briggs_rural")
    ppm = mole_fraction(c * 1e-3, SPECIES["ch4"].molar_mass) * 1e6
    lat, lon = FRAME.to_wgs84(e, n)
    df = pd.DataFrame({"time": t, "lat": lat, "lon": lon, "alt_m": z,
                       "ch4_ppm": 1.95 + ppm + noise_ppm * rng.standard_normal(t.size),
                       "wind_speed_mps": wind[0], "wind_dir_deg": wind[1]})
    return survey_from_dataframe(df, ["ch4_ppm"], "synthetic.csv", FRAME)


@pytest.mark.parametrize(("noise", "tolerance"), [(1e-4, 10.0), (0.003, 30.0)])
def test_recovers_a_known_source(noise, tolerance):
    """Noiseless and noisy data from the locator's own steady model.

    Noiseless: within two grid cells; noisy: within 30 m (along the wind, distance and release height trade
    off between transects 30 m apart); the rate within a factor 2. (Calibration of the credible regions is
    measured on the simulator suite, not here.)
    """
    survey = synthetic_survey(noise)
    loc = SourceLocator(stability="D", dispersion="briggs_rural", wind_offset_sd_deg=0.0).fit(survey)
    assert len(loc.sources_) == 1
    s = loc.sources_[0]
    error = np.hypot(s.east - SOURCE[0], s.north - SOURCE[1])
    assert error <= tolerance
    assert s.species == "ch4" or s.rates_g_s.get("ch4")
    ch4_rate = s.rate_g_s if s.species == "ch4" else s.rates_g_s["ch4"]
    assert RATE / 2 <= ch4_rate <= 2 * RATE
    assert s.rate_ci90_g_s[0] <= s.rate_g_s <= s.rate_ci90_g_s[1]
    assert s.credible90.area > 0 and 2.5 <= s.credible90_radius_m <= 100.0  # half a cell to max_credible_radius
    # the HPD region's equivalent radius is that of a disc of the same area; the mean lies near the mode
    assert s.credible90_equivalent_radius_m == pytest.approx(np.sqrt(s.credible90.area / np.pi))
    assert np.hypot(s.mean_east - s.east, s.mean_north - s.north) <= s.credible90_radius_m
    assert s.rates_ci90_g_s["ch4"][0] <= s.rates_g_s["ch4"] <= s.rates_ci90_g_s["ch4"][1]


def test_source_free_survey_yields_no_source():
    survey = synthetic_survey(0.003, rate=0.0)
    loc = SourceLocator(stability="D").fit(survey)
    assert loc.sources_ == []


def test_buildings_attribution():
    survey = synthetic_survey(0.001)
    hit = Building("target", box(30, -30, 50, -10), 6.0)
    other = Building("far", box(-100, 100, -80, 120), 6.0)
    loc = SourceLocator(stability="D", dispersion="briggs_rural", wind_offset_sd_deg=0.0).fit(survey, [other, hit])
    s = loc.sources_[0]
    assert s.building_id == "target" and s.buildings_top[0][0] == "target"
    assert 0 < s.building_probability <= 1


def test_cli_contract_three(tmp_path):
    survey = synthetic_survey(0.002)
    csv = tmp_path / "survey.csv"
    survey.data.drop(columns=["east", "north"]).to_csv(csv, index=False)
    write_buildings(tmp_path / "b.geojson", [Building("b17", box(30, -30, 50, -10), 6.0),
                                             Building("b18", box(60, -30, 80, -10), 6.0)], FRAME)
    runner = CliRunner()
    result = runner.invoke(app, ["locate", str(csv), "--buildings", str(tmp_path / "b.geojson"), "--stability", "D",
                                 "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    # added keys: preset (the locator preset), candidates (evidence below the threshold)
    assert set(data) == {"sources", "survey", "preset", "candidates"} and data["preset"] == "survey"
    assert set(data["survey"]) == {"samples", "hits", "duration_s"}
    src = data["sources"][0]
    for key in ("lat", "lon", "height_m", "species", "rate_g_s", "rate_ci90_g_s", "credible90_radius_m", "class",
                "class_probability", "building_id", "building_probability", "buildings_top"):
        assert key in src, key
    assert len(src["buildings_top"]) <= 5 and src["building_id"] == "b17"
    assert src["credible90"]["type"] in ("Polygon", "MultiPolygon")
    # keys added to the contract: posterior mean, the HPD region's equivalent radius, every species' rate
    mean_e, mean_n = FRAME.to_local(src["posterior_mean"]["lat"], src["posterior_mean"]["lon"])
    assert np.hypot(mean_e - SOURCE[0], mean_n - SOURCE[1]) < 30.0
    # the 90 % HPD region is the smallest holding 90 %: no larger than the 90 % disc (to within a 5 m cell)
    assert 0 < src["credible90_equivalent_radius_m"] <= src["credible90_radius_m"] + 5.0
    assert RATE / 2 <= src["rates_g_s"]["ch4"] <= 2 * RATE
    for sp, (lo, hi) in src["rates_ci90_g_s"].items():
        assert 0 <= lo <= src["rates_g_s"][sp] <= hi, sp
    # without --buildings the building keys are null; the table and map work
    result = runner.invoke(app, ["locate", str(csv), "--json"])
    src = json.loads(result.stdout)["sources"][0]
    assert src["building_id"] is None and src["buildings_top"] is None
    result = runner.invoke(app, ["locate", str(csv), "--map", str(tmp_path / "m.png")])
    assert result.exit_code == 0 and (tmp_path / "m.png").stat().st_size > 1000


def test_cli_bad_inputs(tmp_path):
    runner = CliRunner()
    survey = synthetic_survey(0.002)
    no_wind = tmp_path / "nowind.csv"
    survey.data.drop(columns=["east", "north", "wind_speed_mps", "wind_dir_deg"]).to_csv(no_wind, index=False)
    result = runner.invoke(app, ["locate", str(no_wind), "--json"])
    assert result.exit_code == 2 and "--wind" in result.stderr
    result = runner.invoke(app, ["locate", str(no_wind), "--wind", "4@270", "--json", "--stability", "D"])
    assert result.exit_code == 0, result.output
    no_gas = tmp_path / "nogas.csv"
    survey.data[["time", "lat", "lon", "alt_m"]].to_csv(no_gas, index=False)
    result = runner.invoke(app, ["locate", str(no_gas)])
    assert result.exit_code == 2 and "no gas channel" in result.stderr
    elsewhere = tmp_path / "elsewhere.geojson"
    write_buildings(elsewhere, [Building("x", box(0, 0, 10, 10), 5.0)], LocalFrame(48.0, 2.0))
    ok = tmp_path / "ok.csv"
    survey.data.drop(columns=["east", "north"]).to_csv(ok, index=False)
    result = runner.invoke(app, ["locate", str(ok), "--buildings", str(elsewhere)])
    assert result.exit_code == 2 and "outside the area of the buildings" in result.stderr
