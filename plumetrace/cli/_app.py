"""The typer applications of the command line: ``plumetrace`` and its command groups."""

from __future__ import annotations

from typing import Annotated

import typer

from plumetrace import __version__
from plumetrace.cli._common import out

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
