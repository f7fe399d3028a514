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


