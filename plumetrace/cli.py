"""The ``plumetrace`` command line (DESIGN.md contract 6).

A thin typer layer: each command parses its options, calls the library and renders the result as rich
tables or, with ``--json``, one JSON object on standard output. Exit codes: 0 success, 2 bad input (a
one-paragraph message on standard error naming the file, row or field), 1 internal error.
"""

from __future__ import annotations

import functools
import json
import math
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from plumetrace import __version__
from plumetrace.exceptions import InputError

app = typer.Typer(
    name="plumetrace",
    help="Find hidden emission sources from airborne gas-sensor surveys.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
validate_app = typer.Typer(help="Validate the physics against field experiments.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks, with ratios against baselines run in the same process.",
                        no_args_is_help=True)
app.add_typer(validate_app, name="validate")
app.add_typer(bench_app, name="bench")

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def _fail_input(exc: Exception) -> None:
    err.print(f"[bold red]error:[/] {exc}", soft_wrap=True)
    raise typer.Exit(2)


def handle_errors(func):
    """Map InputError to exit 2 and unexpected exceptions to exit 1, never showing a traceback."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except InputError as exc:
            _fail_input(exc)
        except Exception as exc:  # noqa: BLE001 - the CLI boundary
            if os.environ.get("PLUMETRACE_DEBUG"):
                raise
            err.print(
                f"[bold red]internal error:[/] {type(exc).__name__}: {exc}. This is a bug in plumetrace; "
                "rerun with PLUMETRACE_DEBUG=1 for the traceback and report it.",
                soft_wrap=True,
            )
            raise typer.Exit(1) from None

    return wrapper


def _version_callback(value: bool) -> None:
    if value:
        out.print(f"plumetrace {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", help="Show the version and exit.",
                                          callback=_version_callback, is_eager=True)] = False,
) -> None:
    """Find hidden emission sources from airborne gas-sensor surveys."""


def _json_default(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def print_json(obj: dict) -> None:
    """Write one JSON object to standard output (NaN as null)."""
    text = json.dumps(obj, default=_json_default, allow_nan=False, indent=None)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:.{digits}g}" if abs(value) >= 1000 else f"{value:.{digits}f}"


def _stats_table(title: str, comparison, dims: str) -> Table:
    table = Table(title=title, title_justify="left")
    for col in (dims, "N", "FB", "NMSE", "MG", "VG", "FAC2"):
        table.add_column(col, justify="right" if col != dims else "left")
    rows = [("all", comparison.overall)]
    rows += list(comparison.by_stability.items() if dims == "class" else comparison.by_distance.items())
    for name, s in rows:
        fac2 = _fmt(s.FAC2, 2)
        style = "green" if s.FAC2 >= 0.5 else "red"
        table.add_row(name, str(s.N), _fmt(s.FB), _fmt(s.NMSE), _fmt(s.MG), _fmt(s.VG), f"[{style}]{fac2}[/]")
    return table


@validate_app.command("dispersion")
@handle_errors
def validate_dispersion_cmd(
    directory: Annotated[Path, typer.Argument(help="Field-experiment folder (runs.csv, concentrations.csv).")],
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    model: Annotated[str, typer.Option(help="σ model: briggs_rural, briggs_urban or isc3_rural.")] = "briggs_rural",
    threshold: Annotated[float, typer.Option(help="Lower threshold for MG, VG, FAC2 [µg/m³].", min=0.0)] = 0.0,
) -> None:
    """Score the plume model on a field experiment: FB, NMSE, MG, VG, FAC2 (Chang & Hanna 2004)."""
    from plumetrace.io.field_experiment import read_field_experiment
    from plumetrace.physics.sigmas import SIGMA_MODELS
    from plumetrace.validation.dispersion import validate_dispersion

    allowed = [m for m in SIGMA_MODELS if m != "parametric"]
    if model not in allowed:
        raise InputError(f"--model: unknown model {model!r}; expected one of {', '.join(allowed)}")
    experiment = read_field_experiment(directory)
    result = validate_dispersion(experiment, model=model, threshold=threshold)
    if json_output:
        print_json(result.as_dict())
        return
    out.print(f"[bold]Dispersion validation[/] of {result.dataset} — model [cyan]{model}[/], {result.n_runs} runs")
    out.print(_stats_table("Observations (concentrations.csv) by stability class", result.observations, "class"))
    out.print(_stats_table("Observations by downwind distance [m]", result.observations, "x_m"))
    if result.samplers is not None:
        out.print(_stats_table("Every sampler (samplers.csv) by stability class", result.samplers, "class"))
    for note in result.notes:
        out.print(f"[dim]note: {note}[/]")


@app.command("simulate")
@handle_errors
def simulate_cmd(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Output folder (created if needed).")],
    truth_samples: Annotated[bool, typer.Option("--truth-samples", help="Also write truth_samples.csv "
                                                "(noise-free enhancement per sample).")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Simulate a survey: writes survey.csv, buildings.geojson and truth.json."""
    import time

    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from plumetrace.sim.scenario import load_scenario
    from plumetrace.sim.simulate import simulate, write_simulation

    t0 = time.perf_counter()
    sc, base = load_scenario(scenario)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err,
                  transient=True, disable=json_output) as bar:
        task = bar.add_task(f"simulating {sc.name}")
        sim = simulate(sc, scenario, base, progress=lambda s: bar.update(task, description=f"{sc.name}: {s}"))
        paths = write_simulation(sim, out_dir, with_samples=truth_samples)
    elapsed = time.perf_counter() - t0
    summary = {
        "scenario": sc.name, "samples": len(sim.survey), "duration_s": sim.truth["t_end"] - sim.truth["t_start"],
        "sources": len(sim.emitters), "targets": sum(e.target for e in sim.emitters),
        "files": {k: str(v) for k, v in paths.items()}, "seconds": round(elapsed, 3),
    }
    if json_output:
        print_json(summary)
        return
    table = Table(title=f"Simulated {sc.name}", title_justify="left")
    for col in ("id", "class", "target", "east m", "north m", "height m", "building", "primary rate g/s"):
        table.add_column(col)
    for s in sim.truth["sources"]:
        table.add_row(s["id"], s["class"], "yes" if s["target"] else "", f"{s['east_m']:.0f}", f"{s['north_m']:.0f}",
                      f"{s['height_m']:.1f}", s["building_id"] or "–", f"{s['rates_g_s'][s['primary']]:.3g}")
    out.print(table)
    w = sim.truth["weather"]
    out.print(f"{summary['samples']:,} samples over {summary['duration_s'] / 60:.1f} min; wind "
              f"{w['wind_speed_10m_mps']:g} m/s from {w['wind_from_deg']:g}°, class {w['stability']}; "
              f"written to {out_dir} in {elapsed:.2f} s")


@bench_app.command("speed")
@handle_errors
def bench_speed_cmd(
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    receptors: Annotated[int, typer.Option(help="Receptors for the plume-model benchmark.", min=1000)] = 1_000_000,
    quick: Annotated[bool, typer.Option(help="Small sizes, for a smoke test.")] = False,
) -> None:
    """Forward-model throughput against a naive Python loop, NumPy and pyELQ, measured in this process."""
    from plumetrace.bench.forward import render_forward_report, run_forward_benchmark

    report = run_forward_benchmark(n_receptors=receptors if not quick else 20_000, quick=quick,
                                   progress=not json_output)
    if json_output:
        print_json(report)
    else:
        render_forward_report(report, out)


@bench_app.command("accuracy")
@handle_errors
def bench_accuracy_cmd(
    suite: Annotated[Path | None, typer.Option(help="Folder of scenario YAML files.")] = None,
    select: Annotated[str | None, typer.Option(help="Comma-separated globs on scenario names.")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Simulate a scenario suite, run the pipeline and score it against the ground truth."""
    from plumetrace.bench.accuracy import DEFAULT_SUITE, render_accuracy, run_accuracy

    report = run_accuracy(suite or DEFAULT_SUITE, select, progress=not json_output)
    if json_output:
        print_json(report)
    else:
        render_accuracy(report, out)


def main() -> None:
    """Entry point of the ``plumetrace`` script."""
    app(prog_name="plumetrace")


if __name__ == "__main__":
    main()
