"""What every command shares: the consoles, the error boundary, JSON output and option parsers.

Exit codes (contract 6, docs/formats.md): 0 success, 2 bad input (one message on standard error naming the file, row
or field), 1 internal error; never a traceback. User-supplied strings reach the terminal as text, never as rich
markup (:func:`plumetrace.io.textsafe.terminal_text`).
"""

from __future__ import annotations

import functools
import json
import math
import os
import sys

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from plumetrace.exceptions import InputError, LeadError
from plumetrace.io.jsonsafe import json_safe
from plumetrace.io.textsafe import terminal_text

#: The consoles never read markup in what they print: strings from users' files stay text; our own styling uses
#: ``style=`` and :class:`rich.text.Text`.
out = Console(highlight=False, markup=False)
err = Console(stderr=True, highlight=False, markup=False)

DB_HELP = "Store URL: sqlite:///FILE (default sqlite:///plumetrace.db or $PLUMETRACE_DB) or postgresql://..."


def fail_input(exc: Exception) -> None:
    """Print an input error (as text) and exit 2."""
    err.print(Text.assemble(("error: ", "bold red"), terminal_text(exc)), soft_wrap=True)
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
            fail_input(exc)
        except LeadError as exc:
            fail_input(InputError(exc.message))
        except Exception as exc:  # noqa: BLE001 - the CLI boundary
            if os.environ.get("PLUMETRACE_DEBUG"):
                raise
            err.print(Text.assemble(
                ("internal error: ", "bold red"), terminal_text(f"{type(exc).__name__}: {exc}"),
                ". This is a bug in plumetrace; rerun with PLUMETRACE_DEBUG=1 for the traceback and report it."),
                soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper


def print_json(obj: dict) -> None:
    """Write one JSON object to standard output (NaN and infinities as null)."""
    text = json.dumps(json_safe(obj), allow_nan=False)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def print_fields(title: str, rows, warnings=()) -> None:
    """A two-column field/value table on standard output, then each warning (all as text)."""
    table = Table(title=title, title_justify="left", show_header=False)
    table.add_column("field")
    table.add_column("value")
    for k, v in rows:
        table.add_row(k, v)
    out.print(table)
    for w in warnings:
        out.print(Text.assemble(("warning: ", "yellow"), str(w)))


def fmt(value: float | None, digits: int = 3) -> str:
    """A number for a table cell ("–" for None, NaN or infinity)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:.{digits}g}" if abs(value) >= 1000 else f"{value:.{digits}f}"


#: Largest sensor lag or response time an option may give [s]: ten minutes is slower than any gas sensor.
MAX_LAG_S = 600.0


def parse_lags(values: list[str] | None, option: str = "--lag") -> dict[str, float]:
    """``COLUMN=SECONDS`` options → {column: seconds}; seconds finite, 0 … :data:`MAX_LAG_S`."""
    lags = {}
    for item in values or []:
        column, sep, seconds = item.partition("=")
        try:
            if not sep or not column.strip():
                raise ValueError
            value = float(seconds)
        except ValueError:
            raise InputError(f"{option}: {item!r} is not COLUMN=SECONDS (e.g. co_ppm=15)") from None
        if not (math.isfinite(value) and 0.0 <= value <= MAX_LAG_S):
            raise InputError(f"{option}: {item!r} needs a time between 0 and {MAX_LAG_S:g} s")
        lags[column.strip()] = value
    return lags


def parse_wind(text: str | None) -> tuple[float, float] | None:
    """``SPEED_MPS@FROM_DEG`` → (speed, from_deg), or None."""
    if text is None:
        return None
    speed, sep, frm = text.partition("@")
    try:
        if not sep:
            raise ValueError
        value = (float(speed), float(frm))
    except ValueError:
        raise InputError(f"--wind: {text!r} is not SPEED_MPS@FROM_DEG (e.g. 4.5@250)") from None
    if not (0 < value[0] < 50 and 0 <= value[1] <= 360):
        raise InputError(f"--wind: {text!r} needs a speed in (0, 50) m/s and a direction in 0..360 degrees")
    return value
