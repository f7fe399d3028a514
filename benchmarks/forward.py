"""Forward-model speed benchmark; the same code runs as ``plumetrace bench speed``.

Usage: ``python benchmarks/forward.py [--receptors N] [--quick] [--json]``
"""

import argparse
import json

from rich.console import Console

from plumetrace.bench.forward import render_forward_report, run_forward_benchmark


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--receptors", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report = run_forward_benchmark(n_receptors=args.receptors, quick=args.quick, progress=not args.json)
    if args.json:
        print(json.dumps(report))
    else:
        render_forward_report(report, Console())


if __name__ == "__main__":
    main()
