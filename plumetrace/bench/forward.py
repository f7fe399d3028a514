"""Forward-model speed benchmark: plumetrace's compiled plume against baselines in the same process.

Baselines:

- a naive per-receptor Python loop (``math`` module) of the same formula — the way a first implementation
  is written;
- the same formula vectorised with NumPy broadcasting;
- pyELQ's ``GaussianPlume.compute_coupling`` (Shell's open-source plume-inversion package, optional
  ``[bench]`` extra), on the same receptors and sources with its angular turbulence model. plumetrace is
  run there with ``model="parametric"`` and the same σ growth (σy = tan θh·x + w, σz = tan θv·x), so the two
  couplings must agree; the largest relative difference is reported.

Throughput is receptor–source pairs per second; ratios are plumetrace's rate over the baseline's.
"""

from __future__ import annotations

import math
import os
import platform
import time
from collections.abc import Callable

import numpy as np

from plumetrace.physics.plume import gaussian_plume, plume_coupling
from plumetrace.physics.sigmas import BRIGGS_RURAL

WIND_SPEED = 4.0
WIND_FROM = 250.0
STABILITY = "D"


def make_case(n_receptors: int, n_sources: int, seed: int = 0):
    """Receptors at survey heights over 2 km × 2 km and sources in the middle 1 km × 1 km."""
    rng = np.random.default_rng(seed)
    rec = (rng.uniform(-1000, 1000, n_receptors), rng.uniform(-1000, 1000, n_receptors),
           rng.uniform(1.0, 60.0, n_receptors))
    src = (rng.uniform(-500, 500, n_sources), rng.uniform(-500, 500, n_sources), rng.uniform(0.0, 15.0, n_sources))
    return rec, src


def _best_time(func: Callable[[], object], repeat: int = 3, budget_s: float = 20.0) -> float:
    best = math.inf
    start = time.perf_counter()
    for _ in range(repeat):
        t0 = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - t0)
        if time.perf_counter() - start > budget_s:
            break
    return best


def naive_loop(rec, src, q) -> list[float]:
    """Evaluate the plume with a Python loop over receptors and sources (Briggs rural, class D)."""
    ay, by, cy, _, az, bz, cz, _ = BRIGGS_RURAL[3]
    theta = math.radians(WIND_FROM)
    s, c = math.sin(theta), math.cos(theta)
    out = []
    for xr, yr, zr in zip(*rec, strict=True):
        total = 0.0
        for xs, ys, hs, qs in zip(*src, q, strict=True):
            dx, dy = xr - xs, yr - ys
            x = -(dx * s + dy * c)
            if x <= 0:
                continue
            y = dx * c - dy * s
            sy = ay * x * (1 + by * x) ** cy
            sz = az * x * (1 + bz * x) ** cz
            total += qs / (2 * math.pi * WIND_SPEED * sy * sz) * math.exp(-0.5 * (y / sy) ** 2) * (
                math.exp(-0.5 * ((zr - hs) / sz) ** 2) + math.exp(-0.5 * ((zr + hs) / sz) ** 2))
        out.append(total)
    return out


def numpy_broadcast(rec, src, q) -> np.ndarray:
    """Evaluate the same formula with NumPy broadcasting (receptors × sources temporaries)."""
    ay, by, cy, _, az, bz, cz, _ = BRIGGS_RURAL[3]
    theta = np.deg2rad(WIND_FROM)
    dx = rec[0][:, None] - src[0][None, :]
    dy = rec[1][:, None] - src[1][None, :]
    x = -(dx * np.sin(theta) + dy * np.cos(theta))
    y = dx * np.cos(theta) - dy * np.sin(theta)
    xp = np.where(x > 0, x, 1.0)
    sy = ay * xp * (1 + by * xp) ** cy
    sz = az * xp * (1 + bz * xp) ** cz
    zr, hs = rec[2][:, None], src[2][None, :]
    c = q / (2 * np.pi * WIND_SPEED * sy * sz) * np.exp(-0.5 * (y / sy) ** 2) * (
        np.exp(-0.5 * ((zr - hs) / sz) ** 2) + np.exp(-0.5 * ((zr + hs) / sz) ** 2))
    return np.where(x > 0, c, 0.0).sum(axis=1)


def _pyelq_available() -> bool:
    try:
        import pyelq  # noqa: F401
    except Exception:  # noqa: BLE001 - any import failure means "not available"
        return False
    return True


PYELQ_TURBULENCE_DEG = (12.0, 6.0)
PYELQ_HALF_WIDTH = 1.0


def pyelq_coupling(rec, src) -> np.ndarray:
    """PyELQ's coupling matrix converted to concentration per unit rate [s m⁻³]."""
    import pandas as pd
    from pyelq.coordinate_system import ENU
    from pyelq.dispersion_model.gaussian_plume import GaussianPlume
    from pyelq.meteorology.meteorology import Meteorology
    from pyelq.sensor.sensor import Sensor
    from pyelq.source_map import SourceMap

    ref = {"ref_latitude": 52.0, "ref_longitude": 5.0, "ref_altitude": 0.0}
    n = rec[0].size
    sensor = Sensor()
    sensor.location = ENU(**ref, east=rec[0], north=rec[1], up=rec[2])
    sensor.concentration = np.zeros(n)
    source_map = SourceMap()
    source_map.location = ENU(**ref, east=src[0], north=src[1], up=src[2])
    met = Meteorology()
    met.time = pd.date_range("2026-01-01", periods=n, freq="100ms").array
    sensor.time = met.time
    theta = np.deg2rad(WIND_FROM)
    met.u_component = np.full(n, -WIND_SPEED * np.sin(theta))
    met.v_component = np.full(n, -WIND_SPEED * np.cos(theta))
    met.wind_turbulence_horizontal = np.full(n, PYELQ_TURBULENCE_DEG[0])
    met.wind_turbulence_vertical = np.full(n, PYELQ_TURBULENCE_DEG[1])
    model = GaussianPlume(source_map=source_map, source_half_width=PYELQ_HALF_WIDTH)
    coupling = model.compute_coupling(sensor, met, gas_object=None, run_interpolation=False)
    # pyELQ returns 1e6 [h/kg] with unit gas density: concentration per rate = coupling * 3600 / 1e6
    return np.asarray(coupling) * 3600.0 / 1e6


def plumetrace_angular_coupling(rec, src) -> np.ndarray:
    """Plumetrace's coupling with pyELQ's angular σ growth (``model="parametric"``)."""
    th, tv = np.tan(np.deg2rad(PYELQ_TURBULENCE_DEG))
    coef = (th, 0.0, 0.0, PYELQ_HALF_WIDTH, tv, 0.0, 0.0, 0.0)
    return plume_coupling(*rec, *src, WIND_SPEED, WIND_FROM, model="parametric", coefficients=coef,
                          min_wind_speed=0.0)


def run_forward_benchmark(n_receptors: int = 1_000_000, quick: bool = False, progress: bool = True) -> dict:
    """Run the benchmark and return a JSON-ready report.

    Parameters
    ----------
    n_receptors : int
        Receptors for plumetrace's summed-plume timings (1e6 in the issue's definition).
    quick : bool
        Small sizes everywhere (for a smoke test in CI).
    progress : bool
        Show a rich progress bar on standard error.
    """
    from rich.console import Console
    from rich.progress import Progress

    source_counts = (1, 10, 100) if not quick else (1, 10)
    n_naive_pairs = 20_000 if not quick else 2_000
    n_matrix = 100_000 if not quick else 5_000
    steps = len(source_counts) * 2 + 3
    results: dict = {"plumetrace": [], "numpy": [], "naive": None, "pyelq": []}
    with Progress(console=Console(stderr=True), disable=not progress, transient=True) as bar:
        task = bar.add_task("forward benchmark", total=steps)
        # warm-up compiles the kernels (cached on disk afterwards)
        rec, src = make_case(1000, 2)
        gaussian_plume(*rec, *src, 1.0, WIND_SPEED, WIND_FROM, STABILITY)
        plume_coupling(*rec, *src, WIND_SPEED, WIND_FROM, STABILITY)
        plumetrace_angular_coupling(rec, src)
        bar.advance(task)
        for n_src in source_counts:
            rec, src = make_case(n_receptors, n_src)
            q = np.ones(n_src)
            t = _best_time(lambda rec=rec, src=src, q=q: gaussian_plume(*rec, *src, q, WIND_SPEED, WIND_FROM,
                                                                          STABILITY))
            results["plumetrace"].append({"receptors": n_receptors, "sources": n_src, "seconds": t,
                                          "pairs_per_s": n_receptors * n_src / t})
            bar.advance(task)
            n_np = max(1000, min(n_receptors, 2_000_000 // n_src))
            rec_np = tuple(a[:n_np] for a in rec)
            t = _best_time(lambda rec_np=rec_np, src=src, q=q: numpy_broadcast(rec_np, src, q))
            results["numpy"].append({"receptors": n_np, "sources": n_src, "seconds": t,
                                     "pairs_per_s": n_np * n_src / t})
            bar.advance(task)
        # naive loop on a subsample
        rec, src = make_case(n_naive_pairs // 10, 10)
        q = np.ones(10)
        t = _best_time(lambda: naive_loop(rec, src, q), repeat=1)
        results["naive"] = {"receptors": n_naive_pairs // 10, "sources": 10, "seconds": t,
                            "pairs_per_s": n_naive_pairs / t}
        ref = gaussian_plume(*rec, *src, q, WIND_SPEED, WIND_FROM, STABILITY)
        naive = np.asarray(naive_loop(rec, src, q))
        results["naive"]["max_rel_diff"] = float(np.max(np.abs(ref - naive)) / np.max(np.abs(naive)))
        bar.advance(task)
        # coupling matrix: plumetrace vs pyELQ
        matrix = []
        have_pyelq = _pyelq_available()
        for n_src in source_counts:
            rec, src = make_case(n_matrix, n_src, seed=1)
            t_pt = _best_time(lambda rec=rec, src=src: plumetrace_angular_coupling(rec, src))
            row = {"receptors": n_matrix, "sources": n_src, "plumetrace_seconds": t_pt,
                   "plumetrace_pairs_per_s": n_matrix * n_src / t_pt}
            if have_pyelq:
                t_pe = _best_time(lambda rec=rec, src=src: pyelq_coupling(rec, src))
                ours = plumetrace_angular_coupling(rec, src)
                theirs = pyelq_coupling(rec, src)
                scale = np.max(np.abs(theirs))
                significant = np.abs(theirs) > 1e-6 * scale
                rel = np.abs(ours - theirs)[significant] / np.abs(theirs)[significant]
                row.update({"pyelq_seconds": t_pe, "pyelq_pairs_per_s": n_matrix * n_src / t_pe,
                            "ratio": t_pe / t_pt, "max_rel_diff": float(rel.max()) if rel.size else 0.0,
                            "pairs_compared": int(significant.sum())})
            matrix.append(row)
        results["pyelq"] = matrix
        results["pyelq_available"] = have_pyelq
        bar.advance(task)
    best = max(r["pairs_per_s"] for r in results["plumetrace"])
    numpy_best = max(r["pairs_per_s"] for r in results["numpy"])
    results["summary"] = {
        "plumetrace_best_pairs_per_s": best,
        "ratio_vs_naive": best / results["naive"]["pairs_per_s"],
        "ratio_vs_numpy": best / numpy_best,
        "ratio_vs_pyelq": (None if not have_pyelq else
                           max(r["ratio"] for r in results["pyelq"])),
        "meets_1e8_pairs_per_s": best >= 1e8,
    }
    results["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "numba_threads": _numba_threads()}
    return results


def _numba_threads() -> int:
    import numba

    return int(numba.get_num_threads())


def render_forward_report(report: dict, console) -> None:
    """Print the benchmark as rich tables."""
    from rich.table import Table

    table = Table(title="Plume model: receptor–source pairs per second", title_justify="left")
    for col in ("implementation", "receptors", "sources", "seconds", "pairs/s", "plumetrace ×"):
        table.add_column(col, justify="right" if col != "implementation" else "left")
    by_src = {r["sources"]: r for r in report["plumetrace"]}
    for r in report["plumetrace"]:
        table.add_row("plumetrace (numba)", f"{r['receptors']:,}", str(r["sources"]), f"{r['seconds']:.3f}",
                      f"{r['pairs_per_s']:.3g}", "1.0")
    for r in report["numpy"]:
        ratio = by_src[r["sources"]]["pairs_per_s"] / r["pairs_per_s"]
        table.add_row("NumPy broadcast", f"{r['receptors']:,}", str(r["sources"]), f"{r['seconds']:.3f}",
                      f"{r['pairs_per_s']:.3g}", f"{ratio:.1f}")
    n = report["naive"]
    table.add_row("naive Python loop", f"{n['receptors']:,}", str(n["sources"]), f"{n['seconds']:.3f}",
                  f"{n['pairs_per_s']:.3g}", f"{report['summary']['ratio_vs_naive']:.0f}")
    console.print(table)
    console.print(f"naive loop vs plumetrace: max relative difference {n['max_rel_diff']:.1e}")
    t2 = Table(title="Coupling matrix: plumetrace vs pyELQ GaussianPlume.compute_coupling (same σ growth)",
               title_justify="left")
    for col in ("receptors", "sources", "plumetrace s", "pyELQ s", "plumetrace ×", "max rel. diff"):
        t2.add_column(col, justify="right")
    for r in report["pyelq"]:
        t2.add_row(f"{r['receptors']:,}", str(r["sources"]), f"{r['plumetrace_seconds']:.4f}",
                   f"{r.get('pyelq_seconds', float('nan')):.4f}", f"{r.get('ratio', float('nan')):.1f}",
                   f"{r.get('max_rel_diff', float('nan')):.1e}")
    console.print(t2)
    if not report["pyelq_available"]:
        console.print("pyELQ is not installed: pip install 'plumetrace[bench]' for that baseline", style="yellow")
    s = report["summary"]
    verdict = "[green]meets[/]" if s["meets_1e8_pairs_per_s"] else "[red]misses[/]"
    console.print(f"best plumetrace throughput {s['plumetrace_best_pairs_per_s']:.3g} pairs/s on "
                  f"{report['machine']['numba_threads']} threads — {verdict} the 1e8 pairs/s target", markup=True)
