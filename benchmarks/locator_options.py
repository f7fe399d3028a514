"""Locator options measured on the single-survey suite and on demo campaigns.

Reproduces the numbers in docs/localisation.md. Options that these ablations showed to lose were removed from
the estimator (``stability_spread``, ``urban_with_buildings``, ``combine_channels``, ``combine_weight``,
``building_prior``; their measured history is in docs/localisation.md, and the commit before they were removed
still runs them):

* ``demo``: `plumetrace demo` for seeds 1, 2, 3, 4, 7 with the pipeline's settings (the ``campaign`` preset);
  prints the top-ranked site's class and distance to the hidden lab;
* ``urban``: the whole suite with the urban σ family only (what the removed ``urban_with_buildings`` did, as
  ``dispersion="briggs_urban"``), to compare with ``plumetrace bench accuracy``;
* ``beams``: the synthetic network of seven open-path beams of ``tests/locate/test_beams.py`` (seeds 3, 4, 5)
  through the fixed-network path (error, rate, 90 % radius, τ, tempering);
* ``chilbolton``: Chilbolton source 1 (``../shared/data/chilbolton``) as ``plumetrace locate`` finds it, and each
  beam's CH4 percentiles;
* ``pair``: two simultaneous sources 60 m apart across the wind (scores, errors, rates);
* ``joint``: two synthetic surveys 30° apart in wind, located alone and jointly (90 % radii);
* ``calibrate``: the ``calibrate`` option on follow-up benchmark cases 2 and 6;
* ``calibrate-cost``: what the bagged region costs and changes — ``SourceLocator`` with ``calibrate`` off and on,
  alternated in one process, on the 45-minute two-gas surveys of ``plumetrace bench speed`` (seeds 11–13) and on
  ``04_stability_D`` (seconds, 90 % radius tempered and bagged);
* ``particles``: the Lagrangian particle world's centre-line concentration over Briggs' Gaussian plume;
* ``lag``: the lag model on the benchmark survey of `plumetrace bench speed` (seeds 11, 12, 13: no lag given,
  shift, response, meander) and on the eight seeded surveys of ``tests/locate/test_calibration.py``;
* ``lag-suite``: shift against response on 16 suite scenarios;
* ``curtain``: the mass balance on simulated curtains of 0.05, 0.2 and 1 g/s;
* ``settings``: the whole suite with the defaults and one setting changed at a time (the evidence threshold
  ``min_log_bayes``, the subtraction's model error ``subtract_error``); about 7 minutes per variant on 2 cores;
* ``oracle``: the whole suite with the scenario's true Pasquill class and σ family given to the locator
  (``stability``, ``dispersion`` from ``truth.json``): how much of the error is the weather the locator has to
  estimate;
* ``inline``: two steady CH4 sources in line with the wind (0.5 g/s, and 0.3 g/s 190 m downwind of it;
  transects 30 m apart at 15 m, noise 3 ppb): the evidence for the downwind source after the upwind one is
  subtracted — as found, and at its true position and rate (the best any re-fit of the first source could do);
* ``alongwind``: the locator's marginal log-likelihood (over wind offsets, σ families, heights and the rate)
  on a line along the wind and one across it through the lab of ``04_stability_D`` (its acetone channel);
* ``kernel``: where the grid locator's time goes on the benchmark survey of `plumetrace bench speed` (each
  call of the compiled likelihood kernel: cells, heights, seconds);
* ``speed-parts``: issue #15's speed work part by part on the 45-minute two-gas survey (the likelihood table, the
  coarse pass on every other rate, the updated further-source pass, the pair screen's anchors) and Chilbolton in
  a warm process;
* ``class-mix``: the whole suite with the Pasquill class marginalised near σθ boundaries (tried, not kept).
* ``co-emission-cost``: the locator with and without co-emission, alternated in one process, on three scenarios.
* ``class-neighbours``: the whole suite with co-emission and the Pasquill class marginalised over the σθ class
  (weight ½) and its two neighbours (¼ each), against co-emission alone and the default (session 12).
* ``co-emission-bounds``: the whole suite three ways (session 15): co-emission off (session 14's default), the
  default (co-emission on, its prior from the source-class library), and the default with ``class_bounds``.
* ``beam-average``: the fixed network's beam average on Chilbolton's beams (200 random cells, 27 configurations)
  against 0.05 m points, with and without the piece cut at x = 0, at 1, 0.5 and 0.25 m; the coarse pass's time
  and deviation with its points in groups (session 16).
* ``site-numbers``: the whole suite with each site's 90 % radius, evidence and class, false sites against the
  others; the suite scored with 50 and 75 m match radii.
* ``heights``: eight release levels (0.5–10 m) against the default, on the 45-minute two-gas speed survey (alternated
  in one process) and on the whole suite (session 17).
* ``follow-up-diagnosis``: follow-up benchmark cases 7 and 10 — the lab's site after the coverage survey and after
  each arm's joint locate (error, 90 % radius, evidence, release height).
* ``bag-size``: the whole suite with the bagged 90 % radius of each site for bootstrap data sets c = 1, 2, 4, 8
  times the number of blocks, and the tempered radius: how many found targets each holds, overall and per family
  (session 17; about an hour on 2 cores).
* ``release-levels``: the release levels ``auto`` picks (session 18): synthetic legs at 12 m both ways, every suite
  scenario's lowest plume encounter and levels, and the harness on those whose levels change, both ways;
* ``follow-up-joint``: the whole follow-up bench (20 cases, 2 workers) with the default joint locate and with the
  meander random effect added to the joint locates of every arm (about 2.5 h on 2 cores; session 18 measured it on
  the adaptive arm only);
* ``model-error-suite``, ``model-error-follow-up``, ``model-error-chilbolton``: the likelihood's relative model
  error (``SourceLocator(model_error=…)``) at its default and at ``--alpha`` (0.5) — on the whole suite, on the whole
  follow-up bench (every locate of every arm; ``--no-baseline`` skips the default's run, ``--out`` keeps the
  reports; about 55 minutes per run with 2 workers) and on Chilbolton source 1 (session 21);
* ``follow-up-oracle``: the whole follow-up bench three times — as it runs, with the joint locates given the true
  Pasquill class, and given the class and the lab's release height (session 20's oracle, every arm);
* ``follow-up-class-read``: the class read from σθ on each follow-up case's coverage survey against the true class
  and the simulator's meander angle;
* ``follow-up-particle-sigma``: the particle world's σy at 20, 50 and 150 m against Briggs' (classes B–E, a 3 m
  release), then its cases among seeds 0 … ``--cases``−1, adaptive arm, the joint locates given that world's own σ
  growth (Taylor's theory with its σv, σw, T_L) and class (session 22);
* ``follow-up-heights``: follow-up benchmark cases 0–8 and 10 with the release heights (1, 5, 10) m and with eight
  levels 0.5–10 m: each arm's error, building top-1 and whether its region holds the lab (session 17).

    python benchmarks/locator_options.py WHAT [--out DIR]

    WHAT: demo, urban, beams, chilbolton, pair, joint, calibrate, calibrate-cost, particles, lag, lag-suite, curtain,
          settings, oracle, inline, alongwind, kernel, speed-parts, class-mix, class-neighbours,
          co-emission-cost, co-emission-bounds, beam-average, site-numbers, follow-up-diagnosis, bag-size,
          follow-up-heights, heights, follow-up-joint, release-levels, model-error-suite,
          model-error-follow-up, model-error-chilbolton, follow-up-oracle, follow-up-class-read,
          follow-up-particle-sigma [--alpha A] [--no-baseline] [--cases N]
"""

from __future__ import annotations

import argparse
import tempfile


def demo(out: str) -> None:
    """Demo campaigns for five seeds with the pipeline's (campaign preset) settings."""
    from plumetrace.demo import run_demo

    for seed in (1, 2, 3, 4, 7):
        r = run_demo(f"{out}/seed_{seed}", seed, progress=False)
        top = r.sites[0] if r.sites else None
        text = "no site" if top is None else f"top {top['class']} {top['lab_distance_m']:.1f} m from the lab"
        print(f"seed {seed}: {text} ({len(r.sites)} sites, {r.seconds:.0f} s)", flush=True)


def urban() -> None:
    """The whole suite with urban dispersion only."""
    from plumetrace.bench.accuracy import run_accuracy

    loc = run_accuracy(progress=False, locator_params={"dispersion": "briggs_urban"})["localisation"]
    print(f"urban σ only: {_summary(loc)}", flush=True)


def beams() -> None:
    """The synthetic beam network of tests/locate/test_beams.py, seeds 3, 4, 5, through the fixed-network path."""
    import math
    import sys
    from pathlib import Path

    from shapely.geometry import Point

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from plumetrace.locate import SourceLocator
    from tests.locate.test_beams import _network

    for seed in (3, 4, 5):
        survey, src, rate = _network(seed=seed)
        loc = SourceLocator(stability="D").fit(survey)
        s, net = loc.sources_[0], loc.network_["ch4_ppm"]
        print(f"seed {seed}: {math.hypot(s.east - src[0], s.north - src[1]):.2f} m, rate {s.rate_g_s / rate:.2f} × "
              f"the truth, 90 % radius {s.credible90_radius_m:.2f} m (holds the source: "
              f"{s.credible90.buffer(1e-6).covers(Point(src[0], src[1]))}), τ {net.tau_ppb_:g} ppb, "
              f"tempering {net.tempering_:.2f}", flush=True)


def _chilbolton_source_1():
    """Path of Chilbolton source 1's survey in ``../shared/data`` (where the tests find it)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.conftest import SHARED_DATA

    return SHARED_DATA / "chilbolton" / "source_1" / "survey.csv"


def chilbolton() -> None:
    """Chilbolton source 1 through ``plumetrace locate`` as it stands, and each beam's CH4 percentiles."""
    import json

    import numpy as np

    from plumetrace.bench.field_release import run_plumetrace
    from plumetrace.io.survey import read_survey

    path = _chilbolton_source_1()
    print(json.dumps(run_plumetrace(path)), flush=True)
    d = read_survey(path).data
    for beam, g in d.groupby("platform"):
        q = np.percentile(g["ch4_ppm"].to_numpy(), [5, 50, 95])
        print(f"{beam}: CH4 5 / 50 / 95 % {q[0]:.2f} / {q[1]:.2f} / {q[2]:.2f} ppm", flush=True)


def joint() -> None:
    """Two synthetic surveys 30° apart in wind (tests/locate/test_joint.py): 90 % radii alone and jointly."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from plumetrace.io.survey import merge_surveys
    from plumetrace.locate import SourceLocator
    from tests.locate.test_locator import synthetic_survey

    a = synthetic_survey(0.003, seed=1, wind=(4.0, 270.0))
    b = synthetic_survey(0.003, seed=2, wind=(4.0, 240.0))
    for name, s in (("wind from 270°", a), ("wind from 240°", b), ("jointly", merge_surveys([a, b], a.frame))):
        e = SourceLocator(stability="D", dispersion="briggs_rural").fit(s).sources_[0]
        print(f"{name}: 90 % radius {e.credible90_radius_m:.1f} m", flush=True)


def pair() -> None:
    """Two sources 60 m apart across the wind (tests/locate/test_multi.py): scores and the sources found."""
    import math
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from plumetrace.locate import SourceLocator
    from plumetrace.locate.multi import score_sources
    from tests.locate.test_multi import SOURCES, two_source_survey

    loc = SourceLocator(stability="D", dispersion="briggs_rural", wind_offset_sd_deg=0.0).fit(two_source_survey(1))
    obs, search = loc.observations_["ch4_ppm"], loc.search_

    def score(cells):
        return score_sources(obs, [search.prediction(obs, x, y, h, 0.0, 3.0) for x, y, h in cells], search.beta)[0]

    print(f"tempered log-likelihood: merged source upwind {score([(-62.5, 10.0, 1.8)]):.0f}, either true one "
          f"{max(score([s]) for s in SOURCES):.0f}, the true pair {score(SOURCES):.0f}", flush=True)
    for x, y, _ in SOURCES:
        e = min(loc.sources_, key=lambda e: math.hypot(e.east - x, e.north - y))
        print(f"source at ({x:g}, {y:g}): found {math.hypot(e.east - x, e.north - y):.1f} m away, "
              f"{e.rate_g_s:.2f} g/s", flush=True)


def calibrate() -> None:
    """The calibrate option on follow-up benchmark cases 2 and 6 (every arm, with and without)."""
    from plumetrace.bench.follow_up import run_follow_up_case

    for seed in (2, 6):
        for cal in (False, True):
            r = run_follow_up_case(seed, {"calibrate": cal})
            arms = {a: (r[a]["error_m"] and round(r[a]["error_m"], 1), r[a]["covered"]) for a in
                    ("none", "adaptive", "ladder")}
            print(f"seed {seed}, calibrate={cal}: (error m, 90 % holds the lab) {arms}; {r['seconds']:.0f} s",
                  flush=True)


def calibrate_cost() -> None:
    """Seconds and 90 % radii with ``calibrate`` off and on, alternated in one process (module docstring)."""
    import statistics
    import time

    from plumetrace.bench.accuracy import DEFAULT_SUITE
    from plumetrace.bench.locate_speed import make_survey
    from plumetrace.geo.crs import LocalFrame
    from plumetrace.io.survey import survey_from_dataframe
    from plumetrace.locate import SourceLocator
    from plumetrace.sim.scenario import load_scenario
    from plumetrace.sim.sensors import CATALOGUE
    from plumetrace.sim.simulate import simulate

    cases = []
    gases = ("acetone_ppb", "toluene_ppb")
    for seed in (11, 12, 13):  # the whole-survey case of `plumetrace bench speed`
        survey, _, _ = make_survey(seed, 45.0, gases, side_m=600.0 * (45.0 / 23.75) ** (1 / 2.4))
        cases.append((f"45-minute two-gas survey, seed {seed}", survey, {c: CATALOGUE[c].lag for c in gases}, None))
    path = DEFAULT_SUITE / "04_stability_D.yaml"
    sc, base = load_scenario(path)
    sim = simulate(sc, path, base)
    channels = [c for c in sim.survey.columns if c.endswith(("_ppm", "_ppb"))]
    survey = survey_from_dataframe(sim.survey, channels, path, LocalFrame(sc.origin.lat, sc.origin.lon))
    lags = {s["column"]: s["lag_s"] for p in sim.truth["platforms"] for s in p["sensors"]}
    cases.append(("04_stability_D", survey, lags, sim.town.buildings))
    for name, survey, lags, buildings in cases:
        SourceLocator(lags=lags).fit(survey, buildings)  # compile and warm
        times = {False: [], True: []}
        for _ in range(2):
            for cal in (False, True):
                t0 = time.perf_counter()
                loc = SourceLocator(lags=lags, calibrate=cal).fit(survey, buildings)
                times[cal].append(time.perf_counter() - t0)
        top = loc.sources_[0] if loc.sources_ else None
        radii = "no site" if top is None else (
            f"90 % radius tempered {top.posterior.config['credible90_radius_tempered_m']:.1f} m, "
            f"bagged {top.credible90_radius_m:.1f} m")
        off, on = statistics.median(times[False]), statistics.median(times[True])
        print(f"{name}: {off:.2f} s without, {on:.2f} s with the bagged region (+{on - off:.2f} s, "
              f"{100 * (on / off - 1):+.0f} %); {radii}", flush=True)


def particles() -> None:
    """The particle world against Briggs' Gaussian plume: 1 m release, 4 m/s, 2 m receptor, 20,000 particles."""
    import numpy as np

    from plumetrace.physics.plume import gaussian_plume
    from plumetrace.sim.lagrangian import ParticlePlume

    for st in ("B", "D", "E"):
        p = ParticlePlume.run(1.0, 4.0, st, None, relative_fraction=1.0, n_particles=20_000, seed=1)
        for x in (20.0, 50.0, 100.0, 300.0):
            c = p.at(np.array([x]), np.array([0.0]), np.array([2.0]))[0]
            g = float(np.ravel(gaussian_plume(x, 0.0, 2.0, 0.0, 0.0, 1.0, 1.0, 4.0, 270.0, st,
                                              model="briggs_rural"))[0])
            print(f"class {st}, {x:g} m: particles / Gaussian = {c / g:.2f}", flush=True)


LAG_SUBSET = "01_*,03_*,06_*,08_*,09_*,10_*,12_*,13_*,14_*,15_*,16_*,21_*,22_*,23_*,25_*,32_*"


def _summary(loc: dict) -> str:
    enc = (f" ({loc['found_encountered']}/{loc['targets_encountered']} encountered)"
           if "targets_encountered" in loc else "")
    return (f"found {loc['targets_found']}/{loc['targets']}{enc}, false sites {loc['false_sites']}, median error "
            f"{loc['localisation_error_median_m']:.1f} m, coverage {loc['credible90_coverage']:.0%}, building top-1 "
            f"{loc['building_top1']:.0%}/{loc['building_top3']:.0%}, rate factor "
            f"{loc['rate_error_factor_median']:.2f}, median {loc['median_seconds_locate']:.1f} s")


def lag() -> None:
    """The lag model where one source is alone: the benchmark survey and the calibration batch."""
    import math
    import sys
    from pathlib import Path

    from plumetrace.bench.locate_speed import make_survey
    from plumetrace.locate import SourceLocator

    variants = {"no lag given": {}, "shift": {"lags": {"acetone_ppb": 2.0}},
                "response": {"lags": {"acetone_ppb": 2.0}, "lag_model": "response"},
                "no lag, meander 12°": {"meander_sd_deg": 12.0, "wind_offset_sd_deg": 0.0}}
    for seed in (11, 12, 13):
        survey, truth, _ = make_survey(seed, 30.0)
        for name, params in variants.items():
            p = SourceLocator(max_sources=1, max_groups=1, **params).fit(survey).posteriors_[0]
            print(f"benchmark survey seed {seed}, {name:>20}: most probable cell "
                  f"{math.hypot(p.east - truth[0], p.north - truth[1]):.1f} m from the lab", flush=True)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from shapely.geometry import Point

    from tests.locate.test_calibration import WINDS, _survey

    for name in ("shift", "response"):
        rows = []
        with tempfile.TemporaryDirectory() as tmp:
            for k in range(len(WINDS)):
                survey, (e, n) = _survey(Path(tmp), k)
                params = variants[name]
                loc = SourceLocator(**params).fit(survey)
                if loc.sources_:
                    s = loc.sources_[0]
                    inside = s.credible90.buffer(1e-6).contains(Point(float(e), float(n)))
                    rows.append(f"{math.hypot(s.east - e, s.north - n):.0f} m{'' if inside else ' (outside)'}")
        print(f"calibration batch, {name}: {', '.join(rows)}", flush=True)


def lag_suite() -> None:
    """Shift against response on 16 suite scenarios."""
    from plumetrace.bench.accuracy import run_accuracy

    for name in ("shift", "response"):
        loc = run_accuracy(select=LAG_SUBSET, progress=False, locator_params={"lag_model": name})["localisation"]
        print(f"{name:>9}: {_summary(loc)}", flush=True)


SETTINGS_VARIANTS = {
    "defaults": {},
    "subtract_error=1.0": {"subtract_error": 1.0},
    "subtract_error=0.3": {"subtract_error": 0.3},
    "min_log_bayes=10": {"min_log_bayes": 10.0},
    "min_log_bayes=6": {"min_log_bayes": 6.0},
}


def settings() -> None:
    """The whole suite with one setting changed at a time."""
    from plumetrace.bench.accuracy import run_accuracy

    for name, params in SETTINGS_VARIANTS.items():
        loc = run_accuracy(progress=False, locator_params=params)["localisation"]
        print(f"{name:>20}: {_summary(loc)}", flush=True)


def oracle() -> None:
    """The whole suite with the true stability class and σ family given."""
    from plumetrace.bench.accuracy import run_accuracy

    def truth_weather(truth: dict) -> dict:
        return {"stability": truth["weather"]["stability"], "dispersion": truth["weather"]["dispersion"]}

    loc = run_accuracy(progress=False, locator_params=truth_weather)["localisation"]
    print(f"{'true weather given':>20}: {_summary(loc)}", flush=True)


def inline() -> None:
    """A source in line downwind of a stronger one: the second source's evidence after subtracting the first."""
    from dataclasses import replace

    import numpy as np
    import pandas as pd

    from plumetrace.geo.crs import LocalFrame
    from plumetrace.io.survey import survey_from_dataframe
    from plumetrace.locate import SourceLocator
    from plumetrace.physics.plume import gaussian_plume
    from plumetrace.physics.species import SPECIES, mole_fraction

    frame = LocalFrame(52.0, 5.0)
    rng = np.random.default_rng(1)
    x = np.arange(-150.0, 300.0, 30.0)
    legs = [np.arange(-200.0, 200.0, 0.8)[:: 1 if k % 2 == 0 else -1] for k in range(x.size)]
    e = np.concatenate([np.full(leg.size, xi) for xi, leg in zip(x, legs, strict=True)])
    n = np.concatenate(legs)
    t = 1.78e9 + 0.1 * np.arange(e.size)
    z = np.full(e.size, 15.0)
    up, down = (-120.0, 0.0, 5.0, 0.5), (70.0, 5.0, 5.0, 0.3)  # east, north, height [m], rate [g/s]
    c = sum(gaussian_plume(e, n, z, *src, 4.0, 270.0, "D", model="briggs_rural") for src in (up, down))
    ppm = mole_fraction(c * 1e-3, SPECIES["ch4"].molar_mass) * 1e6
    lat, lon = frame.to_wgs84(e, n)
    df = pd.DataFrame({"time": t, "lat": lat, "lon": lon, "alt_m": z,
                       "ch4_ppm": 1.95 + ppm + 0.003 * rng.standard_normal(t.size),
                       "wind_speed_mps": 4.0, "wind_dir_deg": 270.0})
    survey = survey_from_dataframe(df, ["ch4_ppm"], "inline.csv", frame)
    for alpha in (1.0, 0.5, 0.2):
        loc = SourceLocator(stability="D", dispersion="briggs_rural", wind_offset_sd_deg=0.0, subtract_error=alpha,
                            max_sources=2).fit(survey)
        found = [(round(p.east), round(p.north), round(p.rate_g_s, 3), round(p.log_bayes, 1)) for p in loc.posteriors_]
        obs = loc.observations_["ch4_ppm"]
        first = loc.search_.posterior(obs)
        cfg = {**first.config, "east": up[0], "north": up[1], "height": up[2]}
        g = loc.search_.prediction(obs, up[0], up[1], up[2], 0.0, cfg["code"], cfg["model"])
        ideal = replace(obs, enhancement=obs.enhancement - up[3] * g,
                        variance=obs.variance + (alpha * up[3] * g) ** 2)
        second = loc.search_.posterior(ideal, exclude=[(up[0], up[1])])
        print(f"subtract_error {alpha}: sources found (east, north, g/s, evidence) {found}; downwind source's "
              f"evidence with the upwind one subtracted exactly: {second.log_bayes:.1f} nats", flush=True)


def alongwind(scenario: str = "04_stability_D", channel: str = "acetone_ppb") -> None:
    """Marginal log-likelihood along and across the wind through a scenario's target."""
    import math
    from pathlib import Path

    import numpy as np

    from plumetrace.bench.accuracy import DEFAULT_SUITE
    from plumetrace.geo.crs import LocalFrame
    from plumetrace.io.survey import survey_from_dataframe
    from plumetrace.locate import SourceLocator
    from plumetrace.locate.grid import grid_log_likelihood
    from plumetrace.locate.posterior import log_integral_over_rate
    from plumetrace.numerics import log_sum_exp
    from plumetrace.sim.scenario import load_scenario
    from plumetrace.sim.simulate import simulate

    path = Path(DEFAULT_SUITE) / f"{scenario}.yaml"
    sc, base = load_scenario(path)
    sim = simulate(sc, path, base)
    channels = [c for c in sim.survey.columns if c.endswith(("_ppm", "_ppb"))]
    survey = survey_from_dataframe(sim.survey, channels, path, LocalFrame(sc.origin.lat, sc.origin.lon))
    lags = {s["column"]: s["lag_s"] for p in sim.truth["platforms"] for s in p["sensors"]}
    loc = SourceLocator(lags=lags).fit(survey, sim.town.buildings)
    obs = loc.observations_[channel]
    lab = next(s for s in sim.truth["sources"] if s["target"])
    wd = math.radians(sim.truth["weather"]["wind_from_deg"])
    upwind, cross = np.array([math.sin(wd), math.cos(wd)]), np.array([math.cos(wd), -math.sin(wd)])
    q = np.logspace(math.log10(loc.q_range[0]), math.log10(loc.q_range[1]), loc.n_q)
    offsets = np.arange(-60.0, 61.0, 10.0)
    print(f"{scenario}, {channel}, class {loc.stability_}; log-likelihood ratio [nats] at offsets [m] from the "
          f"lab ({lab['east_m']:.0f}, {lab['north_m']:.0f})")
    for name, vec in (("along (+ upwind)", upwind), ("across", cross)):
        x, y = lab["east_m"] + offsets * vec[0], lab["north_m"] + offsets * vec[1]
        terms = []
        for offset, code, m, weight in loc.search_.configs():
            d, _ = grid_log_likelihood(x, y, np.asarray(loc.heights_, float), obs, offset, code, loc.sigma_models_[m],
                                       q, loc.mixing_height, beta=loc.search_.beta, meander=loc.search_.meander(obs),
                                       p_off=loc.p_off)
            terms.append(log_integral_over_rate(d) + math.log(weight))
        total = log_sum_exp(np.stack(terms), axis=(0, 2)) - math.log(q.size * len(loc.heights_))
        print(f"{name:>17}: " + "  ".join(f"{o:+.0f}: {v:.1f}" for o, v in zip(offsets, total, strict=True)),
              flush=True)


def kernel() -> None:
    """Time of each likelihood-kernel call of the grid locator on the benchmark survey."""
    import time

    import plumetrace.locate.posterior as locator_module
    from plumetrace.bench.locate_speed import make_survey
    from plumetrace.locate import SourceLocator
    from plumetrace.sim.sensors import CATALOGUE

    survey, _, channel = make_survey(11, 30.0)
    lags = {channel: CATALOGUE[channel].lag}
    SourceLocator(lags=lags).fit(survey)  # compile
    original = locator_module.grid_log_likelihood
    calls = []

    def timed(cx, cy, heights, *args, **kwargs):
        t0 = time.perf_counter()
        out = original(cx, cy, heights, *args, **kwargs)
        calls.append((cx.size, heights.size, time.perf_counter() - t0))
        return out

    locator_module.grid_log_likelihood = timed
    try:
        t0 = time.perf_counter()
        SourceLocator(lags=lags).fit(survey)
        total = time.perf_counter() - t0
    finally:
        locator_module.grid_log_likelihood = original
    for cells, heights, seconds in calls:
        print(f"kernel call: {cells:5d} cells × {heights} heights: {seconds:.3f} s")
    print(f"kernel {sum(c[2] for c in calls):.2f} s of {total:.2f} s in {len(calls)} calls", flush=True)


def curtain() -> None:
    """Mass balance on simulated curtains."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from plumetrace.io.survey import read_survey
    from plumetrace.locate.massbalance import MassBalance
    from tests.locate.test_massbalance import _curtain_survey

    for rate in (0.05, 0.2, 1.0):
        with tempfile.TemporaryDirectory() as tmp:
            path, truth = _curtain_survey(Path(tmp), rate)
            e = MassBalance().fit(read_survey(path), ["acetone_ppb"]).estimates_[0]
            lo, hi = e.rate_ci90_g_s
            print(f"curtain {rate} g/s: {e.rate_g_s:.3f} g/s (90 % {lo:.3f}–{hi:.3f})", flush=True)


def _speed_case(seed: int = 11):
    """The 45-minute two-gas survey of ``plumetrace bench speed`` located once: (locator, channels)."""
    from plumetrace.bench.locate_speed import make_survey
    from plumetrace.locate import SourceLocator
    from plumetrace.sim.sensors import CATALOGUE

    gases = ("acetone_ppb", "toluene_ppb")
    survey, _, _ = make_survey(seed, 45.0, gases, side_m=600.0 * (45.0 / 23.75) ** (1 / 2.4))
    return SourceLocator(lags={c: CATALOGUE[c].lag for c in gases}).fit(survey), gases


def _best_of(fn, repeats: int = 3) -> float:
    import time

    fn()  # compile and warm
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _speed_parts_channel(loc, channel: str) -> None:
    """:func:`speed_parts` for one channel of the located survey."""
    import math

    import numpy as np

    from plumetrace.locate.grid import grid_log_likelihood, subset, unit_predictions
    from plumetrace.locate.multi import UNEXPLAINED_SIGMA, best_pair
    from plumetrace.locate.observations import changed_observations
    from plumetrace.locate.posterior import lattice, log_integral_over_rate
    from plumetrace.numerics import log_sum_exp

    s = loc.search_
    obs = loc.observations_[channel]
    cx, cy = lattice(obs.east.min() - s.margin, obs.east.max() + s.margin, obs.north.min() - s.margin,
                     obs.north.max() + s.margin, s.coarse_resolution)
    h = np.asarray(s.heights, float)[len(s.heights) // 2:][:1]
    code = s.stability_weights[0][0]
    for m, model in enumerate(s.sigma_models):
        def run(tab, q=s.q_grid, model=model):
            return grid_log_likelihood(cx, cy, h, obs, 0.0, code, model, q, s.mixing_height, beta=s.beta,
                                       tabulated=tab)[0]
        exact, table = run(False), run(True)
        half = run(True, s.q_grid[::2])
        moved = (log_sum_exp(log_integral_over_rate(half)[:, 0]) - math.log(half.shape[-1])
                 - log_sum_exp(log_integral_over_rate(table)[:, 0]) + math.log(table.shape[-1]))
        print(f"{channel} σ family {m}: coarse kernel {_best_of(lambda: run(False)):.3f} s evaluated, "
              f"{_best_of(lambda: run(True)):.3f} s tabulated (largest difference "
              f"{np.max(np.abs(exact - table)):.3f} nats); every other rate moves the coarse evidence by "
              f"{moved:+.1f} nats", flush=True)
    post = next(p for p in loc.posteriors_ if p.channel == channel)
    first = s.coarse_pass(obs)
    residual = s.subtract(obs, post, loc.subtract_error)
    changed = changed_observations(obs, residual)
    updated, full = s.coarse_pass(residual, previous=first), s.coarse_pass(residual)
    worst = max(float(np.max(np.abs(a - b))) for a, b in zip(updated.delta, full.delta, strict=True))
    print(f"{channel}: the subtraction changed {100 * changed.mean():.0f} % of the observations; updated coarse "
          f"pass {_best_of(lambda: s.coarse_pass(residual, previous=first)):.3f} s, full "
          f"{_best_of(lambda: s.coarse_pass(residual)):.3f} s (largest difference {worst:.3f} nats)", flush=True)
    z = residual.enhancement / np.sqrt(residual.variance)
    sub, _ = subset(residual, None, z > UNEXPLAINED_SIGMA)
    height = float(np.asarray(s.heights)[len(s.heights) // 2])

    def predict(o, e, n):
        return unit_predictions(o, e, n, height, 0.0, code, s.sigma_models[0], s.mixing_height)

    anchors = (predict(sub, cx, cy) * float(s.q_grid[-1]) >= sub.enhancement[:, None]).any(axis=0)
    cells = np.column_stack((cx, cy))
    args = (obs, cells, predict, s.beta, s.exclusion_radius)
    print(f"{channel}: pair screen over {anchors.sum()} anchor cells of {cells.shape[0]} "
          f"{_best_of(lambda: best_pair(*args, anchors=anchors), 2):.2f} s, over every cell "
          f"{_best_of(lambda: best_pair(*args), 2):.2f} s", flush=True)


def speed_parts() -> None:
    """The parts of issue #15's speed work on the 45-minute two-gas survey (docs/localisation.md, session 11).

    Per channel: the coarse kernel with its rate terms evaluated and read from the likelihood table (seconds,
    largest difference), the coarse pass on every other rate (its evidence against every rate's), the
    further-source update of the coarse pass against the full pass (changed share, seconds, largest difference),
    and the pair screen with and without its anchors (cells, seconds); then Chilbolton source 1 located three
    times in a warm process (when ``../shared/data`` is there).
    """
    import sys
    import time
    from pathlib import Path

    from plumetrace.locate import SourceLocator

    loc, gases = _speed_case()
    for channel in gases:
        _speed_parts_channel(loc, channel)
    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root))
    from tests.conftest import SHARED_DATA

    path = SHARED_DATA / "chilbolton" / "source_1" / "survey.csv"
    if path.exists():
        from plumetrace.io.survey import read_survey

        survey = read_survey(path)
        SourceLocator().fit(survey)
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            SourceLocator().fit(survey)
            times.append(time.perf_counter() - t0)
        print("Chilbolton source 1, warm process: " + ", ".join(f"{t:.2f}" for t in times) + " s", flush=True)


def class_mix() -> None:
    """The whole suite with the Pasquill class marginalised near σθ boundaries (tried in issue #15, not kept).

    Between two classes' σθ centres (A 25° … F 2.5°), at position t ∈ [0, 1] in log σθ from the less stable one:
    that class alone within t ≤ 0.25, the other alone for t ≥ 0.75, both with weights 1 − t and t in between.
    Prints the suite's localisation scores, to compare with ``plumetrace bench accuracy``.
    """
    import json
    import math

    import numpy as np

    import plumetrace.bench.accuracy as accuracy
    from plumetrace.locate import SourceLocator
    from plumetrace.locate.locator import SIGMA_THETA_FACTOR
    from plumetrace.physics.stability import SIGMA_THETA_CENTRES_DEG, stability_label

    def weights(sigma_theta: float) -> list[tuple[float, float]]:
        c = SIGMA_THETA_CENTRES_DEG
        s = max(sigma_theta * SIGMA_THETA_FACTOR, float(c[-1]))
        if s >= c[0]:
            return [(0.0, 1.0)]
        if s <= c[-1]:
            return [(float(c.size - 1), 1.0)]
        i = int(np.flatnonzero(c >= s)[-1])
        t = math.log(c[i] / s) / math.log(c[i] / c[i + 1])
        if t <= 0.25 or t >= 0.75:
            return [(float(i if t <= 0.25 else i + 1), 1.0)]
        return sorted([(float(i), 1.0 - t), (float(i + 1), t)], key=lambda cw: -cw[1])

    class MixedClassLocator(SourceLocator):
        def _stability(self, survey):
            label, w = super()._stability(survey)
            if self.sigma_theta_ is None or not np.isfinite(self.sigma_theta_):
                return label, w
            w = weights(self.sigma_theta_)
            return str(stability_label(w[0][0])), w

    accuracy.SourceLocator = MixedClassLocator
    report = accuracy.run_accuracy()
    keys = ("targets_found", "found_observable", "false_sites", "localisation_error_median_m",
            "credible90_coverage", "median_seconds_locate")
    print(json.dumps({k: report["localisation"][k] for k in keys}))
    for row in report["scenarios"]:
        print(row["scenario"], json.dumps(row.get("localisation")))


def co_emission_cost() -> None:
    """Seconds to locate with co-emission off and on, alternated twice in one process (session 12)."""
    import time
    from pathlib import Path

    from plumetrace.geo.crs import LocalFrame
    from plumetrace.io.survey import survey_from_dataframe
    from plumetrace.locate import SourceLocator
    from plumetrace.sim.scenario import load_scenario
    from plumetrace.sim.simulate import simulate

    suite = Path(__file__).parent / "scenarios"
    for name in ("14_rate_0p1", "48_lagrangian_D", "04_stability_D"):
        path = suite / f"{name}.yaml"
        sc, base = load_scenario(path)
        sim = simulate(sc, path, base)
        channels = [c for c in sim.survey.columns if c.endswith(("_ppm", "_ppb"))]
        survey = survey_from_dataframe(sim.survey, channels, path, LocalFrame(sc.origin.lat, sc.origin.lon))
        lags = {s["column"]: s["lag_s"] for p in sim.truth["platforms"] for s in p["sensors"]}
        times = {False: [], True: []}
        for _ in range(2):
            for co in (False, True):
                t0 = time.perf_counter()
                SourceLocator(lags=lags, co_emission=co).fit(survey, sim.town.buildings)
                times[co].append(time.perf_counter() - t0)
        print(f"{name}: off {', '.join(f'{t:.1f}' for t in times[False])} s, "
              f"on {', '.join(f'{t:.1f}' for t in times[True])} s", flush=True)


def class_neighbours() -> None:
    """The suite three ways: default, co-emission, co-emission with the class and its neighbours (session 12)."""
    import json

    import plumetrace.bench.accuracy as accuracy
    from plumetrace.locate import SourceLocator

    class NeighbourClassLocator(SourceLocator):
        def _stability(self, survey):
            label, w = super()._stability(survey)
            code = w[0][0]
            ws = [(code, 0.5)] + [(k, 0.25) for k in (code - 1, code + 1) if 0 <= k <= 5]
            total = sum(x for _, x in ws)
            return label, [(k, x / total) for k, x in ws]

    keys = ("targets_found", "found_observable", "found_encountered", "false_sites", "localisation_error_median_m",
            "credible90_coverage", "median_seconds_locate")
    for name, cls, params in (("default", SourceLocator, None), ("co-emission", SourceLocator, {"co_emission": True}),
                              ("co-emission + neighbour classes", NeighbourClassLocator, {"co_emission": True})):
        accuracy.SourceLocator = cls
        report = accuracy.run_accuracy(progress=False, locator_params=params)
        print(name, json.dumps({k: report["localisation"][k] for k in keys}), f"{report['seconds']:.0f} s",
              flush=True)
        for row in report["scenarios"]:
            print("  ", row["scenario"], json.dumps(row.get("localisation")))
    accuracy.SourceLocator = SourceLocator


def co_emission_bounds() -> None:
    """The suite with co-emission off, the default, and the default with class bounds (session 15)."""
    import json

    import plumetrace.bench.accuracy as accuracy

    keys = ("targets_found", "found_observable", "found_encountered", "false_sites", "localisation_error_median_m",
            "building_top1", "credible90_coverage", "median_seconds_locate")
    for name, params in (("co-emission off", {"co_emission": False}), ("default", None),
                         ("class bounds", {"class_bounds": True})):
        report = accuracy.run_accuracy(progress=False, locator_params=params)
        print(name, json.dumps({k: report["localisation"][k] for k in keys}), f"{report['seconds']:.0f} s",
              flush=True)
        for row in report["scenarios"]:
            print("  ", row["scenario"], json.dumps(row.get("localisation")))


def beam_average() -> None:
    """The fixed network's beam average on Chilbolton's beams against 0.05 m points, and the coarse pass's groups."""
    import sys
    import time
    from pathlib import Path

    import numpy as np

    from plumetrace.io.survey import read_survey
    from plumetrace.locate.network import (
        COARSE_GROUP,
        INITIAL_SPREADS_M,
        SPREAD_FACTORS,
        NetworkLocator,
        network_readings,
    )

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.conftest import SHARED_DATA

    survey = read_survey(SHARED_DATA / "chilbolton" / "source_1" / "survey.csv")
    r = network_readings(survey, survey.channels[0])
    loc = NetworkLocator()
    rng = np.random.default_rng(0)
    cx, cy = rng.uniform(-30, 20, 200), rng.uniform(-110, 15, 200)
    spreads = [(a, b) for a in SPREAD_FACTORS for b in INITIAL_SPREADS_M]
    heights = [0.3, 1.0, 3.0]
    ref = loc._g(r.resampled(0.05), cx, cy, heights, spreads)
    big = ref > 1e-3 * ref.max()
    for step in (1.0, 0.5, 0.25):
        # group > 0 but too small to join two points: the plain midpoint rule, without the piece cut at x = 0
        for name, group in (("cut at x = 0", 0.0), ("plain midpoint", 1e-12)):
            g = loc._g(r.resampled(step), cx, cy, heights, spreads, group=group)
            rel = np.abs(g - ref)[big] / ref[big]
            print(f"{step} m points, {name}: largest error {np.abs(g - ref).max() / ref.max():.2%} of the largest "
                  f"prediction, relative p99 {np.quantile(rel, 0.99):.1%}, max {rel.max():.0%}", flush=True)
    x0, x1, y0, y1 = r.extent
    gx, gy = (a.ravel() for a in np.meshgrid(np.arange(x0 - 58, x1 + 60, 4.0), np.arange(y0 - 58, y1 + 60, 4.0),
                                             indexing="ij"))
    coarse = r.resampled(2.0)
    preds = {}
    for name, group in (("single points, cut at x = 0", 0.0), ("single points, plain", 1e-12),
                        ("groups (the coarse pass)", COARSE_GROUP)):
        loc._g(coarse, gx, gy, [1.0], [(1.0, 1.0)], group=group)  # compiled and warm
        t0 = time.perf_counter()
        preds[name] = loc._g(coarse, gx, gy, [1.0], [(1.0, 1.0)], group=group)
        if group != 1e-12:  # (the plain rule runs here through the group loop: its time is not the old kernel's)
            print(f"coarse pass ({gx.size} cells × {r.y.size} readings, 2 m points), {name}: "
                  f"{time.perf_counter() - t0:.2f} s", flush=True)
    ref = loc._g(r.resampled(0.05), gx, gy, [1.0], [(1.0, 1.0)])
    plain = preds["single points, plain"]
    for name, g in preds.items():
        print(f"  {name}: {np.abs(g - ref).max() / ref.max():.1%} of the largest from 0.05 m points, "
              f"{np.abs(g - plain).max() / plain.max():.2%} from the plain rule", flush=True)


def _suite_with_sites(site_fields, locator_params=None):
    """The whole suite (``run_accuracy``), with ``site_fields(estimate)`` of every site and each scenario's truth.

    Returns the report, the sites per scenario and the truths per scenario.
    """
    import plumetrace.bench.accuracy as accuracy

    sites, truths = [], []
    simulate, locator_class = accuracy.simulate, accuracy.SourceLocator

    def recording_simulate(*args, **kwargs):
        sim = simulate(*args, **kwargs)
        truths.append(sim.truth)
        return sim

    class Recording(locator_class):
        def fit(self, *args, **kwargs):
            super().fit(*args, **kwargs)
            sites.append([site_fields(e) for e in self.sources_])
            return self

    accuracy.SourceLocator, accuracy.simulate = Recording, recording_simulate
    try:
        report = accuracy.run_accuracy(progress=False, locator_params=locator_params)
    finally:
        accuracy.SourceLocator, accuracy.simulate = locator_class, simulate
    return report, sites, truths


def site_numbers(locator_params=None) -> None:
    """The whole suite with each site's 90 % radius, evidence and class: do they tell false sites from the others?

    Also the suite scored with a 75 m match radius, and the false sites classed ``clandestine_lab`` (false leads).
    """
    from plumetrace.bench.scoring import SourcePrediction, scenario_matches

    report, sites, truths = _suite_with_sites(
        lambda e: (e.east, e.north, e.credible90_radius_m, e.log_bayes, e.source_class), locator_params)
    loc = report["localisation"]
    print(f"found {loc['found_observable']}/{loc['targets_observable']} observable, "
          f"{loc['found_encountered']}/{loc['targets_encountered']} crossed >= 5 sigma, {loc['false_sites']} false "
          f"sites, median {loc['localisation_error_median_m']:.1f} m, building top-1 {loc['building_top1']:.1%}, "
          f"{report['seconds']:.0f} s", flush=True)
    for name, rows in (("false sites", True), ("sites within 50 m of an emitter", False)):
        chosen = [s for row, found in zip(report["scenarios"], sites, strict=True) for s in found
                  if any(abs(s[0] - f["east_m"]) < 0.2 and abs(s[1] - f["north_m"]) < 0.2
                         for f in row["localisation"]["false_sites"]) == rows]
        radii, evidence = [s[2] for s in chosen], [s[3] for s in chosen]
        print(f"{name}: {len(chosen)}, 90 % radius {min(radii):.1f}–{max(radii):.1f} m ({sum(r > 72 for r in radii)} "
              f"over 72 m), evidence {min(evidence):.1f}–{max(evidence):.1f} nats, classed clandestine_lab "
              f"{sum(s[4] == 'clandestine_lab' for s in chosen)}", flush=True)
    for radius in (50.0, 75.0):
        found = false = 0
        for row, found_sites, truth in zip(report["scenarios"], sites, truths, strict=True):
            preds = [SourcePrediction(east=e, north=n) for e, n, *_ in found_sites]
            m = scenario_matches(preds, truth, radius)
            found += sum(t in row["targets_observable"] for t in m["found"])
            false += len(m["false_sites"])
        print(f"match radius {radius:g} m: {found}/{loc['targets_observable']} observable found, {false} false sites",
              flush=True)


def heights(levels=(0.5, 1.5, 2.5, 3.5, 4.5, 6.0, 8.0, 10.0)) -> None:
    """Eight release heights against the default: the 45-minute two-gas speed survey, then the whole suite."""
    import math
    import time

    import numpy as np

    from plumetrace.bench.locate_speed import make_survey
    from plumetrace.locate import SourceLocator
    from plumetrace.sim.sensors import CATALOGUE

    sensors = ("acetone_ppb", "toluene_ppb")
    lags = {c: CATALOGUE[c].lag for c in sensors}
    variants = {"default": {}, "eight levels": {"heights": levels}}
    surveys = [make_survey(seed, 45.0, sensors, side_m=600.0 * (45.0 / 23.75) ** (1 / 2.4)) for seed in (11, 12, 13)]
    for opts in variants.values():  # compile and warm
        SourceLocator(lags=lags, **opts).fit(surveys[0][0])
    times = {k: [] for k in variants}
    for _ in range(2):  # alternated in one process
        for name, opts in variants.items():
            for survey, truth, _ in surveys:
                t0 = time.perf_counter()
                loc = SourceLocator(lags=lags, **opts).fit(survey)
                times[name].append(time.perf_counter() - t0)
                top = loc.sources_[0] if loc.sources_ else None
                err = "–" if top is None else f"{math.hypot(top.east - truth[0], top.north - truth[1]):.1f} m"
                print(f"{name}: {times[name][-1]:.2f} s, error {err}", flush=True)
    for name, t in times.items():
        print(f"45-minute survey, {name}: median {np.median(t):.2f} s", flush=True)
    site_numbers({"heights": list(levels)})


def follow_up_diagnosis(seeds=(7, 10)) -> None:
    """Follow-up benchmark cases: the target's site after the coverage survey and after each arm's joint locate."""
    import math

    import plumetrace.bench.follow_up as follow_up
    from plumetrace.geo.crs import LocalFrame
    from plumetrace.sim.simulate import simulate

    fits = []

    class Recording(follow_up.SourceLocator):
        def fit(self, *args, **kwargs):
            super().fit(*args, **kwargs)
            fits.append(self.sources_)
            return self

    follow_up.SourceLocator = Recording
    for seed in seeds:
        fits.clear()
        sc = follow_up.follow_up_scenario_spec(seed)
        target = next(s for s in simulate(sc, f"<{sc.name}>").truth["sources"] if s["target"])
        te, tn = LocalFrame(sc.origin.lat, sc.origin.lon).to_local(target["lat"], target["lon"])
        follow_up.run_follow_up_case(seed)
        print(f"{sc.name}: the lab's release height {target.get('height_m', float('nan')):.1f} m", flush=True)
        for stage, sources in zip(("coverage", *follow_up.ARMS[1:]), fits, strict=False):
            if not sources:
                print(f"  {stage}: no site", flush=True)
                continue
            e = min(sources, key=lambda e: math.hypot(e.east - te, e.north - tn))
            print(f"  {stage}: {math.hypot(e.east - te, e.north - tn):.1f} m off, 90 % radius "
                  f"{e.credible90_radius_m:.1f} m, evidence {e.log_bayes:.0f} nats, height {e.height_m:.1f} m",
                  flush=True)


def bag_size(factors=(1.0, 2.0, 4.0, 8.0)) -> None:
    """The whole suite: how many found targets the bagged 90 % disc holds for bootstrap sizes c·N, and the tempered."""
    import math
    from collections import defaultdict

    import numpy as np

    import plumetrace.locate.locator as locator
    from plumetrace.locate import bagging

    def bagged_sizes(search, obs, post, rng, exclude=(), **kwargs):
        state, radii, first = rng.bit_generator.state, {}, None
        for c in factors:  # every size from the same bootstrap weights
            r = np.random.default_rng()
            r.bit_generator.state = state
            b = bagging.bagged(search, obs, post, r, exclude=exclude, size_factor=c, **kwargs)
            radii[c] = b.credible_radius()
            first = b if first is None else first
        first.config["radius_by_size"] = radii
        return first

    locator.bagged = bagged_sizes
    try:
        report, sites, truths = _suite_with_sites(lambda e: (e.east, e.north, e.posterior.config[
            "credible90_radius_tempered_m"], e.posterior.config["radius_by_size"]))
    finally:
        locator.bagged = bagging.bagged
    held = defaultdict(lambda: defaultdict(int))
    for row, found, truth in zip(report["scenarios"], sites, truths, strict=True):
        emitters = {s["id"]: s for s in truth["sources"]}
        for tid, err in row["localisation"]["found"].items():
            s = emitters[tid]
            dist = [math.hypot(e - s["east_m"], n - s["north_m"]) for e, n, _, _ in found]
            k = int(np.argmin([abs(d - err) for d in dist]))  # the site the scoring matched
            _, _, tempered, radii = found[k]
            for fam in ("all", row["family"]):
                held[fam]["targets"] += 1
                held[fam]["tempered"] += dist[k] <= tempered
                for c, r in radii.items():
                    held[fam][f"c={c:g}"] += dist[k] <= r
    for fam, counts in held.items():
        n = counts.pop("targets")
        print(f"{fam}: {n} found; held by the 90 % disc: "
              + ", ".join(f"{k} {v}/{n}" for k, v in counts.items()), flush=True)


def follow_up_heights(seeds=(0, 1, 2, 3, 4, 5, 6, 7, 8, 10),
                      heights=((1.0, 5.0, 10.0), (0.5, 1.5, 2.5, 3.5, 4.5, 6.0, 8.0, 10.0))) -> None:
    """Follow-up benchmark cases with the default release heights and with eight levels: each arm's lab site."""
    import plumetrace.bench.follow_up as follow_up

    for levels in heights:
        rows = [follow_up.run_follow_up_case(seed, locator={"heights": levels}) for seed in seeds]
        for arm in follow_up.ARMS:
            found = [r[arm] for r in rows if r[arm]["found"]]
            errors = [f"{r[arm]['error_m']:.1f}" if r[arm]["found"] else "–" for r in rows]
            print(f"heights {levels}: {arm}: top-1 {sum(f['top1'] for f in found)}/{len(rows)}, region holds the lab "
                  f"{sum(f['covered'] for f in found)}/{len(rows)}, errors [m] {' '.join(errors)}", flush=True)


def release_levels() -> None:
    """Session 18's release levels (``heights="auto"``): synthetic legs at 12 m, then which suite scenarios change.

    First the synthetic low legs of ``tests/locate/test_heights.py`` (releases at 3.8, 7 and 2 m, seeds 0 and 1)
    located with ``auto`` and with (1, 5, 10) m; then every suite scenario's lowest plume encounter and the levels
    it gets, and the accuracy harness on the scenarios whose levels change, both ways.
    """
    import json
    import time

    import numpy as np

    from plumetrace.bench.accuracy import DEFAULT_SUITE, run_accuracy, scenario_files
    from plumetrace.detect import PlumeDetector
    from plumetrace.geo.crs import LocalFrame
    from plumetrace.io.survey import survey_from_dataframe
    from plumetrace.locate import SourceLocator
    from plumetrace.locate.levels import DEFAULT_HEIGHTS, release_heights
    from plumetrace.sim.scenario import load_scenario
    from plumetrace.sim.simulate import simulate
    from tests.locate.test_heights import low_leg_survey

    for height in (3.8, 7.0, 2.0):
        for seed in (0, 1):
            survey = low_leg_survey(height, 12.0, seed=seed)
            for name, levels in (("auto", "auto"), ("default", DEFAULT_HEIGHTS)):
                t0 = time.perf_counter()
                loc = SourceLocator(stability="D", dispersion="briggs_rural", wind_offset_sd_deg=0.0,
                                    heights=levels).fit(survey)
                s = loc.sources_[0]
                print(f"release {height} m, seed {seed}, {name} {loc.heights_}: error "
                      f"{np.hypot(s.east, s.north):.1f} m, 90 % radius {s.credible90_radius_m:.1f} m, "
                      f"{time.perf_counter() - t0:.2f} s", flush=True)
    changed = []
    for path in scenario_files(DEFAULT_SUITE):
        sc, base = load_scenario(path)
        sim = simulate(sc, path, base)
        channels = [c for c in sim.survey.columns if c.endswith(("_ppm", "_ppb"))]
        survey = survey_from_dataframe(sim.survey, channels, path, LocalFrame(sc.origin.lat, sc.origin.lon))
        lags = {x["column"]: x["lag_s"] for p in sim.truth["platforms"] for x in p["sensors"]}
        alts = [e.alt_m for e in PlumeDetector(lags=lags).fit(survey).events_]
        levels = release_heights(alts)
        print(f"{sc.name}: lowest encounter {min(alts, default=float('nan')):.1f} m, levels {levels}", flush=True)
        if levels != DEFAULT_HEIGHTS:
            changed.append(sc.name)
    for name, params in (("auto", {}), ("default", {"heights": DEFAULT_HEIGHTS})):
        report = run_accuracy(select=",".join(changed), progress=False, locator_params=params)
        for r in report["scenarios"]:
            print(f"{name}: {r['scenario']} {json.dumps(r['localisation'])}, locate {r['seconds_locate']:.1f} s",
                  flush=True)


def _print_follow_up(name: str, report: dict) -> None:
    """A follow-up bench report: each arm's rows overall and by world, and each case's arms."""
    import json

    import plumetrace.bench.follow_up as follow_up

    s = report["summary"]
    print(f"{name}: paired top-1 {json.dumps(s['paired_top1'])}, {s['seconds']:.0f} s", flush=True)
    for where, arms in [("overall", s["overall"])] + sorted(s["by_world"].items()):
        for arm, v in arms.items():
            print(f"  {where} {arm}: found {v['found']}/{v['cases']}, top-1 {v['top1']:.0%}, top-3 {v['top3']:.0%}, "
                  f"median {v['median_error_m'] or float('nan'):.1f} m, to the house "
                  f"{v['median_building_distance_m'] or float('nan'):.1f} m, region holds the lab "
                  f"{v['coverage90'] or 0:.0%}", flush=True)
    for r in report["rows"]:  # each arm's error, along-wind offset (negative: upwind) and height
        print(f"  {r['scenario']}: " + "; ".join(
            f"{arm} " + (f"{r[arm]['error_m']:.1f} m, along {r[arm]['along_wind_m']:+.1f} m, "
                         f"h {r[arm]['height_m']:.1f} m, top-1 {r[arm]['top1']}" if r[arm]["found"] else "–")
            for arm in follow_up.ARMS), flush=True)


def follow_up_joint(variant=(("meander_sd_deg", "auto"),), n: int = 20, workers: int = 2) -> None:
    """The whole follow-up bench with options added to the joint locates only (every arm), against the default."""
    import plumetrace.bench.follow_up as follow_up

    for name, joint in (("default", None), (" ".join(f"{k}={v}" for k, v in variant), dict(variant))):
        _print_follow_up(name, follow_up.run_follow_up_bench(n, workers=workers, joint_locator=joint))


def _true_class(sc, target) -> dict:
    """Oracle options of the joint locates: the scenario's Pasquill class."""
    return {"stability": str(sc.atmosphere.stability)}


def _true_class_height(sc, target) -> dict:
    """Oracle options of the joint locates: the scenario's Pasquill class and the lab's release height."""
    return {**_true_class(sc, target), "heights": (float(target["height_m"]),)}


def follow_up_oracle(n: int = 20, workers: int = 2) -> None:
    """The whole follow-up bench with the joint locates told the truth: the class, then the class and the height.

    Session 20 measured this on the adaptive arm only (a one-off script); every arm here, three runs of the bench
    (about 3 hours with 2 workers; ``--cases`` to run fewer).
    """
    import plumetrace.bench.follow_up as follow_up

    for name, joint in (("default", None), ("true class given", _true_class),
                        ("true class and release height given", _true_class_height)):
        _print_follow_up(name, follow_up.run_follow_up_bench(n, workers=workers, joint_locator=joint))


def _particle_sigma(sc, target) -> dict:
    """Oracle options of the joint locates in the particle world: its own σ growth and the true class.

    Taylor's σy = σv t (1 + t/2T_Lv)^−½, σz likewise with σw, T_Lw, t = x/u — the time-mean spread of that world
    (:meth:`plumetrace.sim.lagrangian.ParticlePlume.sigma_y`) — with σv, σw, T_L and u at the lab's release height
    (:func:`plumetrace.sim.lagrangian._profiles`), as a parametric σ family a x (1 + b x)^−½.
    """
    from plumetrace.physics.sigmas import sigma_model
    from plumetrace.sim.lagrangian import OBUKHOV_M, _profiles, friction_velocity

    atm = sc.atmosphere
    cls = str(atm.stability)[0].upper()
    zi = float(atm.mixing_height or 800.0)  # ParticlePlume.run's defaults: z_i 800 m, z₀ 0.5 m
    ustar = friction_velocity(float(atm.wind_speed), 0.5, OBUKHOV_M[cls])
    u, sw, _, tlw, sv, tlv = _profiles(max(float(target["height_m"]), 2.0), ustar, OBUKHOV_M[cls], zi, 0.5)
    coef = (sv / u, 1.0 / (2 * u * tlv), -0.5, 0.0, sw / u, 1.0 / (2 * u * tlw), -0.5, 0.0)
    return {"stability": cls, "dispersion": (sigma_model("parametric", coef),)}


def particle_spread(height: float = 3.0, u10: float = 4.0, x=(20.0, 50.0, 150.0)) -> None:
    """σy of the particle world's time-mean plume (its own σ family, :func:`_particle_sigma`) against Briggs."""
    from types import SimpleNamespace

    import numpy as np

    from plumetrace.physics.sigmas import dispersion_coefficients

    x = np.asarray(x, float)
    for cls in "BCDE":
        sc = SimpleNamespace(atmosphere=SimpleNamespace(wind_speed=u10, stability=cls, mixing_height=None))
        own = _particle_sigma(sc, {"height_m": height})["dispersion"][0]
        line = {name: np.round(dispersion_coefficients(x, cls, model=m)[0], 1)
                for name, m in (("particle world", own), ("Briggs urban", "briggs_urban"),
                                ("Briggs rural", "briggs_rural"))}
        print(f"class {cls}, release {height:g} m, σy at {x.tolist()} m: "
              + "; ".join(f"{k} {v.tolist()}" for k, v in line.items()), flush=True)


def follow_up_particle_sigma(n: int = 40, workers: int = 2) -> None:
    """The particle-world cases of seeds 0 … n−1, adaptive arm, the joint locates given that world's own σ family.

    Whether the particle world's upwind bias (docs/localisation.md "Session 22") is the σ family's: compare with the
    adaptive rows of ``plumetrace bench follow-up --json`` on the same seeds (the plans are the same; only the joint
    locate changes).
    """
    import numpy as np

    from plumetrace.bench.follow_up import run_follow_up_cases, summarise_arm

    particle_spread()
    seeds = [s for s in range(n) if s % 4 == 1]
    rows = run_follow_up_cases(seeds, workers, joint_locator=_particle_sigma, arms=("adaptive",))
    for r in rows:
        a = r["adaptive"]
        print(f"{r['scenario']}: top-1 {a['top1']}, top-3 {a['top3']}, error "
              f"{None if a['error_m'] is None else round(a['error_m'], 1)} m, along the wind "
              f"{None if a.get('along_wind_m') is None else round(a['along_wind_m'], 1)} m, to the house "
              f"{None if a.get('building_distance_m') is None else round(a['building_distance_m'], 1)} m", flush=True)
    a = summarise_arm([r["adaptive"] for r in rows])
    along = [r["adaptive"]["along_wind_m"] for r in rows if r["adaptive"]["found"]]
    print(f"particle world, own σ given: top-1 {round(a['top1'] * a['cases'])}/{a['cases']}, top-3 "
          f"{round(a['top3'] * a['cases'])}, median error {a['median_error_m']:.1f} m, along the wind "
          f"{np.median(along):.1f} m, regions holding the lab {a['coverage90']:.0%}")


def follow_up_class_read(n: int = 20) -> None:
    """The Pasquill class the locator reads from σθ on each follow-up case's coverage survey, against the truth."""
    import plumetrace.bench.follow_up as follow_up
    from plumetrace.geo.crs import LocalFrame
    from plumetrace.io.survey import survey_from_dataframe
    from plumetrace.locate import SourceLocator
    from plumetrace.sim.simulate import simulate

    agree = 0
    for seed in range(n):
        sc = follow_up.follow_up_scenario_spec(seed)
        sim = simulate(sc, f"<{sc.name}>")
        channels = [c for c in sim.survey.columns if c.endswith(("_ppm", "_ppb"))]
        cov = survey_from_dataframe(sim.survey, channels, f"{sc.name}/coverage.csv",
                                    LocalFrame(sc.origin.lat, sc.origin.lon))
        loc = SourceLocator()
        read, weights = loc._stability(cov)
        agree += read == str(sc.atmosphere.stability)
        print(f"{sc.name} ({sc.atmosphere.model}): true {sc.atmosphere.stability}, wind "
              f"{sc.atmosphere.wind_speed:.1f} m/s, meander σ {sim.truth['weather']['meander_angle_sd_deg']:.1f}°; "
              f"σθ {loc.sigma_theta_:.1f}° reads {read} "
              f"({', '.join(f'{c:g}: {w:.2f}' for c, w in weights)})", flush=True)
    print(f"the class read is the true one in {agree} of {n}", flush=True)


def model_error_suite(alpha: float = 0.5) -> None:
    """The whole suite with the likelihood's relative model error at its default and at ``alpha`` (session 21)."""
    from plumetrace.bench.accuracy import run_accuracy
    from plumetrace.locate.grid import ALPHA

    for a in (ALPHA, alpha):
        report = run_accuracy(progress=False, locator_params={"model_error": a})
        print(f"model_error={a:g}: {_summary(report['localisation'])}", flush=True)
        for group in ("by_world", "by_family"):
            for name, g in sorted(report["localisation"][group].items()):
                nan = float("nan")
                print(f"  {name}: found {g['targets_found']}/{g['targets']}, false sites {g['false_sites']}, median "
                      f"error {g['localisation_error_median_m'] or nan:.1f} m, coverage "
                      f"{g['credible90_coverage'] or nan:.0%}, building top-1 {g['building_top1'] or nan:.0%}",
                      flush=True)


def model_error_follow_up(alpha: float = 0.5, baseline: bool = True, n: int = 20, workers: int = 2,
                          out: str | None = None) -> None:
    """The whole follow-up bench with the model error at ``alpha`` in every locate (coverage and joint).

    With ``baseline`` the default runs first in the same process; ``out``: each report is also written there as
    JSON (``follow_up_model_error_<α>.json``).
    """
    import json
    from pathlib import Path

    import plumetrace.bench.follow_up as follow_up
    from plumetrace.locate.grid import ALPHA

    for a in ((ALPHA,) if baseline else ()) + (alpha,):
        report = follow_up.run_follow_up_bench(n, workers=workers, locator={"model_error": a})
        _print_follow_up(f"model_error={a:g}", report)
        if out:
            Path(out).mkdir(parents=True, exist_ok=True)
            (Path(out) / f"follow_up_model_error_{a:g}.json").write_text(json.dumps(report))


def model_error_chilbolton(alpha: float = 0.5) -> None:
    """Chilbolton source 1 with the model error at its default and at ``alpha`` (the fixed network's own
    likelihood does not use it: the two lines should agree)."""
    import json

    from plumetrace.bench.field_release import run_plumetrace
    from plumetrace.locate.grid import ALPHA

    path = _chilbolton_source_1()
    for a in (ALPHA, alpha):
        r = run_plumetrace(path, locator_params={"model_error": a})
        print(f"model_error={a:g}: " + json.dumps({k: v for k, v in r.items() if k != "seconds"}), flush=True)


def main() -> None:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=["demo", "urban", "beams", "chilbolton", "pair", "joint", "calibrate",
                                     "calibrate-cost", "particles",
                                     "lag", "lag-suite", "curtain", "settings", "oracle", "inline", "alongwind",
                                     "kernel", "speed-parts", "class-mix", "class-neighbours",
                                     "co-emission-cost", "co-emission-bounds", "beam-average", "site-numbers",
                                     "follow-up-diagnosis", "bag-size", "follow-up-heights", "heights",
                                     "follow-up-joint", "release-levels", "model-error-suite",
                                     "model-error-follow-up", "model-error-chilbolton", "follow-up-oracle",
                                     "follow-up-class-read", "follow-up-particle-sigma"])
    ap.add_argument("--out", default=None,
                    help="folder for the demo runs (default: a temporary folder) and model-error-follow-up's reports")
    ap.add_argument("--alpha", type=float, default=0.5, help="the model error the model-error modes try")
    ap.add_argument("--no-baseline", action="store_true",
                    help="model-error-follow-up: skip the default's run (its report is in an earlier --out)")
    ap.add_argument("--cases", type=int, default=20, help="follow-up modes: the bench's first N cases")
    args = ap.parse_args()
    with_args = {"follow-up-oracle": lambda: follow_up_oracle(args.cases),
                   "follow-up-particle-sigma": lambda: follow_up_particle_sigma(args.cases),
                   "follow-up-class-read": lambda: follow_up_class_read(args.cases),
                   "model-error-suite": lambda: model_error_suite(args.alpha),
                   "model-error-follow-up": lambda: model_error_follow_up(args.alpha, not args.no_baseline,
                                                                          n=args.cases, out=args.out),
                   "model-error-chilbolton": lambda: model_error_chilbolton(args.alpha)}
    simple = {"urban": urban, "beams": beams, "chilbolton": chilbolton, "joint": joint, "pair": pair,
              "calibrate": calibrate, "calibrate-cost": calibrate_cost, "particles": particles, "lag": lag,
              "lag-suite": lag_suite,
              "curtain": curtain, "settings": settings, "oracle": oracle, "inline": inline, "alongwind": alongwind,
              "kernel": kernel, "speed-parts": speed_parts, "class-mix": class_mix,
              "class-neighbours": class_neighbours, "co-emission-cost": co_emission_cost,
              "co-emission-bounds": co_emission_bounds, "beam-average": beam_average,
              "site-numbers": site_numbers, "follow-up-diagnosis": follow_up_diagnosis, "bag-size": bag_size,
              "follow-up-heights": follow_up_heights,
              "heights": heights, "follow-up-joint": follow_up_joint,
              "release-levels": release_levels}
    if args.what in with_args:
        with_args[args.what]()
    elif args.what in simple:
        simple[args.what]()
    elif args.out:
        demo(args.out)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            demo(tmp)


if __name__ == "__main__":
    main()
