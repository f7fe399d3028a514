"""Campaign throughput: `plumetrace analyze` with Dask, --workers 2 against --workers 1 (issue #7).

Simulates N short surveys of one small town (a lab and benign emitters; winds and seeds vary), then runs
the whole pipeline (read → detect → locate → store → fuse) into a fresh SQLite store twice, with a Dask
LocalCluster of 1 and of 2 single-threaded workers, in this process, and prints surveys per minute, the
ratio, and peak memory (client plus workers, sampled after each survey). Workers are single-threaded (numba
too), so N workers use N cores; the in-process run (no Dask, numba on all cores) is printed for reference.

    python benchmarks/campaign.py [--surveys 200] [--json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import yaml


def make_surveys(folder: Path, n: int) -> list[Path]:
    """``n`` short surveys (4 min at 5 Hz) of a 3 × 3-block town with a lab; winds and seeds vary."""
    from plumetrace.sim.scenario import load_scenario
    from plumetrace.sim.simulate import simulate, write_simulation

    paths = []
    for k in range(n):
        sc = {"name": f"campaign{k:03d}", "seed": 1000 + k, "origin": {"lat": 52.0907, "lon": 5.1214},
              "start": f"2026-08-{1 + k % 28:02d}T{8 + k % 9:02d}:00:00Z", "town": {"blocks": [3, 3]},
              "atmosphere": {"wind_speed": f"{2.5 + (k % 5) * 0.5} m/s", "wind_from": f"{200 + (k * 37) % 120} deg",
                             "stability": "D"},
              "sources": [{"id": "lab", "class": "clandestine_lab", "position": {"east": "-30 m", "north": "-20 m"},
                           "height": "4 m", "rate": "0.15 g/s"}],
              "decoys": {"count": 2},
              "flights": [{"platform": f"uav-{1 + k % 3}", "pattern": "lawnmower", "altitudes": ["20 m"],
                           "spacing": "40 m", "speed": "8 m/s", "duration": "4 min", "rate_hz": 5,
                           "area": {"center": {"east": "0 m", "north": "0 m"}, "width": "260 m", "height": "260 m",
                                    "margin": "0 m"},
                           "sensors": ["acetone_ppb", "toluene_ppb", "ethanol_ppb"]}]}
        d = folder / f"s{k:03d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / "scenario.yaml").write_text(yaml.safe_dump(sc, sort_keys=False))
        scenario, base = load_scenario(d / "scenario.yaml")
        write_simulation(simulate(scenario, d / "scenario.yaml", base), d)
        paths.append(d / "survey.csv")
    return paths


def run(paths: list[Path], folder: Path, workers: int | None) -> dict:
    """One campaign into a fresh store."""
    import contextlib

    from plumetrace.pipeline import dask_executor, run_campaign
    from plumetrace.store import Store

    db = folder / f"campaign_{workers or 0}.db"
    if db.exists():
        db.unlink()
    store = Store(f"sqlite:///{db}")
    t0 = time.perf_counter()
    with contextlib.ExitStack() as stack:
        executor, memory = stack.enter_context(dask_executor(workers)) if workers else (None, None)
        summary = run_campaign(paths, store, executor=executor, worker_memory=memory, workers=workers,
                               progress=False)
    wall = time.perf_counter() - t0
    return {"workers": workers, "surveys": summary.ingested, "seconds": wall,
            "surveys_per_minute": 60.0 * summary.ingested / wall, "peak_rss_mb": summary.peak_rss_mb,
            "sites": len(summary.sites), "failed": len(summary.failed)}


def main() -> None:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--surveys", type=int, default=200)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--no-inprocess", action="store_true", help="skip the in-process reference run")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        paths = make_surveys(folder, args.surveys)
        sim_s = time.perf_counter() - t0
        runs = [run(paths, folder, 1), run(paths, folder, 2)]
        if not args.no_inprocess:
            runs.append(run(paths, folder, None))
    ratio = runs[1]["surveys_per_minute"] / runs[0]["surveys_per_minute"]
    result = {"surveys": args.surveys, "simulation_s": sim_s, "runs": runs, "ratio_2_vs_1": ratio}
    if args.json:
        print(json.dumps(result, indent=1))
        return
    print(f"{args.surveys} surveys simulated in {sim_s:.0f} s")
    for r in runs:
        label = f"--workers {r['workers']}" if r["workers"] else "in process"
        print(f"{label:>12}: {r['seconds']:7.1f} s, {r['surveys_per_minute']:6.1f} surveys/min, peak memory "
              f"{r['peak_rss_mb']:.0f} MB, {r['sites']} sites, {r['failed']} failed")
    print(f"throughput ratio --workers 2 / --workers 1: {ratio:.2f}×")


if __name__ == "__main__":
    main()
