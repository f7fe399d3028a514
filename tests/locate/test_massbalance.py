"""Mass balance through a curtain (flux plane, METHODS §4.8)."""

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from plumetrace.cli import app
from plumetrace.exceptions import InputError
from plumetrace.io.survey import read_survey
from plumetrace.locate.massbalance import MassBalance, layer_bounds, layer_flux_density, layer_heights
from plumetrace.sim.scenario import load_scenario
from plumetrace.sim.simulate import simulate, write_simulation


def test_layer_helpers():
    rng = np.random.default_rng(0)
    z = np.concatenate([h + rng.normal(0, 0.5, 300) for h in (5.0, 10.0, 20.0)] + [np.linspace(5, 20, 8)])
    levels = layer_heights(z)
    np.testing.assert_allclose(levels, [5.0, 10.0, 20.0], atol=0.3)
    np.testing.assert_allclose(layer_bounds(levels), [0.0, 7.5, 15.0, 25.0], atol=0.3)
    # a Gaussian bump of known integral on a flat background of 2
    s = np.linspace(-100, 100, 2001)
    rho = 2.0 + 3.0 * np.exp(-0.5 * (s / 10.0) ** 2)
    integral, se, n = layer_flux_density(s, rho, 5.0, -100.0, 100.0)
    assert integral == pytest.approx(3.0 * 10.0 * np.sqrt(2 * np.pi), rel=0.02) and se < 1e-6 and n == 40


def _curtain_survey(tmp: Path, rate: float = 0.2):
    sc = {"name": "curtain_test", "seed": 5, "origin": {"lat": 52.0907, "lon": 5.1214},
          "start": "2026-06-20T11:00:00Z", "town": {"blocks": [3, 3]},
          "atmosphere": {"wind_speed": "4 m/s", "wind_from": "250 deg", "stability": "D"},
          "sources": [{"id": "lab", "class": "clandestine_lab", "position": {"east": "0 m", "north": "0 m"},
                       "height": "3 m", "rate": f"{rate} g/s"}],
          "flights": [{"platform": "uav-1", "pattern": "curtain", "around": "lab", "distance": "100 m",
                       "width": "300 m", "altitudes": ["5 m", "10 m", "15 m", "20 m", "25 m", "30 m", "40 m"],
                       "speed": "5 m/s", "rate_hz": 10, "sensors": ["acetone_ppb"]}]}
    (tmp / "scenario.yaml").write_text(yaml.safe_dump(sc, sort_keys=False))
    scenario, base = load_scenario(tmp / "scenario.yaml")
    sim = simulate(scenario, tmp / "scenario.yaml", base)
    paths = write_simulation(sim, tmp)
    return paths["survey"], sim.truth


def test_mass_balance_recovers_the_rate_of_a_curtain(tmp_path):
    path, truth = _curtain_survey(tmp_path, rate=0.2)
    survey = read_survey(path)
    est = MassBalance().fit(survey, ["acetone_ppb"]).estimates_[0]
    true = truth["sources"][0]["mean_rates_g_s"]["acetone"]
    assert len(est.layers_m) == 7
    assert true / 1.6 < est.rate_g_s < true * 1.6
    assert est.rate_ci90_g_s[0] < est.rate_g_s < est.rate_ci90_g_s[1]
    assert 0.0 <= est.below_lowest_fraction < 0.5


def test_mass_balance_refuses_a_survey_that_is_no_curtain():
    from tests.locate.test_locator import synthetic_survey

    with pytest.raises(InputError, match="does not look like a curtain"):
        MassBalance().fit(synthetic_survey(0.01, seed=1))  # one altitude only


def test_locate_cli_mass_balance_json(tmp_path):
    path, _ = _curtain_survey(tmp_path, rate=0.2)
    result = CliRunner().invoke(app, ["locate", str(path), "--json", "--mass-balance"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert "sources" in data and "survey" in data
    mb = data["mass_balance"]
    assert mb and mb[0]["channel"] == "acetone_ppb" and mb[0]["method"] == "mass_balance"
    assert mb[0]["rate_ci90_g_s"][0] <= mb[0]["rate_g_s"] <= mb[0]["rate_ci90_g_s"][1]
