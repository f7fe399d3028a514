"""Seeded surveys of one weak lab in a small town (shared by the fusion tests and their exploration)."""

from __future__ import annotations

from pathlib import Path

import yaml

from plumetrace.sim.scenario import load_scenario
from plumetrace.sim.simulate import simulate, write_simulation

ORIGIN = (52.0907, 5.1214)
WINDS = ((3.0, 250.0), (3.5, 230.0), (3.0, 270.0), (3.2, 245.0))
LAB = {"east": -30.0, "north": -20.0}


def weak_surveys(folder: Path, rate_g_s: float, n: int = 3, seed: int = 300, on: tuple[bool, ...] | None = None,
                 schedule: dict | None = None):
    """Simulate ``n`` surveys of the same town with a lab of ``rate_g_s`` (off where ``on[k]`` is False).

    Returns the survey CSV paths and the lab's truth entry of the first survey.
    """
    paths, lab, town = [], None, None
    for k in range(n):
        u, wd = WINDS[k % len(WINDS)]
        sc = {"name": f"weak{k}", "seed": seed + k, "origin": {"lat": ORIGIN[0], "lon": ORIGIN[1]},
              "start": f"2026-07-0{k + 1}T11:00:00Z",
              "atmosphere": {"wind_speed": f"{u} m/s", "wind_from": f"{wd} deg", "stability": "D"},
              "flights": [{"platform": "uav-1", "pattern": "lawnmower", "altitudes": ["20 m"], "spacing": "30 m",
                           "speed": "8 m/s", "duration": "15 min",
                           "sensors": ["acetone_ppb", "toluene_ppb", "methanol_ppb", "dichloromethane_ppb",
                                       "hcl_ppb"]}]}
        sc["town"] = {"blocks": [3, 3]} if town is None else {"footprints": town}
        active = on is None or on[k]
        sc["sources"] = [{"id": "lab", "class": "clandestine_lab",
                          "position": {"east": f"{LAB['east']} m", "north": f"{LAB['north']} m"},
                          "height": "4 m", "rate": f"{rate_g_s if active else 1e-9} g/s",
                          **({"schedule": schedule} if schedule else {})}]
        d = folder / f"survey{k + 1}"
        d.mkdir(parents=True, exist_ok=True)
        (d / "scenario.yaml").write_text(yaml.safe_dump(sc, sort_keys=False))
        scenario, base = load_scenario(d / "scenario.yaml")
        sim = simulate(scenario, d / "scenario.yaml", base)
        write_simulation(sim, d)
        if town is None:
            town = str((d / "buildings.geojson").resolve())
            lab = next(s for s in sim.truth["sources"] if s["id"] == "lab")
        paths.append(d / "survey.csv")
    return paths, lab
