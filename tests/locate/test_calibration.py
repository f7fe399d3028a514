"""Credible-region calibration on a batch of seeded scenarios (the simulator's meandering plume, not the
locator's model): the 90 % regions must hold the truth in most cases without being uselessly wide."""

from pathlib import Path

import numpy as np
import pytest
import yaml
from shapely.geometry import Point

from plumetrace.io.survey import read_survey
from plumetrace.locate import SourceLocator
from plumetrace.sim.scenario import load_scenario
from plumetrace.sim.simulate import simulate, write_simulation

WINDS = ((3.0, 250.0), (4.0, 200.0), (3.5, 300.0), (5.0, 230.0), (2.5, 160.0), (4.5, 270.0), (3.0, 320.0),
         (4.0, 120.0))


def _survey(folder: Path, k: int, world: str = "meander", stability: str = "D", rate: float = 0.2):
    u, wd = WINDS[k]
    rng = np.random.default_rng(900 + k)
    east, north = rng.uniform(-60, 60, 2)
    sc = {"name": f"calib{k}", "seed": 900 + k, "origin": {"lat": 52.0907, "lon": 5.1214},
          "start": f"2026-07-{k + 1:02d}T11:00:00Z", "town": {"blocks": [3, 3]},
          "atmosphere": {"wind_speed": f"{u} m/s", "wind_from": f"{wd} deg", "stability": stability,
                         "model": world},
          "sources": [{"id": "lab", "class": "clandestine_lab",
                       "position": {"east": f"{east:.1f} m", "north": f"{north:.1f} m"},
                       "height": "4 m", "rate": f"{rate} g/s"}],
          "flights": [{"platform": "uav-1", "pattern": "lawnmower", "altitudes": ["20 m"], "spacing": "30 m",
                       "speed": "8 m/s", "duration": "10 min", "rate_hz": 5,
                       "area": {"center": {"east": "0 m", "north": "0 m"}, "width": "320 m", "height": "320 m",
                                "margin": "0 m"},
                       "sensors": ["acetone_ppb"]}]}
    d = folder / f"{world}{k}"
    d.mkdir()
    (d / "scenario.yaml").write_text(yaml.safe_dump(sc, sort_keys=False))
    scenario, base = load_scenario(d / "scenario.yaml")
    sim = simulate(scenario, d / "scenario.yaml", base)
    paths = write_simulation(sim, d)
    survey = read_survey(paths["survey"])
    lab = sim.truth["sources"][0]
    return survey, survey.frame.to_local(lab["lat"], lab["lon"])


@pytest.mark.slow
def test_credible_regions_are_calibrated_on_seeded_scenarios(tmp_path):
    inside, radii, errors = [], [], []
    for k in range(len(WINDS)):
        survey, (e, n) = _survey(tmp_path, k)
        # the analyser's 2 s time constant, as a first-order response in the forward operator
        loc = SourceLocator(lags={"acetone_ppb": 2.0}, lag_model="response").fit(survey)
        if not loc.sources_:
            continue  # the lab's plume missed the flown square under this wind
        s = loc.sources_[0]
        inside.append(s.credible90.buffer(1e-6).contains(Point(float(e), float(n))))
        radii.append(s.credible90_radius_m)
        errors.append(float(np.hypot(s.east - e, s.north - n)))
    assert len(inside) >= 5, errors
    coverage = np.mean(inside)
    assert coverage >= 0.8, (coverage, errors, radii)  # nominal 0.9
    # and not by being uselessly wide: the bagged regions (measured: 67–93 m, median 75 m, where the tempered ones
    # were under 70 m) stay below the 100 m beyond which a posterior is no location at all
    assert np.median(radii) < 100.0, radii
    assert np.median(errors) < 20.0, errors


@pytest.mark.slow
def test_bagged_regions_are_calibrated_in_the_held_out_particle_world(tmp_path):
    """The Lagrangian particle world (docs/simulation.md) was kept out of every choice of the locator and of its
    calibration: seeded surveys there, classes C and D, the analyser's lag given as a shift (the default). Measured
    with class E too: a 4 m release under a stable layer never reached the drone at 20 m (no source, rightly)."""
    inside, tempered_inside, radii = [], [], []
    for k, cls in zip(range(len(WINDS)), "DCDCDCDC", strict=True):
        survey, (e, n) = _survey(tmp_path, k, world="lagrangian", stability=cls, rate=0.8)
        loc = SourceLocator(lags={"acetone_ppb": 2.0}).fit(survey)
        if not loc.sources_:
            continue
        s = loc.sources_[0]
        error = float(np.hypot(s.east - e, s.north - n))
        inside.append(error <= s.credible90_radius_m)
        tempered_inside.append(error <= s.posterior.config["credible90_radius_tempered_m"])
        radii.append(s.credible90_radius_m)
    assert len(inside) >= 5, radii
    assert np.mean(inside) >= 0.8, (inside, tempered_inside, radii)  # nominal 0.9
    assert np.mean(inside) >= np.mean(tempered_inside)
    assert np.median(radii) < 90.0, radii
