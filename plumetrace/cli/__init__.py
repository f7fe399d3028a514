"""The ``plumetrace`` command line (contract 6, docs/formats.md): one module per command group.

A thin typer layer: each command parses its options, calls the library and renders the result as rich tables
or, with ``--json``, one JSON object on standard output (:mod:`plumetrace.cli._common` for the exit codes).
"""

from __future__ import annotations

from plumetrace.cli import accounts, bench, campaign, leads, plan, service, survey, validate  # noqa: F401 - registers
from plumetrace.cli._app import app

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the ``plumetrace`` script."""
    app(prog_name="plumetrace")


