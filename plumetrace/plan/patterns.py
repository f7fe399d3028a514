"""Fixed follow-up patterns of a given flight time, the baselines adaptive plans are measured against.

- ``ladder``: crosswind legs downwind of the candidate at 20, 40, 60 … m, each as wide as the candidate's
  crosswind uncertainty plus the plume (the flux-plane pattern of mass-balance surveys), repeated from the
  nearest while the budget lasts;
- ``orbit``: circles around the candidate (radius twice its 90 % radius, at least 30 m), lap after lap.

Both fly at the lowest altitude the airspace allows and stop when the next leg would exceed the budget.
"""

from __future__ import annotations

import math

import numpy as np

from plumetrace.exceptions import PlanError
from plumetrace.physics.wind import wind_axes
from plumetrace.plan.airspace import Airspace
from plumetrace.plan.followup import Candidate
from plumetrace.plan.route import FlightPlan, Leg, default_home, sorties, takeoff_altitude

PATTERNS = ("ladder", "orbit")


def _fill(legs_iter, airspace: Airspace, home, speed: float, budget_s: float, endurance_s, name: str):
    chosen: list[Leg] = []
    alt0 = None
    for leg in legs_iter:
        alt0 = leg.altitude if alt0 is None else alt0
        trial = chosen + [leg]
        plan = sorties(trial, airspace, home, speed, alt0, endurance_s)
        if sum(s.time_s for s in plan) > budget_s:
            break
        chosen = trial
    if not chosen:
        raise PlanError(f"no {name} leg fits in {budget_s / 60:g} min of flight", "--budget-min")
    return chosen, alt0


def fixed_pattern(kind: str, cand: Candidate, airspace: Airspace, wind: tuple[float, float], budget_min: float,
                  speed_mps: float = 6.0, endurance_min: float | None = 25.0, home=None,
                  radius90: float | None = None) -> FlightPlan:
    """A ``ladder`` or ``orbit`` follow-up over one candidate within ``budget_min`` of flight."""
    if kind not in PATTERNS:
        raise ValueError(f"pattern must be one of {PATTERNS}")
    down, cross = wind_axes(wind[1])
    m = cand.mean
    home = default_home(airspace, m if home is None else home)
    budget_s, endurance_s = 60.0 * budget_min, None if endurance_min is None else 60.0 * endurance_min
    d = cand.cells - m
    sd_cross = math.sqrt(max(float(cand.mass @ (d @ cross) ** 2) / cand.mass.sum(), 25.0))

    def ladder():
        k = 0
        while k < 200:
            dist = 20.0 * (k % 8 + 1)
            half = float(np.clip(2.5 * sd_cross + 0.15 * dist + 15.0, 25.0, 200.0))
            c = m + dist * down
            a, b = (c - half * cross, c + half * cross) if k % 2 == 0 else (c + half * cross, c - half * cross)
            for s, e in airspace.clip(a, b, 15.0):
                yield Leg(s, e, airspace.min_altitude(s, e), "ladder", cand.name)
            k += 1

    def orbit():
        r = max(30.0, 2.0 * (radius90 or 15.0))
        ang = np.linspace(0.0, 2 * np.pi, 25)
        ring = m + r * np.column_stack((np.sin(ang), np.cos(ang)))
        lo = max(airspace.min_altitude(ring[i], ring[i + 1]) for i in range(len(ring) - 1))
        ok = airspace.segments_ok(ring[:-1], ring[1:])
        if not ok.all():
            raise PlanError(f"an orbit of {r:.0f} m around the candidate leaves the authorised airspace",
                            "--authorized/--no-fly")
        for _ in range(50):
            for i in range(len(ring) - 1):
                yield Leg(ring[i], ring[i + 1], lo, "orbit", cand.name)

    legs, alt0 = _fill(ladder() if kind == "ladder" else orbit(), airspace, home, speed_mps, budget_s, endurance_s,
                       kind)
    sort = sorties(legs, airspace, home, speed_mps, alt0, endurance_s)
    target = {"name": cand.name, "east": float(m[0]), "north": float(m[1])}
    return FlightPlan(sort, home, speed_mps, takeoff_altitude(airspace, home, alt0), [target],
                      info={"pattern": kind, "legs": len(legs), "budget_min": budget_min})
