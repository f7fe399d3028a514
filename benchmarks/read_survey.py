"""Survey CSV read speed: plumetrace.io.read_survey on a 1-million-row survey vs pandas.read_csv (same process).

Usage: ``python benchmarks/read_survey.py [--rows N]``. read_survey parses with pyarrow, checks every column
and projects every position to the local frame with pyproj; pandas.read_csv only parses.
"""

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from plumetrace.io.survey import read_survey


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    n = args.rows
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"time": 1.78e9 + 0.1 * np.arange(n), "lat": 52 + 1e-5 * rng.standard_normal(n),
                       "lon": 5 + 1e-5 * rng.standard_normal(n), "alt_m": 20.0,
                       "ch4_ppm": 1.95 + 0.003 * rng.standard_normal(n), "c2h6_ppb": 1.5 + rng.standard_normal(n),
                       "co2_ppm": 420 + rng.standard_normal(n), "wind_speed_mps": 4.0, "wind_dir_deg": 250.0})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "survey.csv"
        df.to_csv(path, index=False)
        read_survey(path)  # warm-up: imports, pyproj set-up
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            read_survey(path)
            times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        pd.read_csv(path)
        base = time.perf_counter() - t0
    best = min(times)
    print(f"read_survey: {n:,} rows in {best:.3f} s (best of 3; target <= 1 s); "
          f"pandas.read_csv parse only: {base:.3f} s; ratio {base / best:.2f}")


if __name__ == "__main__":
    main()
