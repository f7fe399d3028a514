"""Planning speed: a coverage plan of 2 km × 2 km and a follow-up plan, against fixed patterns in this process.

Usage: ``python benchmarks/planning.py [--repeats 3] [--json]``, or
``python benchmarks/planning.py --bench-information FIRST N``: on follow-up benchmark cases FIRST … FIRST+N−1, the
expected information each arm's legs give under the adaptive planner's own model
(:meth:`~plumetrace.plan.followup.FollowUpPlanner.expected_information`), and where the legs lie (downwind distance
from the candidate, altitude) — whether the planner's model ranks the plans as the flown bench does.
Or ``python benchmarks/planning.py --bench-planner FIRST N --planner '{"nu": 4}' [--against ROWS.json]
[--baseline] [--workers 2] [--out ROWS.json]``: the adaptive arm of the follow-up benchmark alone, flown and located
on cases FIRST … FIRST+N−1 with those planner options (``"leg_offset_sd_deg": "survey"``: the survey's spread of
one-minute mean directions), with ``--baseline`` also the default planner in the same run, and paired against the
adaptive and fixed arms of the rows of a whole ``plumetrace bench follow-up --json`` run of the same seeds
(``--against``; the fixed patterns fly as long as that run's adaptive plan).

Baselines (run here, same airspace): for coverage, a lawnmower at a fixed 40 m spacing built by the same leg and
sortie code without the physics search; for the follow-up, the crosswind ladder of the same budget
(:func:`plumetrace.plan.patterns.fixed_pattern`). Targets (issue #16): coverage ≤ 2 s, follow-up ≤ 5 s on 2 cores.
The airspace has an authorised square 400 m larger than the area and two no-fly discs; the follow-up candidate
is a posterior 20 m × 8 m (along × across the wind) on 5 m cells, 0.1 g/s, with 7 × 7 houses around it.
"""

import argparse
import json
import time

import numpy as np
from shapely.geometry import Point, box

from plumetrace.geo.buildings import Building
from plumetrace.physics.sigmas import sigma_model
from plumetrace.plan.airspace import Airspace
from plumetrace.plan.coverage import CoveragePlanner
from plumetrace.plan.followup import Candidate, FollowUpPlanner
from plumetrace.plan.patterns import fixed_pattern
from plumetrace.plan.route import default_home, sorties


def _best(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def examples() -> None:
    """1 km², wind 4 m/s from 250°, class D, 2 ppb noise, a no-fly disc of 80 m radius in the middle."""
    from plumetrace.exceptions import PlanError

    area = box(0, 0, 1000, 1000)
    air = Airspace(box(-300, -300, 1300, 1300), [Point(500, 500).buffer(80)], 10, 120)
    for q in (0.02, 0.05, 0.2):
        try:
            p = CoveragePlanner(wind=(4.0, 250.0), min_rate_g_s=q).plan(area, air)
            print(f"{q:g} g/s: legs {p.info['spacing_m']:g} m apart at {p.info['altitude_m']:g} m, P = "
                  f"{p.info['detection_probability']:.2f}, {p.flight_s / 60:.1f} min in {len(p.sorties)} sorties")
        except PlanError as exc:
            print(f"{q:g} g/s: exit 2 — {exc}")


def bench_information(first: int, n: int, model_errors=(0.5, 1.0)) -> None:
    """Each arm's expected information under the adaptive planner's model, on follow-up bench cases.

    Under each relative model error α of ``model_errors`` (the planner's default is 0.5, the locator's likelihood
    uses 1): the prior entropy of the labels, and the expected information of the bench's adaptive plan, of the
    plan a planner with that α chooses (``replanned``), of the ladder and of the orbit; then at the first α with a
    per-leg direction offset of σ = the survey's spread of one-minute mean directions (``leg_offset_sd_deg``).
    """
    from plumetrace.bench.follow_up import BUDGET_PER_TARGET_MIN, plan_follow_up_case
    from plumetrace.physics.wind import wind_axes

    for seed in range(first, first + n):
        case = plan_follow_up_case(seed)
        cands, plans = case["candidates"], case["plans"]
        if not cands:
            print(f"{case['scenario'].name}: no candidate", flush=True)
            continue
        down, _ = wind_axes(case["wind"][1])
        legs = {arm: [leg for q in (p if isinstance(p, list) else [p]) for leg in q.legs] for arm, p in plans.items()}
        where = []
        for arm, arm_legs in legs.items():
            dist = (np.array([(np.asarray(g.start) + np.asarray(g.end)) / 2 for g in arm_legs]) - cands[0].mean) @ down
            where.append(f"{arm} {len(arm_legs)} legs, downwind {np.median(dist):.0f} m ({np.min(dist):.0f}–"
                         f"{np.max(dist):.0f}), altitude {np.median([g.altitude for g in arm_legs]):.0f} m")
        print(f"{case['scenario'].name}: " + "; ".join(where), flush=True)
        swing = case["locator"].sigma_theta_ or 0.0  # spread of one-minute mean directions in the survey [deg]
        for alpha, leg_sd in [(a, 0.0) for a in model_errors] + [(model_errors[0], swing)]:
            planner = FollowUpPlanner(wind=case["wind"], budget_min=BUDGET_PER_TARGET_MIN * len(cands),
                                      buildings=case["buildings"], model_error=alpha, leg_offset_sd_deg=leg_sd)
            planner.fit(cands, case["airspace"])
            prior = sum(planner.prior_entropy_.values())
            info = {arm: planner.expected_information(cands, arm_legs) for arm, arm_legs in legs.items()}
            info["replanned"] = planner.expected_information(cands, planner.plan_.legs)
            print(f"  α = {alpha:g}, per-leg offset σ {leg_sd:.1f}°: prior entropy {prior:.2f} nats; "
                  "expected information " + ", ".join(f"{k} {v:.2f}" for k, v in info.items()), flush=True)


def _arm_line(name: str, r: list[dict]) -> str:
    from plumetrace.bench.follow_up import summarise_arm

    a = summarise_arm(r)

    def num(v, fmt):
        return format(float("nan") if v is None else v, fmt)

    return (f"{name:>22}: found {a['found']}/{a['cases']}, top-1 {num(a['top1'], '.0%')}, "
            f"top-3 {num(a['top3'], '.0%')}, median error {num(a['median_error_m'], '.1f')} m, "
            f"to the house {num(a['median_building_distance_m'], '.1f')} m, "
            f"region holds {num(a['coverage90'], '.0%')}, {num(a['flight_min'], '.1f')} min")


def bench_planner(first: int, n: int, planner: dict, against: str | None, baseline: bool, workers: int,
                  out: str | None, arms: tuple = ("adaptive",), budget_min: float = 12.0) -> None:
    """The adaptive arm (and ``arms``) under ``planner`` on cases ``first`` … (module docstring), paired."""
    from plumetrace.bench.follow_up import run_follow_up_cases

    seeds = list(range(first, first + n))
    variants = {"planner " + json.dumps(planner): planner}
    if baseline:
        variants = {"default planner": None, **variants}
    rows = {}
    for name, opts in variants.items():
        rows[name] = run_follow_up_cases(seeds, workers, planner=opts, arms=arms, budget_min=budget_min)
        for r in rows[name]:
            print(f"{name} {r['scenario']}: " + "; ".join(
                f"{arm} top-1 {r[arm]['top1']}, top-3 {r[arm]['top3']}, error "
                f"{r[arm]['error_m'] if r[arm]['error_m'] is None else round(r[arm]['error_m'], 1)} m, "
                f"{r[arm]['flight_min']} min" for arm in arms), flush=True)
    if out:
        with open(out, "w") as fh:
            json.dump(rows, fh)
    lines = {(name if arm == "adaptive" else f"{arm} ({name})"): [r[arm] for r in rs]
             for name, rs in rows.items() for arm in arms}
    if against:
        with open(against) as fh:
            saved = {r["seed"]: r for r in json.load(fh)["rows"]}
        missing = [s for s in seeds if s not in saved]
        if missing:
            raise SystemExit(f"{against} has no row for seeds {missing}")
        for arm in ("adaptive", "ladder", "orbit", "none"):
            lines[f"{arm} ({against.rsplit('/', 1)[-1]})"] = [saved[s][arm] for s in seeds]
    for name, r in lines.items():
        print(_arm_line(name, r))
    ref = [k for k in lines if k.startswith(("ladder", "default", "orbit"))]
    for name in variants:
        if name.startswith("default") or name not in lines:  # the adaptive arm not flown: nothing to pair
            continue
        for other in ref + [k for k in lines if k.startswith("adaptive (")]:
            pairs = list(zip(lines[name], lines[other], strict=True))
            print(f"paired top-1, {name} against {other}: {sum(x['top1'] and not y['top1'] for x, y in pairs)} to "
                  f"{sum(y['top1'] and not x['top1'] for x, y in pairs)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--examples", action="store_true", help="the 1 km² coverage examples of docs/planning.md")
    ap.add_argument("--bench-information", nargs=2, type=int, metavar=("FIRST", "N"),
                    help="each arm's expected information on follow-up bench cases FIRST … FIRST+N−1")
    ap.add_argument("--bench-planner", nargs=2, type=int, metavar=("FIRST", "N"),
                    help="the adaptive arm alone, flown on follow-up bench cases FIRST … FIRST+N−1 with --planner")
    ap.add_argument("--planner", default="{}", help="FollowUpPlanner options (JSON) for --bench-planner")
    ap.add_argument("--against", help="rows of a whole `plumetrace bench follow-up --json` run of the same seeds")
    ap.add_argument("--baseline", action="store_true", help="also the default planner, in the same run")
    ap.add_argument("--workers", type=int, default=1, help="Dask worker processes for --bench-planner")
    ap.add_argument("--out", help="write --bench-planner's rows here (JSON)")
    ap.add_argument("--arms", default="adaptive", help="arms flown by --bench-planner, comma-separated")
    ap.add_argument("--budget-min", type=float, default=12.0, help="follow-up flight per candidate [min]")
    args = ap.parse_args()
    if args.bench_planner:
        bench_planner(*args.bench_planner, json.loads(args.planner), args.against, args.baseline, args.workers,
                      args.out, tuple(args.arms.split(",")), args.budget_min)
        return
    if args.bench_information:
        bench_information(*args.bench_information)
        return
    if args.examples:
        examples()
        return
    area = box(-1000, -1000, 1000, 1000)
    air = Airspace(box(-1400, -1400, 1400, 1400), [Point(300, 200).buffer(80), Point(-500, -400).buffer(60)], 10, 120)
    planner = CoveragePlanner(wind=(4.0, 250.0), min_rate_g_s=0.05)
    planner.plan(area, air)  # compile once
    t_cov, plan = _best(lambda: planner.plan(area, air), args.repeats)

    def lawnmower():
        legs = planner.legs_for(area, air, 40.0, air.alt_min)
        return sorties(legs, air, default_home(air, (0.0, 0.0)), planner.speed_mps, air.alt_min, 25 * 60.0)

    t_base, _ = _best(lawnmower, args.repeats)
    x, y = np.meshgrid(np.arange(-60, 61, 5.0), np.arange(-60, 61, 5.0), indexing="ij")
    cells = np.column_stack((x.ravel(), y.ravel()))
    m = np.exp(-0.5 * ((cells[:, 0] / 20.0) ** 2 + (cells[:, 1] / 8.0) ** 2))
    qg = np.logspace(-3, 1, 50)
    qm = np.exp(-0.5 * ((np.log(qg) - np.log(0.1)) / 0.5) ** 2)
    cand = Candidate("c1", cells, m / m.sum(), qg, qm / qm.sum(), 1.0, 3.0, sigma_model("briggs_rural"))
    houses = [Building(f"h{i}{j}", box(i * 20 - 8, j * 20 - 8, i * 20 + 8, j * 20 + 8), 6.0)
              for i in range(-3, 4) for j in range(-3, 4)]
    fair = Airspace(box(-500, -500, 500, 500), [], 10, 60, buildings=houses)
    fu = FollowUpPlanner(wind=(3.0, 270.0), budget_min=12.0, buildings=houses)
    fu.fit([cand], fair)
    t_fu, _ = _best(lambda: fu.fit([cand], fair), args.repeats)
    t_lad, _ = _best(lambda: fixed_pattern("ladder", cand, fair, (3.0, 270.0), 12.0), args.repeats)
    # as the locator hands it over: three classes (the stabler one farther upwind) × two σ families, with the cell
    joint = []
    for code, w in ((2.0, 0.25), (3.0, 0.5), (4.0, 0.25)):
        mc = np.exp(-0.5 * (((cells[:, 0] + 15.0 * (code - 3.0)) / 20.0) ** 2 + (cells[:, 1] / 8.0) ** 2))
        joint += [(code, sigma_model(name), 0.5 * w * mc / mc.sum()) for name in ("briggs_rural", "briggs_urban")]
    classes = Candidate("c1", cells, sum(j[2] for j in joint), qg, qm / qm.sum(), 1.0, 3.0,
                        sigma_model("briggs_rural"), settings=joint)
    fu.fit([classes], fair)
    t_cls, _ = _best(lambda: fu.fit([classes], fair), args.repeats)
    # and each with three release heights, as the locator hands them over since session 19
    tall = [(code, model, h, mc * hw) for code, model, mc in joint for h, hw in ((1.0, 0.25), (5.0, 0.5), (10.0, 0.25))]
    heights = Candidate("c1", cells, sum(j[3] for j in tall), qg, qm / qm.sum(), 5.0, 3.0,
                        sigma_model("briggs_rural"), settings=tall)
    fu.fit([heights], fair)
    t_hgt, _ = _best(lambda: fu.fit([heights], fair), args.repeats)
    report = {"coverage_2km_s": t_cov, "coverage_spacing_m": plan.info["spacing_m"],
              "coverage_sorties": len(plan.sorties), "lawnmower_40m_s": t_base, "coverage_ratio": t_cov / t_base,
              "follow_up_s": t_fu, "follow_up_classes_s": t_cls, "follow_up_heights_s": t_hgt, "ladder_s": t_lad,
              "follow_up_ratio": t_fu / t_lad}
    if args.json:
        print(json.dumps(report))
        return
    print(f"coverage plan, 2 km × 2 km: {t_cov:.2f} s (legs {plan.info['spacing_m']:.0f} m apart, "
          f"{len(plan.sorties)} sorties); fixed 40 m lawnmower by the same code: {t_base:.2f} s "
          f"(ratio {t_cov / t_base:.1f}×)")
    print(f"follow-up plan (12 min, one candidate, 49 houses): {t_fu:.2f} s; ladder of the same budget: "
          f"{t_lad:.2f} s (ratio {t_fu / t_lad:.1f}×); with 3 classes × 2 σ families drawn with the cell: "
          f"{t_cls:.2f} s; and 3 release heights: {t_hgt:.2f} s")


if __name__ == "__main__":
    main()
