"""Reader of dispersion field experiments in the validation format (contract 4, docs/formats.md).

A folder holds ``runs.csv`` (one row per release), ``concentrations.csv`` (observations) and
``SOURCE.txt``; plumetrace also reads an optional ``samplers.csv`` (every sampler reading with its azimuth
from the source, for experiments such as Project Prairie Grass whose runs carry a measured wind direction
``wind_dir_deg``). Every problem is reported as an :class:`~plumetrace.exceptions.InputError` naming the
file, the line and the column.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from plumetrace.exceptions import InputError
from plumetrace.physics.stability import VALID_LABELS, stability_code, stability_label


def _number(low: float | None = None, low_inclusive: bool = True, allow_blank: bool = False,
            what: str = "a number", high: float | None = None) -> Callable[[str], float]:
    """A parser of one finite number in [low, high] (physically possible values; docs/formats.md)."""

    def parse(text: str) -> float:
        text = text.strip()
        if text == "":
            if allow_blank:
                return math.nan
            raise ValueError(f"is empty; expected {what}")
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"{text!r} is not {what}") from None
        if not math.isfinite(value):
            raise ValueError(f"{text!r} is not a finite number")
        if low is not None and (value < low or (value == low and not low_inclusive)):
            bound = f">= {low:g}" if low_inclusive else f"> {low:g}"
            raise ValueError(f"{value:g} is out of range; expected {what} {bound}")
        if high is not None and value > high:
            raise ValueError(f"{value:g} is out of range; expected {what} <= {high:g}")
        return value

    return parse


def _stability(text: str) -> str:
    try:
        return str(stability_label(stability_code(text.strip())))
    except ValueError:
        raise ValueError(f"unknown stability class {text.strip()!r}; expected one of "
                         f"{', '.join(VALID_LABELS)}") from None


def _run_id(text: str) -> str:
    text = text.strip()
    if not text:
        raise ValueError("is empty; expected a run identifier")
    return text


RUNS_REQUIRED: dict[str, Callable[[str], object]] = {
    "run": _run_id,
    "q_g_s": _number(0.0, low_inclusive=False, what="an emission rate in g/s", high=1e6),
    "h_m": _number(0.0, what="a release height in m", high=1000.0),
    "u_ref_mps": _number(0.0, what="a wind speed in m/s", high=75.0),
    "z_ref_m": _number(0.0, low_inclusive=False, what="a height in m", high=1000.0),
    "stability": _stability,
}
RUNS_OPTIONAL: dict[str, Callable[[str], object]] = {
    "L_m": _number(-1e7, allow_blank=True, what="a Monin-Obukhov length in m", high=1e7),
    "z0_m": _number(0.0, low_inclusive=False, allow_blank=True, what="a roughness length in m", high=10.0),
    "sampling_min": _number(0.0, low_inclusive=False, allow_blank=True, what="a sampling time in minutes", high=1440.0),
    "mixing_height_m": _number(0.0, low_inclusive=False, allow_blank=True, what="a mixing height in m", high=10000.0),
    "wind_dir_deg": _number(0.0, allow_blank=True, what="a wind direction in degrees", high=360.0),
    "sigma_theta_deg": _number(0.0, allow_blank=True, what="a standard deviation in degrees", high=180.0),
}
CONC_REQUIRED: dict[str, Callable[[str], object]] = {
    "run": _run_id,
    "x_m": _number(0.0, low_inclusive=False, what="a downwind distance in m", high=1e5),
    "y_m": _number(-1e5, allow_blank=True, what="a crosswind offset in m (blank for an arc maximum)", high=1e5),
    "z_m": _number(0.0, what="a sampler height in m", high=1000.0),
    "c_ug_m3": _number(0.0, what="a concentration in ug/m3", high=1e12),
}
SAMPLERS_REQUIRED: dict[str, Callable[[str], object]] = {
    "run": _run_id,
    "x_m": _number(0.0, low_inclusive=False, what="an arc radius in m", high=1e5),
    "azimuth_deg": _number(0.0, what="an azimuth in degrees", high=360.0),
    "z_m": _number(0.0, what="a sampler height in m", high=1000.0),
    "c_ug_m3": _number(0.0, what="a concentration in ug/m3", high=1e12),
}


def read_checked_csv(
    path: Path,
    required: dict[str, Callable[[str], object]],
    optional: dict[str, Callable[[str], object]] | None = None,
) -> pd.DataFrame:
    """Read a small CSV, parsing each required/optional column and naming the line of any problem.

    Extra columns are ignored. Line numbers count the header as line 1.
    """
    optional = optional or {}
    try:
        handle = open(path, newline="", encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError("file not found", path) from None
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror})", path) from None
    with handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            raise InputError("is empty; expected a header row", path, 1) from None
        except (csv.Error, UnicodeDecodeError) as exc:
            raise InputError(f"is not a readable UTF-8 CSV file ({exc})", path, 1) from None
        header = [h.strip() for h in header]
        missing = [c for c in required if c not in header]
        if missing:
            raise InputError(
                f"missing required column(s) {', '.join(missing)}; the header has {', '.join(header)}",
                path, 1, missing[0],
            )
        parsers = {c: p for c, p in {**required, **optional}.items() if c in header}
        index = {c: header.index(c) for c in parsers}
        records: dict[str, list] = {c: [] for c in parsers}
        lines: list[int] = []
        line = 1
        try:
            for row in reader:
                line = reader.line_num
                if not row or all(not cell.strip() for cell in row):
                    continue
                if len(row) != len(header):
                    raise InputError(f"has {len(row)} fields; the header has {len(header)}", path, line)
                for col, parse in parsers.items():
                    try:
                        records[col].append(parse(row[index[col]]))
                    except ValueError as exc:
                        raise InputError(str(exc), path, line, col) from None
                lines.append(line)
        except (csv.Error, UnicodeDecodeError) as exc:
            raise InputError(f"is not valid UTF-8 CSV ({exc})", path, line + 1) from None
    for col in optional:
        if col not in records:
            records[col] = [math.nan] * len(lines)
    frame = pd.DataFrame(records)
    frame["line"] = np.asarray(lines, dtype=np.int64)
    frame.attrs["path"] = str(path)
    return frame


@dataclass
class FieldExperiment:
    """A dispersion field experiment: runs, observations and, optionally, every sampler reading.

    Attributes
    ----------
    runs : pandas.DataFrame
        One row per run (columns of contract 4; optional ones NaN when absent).
    concentrations : pandas.DataFrame
        Observations with a ``line`` column pointing back into the file.
    samplers : pandas.DataFrame or None
        Every sampler reading (``samplers.csv``) when present.
    path : pathlib.Path
        The folder.
    source : str
        Text of ``SOURCE.txt`` ('' if absent).
    """

    runs: pd.DataFrame
    concentrations: pd.DataFrame
    samplers: pd.DataFrame | None
    path: Path
    source: str = ""
    notes: list[str] = field(default_factory=list)


def read_field_experiment(directory: str | Path) -> FieldExperiment:
    """Read and check a field experiment folder (contract 4, docs/formats.md).

    Parameters
    ----------
    directory : str or pathlib.Path
        Folder with ``runs.csv``, ``concentrations.csv`` and optional ``samplers.csv``, ``SOURCE.txt``.

    Returns
    -------
    FieldExperiment

    Raises
    ------
    InputError
        Naming the file, line and column of the first problem: missing folder, file or column,
        non-numeric or out-of-range value, unknown stability class, duplicate run, observation of a run
        that ``runs.csv`` lacks.
    """
    folder = Path(directory)
    if not folder.is_dir():
        raise InputError("is not a folder; expected a field-experiment folder with runs.csv and "
                         "concentrations.csv", folder)
    runs_path = folder / "runs.csv"
    runs = read_checked_csv(runs_path, RUNS_REQUIRED, RUNS_OPTIONAL)
    if runs.empty:
        raise InputError("has no runs", runs_path, 2)
    dup = runs["run"].duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise InputError(f"run {runs['run'].iloc[i]!r} appears twice", runs_path, int(runs["line"].iloc[i]), "run")
    conc_path = folder / "concentrations.csv"
    conc = read_checked_csv(conc_path, CONC_REQUIRED)
    _check_runs_known(conc, runs, conc_path)
    samplers = None
    samplers_path = folder / "samplers.csv"
    notes = []
    if samplers_path.exists():
        samplers = read_checked_csv(samplers_path, SAMPLERS_REQUIRED)
        unknown = ~samplers["run"].isin(runs["run"])
        if unknown.any():
            notes.append(
                f"samplers.csv: {int(unknown.sum())} readings of {samplers.loc[unknown, 'run'].nunique()} runs "
                "without meteorology in runs.csv were left out"
            )
            samplers = samplers.loc[~unknown].reset_index(drop=True)
    source_path = folder / "SOURCE.txt"
    source = source_path.read_text(encoding="utf-8", errors="replace") if source_path.exists() else ""
    return FieldExperiment(runs=runs, concentrations=conc, samplers=samplers, path=folder, source=source,
                           notes=notes)


def _check_runs_known(obs: pd.DataFrame, runs: pd.DataFrame, path: Path) -> None:
    unknown = ~obs["run"].isin(runs["run"])
    if unknown.any():
        i = int(np.flatnonzero(unknown.to_numpy())[0])
        raise InputError(f"run {obs['run'].iloc[i]!r} is not in runs.csv", path, int(obs["line"].iloc[i]), "run")


#: Project Prairie Grass (Barad 1958; Irwin's digitisation; a US Air Force programme, public domain), shipped in
#: the package in the form of contract 4: ``plumetrace validate dispersion`` uses it when no folder is given.
BUNDLED_EXPERIMENTS = {"prairie_grass": "data/prairie_grass"}


def bundled_experiment_dir(name: str = "prairie_grass") -> Path:
    """Folder of a field experiment shipped inside the package (contract-4 files and its SOURCE.txt)."""
    from importlib import resources

    if name not in BUNDLED_EXPERIMENTS:
        raise InputError(f"no bundled field experiment {name!r}; bundled: {', '.join(BUNDLED_EXPERIMENTS)}")
    return Path(str(resources.files("plumetrace").joinpath(BUNDLED_EXPERIMENTS[name])))
