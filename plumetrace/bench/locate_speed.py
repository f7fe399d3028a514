"""Localisation speed against the MCMC way of published source-term estimation (issue #6, part 7a).

One simulated survey (the simulator's meandering, intermittent plume — not the locator's own model): a
30-minute, 10 Hz lawnmower over a 6 × 6-block town (about 600 m × 600 m) with a lab emitting acetone. Both
methods use the *same* binned observations and the same tempered Student-t likelihood
(:func:`plumetrace.locate.grid.grid_log_likelihood`):

* plumetrace: :class:`~plumetrace.locate.SourceLocator` with its defaults on the whole survey (detection,
  coarse 25 m → fine 5 m grid marginalised over wind offsets, σ families and heights, the search for a
  second source, rates and the site; the survey carries one gas channel);
* emcee (Foreman-Mackey et al. 2013), the affine-invariant ensemble sampler that MCMC source-term estimation
  uses: 32 walkers started uniformly over the area (the prior), sampling x, y and log Q at the grid's central
  configuration and most probable release height; the posterior mean of the second half of the chain is
  checked every 100 steps, and the time it first comes within the grid's error of the truth (or within 5 m,
  whichever is larger) is its time to equal accuracy (capped at ``budget_s``).

* pyELQ (Shell's Gaussian-plume + reversible-jump MCMC, :mod:`plumetrace.bench.pyelq_baseline`) on the same
  observations with its own plume and likelihood: its most probable source position against the grid's
  most probable cell, and the time from which it stays within the grid's error (5 m at least) to the end of
  its chain; when it never does, its whole run time gives a lower bound of the ratio.

Ratios are measured in the same process.
"""

from __future__ import annotations

import math
import tempfile
import time
from pathlib import Path

import numpy as np


def make_survey(seed: int = 11, minutes: float = 30.0, sensors: tuple[str, ...] = ("acetone_ppb",),
                side_m: float | None = None):
    """Simulate the benchmark survey; returns (survey in its frame, lab east/north, channel).

    30 minutes cover 600 m × 600 m at 35 m spacing (the lawnmower takes 23.75 minutes); shorter surveys a
    proportionally smaller square, or the square of side ``side_m`` [m] flown in ``minutes`` at most. The lab is
    off-centre, so that a sampler's unconverged cloud (whose mean is the area's centre) is not accurate by
    chance.
    """
    import yaml

    from plumetrace.io.survey import read_survey
    from plumetrace.sim.scenario import load_scenario
    from plumetrace.sim.simulate import simulate, write_simulation

    side = round(side_m if side_m is not None else 600.0 * min(1.0, math.sqrt(minutes / 30.0)))
    sc = {"name": "locate_speed", "seed": seed, "origin": {"lat": 52.0907, "lon": 5.1214},
          "start": "2026-06-20T11:00:00Z", "town": {"blocks": [6, 6]},
          "atmosphere": {"wind_speed": "4 m/s", "wind_from": "250 deg", "stability": "D"},
          "sources": [{"id": "lab", "class": "clandestine_lab",
                       "position": {"east": f"{-0.25 * side:.0f} m", "north": f"{0.2 * side:.0f} m"},
                       "height": "5 m", "rate": "0.3 g/s"}],
          "flights": [{"platform": "uav-1", "pattern": "lawnmower", "altitudes": ["20 m"], "spacing": "35 m",
                       "speed": "8 m/s", "duration": f"{minutes} min", "rate_hz": 10,
                       "area": {"center": {"east": "0 m", "north": "0 m"}, "width": f"{side} m",
                                "height": f"{side} m", "margin": "0 m"},
                       "sensors": list(sensors)}]}
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "scenario.yaml").write_text(yaml.safe_dump(sc, sort_keys=False))
        scenario, base = load_scenario(d / "scenario.yaml")
        sim = simulate(scenario, d / "scenario.yaml", base)
        write_simulation(sim, d)
        survey = read_survey(d / "survey.csv")
    lab = next(s for s in sim.truth["sources"] if s["id"] == "lab")
    east, north = survey.frame.to_local(lab["lat"], lab["lon"])
    return survey, (float(east), float(north)), sensors[0]


def run_whole_survey_timing(minutes: float = 45.0, seeds=(11, 12, 13),
                            sensors: tuple[str, ...] = ("acetone_ppb", "toluene_ppb")) -> dict:
    """Seconds for :class:`~plumetrace.locate.SourceLocator` (defaults, every channel) on seeded surveys.

    Issue #15's speed case: a ``minutes``-long 10 Hz lawnmower carrying two gas analysers over the benchmark town
    (a lab emitting both gases; the square grown so that the lawnmower, 23.75 minutes over 600 m, takes about
    ``minutes``: its time grows as side^2.4, more and longer legs; the actual minutes are reported); each survey
    is located once to compile and warm the kernels, then timed. The median over ``seeds`` is the figure
    reported.
    """
    from plumetrace.locate import SourceLocator
    from plumetrace.sim.sensors import CATALOGUE

    rows = []
    for seed in seeds:
        survey, truth, _ = make_survey(seed, minutes, sensors, side_m=600.0 * (minutes / 23.75) ** (1 / 2.4))
        lags = {c: CATALOGUE[c].lag for c in sensors}
        SourceLocator(lags=lags).fit(survey)
        t0 = time.perf_counter()
        loc = SourceLocator(lags=lags).fit(survey)
        seconds = time.perf_counter() - t0
        top = loc.sources_[0] if loc.sources_ else None
        rows.append({"seed": seed, "seconds": seconds, "samples": survey.n_samples, "sites": len(loc.sources_),
                     "minutes": survey.duration_s / 60.0,
                     "error_m": None if top is None else float(math.hypot(top.east - truth[0], top.north - truth[1])),
                     "credible90_radius_m": None if top is None else top.credible90_radius_m})
    return {"minutes": float(np.mean([r["minutes"] for r in rows])), "channels": list(sensors), "runs": rows,
            "median_seconds": float(np.median([r["seconds"] for r in rows]))}


def run_locate_benchmark(budget_s: float = 120.0, seed: int = 11, minutes: float = 30.0,
                         pyelq_iterations: int | None = 2000) -> dict:
    """Time and error of the grid locator, of emcee (same likelihood) and of pyELQ on the same survey."""
    import emcee

    from plumetrace.locate import SourceLocator
    from plumetrace.locate.grid import grid_log_likelihood
    from plumetrace.sim.sensors import CATALOGUE

    survey, truth, channel = make_survey(seed, minutes)
    # warm the numba kernels on a small fit so compilation is not timed
    lags = {channel: CATALOGUE[channel].lag}  # the analyser's time constant, as a user gives it (--lag)
    SourceLocator(lags=lags).fit(survey)
    t0 = time.perf_counter()
    loc = SourceLocator(lags=lags).fit(survey)  # the whole survey with the defaults (its one gas channel)
    t_grid = time.perf_counter() - t0
    if not loc.posteriors_:
        return {"error": "the grid locator found no source; benchmark survey too weak", "seconds_grid": t_grid}
    post = loc.posteriors_[0]
    grid_mean = post.mass @ post.cells
    err_grid = float(math.hypot(*(grid_mean - np.asarray(truth))))
    obs = loc.observations_[channel]
    cfg = post.config
    model = loc.sigma_models_[cfg["model"]]
    beta = loc.search_.beta
    meander = loc.search_.meander(obs)
    x0, x1 = obs.east.min() - loc.margin, obs.east.max() + loc.margin
    y0, y1 = obs.north.min() - loc.margin, obs.north.max() + loc.margin
    lq0, lq1 = math.log(loc.q_range[0]), math.log(loc.q_range[1])
    height = np.array([cfg["height"]])
    evals = 0

    def log_prob(theta):
        nonlocal evals
        x, y, lq = theta
        if not (x0 < x < x1 and y0 < y < y1 and lq0 < lq < lq1):
            return -np.inf
        evals += 1
        d, _ = grid_log_likelihood(np.array([x]), np.array([y]), height, obs, cfg["offset"], cfg["code"], model,
                                   np.array([math.exp(lq)]), loc.mixing_height, beta=beta, meander=meander,
                                   p_off=loc.p_off)
        return float(d[0, 0, 0])

    rng = np.random.default_rng(seed)
    walkers = 32
    start = np.column_stack((rng.uniform(x0, x1, walkers), rng.uniform(y0, y1, walkers),
                             rng.uniform(lq0, lq1, walkers)))
    log_prob(start[0])  # compile
    evals = 0
    sampler = emcee.EnsembleSampler(walkers, 3, log_prob)
    sampler.random_state = np.random.RandomState(seed).get_state()
    target = max(err_grid, 5.0)
    t0 = time.perf_counter()
    state, steps, t_reach, err_mc, trace = start, 0, None, float("nan"), []
    while time.perf_counter() - t0 < budget_s:
        state = sampler.run_mcmc(state, 100, progress=False)
        steps += 100
        chain = sampler.get_chain(discard=steps // 2, flat=True)
        err_mc = float(math.hypot(*(chain[:, :2].mean(axis=0) - np.asarray(truth))))
        trace.append((steps, time.perf_counter() - t0, err_mc))
        if err_mc <= target:
            t_reach = time.perf_counter() - t0
            break
    t_mc = time.perf_counter() - t0
    pyelq = _pyelq_section(obs, survey, (x0, x1, y0, y1), truth, post, t_grid, pyelq_iterations, seed)
    return {
        "survey": {"samples": survey.n_samples, "minutes": survey.duration_s / 60.0, "observations": len(obs),
                   "truth_east_north": truth},
        "grid": {"seconds": t_grid, "error_m": err_grid, "cells": int(post.cells.shape[0]),
                 "credible90_radius_m": post.credible_radius()},
        "emcee": {"seconds": t_mc, "seconds_to_grid_accuracy": t_reach, "steps": steps, "walkers": walkers,
                  "likelihood_evaluations": evals, "error_m": err_mc, "reached": t_reach is not None,
                  "budget_s": budget_s, "trace": trace},
        "speedup_vs_emcee": (t_reach if t_reach is not None else t_mc) / t_grid,
        "speedup_is_lower_bound": t_reach is None,
        "pyelq": pyelq,
        "whole_survey": run_whole_survey_timing(minutes=max(minutes * 1.5, 9.0), seeds=(seed, seed + 1, seed + 2)),
    }


def _pyelq_section(obs, survey, bounds, truth, post, t_grid, iterations, seed) -> dict | None:
    """Run pyELQ's reversible-jump MCMC on the same observations; its time to the grid's accuracy (mode vs mode)."""
    if not iterations:
        return None
    try:
        from plumetrace.bench.pyelq_baseline import run_pyelq, sigma_theta_deg
    except ImportError:  # pragma: no cover - pyelq is in the bench extra
        return {"error": "pyelq is not installed (pip install -e '.[bench]')"}
    grid_mode_err = float(math.hypot(post.east - truth[0], post.north - truth[1]))
    res = run_pyelq(obs, survey.frame, bounds, truth, n_iter=iterations, seed=seed,
                    sigma_theta_deg=sigma_theta_deg(survey.data["wind_dir_deg"].to_numpy(dtype=float)))
    target = max(grid_mode_err, 5.0)
    # reached when its estimate comes within the target and stays there to the end of the chain (a wandering
    # chain that passes near the source once has not located it)
    trace = res["trace"]
    last_out = max((i for i, (_, _, e) in enumerate(trace) if e > target), default=-1)
    reach = trace[last_out + 1][1] if last_out + 1 < len(trace) else None
    res.update({"grid_mode_error_m": grid_mode_err, "seconds_to_grid_accuracy": reach, "reached": reach is not None,
                "speedup": (reach if reach is not None else res["seconds"]) / t_grid,
                "speedup_is_lower_bound": reach is None})
    return res


def render_locate_report(report: dict, console) -> None:
    """Rich table of the localisation benchmark."""
    from rich.table import Table

    if "grid" not in report:
        console.print(f"localisation benchmark: {report.get('error')}", style="yellow")
        return
    g, m = report["grid"], report["emcee"]
    table = Table(title=f"localisation, one {report['survey']['minutes']:.0f}-minute 10 Hz survey "
                        f"({report['survey']['samples']:,} samples), same likelihood", title_justify="left")
    for col in ("method", "seconds", "error m", "plumetrace ×"):
        table.add_column(col, justify="left" if col == "method" else "right")
    table.add_row("plumetrace grid (coarse 25 m → fine 5 m, marginalised)", f"{g['seconds']:.2f}",
                  f"{g['error_m']:.1f}", "1")
    reach = m["seconds_to_grid_accuracy"]
    label = f"emcee, {m['walkers']} walkers, {m['steps']} steps"
    table.add_row(label + (" (to equal accuracy)" if reach else " (budget spent, accuracy not reached)"),
                  f"{(reach or m['seconds']):.1f}", f"{m['error_m']:.1f}",
                  f"{report['speedup_vs_emcee']:.0f}{'+' if report['speedup_is_lower_bound'] else ''}")
    p = report.get("pyelq")
    if p and "error" in p:
        table.add_row(f"pyELQ: {p['error']}", "", "", "")
    elif p:
        reach = p["seconds_to_grid_accuracy"]
        table.add_row(f"pyELQ reversible-jump MCMC, {p['iterations']} iterations"
                      + (" (to equal accuracy, most probable position)" if reach
                         else " (accuracy not reached; whole run)"),
                      f"{(reach or p['seconds']):.1f}", f"{p['error_m']:.1f} (grid mode {p['grid_mode_error_m']:.1f})",
                      f"{p['speedup']:.0f}{'+' if p['speedup_is_lower_bound'] else ''}")
    console.print(table)
    w = report.get("whole_survey")
    if w:
        runs = ", ".join(f"seed {r['seed']}: {r['seconds']:.2f} s" for r in w["runs"])
        console.print(f"whole survey, {w['minutes']:.0f} minutes at 10 Hz, {len(w['channels'])} gas channels "
                      f"({', '.join(w['channels'])}), every channel located: median [bold]{w['median_seconds']:.2f} s"
                      f"[/] ({runs})")
