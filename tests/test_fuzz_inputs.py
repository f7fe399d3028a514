"""Property-based and mutation fuzzing of the readers and the options (issue #19): every generated input ends in
an InputError that names its file (or option) or in a valid result — never another exception.

Budgets: ``FUZZ_SCALE`` × the counts below (CI runs scale 1: 61,500 generated inputs here, plus those of
``tests/io/test_fuzz.py`` and ``tests/io/test_ardupilot.py``). A longer run:
``FUZZ_SCALE=20 .venv/bin/python -m pytest tests/test_fuzz_inputs.py -q`` (docs/ingest.md).
"""

from __future__ import annotations

import json
import math
import os
import random

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plumetrace.exceptions import InputError

SCALE = float(os.environ.get("FUZZ_SCALE", "1" if os.environ.get("CI") else "0.2"))


def budget(n: int) -> int:
    return max(20, int(n * SCALE))


def fuzz(n: int):
    return settings(max_examples=budget(n), deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))


# -- survey values: every number a survey file can carry, in memory (fast) ----------------------------------------
NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e300, -1e300, 1e-300, 90.0, 90.0000001, 180.0, 360.0, 360.1, -1.0, 75.0, 75.1]),
    st.integers(-10**12, 10**12).map(float),
)
COLUMNS = ["time", "lat", "lon", "alt_m", "ch4_ppm", "c2h6_ppb", "wind_speed_mps", "wind_dir_deg", "temp_c",
           "pressure_hpa"]
GOOD_ROW = {"time": 1.78e9, "lat": 52.0, "lon": 5.0, "alt_m": 20.0, "ch4_ppm": 1.95, "c2h6_ppb": 2.0,
            "wind_speed_mps": 4.0, "wind_dir_deg": 250.0, "temp_c": 15.0, "pressure_hpa": 1013.0}


@fuzz(20_000)
@given(cells=st.lists(st.tuples(st.integers(0, 5), st.sampled_from(COLUMNS), NUMBERS), max_size=6))
def test_survey_values_are_refused_or_physical(cells):
    from plumetrace.io.survey import CHANNEL_LIMITS, LIMITS, survey_from_dataframe

    rows = [dict(GOOD_ROW, time=GOOD_ROW["time"] + 0.1 * i, lat=52.0 + 1e-5 * i) for i in range(6)]
    for i, col, value in cells:
        rows[i][col] = value
    df = pd.DataFrame(rows).astype(object)
    try:
        s = survey_from_dataframe(df, ["ch4_ppm", "c2h6_ppb"], "fuzz.csv")
    except InputError as exc:
        assert "fuzz.csv" in str(exc) and exc.row is not None and 2 <= exc.row <= 7 and exc.column in COLUMNS
        return
    d = s.data
    for col, (lo, hi, _) in LIMITS.items():
        if col not in d.columns:
            continue
        v = d[col].to_numpy(float)
        assert np.all(np.isnan(v) | ((v >= lo) & (v <= hi))), col
    for col in ("ch4_ppm", "c2h6_ppb"):
        v = d[col].to_numpy(float)
        limit = CHANNEL_LIMITS[col.rsplit("_", 1)[1]]
        assert np.all(np.isnan(v) | (np.abs(v) <= limit)), col
    assert np.all(np.diff(d["time"].to_numpy()) >= 0)


# -- survey files: mutated text through the whole reader ------------------------------------------------------------
GOOD_SURVEY = ("time,lat,lon,alt_m,ch4_ppm,wind_speed_mps,wind_dir_deg\n"
               + "".join(f"{1.78e9 + 0.1 * i:.1f},{52.0 + 1e-5 * i:.5f},5.0,20,{1.95 + 0.01 * i:.2f},4.0,250\n"
                         for i in range(8)))
ALPHABET = ",\n\r-.e9x\"\x00 ;abcNaNinf\ufeff[/]<>"


def mutate(text: str, rng: random.Random) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 8)):
        op = rng.random()
        pos = rng.randrange(len(chars) + 1)
        if op < 0.25 and chars:
            del chars[min(pos, len(chars) - 1)]
        elif op < 0.55:
            chars.insert(pos, rng.choice(ALPHABET))
        elif op < 0.75 and chars:
            chars[min(pos, len(chars) - 1)] = rng.choice("0,\n.x-e")
        elif op < 0.85:
            chars.insert(pos, rng.choice(["1e300", "inf", "-inf", "nan", "\n\n", "\r\n", ",,", "1e-300"]))
        elif op < 0.95:
            lines = "".join(chars).split("\n")
            if len(lines) > 2:
                k = rng.randrange(1, len(lines))
                lines.insert(k, lines[rng.randrange(1, len(lines))])  # a repeated row
            chars = list("\n".join(lines))
        else:
            chars = chars[: max(pos, 1)]  # truncation
    return "".join(chars)


@fuzz(25_000)
@given(seed=st.integers(0, 2**32 - 1))
def test_survey_files_never_crash(tmp_path_factory, seed):
    from plumetrace.io.survey import read_survey

    rng = random.Random(seed)
    path = tmp_path_factory.getbasetemp() / "fuzz_values.csv"
    path.write_bytes(mutate(GOOD_SURVEY, rng).encode("utf-8", "replace"))
    try:
        survey = read_survey(path)
    except InputError as exc:
        assert "fuzz_values.csv" in str(exc)
    else:
        assert survey.n_samples >= 1 and survey.channels
        assert np.isfinite(survey.data["time"]).all() and np.isfinite(survey.data["east"]).all()


# -- buildings GeoJSON ---------------------------------------------------------------------------------------------
RING = [[5.0, 52.0], [5.0001, 52.0], [5.0001, 52.0001], [5.0, 52.0001], [5.0, 52.0]]
JSON_VALUES = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8)),
                           lambda children: st.lists(children, max_size=3)
                           | st.dictionaries(st.text(max_size=6), children, max_size=3), max_leaves=10)


@fuzz(6_000)
@given(props=st.one_of(JSON_VALUES, st.dictionaries(st.sampled_from(["id", "height_m", "use"]), JSON_VALUES)),
       geometry=st.one_of(JSON_VALUES, st.just({"type": "Polygon", "coordinates": [RING]}),
                          st.builds(lambda c: {"type": "Polygon", "coordinates": c}, JSON_VALUES)),
       top=st.sampled_from(["features", "type", None]))
def test_buildings_reader_never_crashes(tmp_path_factory, props, geometry, top):
    from plumetrace.io.buildings import read_buildings

    feature = {"type": "Feature", "properties": props, "geometry": geometry}
    doc = {"type": "FeatureCollection", "features": [feature]}
    if top:
        doc[top] = props
    path = tmp_path_factory.getbasetemp() / "fuzz_buildings.geojson"
    path.write_text(json.dumps(doc, allow_nan=True))
    try:
        buildings, _ = read_buildings(path)
    except InputError as exc:
        assert "fuzz_buildings.geojson" in str(exc)
    else:
        assert buildings and all(b.footprint.area > 0 and math.isfinite(b.height) for b in buildings)


# -- validation data ---------------------------------------------------------------------------------------------
@fuzz(3_000)
@given(seed=st.integers(0, 2**32 - 1))
def test_field_experiments_never_crash(tmp_path_factory, seed):
    from plumetrace.io.field_experiment import read_field_experiment

    rng = random.Random(seed)
    folder = tmp_path_factory.getbasetemp() / "fuzz_exp"
    folder.mkdir(exist_ok=True)
    runs = "run,q_g_s,h_m,u_ref_mps,z_ref_m,stability,wind_dir_deg\n1,50,0.5,4,2,D,270\n2,20,0.5,3,2,C,250\n"
    (folder / "runs.csv").write_bytes(mutate(runs, rng).encode("utf-8", "replace"))
    (folder / "concentrations.csv").write_bytes(mutate("run,x_m,y_m,z_m,c_ug_m3\n1,50,,1.5,10\n2,100,,1.5,3\n",
                                                       rng).encode("utf-8", "replace"))
    try:
        exp = read_field_experiment(folder)
    except InputError as exc:
        assert "fuzz_exp" in str(exc)
    else:
        assert len(exp.runs) >= 1


# -- options ------------------------------------------------------------------------------------------------------
TEXT = st.one_of(st.text(max_size=20), st.from_regex(r"[a-z_0-9\[\]/]{0,8}=[-+0-9.einfa]{0,10}", fullmatch=True),
                 st.from_regex(r"[-+0-9.einfa]{0,8}@[-+0-9.einfa]{0,8}", fullmatch=True),
                 st.from_regex(r"(tcp://)?[a-z0-9.:\[\]]{0,15}:[0-9]{0,6}", fullmatch=True))


@fuzz(7_500)
@given(text=TEXT)
def test_options_are_parsed_or_refused(text):
    from plumetrace.cli._common import MAX_LAG_S, parse_lags, parse_wind
    from plumetrace.pipeline import check_scheduler_address
    from plumetrace.store.db import resolve_url

    for parse, check in (
        (lambda: parse_lags([text]), lambda v: all(math.isfinite(s) and 0 <= s <= MAX_LAG_S for s in v.values())),
        (lambda: parse_wind(text), lambda v: v is None or (0 < v[0] < 50 and 0 <= v[1] <= 360)),
        (lambda: check_scheduler_address(text), lambda v: v.startswith(("tcp://", "tls://", "inproc://", "ws"))),
        (lambda: resolve_url("sqlite:///" + text), lambda v: v.startswith("sqlite:///")),
    ):
        try:
            value = parse()
        except InputError:
            continue
        assert check(value), (text, value)


@pytest.mark.parametrize("extra", [None, 0, -1, 1000, 10**9])
def test_workers_beyond_the_machine_are_refused(extra, tmp_path):
    from typer.testing import CliRunner

    from plumetrace.cli import app
    from plumetrace.pipeline import max_workers

    workers = max_workers() + 1 if extra is None else extra
    path = tmp_path / "s.csv"
    path.write_text(GOOD_SURVEY)
    r = CliRunner().invoke(app, ["analyze", str(path), "--db", f"sqlite:///{tmp_path / 'w.db'}",
                                 "--workers", str(workers)])
    assert r.exit_code == 2 and "Traceback" not in r.output
