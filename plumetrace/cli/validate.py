"""``plumetrace validate``: the physics against field experiments."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from plumetrace.cli._app import validate_app
from plumetrace.cli._common import fmt, handle_errors, out, print_json
from plumetrace.exceptions import InputError


def _stats_table(title: str, comparison, dims: str) -> Table:
    table = Table(title=title, title_justify="left")
    for col in (dims, "N", "FB", "NMSE", "MG", "VG", "FAC2"):
        table.add_column(col, justify="right" if col != dims else "left")
    rows = [("all", comparison.overall)]
    rows += list(comparison.by_stability.items() if dims == "class" else comparison.by_distance.items())
    for name, s in rows:
        fac2 = fmt(s.FAC2, 2)
        style = "green" if s.FAC2 >= 0.5 else "red"
        table.add_row(name, str(s.N), fmt(s.FB), fmt(s.NMSE), fmt(s.MG), fmt(s.VG), Text(fac2, style=style))
    return table


@validate_app.command("dispersion")
@handle_errors
def validate_dispersion_cmd(
    directory: Annotated[Path | None, typer.Argument(help="Field-experiment folder (runs.csv, concentrations.csv); "
                                                       "default: Project Prairie Grass, shipped with plumetrace.")]
    = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    model: Annotated[str, typer.Option(help="σ model: briggs_rural, briggs_urban or isc3_rural.")] = "briggs_rural",
    threshold: Annotated[float, typer.Option(help="Lower threshold for MG, VG, FAC2 [µg/m³].", min=0.0)] = 0.0,
) -> None:
    """Score the plume model on a field experiment: FB, NMSE, MG, VG, FAC2 (Chang & Hanna 2004)."""
    from plumetrace.io.field_experiment import bundled_experiment_dir, read_field_experiment
    from plumetrace.physics.sigmas import SIGMA_MODELS
    from plumetrace.validation.dispersion import validate_dispersion

    allowed = [m for m in SIGMA_MODELS if m != "parametric"]
    if model not in allowed:
        raise InputError(f"--model: unknown model {model!r}; expected one of {', '.join(allowed)}")
    experiment = read_field_experiment(directory if directory is not None else bundled_experiment_dir())
    result = validate_dispersion(experiment, model=model, threshold=threshold)
    if json_output:
        print_json(result.as_dict())
        return
    out.print(Text.assemble(("Dispersion validation", "bold"), f" of {result.dataset} — model ", (model, "cyan"),
                           f", {result.n_runs} runs"))
    out.print(_stats_table("Observations (concentrations.csv) by stability class", result.observations, "class"))
    out.print(_stats_table("Observations by downwind distance [m]", result.observations, "x_m"))
    if result.samplers is not None:
        out.print(_stats_table("Every sampler (samplers.csv) by stability class", result.samplers, "class"))
    for note in result.notes:
        out.print(f"note: {note}", style="dim")




@validate_app.command("release")
@handle_errors
def validate_release_cmd(
    directory: Annotated[Path, typer.Argument(help="A controlled release: survey.csv (contract 1) and truth.json "
                                                   "(e.g. ../shared/data/chilbolton/source_1).")],
    pyelq: Annotated[bool, typer.Option("--pyelq/--no-pyelq", help="Also run pyELQ on the same readings.")] = True,
    iterations: Annotated[int, typer.Option(help="pyELQ MCMC iterations.", min=100, max=100_000)] = 1000,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Locate a controlled release and score it against the truth, beside pyELQ run on the same readings."""
    from plumetrace.bench.field_release import run_field_release

    survey = directory / "survey.csv"
    if not survey.is_file() or not (directory / "truth.json").is_file():
        raise InputError("needs survey.csv and truth.json", directory)
    result = run_field_release(survey, pyelq=pyelq, n_iter=iterations)
    if json_output:
        print_json(result)
        return
    truth = result["truth"]["sources"][0]
    table = Table(title=f"controlled release {result['case']}: {truth['rate_g_s']:.3g} g/s", title_justify="left")
    for col in ("method", "found", "error m", "rate g/s", "rate factor", "90 % region holds it", "seconds"):
        table.add_column(col, justify="left" if col == "method" else "right")
    for name in ("plumetrace", "pyelq"):
        r = result.get(name)
        if r is None:
            continue
        table.add_row(name, "yes" if r.get("found") else "no", fmt(r.get("error_m"), 2), fmt(r.get("rate_g_s"), 3),
                      fmt(r.get("rate_factor"), 2), {True: "yes", False: "no", None: "–"}[r.get("covered")],
                      fmt(r.get("seconds"), 2))
    out.print(table)
