"""The follow-up loop benchmark: coverage survey → plan → fly → joint locate, against fixed patterns.

For each seeded scenario (a town, one clandestine lab in a house, benign decoys; wind, stability and rate drawn
per seed; a quarter of them in the puff world — instantaneous puffs, not the locator's steady plume — and a
quarter in the held-out Lagrangian particle world of issue #15, docs/simulation.md) the
coverage survey is simulated and located; the follow-up is planned over the candidates
(:func:`plumetrace.plan.followup.follow_up_candidates`, the wind forecast taken as the coverage survey's mean
wind), flown in the same world an hour later with new turbulence (:func:`plumetrace.sim.simulate.follow_up_scenario`),
and both surveys are located jointly. The same is done, paired, for a crosswind ladder and an orbit of the same
flight time over the same candidates. Per arm: the target found (an estimate within 75 m), its building top-1
and top-3, its error, whether its 90 % region holds it, and the minutes flown.

The lab releases from a window: a point on its house's wall, not the house's centre. Each found estimate is
therefore also scored by its distance to the lab's footprint (``building_distance_m``, 0 inside): an estimate at
the centre of the right 9 m × 11 m house is 4.5–7.1 m from a point on its wall (5.7 m at the median of this
bench's labs), so the error to the window point alone cannot say whether the house was found.
"""

from __future__ import annotations

import time
from functools import partial

import numpy as np
from shapely.geometry import MultiPoint, Point

from plumetrace.geo.crs import LocalFrame
from plumetrace.io.survey import merge_surveys, survey_from_dataframe
from plumetrace.locate import SourceLocator
from plumetrace.physics.wind import wind_axes
from plumetrace.plan.airspace import Airspace
from plumetrace.plan.followup import FollowUpPlanner, follow_up_candidates
from plumetrace.plan.patterns import fixed_pattern
from plumetrace.sim.scenario import Scenario
from plumetrace.sim.simulate import follow_up_scenario, simulate

ARMS = ("none", "adaptive", "ladder", "orbit")
SENSORS = ["ch4_ppm", "c2h6_ppb", "co2_ppm", "acetone_ppb", "toluene_ppb", "dichloromethane_ppb", "ethanol_ppb"]
#: An estimate within this distance of the target finds it [m] (as in the accuracy benchmark).
MATCH_RADIUS_M = 75.0
#: Follow-up flight per candidate [min] and candidates per follow-up.
BUDGET_PER_TARGET_MIN = 12.0
MAX_TARGETS = 2


def follow_up_scenario_spec(seed: int) -> Scenario:
    """The seeded scenario of the follow-up benchmark (module docstring)."""
    rng = np.random.default_rng(7000 + seed)
    world = {3: "puff", 1: "lagrangian"}.get(seed % 4, "meander")
    d = {
        "name": f"follow_up_{seed:02d}_{world}", "seed": 7000 + seed,
        "origin": {"lat": 52.09 + 0.001 * seed, "lon": 5.12},
        "start": "2026-06-16T11:00:00Z",
        "town": {"blocks": [4, 4]},
        "atmosphere": {"wind_speed": f"{rng.uniform(2.0, 6.0):.1f} m/s", "wind_from": f"{rng.uniform(0, 360):.0f} deg",
                       "stability": str(rng.choice(["B", "C", "D", "D", "E"])), "model": world},
        "sources": [{"id": "lab", "class": "clandestine_lab", "building": "random_house",
                     "rate": f"{float(np.exp(rng.uniform(np.log(0.05), np.log(0.5)))):.3f} g/s"}],
        "decoys": {"count": int(rng.integers(3, 6))},
        "flights": [{"platform": "uav-1", "pattern": "lawnmower", "altitudes": ["20 m"], "spacing": "40 m",
                     "speed": "8 m/s", "sensors": SENSORS}],
    }
    return Scenario.model_validate(d)


def _score(locator: SourceLocator, frame: LocalFrame, target: dict, wind_from_deg: float, footprint=None) -> dict:
    """The arm's estimate of the target.

    ``along_wind_m``: its offset along the forecast wind (negative: upwind); ``building_distance_m``: its distance
    to the target's ``footprint`` (local frame; 0 inside).
    """
    lat, lon = target["lat"], target["lon"]
    te, tn = (float(v) for v in frame.to_local(lat, lon))
    best = None
    for e in locator.sources_:
        d = float(np.hypot(e.east - te, e.north - tn))
        if d <= MATCH_RADIUS_M and (best is None or d < best[0]):
            best = (d, e)
    if best is None:
        return {"found": False, "error_m": None, "top1": False, "top3": False, "covered": False,
                "building_probability": None, "building_distance_m": None, "levels": list(locator.heights_)}
    d, e = best
    top = [b for b, _ in e.buildings_top]
    covered = bool(e.credible90 is not None and e.credible90.buffer(1e-6).covers(Point(te, tn)))
    down, _ = wind_axes(wind_from_deg)
    return {"found": True, "error_m": d, "top1": e.building_id == target["building_id"],
            "top3": target["building_id"] in top[:3], "covered": covered,
            "building_probability": e.building_probability,
            "along_wind_m": float(np.dot((e.east - te, e.north - tn), down)),
            "building_distance_m": None if footprint is None else float(footprint.distance(Point(e.east, e.north))),
            "height_m": float(e.height_m), "levels": list(locator.heights_)}


def plan_follow_up_case(seed: int, locator: dict | None = None, planner: dict | None = None,
                        budget_min: float = BUDGET_PER_TARGET_MIN) -> dict:
    """The coverage survey of ``seed`` located, its candidates, and every arm's follow-up plan (not yet flown).

    ``planner``: options of the adaptive :class:`~plumetrace.plan.followup.FollowUpPlanner`; the value ``"survey"``
    for ``leg_offset_sd_deg`` takes the coverage survey's spread of one-minute mean wind directions
    (``sigma_theta_`` of its locator). ``budget_min``: follow-up flight per candidate [min].

    Returns a dict: ``scenario``, ``frame``, ``survey`` (the coverage), ``channels``, ``lags``, ``buildings``,
    ``target`` (the lab's truth), ``lab`` (its footprint), ``wind`` (the forecast: the coverage's mean wind),
    ``options`` (the locator's), ``locator`` (fitted), ``candidates``, ``airspace`` and ``plans`` (arm →
    FlightPlan or list of them; empty without candidates).
    """
    sc = follow_up_scenario_spec(seed)
    frame = LocalFrame(sc.origin.lat, sc.origin.lon)
    sim = simulate(sc, f"<{sc.name}>")
    channels = [c for c in sim.survey.columns if c.endswith(("_ppm", "_ppb"))]
    cov = survey_from_dataframe(sim.survey, channels, f"{sc.name}/coverage.csv", frame)
    lags = {s["column"]: s["lag_s"] for p in sim.truth["platforms"] for s in p["sensors"]}
    buildings = sim.town.buildings
    target = next(s for s in sim.truth["sources"] if s["target"])
    lab = next(b.footprint for b in buildings if b.id == target["building_id"])
    theta = np.deg2rad(sim.survey["wind_dir_deg"].to_numpy())
    spd = sim.survey["wind_speed_mps"].to_numpy()
    u, v = np.mean(-spd * np.sin(theta)), np.mean(-spd * np.cos(theta))
    wind = (float(np.mean(spd)), float(np.mod(np.rad2deg(np.arctan2(-u, -v)), 360.0)))  # the forecast
    opts = {"lags": lags, **(locator or {})}
    loc = SourceLocator(**opts).fit(cov, buildings)
    cands = follow_up_candidates(loc, MAX_TARGETS)
    out = {"scenario": sc, "frame": frame, "survey": cov, "channels": channels, "lags": lags, "buildings": buildings,
           "target": target, "lab": lab, "wind": wind, "options": opts, "locator": loc, "candidates": cands,
           "airspace": None, "plans": {}}
    if not cands:
        return out
    work = MultiPoint(cov.data[["east", "north"]].to_numpy()[::50]).convex_hull.buffer(200.0)
    air = Airspace(None, [], 10.0, 120.0, buildings=buildings, work_area=work)
    budget = budget_min * len(cands)
    popts = dict(planner or {})
    if popts.get("leg_offset_sd_deg") == "survey":
        popts["leg_offset_sd_deg"] = float(loc.sigma_theta_ or 0.0)
    plans = {"adaptive": FollowUpPlanner(wind=wind, budget_min=budget, buildings=buildings, **popts)
             .fit(cands, air).plan_}
    equal = plans["adaptive"].flight_s / 60.0  # the fixed patterns fly as long, split over the same candidates
    for kind in ("ladder", "orbit"):
        plans[kind] = [fixed_pattern(kind, c, air, wind, equal / len(cands), radius90=None) for c in cands]
    out.update(airspace=air, plans=plans)
    return out


def run_follow_up_case(seed: int, locator: dict | None = None, joint_locator=None, planner: dict | None = None,
                       arms: tuple = ARMS[1:], budget_min: float = BUDGET_PER_TARGET_MIN) -> dict:
    """One paired case: every arm on the scenario of ``seed`` (JSON-ready row).

    ``locator``: locator options; ``joint_locator``: options added for the joint locates (coverage and follow-up)
    only — a dict, or a function of the scenario (:class:`~plumetrace.sim.scenario.Scenario`) and the lab's truth
    (a source of ``truth.json``) returning one (an oracle: what knowing the weather or the release height is worth);
    ``planner``: the adaptive planner's options (:func:`plan_follow_up_case`); ``arms``: the follow-up arms flown
    (a row without some cannot be summarised, but compares arm by arm with another run's rows); ``budget_min``:
    follow-up flight per candidate [min].
    """
    t0 = time.perf_counter()
    case = plan_follow_up_case(seed, locator, planner, budget_min)
    sc, frame, cov, target, lab, wind = (case[k] for k in ("scenario", "frame", "survey", "target", "lab", "wind"))
    buildings, channels = case["buildings"], case["channels"]
    row = {"scenario": sc.name, "world": sc.atmosphere.model, "seed": seed}
    opts = case["options"]
    row["none"] = {**_score(case["locator"], frame, target, wind[1], lab), "flight_min": 0.0}
    if not case["candidates"]:
        for arm in arms:
            row[arm] = {**row["none"], "flight_min": 0.0, "planned": False}
        row["seconds"] = time.perf_counter() - t0
        return row
    for arm in arms:
        p = case["plans"][arm]
        sorties = [s for q in (p if isinstance(p, list) else [p]) for s in q.sorties]
        fsc = follow_up_scenario(sc, [s.path for s in sorties], 6.0, 3600.0, realisation=1)
        fsim = simulate(fsc, f"<{fsc.name}>")
        fol = survey_from_dataframe(fsim.survey, channels, f"{sc.name}/{arm}.csv", frame)
        joint = merge_surveys([cov, fol], frame)
        extra = joint_locator(sc, target) if callable(joint_locator) else (joint_locator or {})
        jl = SourceLocator(**{**opts, **extra}).fit(joint, buildings)
        minutes = round(sum(s.time_s for s in sorties) / 60.0, 2)
        row[arm] = {**_score(jl, frame, target, wind[1], lab), "flight_min": minutes, "planned": True}
    row["seconds"] = time.perf_counter() - t0
    return row


def summarise_arm(r: list[dict]) -> dict:
    """One arm's scores over cases (its entries of the rows).

    Found, building top-1/top-3, median errors to the release point and to the lab's footprint, 90 % coverage of the
    found, mean minutes flown (None where there is nothing to average).
    """
    found = [x for x in r if x["found"]]
    err = [x["error_m"] for x in found]
    dist = [x["building_distance_m"] for x in found if x.get("building_distance_m") is not None]
    return {"cases": len(r), "found": len(found),
            "top1": float(np.mean([x["top1"] for x in r])) if r else None,
            "top3": float(np.mean([x["top3"] for x in r])) if r else None,
            "median_error_m": float(np.median(err)) if err else None,
            "median_building_distance_m": float(np.median(dist)) if dist else None,
            "coverage90": float(np.mean([x["covered"] for x in found])) if found else None,
            "flight_min": float(np.mean([x["flight_min"] for x in r])) if r else None}


def summarise_follow_up(rows: list[dict]) -> dict:
    """Per arm and per world: found, building top-1/top-3, median errors, 90 % coverage, minutes; paired top-1.

    Median errors: to the release point (``median_error_m``) and to the lab's footprint
    (``median_building_distance_m``).
    """
    def agg(sel):
        return {arm: summarise_arm([x[arm] for x in sel]) for arm in ARMS}

    worlds = sorted({r["world"] for r in rows})
    fixed = {k: sum(r[k]["top1"] for r in rows) for k in ("ladder", "orbit")}
    best_fixed = max(fixed, key=fixed.get) if rows else "ladder"
    wins = sum(r["adaptive"]["top1"] and not r[best_fixed]["top1"] for r in rows)
    losses = sum(r[best_fixed]["top1"] and not r["adaptive"]["top1"] for r in rows)
    return {"cases": len(rows), "overall": agg(rows), "by_world": {w: agg([r for r in rows if r["world"] == w])
                                                                    for w in worlds},
            "paired_top1": {"best_fixed": best_fixed, "adaptive_only": int(wins), "fixed_only": int(losses)},
            "seconds": float(sum(r["seconds"] for r in rows))}


def run_follow_up_cases(seeds: list[int], workers: int | None = None, progress=None, **options) -> list[dict]:
    """:func:`run_follow_up_case` on each seed with ``options`` (its keywords): the rows, in order.

    On a Dask local cluster with ``workers`` > 1, else here, calling ``progress(row)`` after each.
    """
    run = partial(run_follow_up_case, **options)
    if workers and workers > 1:
        from plumetrace.pipeline import dask_executor

        with dask_executor(workers) as (ex, _):
            return list(ex.map(run, seeds))
    rows = []
    for s in seeds:
        rows.append(run(s))
        if progress:
            progress(rows[-1])
    return rows


def run_follow_up_bench(n: int = 20, workers: int | None = None, progress=None, locator: dict | None = None,
                        joint_locator=None, first_seed: int = 0, planner: dict | None = None,
                        budget_min: float = BUDGET_PER_TARGET_MIN) -> dict:
    """Cases ``first_seed`` … ``first_seed + n − 1`` (on a Dask local cluster with ``workers`` > 1), summarised.

    Options as :func:`run_follow_up_case`. A later ``first_seed`` gives cases no setting was chosen on (the method's
    changes were measured on seeds 0–19).
    """
    rows = run_follow_up_cases(list(range(first_seed, first_seed + n)), workers, progress, locator=locator,
                               joint_locator=joint_locator, planner=planner, arms=ARMS[1:], budget_min=budget_min)
    return {"summary": summarise_follow_up(rows), "rows": rows}
