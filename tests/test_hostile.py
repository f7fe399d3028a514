"""Hostile and degenerate input against the command line (issue #19): every input gets exit 0 or 2, never 1,
never a traceback, never a hang; impossible values are refused; `--json` output is exactly one JSON object.

The corpus is made here (nothing hostile is shipped): one small valid survey, then every class of damage the
issue lists — degenerate time, fixed sensors, overflowing values, repeated columns, folders for files,
malformed GeoJSON properties, deep JSON, bad options, an unreachable scheduler, a missing map folder,
validation data with impossible values, a fresh store with nothing readable.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from typer.testing import CliRunner

from plumetrace.cli import app
from tests.locate.test_locator import synthetic_survey

runner = CliRunner()


def _good_csv(tmp_path, n_every=1):
    """A 2-channel survey CSV (CH4 and ethane) of the synthetic locator case, every n-th sample."""
    s = synthetic_survey(0.003, seed=1)
    df = s.data.drop(columns=["east", "north"]).iloc[::n_every].copy()
    df["c2h6_ppb"] = 2.0 + 0.05 * (df["ch4_ppm"] - df["ch4_ppm"].min()) * 1e3
    path = tmp_path / "good.csv"
    df.to_csv(path, index=False)
    return path, df


def _run(args):
    result = runner.invoke(app, args)
    text = result.output
    assert "Traceback" not in text, text
    assert result.exit_code in (0, 2), f"exit {result.exit_code}: {text[-2000:]}"
    if result.exit_code == 0 and "--json" in args:
        json.loads(result.stdout)  # exactly one JSON object
    if result.exit_code == 2:
        assert result.stderr.startswith("error: "), result.stderr
    return result


def _variant(tmp_path, name, df):
    path = tmp_path / f"{name}.csv"
    df.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile")
    good, df = _good_csv(d, n_every=3)
    cases = {"good": good}
    same_time = df.copy()
    same_time["time"] = df["time"].iloc[0]
    cases["all_times_equal"] = _variant(d, "all_times_equal", same_time)
    repeated = df.iloc[[0] * 50].copy()
    cases["every_row_repeated"] = _variant(d, "every_row_repeated", repeated)
    fixed = df.copy()
    fixed["lat"], fixed["lon"] = df["lat"].iloc[0], df["lon"].iloc[0]
    cases["fixed_sensor"] = _variant(d, "fixed_sensor", fixed)
    big = df.copy()
    big.loc[big.index[5], "ch4_ppm"] = 1e300
    cases["overflow_reading"] = _variant(d, "overflow_reading", big)
    inf_time = df.copy()
    inf_time.loc[inf_time.index[-1], "time"] = np.inf
    cases["inf_last_time"] = _variant(d, "inf_last_time", inf_time)
    huge_time = df.copy()
    huge_time.loc[huge_time.index[-1], "time"] = 1e300
    cases["huge_last_time"] = _variant(d, "huge_last_time", huge_time)
    for col, value in (("alt_m", np.inf), ("alt_m", 1e300), ("wind_speed_mps", 1e6), ("wind_speed_mps", np.inf),
                       ("wind_dir_deg", 999.0)):
        v = df.copy()
        v.loc[v.index[3], col] = value
        cases[f"{col}_{value}"] = _variant(d, f"{col}_{value}", v)
    glitch = df.copy()
    glitch.loc[glitch.index[100], ["lat", "lon"]] = [0.0, 0.0]  # one fix at (0, 0): a 5,700 km survey
    cases["gps_glitch_to_0_0"] = _variant(d, "gps_glitch_to_0_0", glitch)
    across = df.copy()
    across["lon"] = np.where(np.arange(len(df)) % 2, 179.99995, -179.99995)  # across the antimeridian: 7 m apart
    cases["antimeridian"] = _variant(d, "antimeridian", across)
    empty = df.copy()
    empty["c2h6_ppb"] = np.nan
    cases["empty_channel"] = _variant(d, "empty_channel", empty)
    unknown = df.copy()
    unknown["xyz_ppb"] = 1.0 + 0.01 * np.arange(len(df)) % 3
    cases["unknown_species"] = _variant(d, "unknown_species", unknown)
    calm = df.copy()
    calm["wind_speed_mps"] = 0.0
    cases["zero_wind"] = _variant(d, "zero_wind", calm)
    const = df.copy()
    const["ch4_ppm"], const["c2h6_ppb"] = 1.95, 2.0
    cases["constant_readings"] = _variant(d, "constant_readings", const)
    beams = df.copy()
    beams["end_lat"], beams["end_lon"], beams["end_alt_m"] = beams["lat"], beams["lon"], beams["alt_m"]
    cases["zero_length_beams"] = _variant(d, "zero_length_beams", beams)
    one = df.copy()
    one["sensor_id"] = "only-one"
    cases["one_sensor"] = _variant(d, "one_sensor", one)
    text = good.read_text().splitlines()
    dup = d / "duplicate_column.csv"
    dup.write_text("\n".join([text[0] + ",ch4_ppm"] + [line + ",1.0" for line in text[1:]]) + "\n")
    cases["duplicate_column"] = dup
    blank = d / "blank_lines.csv"
    blank.write_text("\n".join([text[0], "", "", text[1], "", text[2].replace(text[2].split(",")[4], "abc", 1)]
                               + text[3:]) + "\n")
    cases["blank_lines"] = blank
    folder = d / "a_folder.csv"
    folder.mkdir()
    cases["folder"] = folder
    return d, cases


SURVEY_CASES = ["all_times_equal", "every_row_repeated", "fixed_sensor", "overflow_reading", "inf_last_time",
                "huge_last_time", "alt_m_inf", "alt_m_1e+300", "wind_speed_mps_1000000.0", "wind_speed_mps_inf",
                "wind_dir_deg_999.0", "zero_wind", "duplicate_column", "blank_lines", "folder", "gps_glitch_to_0_0",
                "antimeridian", "empty_channel", "unknown_species", "constant_readings", "zero_length_beams",
                "one_sensor"]
REFUSED = {"empty_channel", "overflow_reading", "inf_last_time", "huge_last_time", "alt_m_inf", "alt_m_1e+300",
           "wind_speed_mps_1000000.0", "wind_speed_mps_inf", "wind_dir_deg_999.0", "duplicate_column", "blank_lines",
           "folder"}


@pytest.mark.parametrize("case", SURVEY_CASES)
@pytest.mark.parametrize("command", ["inspect", "detect", "locate"])
def test_degenerate_surveys_exit_0_or_2(corpus, case, command):
    _, cases = corpus
    result = _run([command, str(cases[case]), "--json"])
    if case in REFUSED:
        assert result.exit_code == 2, f"{case} was accepted by {command}"
    if case == "zero_wind" and command == "locate":
        assert result.exit_code == 2 and "calm" in result.stderr  # no source is reported in a calm
    if case == "gps_glitch_to_0_0" and command == "locate":
        assert result.exit_code == 2 and "span" in result.stderr  # refused before a 50 GiB search grid
    if case in ("antimeridian", "unknown_species", "one_sensor", "zero_length_beams", "constant_readings"):
        assert result.exit_code == 0
    if case == "constant_readings" and command == "locate":
        assert json.loads(result.stdout)["sources"] == []  # a flat line holds no plume
    if case in ("zero_length_beams", "one_sensor") and command == "locate":  # as the good survey: a beam of no
        got, good = json.loads(result.stdout), json.loads(_run([command, str(cases["good"]), "--json"]).stdout)
        for key in ("sources", "candidates"):  # length is a point reading, one sensor_id one platform
            assert [round(x["east"]) for x in got[key]] == [round(x["east"]) for x in good[key]]


def test_line_numbers_count_blank_lines(corpus):
    _, cases = corpus
    result = _run(["inspect", str(cases["blank_lines"])])
    assert result.exit_code == 2 and "line 6" in result.stderr  # header, 2 blank, a row, 1 blank, the bad row


@pytest.mark.parametrize("option", [["--lag", "ch4_ppm=nan"], ["--lag", "ch4_ppm=1e9"], ["--lag", "ch4_ppm=-3"],
                                    ["--lag", "ch4_ppm=inf"], ["--lag", "=3"], ["--lag", "[/]=3"],
                                    ["--wind", "1e6@90"], ["--wind", "nan@90"], ["--wind", "3@999"],
                                    ["--stability", "Q"], ["--preset", "nope"],
                                    ["--map", "/nonexistent/folder/m.png"], ["--buildings", "/"]])
def test_bad_locate_options_exit_2_before_any_work(corpus, option):
    _, cases = corpus
    result = _run(["locate", str(cases["good"]), *option])
    assert result.exit_code == 2


def test_buildings_with_hostile_json(corpus, tmp_path):
    _, cases = corpus
    survey = str(cases["good"])
    ring = [[5.0, 52.0], [5.0001, 52.0], [5.0001, 52.0001], [5.0, 52.0]]
    for name, props in (("list", [1, 2]), ("string", "x"), ("number", 3)):
        f = tmp_path / f"{name}.geojson"
        f.write_text(json.dumps({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": props, "geometry": {"type": "Polygon", "coordinates": [ring]}}]}))
        assert _run(["locate", survey, "--buildings", str(f)]).exit_code == 2
    deep = tmp_path / "deep.geojson"
    deep.write_text("[" * 200_000 + "]" * 200_000)
    assert _run(["locate", survey, "--buildings", str(deep)]).exit_code == 2


def test_inspect_of_a_folder_and_a_missing_file(tmp_path):
    assert _run(["inspect", str(tmp_path)]).exit_code == 2
    assert _run(["inspect", str(tmp_path / "missing.ulg")]).exit_code == 2


def test_analyze_options_and_stores(corpus, tmp_path):
    _, cases = corpus
    good = str(cases["good"])
    db = f"sqlite:///{tmp_path / 'c.db'}"
    assert _run(["analyze", good, "--db", db, "--workers", "1000"]).exit_code == 2
    assert _run(["analyze", good, "--db", db, "--scheduler", "garbage"]).exit_code == 2
    r = _run(["analyze", good, "--db", db, "--scheduler", "tcp://127.0.0.1:9"])  # nothing listens on port 9
    assert r.exit_code == 2 and "scheduler" in r.stderr
    assert _run(["analyze", good, "--db", "sqlite://"]).exit_code == 2
    assert _run(["analyze", good, "--db", "sqlite:///:memory:"]).exit_code == 2
    assert _run(["analyze", good, "--db", f"sqlite:///{tmp_path}/missing/x.db"]).exit_code == 2
    assert _run(["analyze", good, "--db", db, "--lag", "ch4_ppm=nan"]).exit_code == 2
    # a fresh store and no readable survey: each file's reason, exit 2, and the store stays usable
    r = _run(["analyze", str(cases["overflow_reading"]), str(cases["folder"]), "--db", db, "--json"])
    assert r.exit_code == 2 and json.loads(r.stdout)["ingested"] == 0
    assert _run(["sites", "--db", db, "--json"]).exit_code == 0


def test_a_building_id_with_markup_does_not_break_analyze_or_sites(tmp_path):
    """`[/]` in a building id once crashed the error handler and every later `sites` call."""
    from tests.fuse.weak import weak_surveys

    paths, lab = weak_surveys(tmp_path / "f", rate_g_s=0.2, n=1, seed=300)
    buildings = json.loads((paths[0].parent / "buildings.geojson").read_text())
    for k, feat in enumerate(buildings["features"]):
        feat["properties"]["id"] = f"[/]b{k}[link=http://evil]"
    bfile = tmp_path / "b.geojson"
    bfile.write_text(json.dumps(buildings))
    db = f"sqlite:///{tmp_path / 'm.db'}"
    r = _run(["analyze", str(paths[0]), "--db", db, "--buildings", str(bfile)])
    assert r.exit_code == 0
    s = _run(["sites", "--db", db])
    assert s.exit_code == 0 and "\x1b]8;" not in s.output


def test_validation_data_with_impossible_values(tmp_path):
    head = "run,q_g_s,h_m,u_ref_mps,z_ref_m,stability,wind_dir_deg\n"
    conc = "run,x_m,y_m,z_m,c_ug_m3\n1,50,,1.5,10\n"
    for row in ("1,1e308,0.5,4,2,D,90", "1,3,1e308,4,2,D,90", "1,3,0.5,4,2,D,999", "1,3,0.5,inf,2,D,90",
                "1,3,0.5,4,nan,D,90"):
        folder = tmp_path / f"v{abs(hash(row))}"
        folder.mkdir()
        (folder / "runs.csv").write_text(head + row + "\n")
        (folder / "concentrations.csv").write_text(conc)
        assert _run(["validate", "dispersion", str(folder), "--json"]).exit_code == 2, row
    folder = tmp_path / "z"
    folder.mkdir()
    (folder / "runs.csv").write_text(head + "1,3,0.5,4,2,D,90\n")
    (folder / "concentrations.csv").write_text("run,x_m,y_m,z_m,c_ug_m3\n1,50,,1e308,10\n")
    assert _run(["validate", "dispersion", str(folder), "--json"]).exit_code == 2


@pytest.mark.skipif(not os.path.exists("/proc/self"), reason="needs /proc")
def test_inspect_json_of_a_damaged_ulog_is_one_json_object(tmp_path):
    from tests.io.test_flightlog import PX4

    sample = PX4 / "sample.ulg"
    if not sample.exists():
        if os.environ.get("CI"):
            pytest.fail(f"PX4 sample logs missing at {PX4}; CI must have ../shared/data")
        pytest.skip(f"PX4 sample logs not found at {PX4}")
    data = sample.read_bytes()
    cut = tmp_path / "cut.ulg"
    cut.write_bytes(data[: len(data) // 3])
    r = _run(["inspect", str(cut), "--json"])
    if r.exit_code == 0:
        info = json.loads(r.stdout)
        assert info["truncated"] is True and any("truncated" in w for w in info["warnings"])
        full = json.loads(_run(["inspect", str(sample), "--json"]).stdout)
        assert info["duration_s"] < full["duration_s"] and full["truncated"] is False


def test_reingest_of_the_same_data_in_another_encoding_stores_nothing(corpus, tmp_path):
    """Idempotent by content: CRLF line endings, a BOM, reordered columns, other number formatting."""
    import pandas as pd

    _, cases = corpus
    good = cases["good"]
    db = f"sqlite:///{tmp_path / 'i.db'}"
    first = json.loads(_run(["analyze", str(good), "--db", db, "--json"]).stdout)
    assert first["ingested"] == 1
    text = good.read_text()
    crlf = tmp_path / "crlf.csv"
    crlf.write_bytes(text.replace("\n", "\r\n").encode())
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + text.encode())
    df = pd.read_csv(good)
    reordered = tmp_path / "reordered.csv"
    df[list(reversed(df.columns))].to_csv(reordered, index=False)
    reformatted = tmp_path / "reformatted.csv"
    df.to_csv(reformatted, index=False, float_format="%.17g")
    again = json.loads(_run(["analyze", str(crlf), str(bom), str(reordered), str(reformatted), "--db", db,
                             "--json"]).stdout)
    assert again["ingested"] == 0 and again["skipped_already_stored"] == 4 and again["counts"]["surveys"] == 1
    assert all(s["reason"].startswith("already stored") for s in again["skipped"])
    changed = tmp_path / "changed.csv"
    df2 = df.copy()
    df2.loc[df2.index[10], "ch4_ppm"] += 0.001
    df2.to_csv(changed, index=False)
    assert json.loads(_run(["analyze", str(changed), "--db", db, "--json"]).stdout)["ingested"] == 1


@pytest.mark.parametrize("workers", [None, 2])
def test_a_poisoned_survey_does_not_lose_the_good_one(corpus, tmp_path, workers):
    """A survey that fails inside its analysis (a calm: refused by the locator) is reported; the good one in the
    same call is stored and fused, with and without Dask workers."""
    _, cases = corpus
    db = f"sqlite:///{tmp_path / 'p.db'}"
    args = ["analyze", str(cases["zero_wind"]), str(cases["good"]), "--db", db, "--json"]
    r = _run(args + (["--workers", str(workers)] if workers else []))
    report = json.loads(r.stdout)
    assert r.exit_code == 2 and report["ingested"] == 1 and report["counts"]["surveys"] == 1
    assert [f["file"] for f in report["failed"]] == [str(cases["zero_wind"])] and "calm" in report["failed"][0]["error"]


def test_an_internal_error_in_one_survey_is_isolated(corpus, tmp_path, monkeypatch):
    """A bug in one survey's analysis is reported as an internal error with its file; the rest are stored."""
    import plumetrace.pipeline as pipeline
    from plumetrace.store import Store

    _, cases = corpus
    real = pipeline.analyze_survey

    def flaky(path, *args, **kwargs):
        if "fixed_sensor" in str(path):
            raise RuntimeError("boom")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(pipeline, "analyze_survey", flaky)
    summary = pipeline.run_campaign([cases["fixed_sensor"], cases["good"]], Store(f"sqlite:///{tmp_path / 'e.db'}"),
                                    progress=False)
    assert summary.ingested == 1 and len(summary.failed) == 1
    path, message = summary.failed[0]
    assert "fixed_sensor" in path and "internal error" in message and "RuntimeError: boom" in message


@pytest.mark.parametrize("case", sorted(REFUSED - {"folder"}))
def test_an_upload_the_cli_refuses_is_a_422_with_the_cli_message(corpus, tmp_path, case):
    """The service reads uploads with the CLI's readers: the same refusal, naming the uploaded file, nothing kept."""
    from fastapi.testclient import TestClient

    from plumetrace.api.accounts import add_org, add_user, create_token
    from plumetrace.api.app import create_app
    from plumetrace.store import Store
    from tests.api.test_accounts import PW

    _, cases = corpus
    cli = _run(["inspect", str(cases[case]), "--json"])
    assert cli.exit_code == 2
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = Store(url)
    add_org(store, "analysis")
    add_user(store, "ana", "analysis", "analyst", PW)
    headers = {"Authorization": "Bearer " + create_token(store, "ana", 1)}
    client = TestClient(create_app(url, run_jobs=False))
    good = client.post("/api/v1/surveys", files={"file": ("good.csv", cases["good"].read_bytes())}, headers=headers)
    assert good.status_code == 202
    before = (store.counts(), client.get("/api/v1/jobs", headers=headers).json())
    name = cases[case].name
    r = client.post("/api/v1/surveys", files={"file": (name, cases[case].read_bytes())}, headers=headers)
    assert r.status_code == 422, r.text
    want = cli.stderr.removeprefix("error: ").strip().replace(str(cases[case]), name)
    assert r.json()["error"]["message"] == want
    assert (store.counts(), client.get("/api/v1/jobs", headers=headers).json()) == before
