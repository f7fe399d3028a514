"""Locator options measured two ways: on the single-survey suite and on demo campaigns.

Reproduces the numbers in docs/localisation.md and `plumetrace.pipeline.PIPELINE_LOCATOR`:

* ``suite``: `plumetrace bench accuracy` on 24 scenarios (stability, wind, rate, targets, decoys, leaks,
  patterns) with the locator's defaults, with ``stability_spread``, with ``urban_with_buildings``;
* ``demo``: `plumetrace demo` for seeds 1, 2, 3, 4, 7 with the single-survey defaults and with both options
  (the pipeline's settings); prints the top-ranked site's class and distance to the hidden lab.

    python benchmarks/locator_options.py suite|demo [--out DIR]
"""

from __future__ import annotations

import argparse
import tempfile

SUBSET = "0[1-9]_*,1[0-1]_*,14_*,2[1-7]_*,4[1-5]_*"
SUITE_VARIANTS = {
    "defaults": {"stability_spread": False, "urban_with_buildings": False},
    "stability_spread": {"stability_spread": True, "urban_with_buildings": False},
    "urban_with_buildings": {"stability_spread": False, "urban_with_buildings": True},
}
DEMO_VARIANTS = {
    "single-survey defaults": {"stability_spread": False, "urban_with_buildings": False},
    "pipeline settings": {},
}


def suite() -> None:
    """Ablation on the suite subset."""
    from plumetrace.bench.accuracy import run_accuracy

    for name, params in SUITE_VARIANTS.items():
        loc = run_accuracy(select=SUBSET, progress=False, locator_params=params)["localisation"]
        print(f"{name:>22}: found {loc['targets_found']}/{loc['targets']}, false sites {loc['false_sites']}, "
              f"median error {loc['localisation_error_median_m']:.1f} m, building top-1 {loc['building_top1']:.0%}, "
              f"median {loc['median_seconds_locate']:.1f} s", flush=True)


def demo(out: str) -> None:
    """Demo campaigns for five seeds, both settings."""
    from plumetrace.demo import run_demo

    for seed in (1, 2, 3, 4, 7):
        for name, params in DEMO_VARIANTS.items():
            r = run_demo(f"{out}/{name.replace(' ', '_')}_{seed}", seed, progress=False, locator=params)
            top = r.sites[0] if r.sites else None
            text = "no site" if top is None else f"top {top['class']} {top['lab_distance_m']:.1f} m from the lab"
            print(f"seed {seed}, {name:>22}: {text} ({len(r.sites)} sites, {r.seconds:.0f} s)", flush=True)


def main() -> None:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=["suite", "demo"])
    ap.add_argument("--out", default=None, help="folder for the demo runs (default: a temporary folder)")
    args = ap.parse_args()
    if args.what == "suite":
        suite()
    elif args.out:
        demo(args.out)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            demo(tmp)


if __name__ == "__main__":
    main()
