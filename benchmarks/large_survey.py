"""A very long survey through `plumetrace locate` and `plumetrace analyze`: time and peak memory (issue #19).

Writes a survey CSV of N rows (default 5,000,000: a 10 Hz, two-channel survey of 139 hours, lawnmower passes
over a 600 m square with one steady CH4 source and a noisy ethane channel), then runs, each in its own process
so that the peak resident memory is the command's own:

* the baseline: ``pandas.read_csv`` of the same file (the least any tool must do with it);
* ``plumetrace locate FILE --json``;
* ``plumetrace analyze FILE --db sqlite:///...`` (with ``--analyze``).

and prints wall time and peak memory of each, and the ratio of locate's time to the baseline's. With
``--stages``, the stages of locate in this process instead (reading, detection, binning of each channel, the
grid search): time, resident memory after and peak (sampled every 20 ms).

    python benchmarks/large_survey.py [--rows 5000000] [--analyze] [--stages] [--json] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TARGET_SECONDS = 20.0
TARGET_PEAK_MB = 1536.0


def write_survey(path: Path, rows: int, seed: int = 0) -> None:
    """A long lawnmower survey with one source, written with pyarrow's CSV writer."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from plumetrace.geo.crs import LocalFrame
    from plumetrace.physics.plume import gaussian_plume
    from plumetrace.physics.species import SPECIES, mole_fraction

    rng = np.random.default_rng(seed)
    frame = LocalFrame(52.0, 5.0)
    leg = np.arange(-300.0, 300.0, 0.8)  # 4 m/s at 5 Hz steps of 0.8 m → 10 Hz at 8 m/s
    xs = np.arange(-300.0, 300.0, 30.0)
    one_pass_e = np.concatenate([np.full(leg.size, x) for x in xs])
    one_pass_n = np.concatenate([leg if k % 2 == 0 else leg[::-1] for k in range(xs.size)])
    reps = int(np.ceil(rows / one_pass_e.size))
    east = np.tile(one_pass_e, reps)[:rows]
    north = np.tile(one_pass_n, reps)[:rows]
    t = 1.78e9 + 0.1 * np.arange(rows)
    wind_dir = 270.0 + 10.0 * np.sin(2 * np.pi * t / 3600.0) + rng.normal(0, 3.0, rows)
    wind_speed = np.clip(4.0 + rng.normal(0, 0.4, rows), 0.5, None)
    z = np.full(rows, 20.0)
    ch4 = np.empty(rows)
    chunk = 500_000
    for a in range(0, rows, chunk):
        b = min(rows, a + chunk)
        c = gaussian_plume(east[a:b], north[a:b], z[a:b], 40.0, -20.0, 2.0, 0.5, wind_speed[a:b], wind_dir[a:b],
                           "D", model="briggs_rural")
        ch4[a:b] = 1.9 + mole_fraction(c * 1e-3, SPECIES["ch4"].molar_mass) * 1e6
    ch4 += rng.normal(0, 0.003, rows)
    c2h6 = 2.0 + (ch4 - 1.9) * 50.0 + rng.normal(0, 0.2, rows)
    lat, lon = frame.to_wgs84(east, north)
    table = pa.table({"time": t, "lat": np.round(lat, 7), "lon": np.round(lon, 7), "alt_m": z,
                      "ch4_ppm": np.round(ch4, 5), "c2h6_ppb": np.round(c2h6, 3),
                      "wind_speed_mps": np.round(wind_speed, 2), "wind_dir_deg": np.round(np.mod(wind_dir, 360), 1)})
    pacsv.write_csv(table, path)


_WRAPPER = ("import resource, subprocess, sys; "
            "r = subprocess.run(sys.argv[1:], stdout=open(sys.argv[0] + '.out', 'w'));"
            "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def _measure(argv: list[str], folder: Path) -> dict:
    """Wall time and peak resident memory of one command, run as the only child of a fresh wrapper process."""
    out = folder / "child"
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _WRAPPER.replace("sys.argv[0]", repr(str(out))), *argv],
                          capture_output=True, text=True)
    wall = time.perf_counter() - t0
    code, peak_kb = (int(v) for v in proc.stdout.split()[-2:])
    stdout = Path(str(out) + ".out").read_text()
    if code != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({code}): {proc.stderr[-2000:]}")
    return {"seconds": wall, "peak_mb": peak_kb / 1024.0, "stdout": stdout}


def stages(path: Path) -> None:
    """Time and memory of each stage of locate, in this process."""
    import threading

    import psutil

    from plumetrace.io.survey import read_survey
    from plumetrace.locate import SourceLocator

    proc = psutil.Process()
    peak = [proc.memory_info().rss]

    def watch():
        while True:
            peak[0] = max(peak[0], proc.memory_info().rss)
            time.sleep(0.02)

    threading.Thread(target=watch, daemon=True).start()
    marks = [("start", time.perf_counter())]

    def mark(text: str) -> None:
        now = time.perf_counter()
        name, since = marks[-1]
        print(f"  {name:<48s} {now - since:7.1f} s  rss {proc.memory_info().rss / 2**20:6.0f} MB  peak "
              f"{peak[0] / 2**20:6.0f} MB", flush=True)
        marks.append((text, now))

    marks[-1] = (f"reading {path.name}", time.perf_counter())
    survey = read_survey(path)
    SourceLocator().fit(survey, progress=mark)
    mark("done")


def main() -> None:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--analyze", action="store_true", help="also time `plumetrace analyze` on the file")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--keep", type=Path, default=None, help="write the survey here and keep it")
    ap.add_argument("--stages", action="store_true", help="time the stages of locate in this process")
    args = ap.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="plumetrace-large-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"survey_{args.rows}.csv"
    if not path.exists():
        t0 = time.perf_counter()
        write_survey(path, args.rows)
        print(f"wrote {path} ({path.stat().st_size / 2**20:.0f} MiB) in {time.perf_counter() - t0:.1f} s",
              file=sys.stderr)
    if args.stages:
        stages(path)
        return
    py = sys.executable
    # each measurement in a fresh interpreter (so that ru_maxrss is its own): smallest first
    base = _measure([py, "-c", f"import pandas as pd; pd.read_csv({str(path)!r})"], folder)
    loc = _measure([py, "-m", "plumetrace.cli", "locate", str(path), "--json"], folder)
    report = {"rows": args.rows, "file_mib": path.stat().st_size / 2**20,
              "baseline_read_csv": {k: v for k, v in base.items() if k != "stdout"},
              "locate": {k: v for k, v in loc.items() if k != "stdout"},
              "locate_sources": len(json.loads(loc["stdout"])["sources"]),
              "ratio_locate_to_read_csv": loc["seconds"] / base["seconds"],
              "targets": {"seconds": TARGET_SECONDS, "peak_mb": TARGET_PEAK_MB}}
    if args.analyze:
        ana = _measure([py, "-m", "plumetrace.cli", "analyze", str(path), "--db", f"sqlite:///{folder / 'l.db'}",
                        "--json"], folder)
        report["analyze"] = {k: v for k, v in ana.items() if k != "stdout"}
    if args.json:
        print(json.dumps(report, indent=1))
        return
    print(f"{args.rows:,} rows ({report['file_mib']:.0f} MiB)")
    print(f"  pandas.read_csv (baseline): {base['seconds']:6.1f} s, peak {base['peak_mb']:6.0f} MB")
    print(f"  plumetrace locate:          {loc['seconds']:6.1f} s, peak {loc['peak_mb']:6.0f} MB "
          f"({report['ratio_locate_to_read_csv']:.1f}× the baseline; targets ≤ {TARGET_SECONDS:g} s, "
          f"≤ {TARGET_PEAK_MB:g} MB), {report['locate_sources']} source(s)")
    if args.analyze:
        a = report["analyze"]
        print(f"  plumetrace analyze:         {a['seconds']:6.1f} s, peak {a['peak_mb']:6.0f} MB")


if __name__ == "__main__":
    main()
