"""ArduPilot DataFlash / MAVLink tlog readers, sensor logger profiles, clock alignment and `plumetrace convert`.

The logs are written with pymavlink's own encoders (plumetrace.sim.logs) from a known track, so every field
read back can be compared with the truth.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from plumetrace.cli import app
from plumetrace.exceptions import InputError
from plumetrace.io.align import apply_lag, estimate_clock_offset, merge
from plumetrace.io.ardupilot import gps_week_to_unix, read_dataflash, read_tlog
from plumetrace.io.flightlog import detect_format, read_flight_log
from plumetrace.io.sensorlog import builtin_profiles, load_profile, parse_profile, read_sensor_log
from plumetrace.io.survey import read_survey
from plumetrace.sim.logs import track_from_survey, write_dataflash, write_sensor_log, write_tlog

runner = CliRunner()
T0 = 1_781_000_000.0


def _survey(seconds: float = 420.0, hz: float = 10.0) -> pd.DataFrame:
    """A lawnmower at 25 m over a small area with a methane bump on each leg."""
    t = T0 + np.arange(0.0, seconds, 1.0 / hz)
    leg = 40.0
    k = ((t - T0) // leg).astype(int)
    frac = ((t - T0) % leg) / leg
    east = np.where(k % 2 == 0, frac, 1 - frac) * 300.0 - 150.0
    north = k * 30.0 - 90.0
    lat = 52.09 + north / 111_200.0
    lon = 5.12 + east / (111_200.0 * np.cos(np.deg2rad(52.09)))
    ch4 = 2.0 + 1.5 * np.exp(-0.5 * ((east - 20.0) / 8.0) ** 2)
    return pd.DataFrame({"time": t, "lat": lat, "lon": lon, "alt_m": 25.0 + 2.0 * np.sin((t - T0) / 30.0),
                         "ch4_ppm": ch4, "c2h6_ppb": 2.0 + 0.05 * (ch4 - 2.0) * 1000.0,
                         "wind_speed_mps": 3.2, "wind_dir_deg": 250.0})


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    d = tmp_path_factory.mktemp("ardupilot")
    survey = _survey()
    track = track_from_survey(survey, ground_msl_m=80.0)
    bin_path = write_dataflash(d / "flight.bin", track)
    tlog_path = write_tlog(d / "flight.tlog", track)
    sensor_path, offset = write_sensor_log(d / "logger.csv", survey, track, ["ch4_ppm", "c2h6_ppb"],
                                           rng=np.random.default_rng(7))
    cal_path, cal_offset = write_sensor_log(d / "logger_cal.csv", survey, track, ["ch4_ppm", "c2h6_ppb"],
                                            clock="calendar", clock_offset_s=-37.3, rng=np.random.default_rng(8))
    return {"dir": d, "survey": survey, "track": track, "bin": bin_path, "tlog": tlog_path, "sensor": sensor_path,
            "offset": offset, "cal": cal_path, "cal_offset": cal_offset}


def test_gps_week_conversion():
    # 2017-01-01T00:00:00Z is GPS week 1930, 18 s into Sunday 0 h (GPS−UTC = 18 s)
    assert gps_week_to_unix(1930, 18_000) == pytest.approx(1483228800.0)


@pytest.mark.parametrize("kind", ["bin", "tlog"])
def test_reader_recovers_the_track(logs, kind):
    log = (read_dataflash if kind == "bin" else read_tlog)(logs[kind])
    assert log.format == {"bin": "ardupilot-dataflash", "tlog": "mavlink-tlog"}[kind]
    assert detect_format(logs[kind]) == log.format
    tr, truth = log.track, logs["track"]
    assert log.time_source == "gps"
    # each record's time is the true time (DataFlash: GPS week/ms; tlog: SYSTEM_TIME against boot ms)
    i = np.clip(np.searchsorted(truth.time, tr["time"].to_numpy()), 1, truth.time.size - 1)
    i = np.where(np.abs(truth.time[i - 1] - tr["time"].to_numpy()) < np.abs(truth.time[i] - tr["time"].to_numpy()),
                 i - 1, i)
    assert np.max(np.abs(truth.time[i] - tr["time"].to_numpy())) < 0.005
    assert np.max(np.abs(truth.lat[i] - tr["lat"].to_numpy())) < 2e-7
    assert np.max(np.abs(truth.height[i] - tr["height_m"].to_numpy())) < 0.5
    assert log.height_source == ("distance-sensor" if kind == "bin" else "home")
    assert log.has_wind
    assert log.wind["wind_speed_mps"].to_numpy() == pytest.approx(3.2, abs=1e-3)
    assert log.wind["wind_dir_deg"].to_numpy() == pytest.approx(250.0, abs=1e-3)
    assert read_flight_log(logs[kind]).track.shape == tr.shape


@pytest.mark.parametrize("kind", ["bin", "tlog"])
def test_inspect_generated_logs(logs, kind):
    result = runner.invoke(app, ["inspect", str(logs[kind]), "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["time_source"] == "gps" and info["wind"]["present"]
    assert info["position_fixes"] == info["samples"] > 1000
    assert info["duration_s"] == pytest.approx(logs["track"].time[-1] - logs["track"].time[0], abs=1.0)
    human = runner.invoke(app, ["inspect", str(logs[kind])])
    assert human.exit_code == 0 and "position fixes" in human.stdout


def test_convert_round_trip_recovers_the_clock_offset(logs, tmp_path):
    out = tmp_path / "survey.csv"
    result = runner.invoke(app, ["convert", str(logs["bin"]), "--sensor", str(logs["sensor"]), "--profile",
                                 "elapsed", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    meta = json.loads(result.stdout)
    est = meta["clock_offset"]
    assert est["method"] == "barometric cross-correlation"
    assert abs(est["offset_s"] - logs["offset"]) < 0.2
    assert 0 < est["stderr_s"] < 0.2
    assert json.loads(out.with_suffix(".meta.json").read_text())["clock_offset"]["offset_s"] == est["offset_s"]
    survey = read_survey(out)
    assert survey.channels == ["ch4_ppm", "c2h6_ppb"] and survey.has_wind
    assert survey.metadata["wind_source"] == "onboard estimate" and survey.metadata["profile"] == "elapsed"
    # readings sit at the right place: the methane bump is where it was
    truth = logs["survey"]
    inside = (survey.data["time"] > truth["time"].iloc[0]) & (survey.data["time"] < truth["time"].iloc[-1])
    expected = np.interp(survey.data["time"][inside], truth["time"], truth["ch4_ppm"])
    assert np.max(np.abs(expected - survey.data["ch4_ppm"][inside])) < 0.05
    human = runner.invoke(app, ["convert", str(logs["tlog"]), "--sensor", str(logs["sensor"]), "--profile",
                                "elapsed", "--out", str(tmp_path / "s2.csv")])
    assert human.exit_code == 0 and "clock offset" in human.stdout


def test_calendar_clock_offset_and_given_offset(logs, tmp_path):
    sensor = read_sensor_log(logs["cal"], "generic")
    assert not sensor.relative_clock
    est = estimate_clock_offset(read_tlog(logs["tlog"]), sensor)
    assert est.offset_s == pytest.approx(logs["cal_offset"], abs=0.2)
    out = tmp_path / "given.csv"
    result = runner.invoke(app, ["convert", str(logs["tlog"]), "--sensor", str(logs["cal"]), "--clock-offset",
                                 "-37.3", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["clock_offset"] == {"offset_s": -37.3, "stderr_s": None, "method": "given",
                                                         "correlation": None}


def test_elapsed_logger_without_barometer_needs_an_offset(logs, tmp_path):
    df = pd.read_csv(logs["sensor"]).drop(columns=["P_hPa"])
    f = tmp_path / "nobaro.csv"
    df.to_csv(f, index=False)
    result = runner.invoke(app, ["convert", str(logs["bin"]), "--sensor", str(f), "--profile", "elapsed", "--out",
                                 str(tmp_path / "x.csv")])
    assert result.exit_code == 2
    assert "nobaro.csv" in result.stderr and "--clock-offset" in result.stderr
    given = runner.invoke(app, ["convert", str(logs["bin"]), "--sensor", str(f), "--profile", "elapsed",
                                "--clock-offset", str(logs["offset"]), "--out", str(tmp_path / "x.csv")])
    assert given.exit_code == 0, given.output


def test_wrong_flight_is_refused(logs, tmp_path):
    # a logger whose barometer saw another flight: no credible alignment
    df = pd.read_csv(logs["sensor"])
    df["P_hPa"] = 1000.0 + np.random.default_rng(3).normal(0, 0.3, len(df))
    f = tmp_path / "other.csv"
    df.to_csv(f, index=False)
    with pytest.raises(InputError, match="does not match"):
        estimate_clock_offset(read_dataflash(logs["bin"]), read_sensor_log(f, "elapsed"))


def test_lag_shift_and_first_order_deconvolution():
    dt, tau = 0.1, 2.0
    t = np.arange(0.0, 60.0, dt)
    x = np.where((t > 20) & (t < 35), 10.0, 0.0)
    y = np.zeros_like(x)
    for i in range(1, t.size):  # first-order sensor
        y[i] = y[i - 1] + dt / tau * (x[i] - y[i - 1])
    _, rec = apply_lag(t, y, tau_s=tau)
    settled = (np.abs(t - 20) > 1.0) & (np.abs(t - 35) > 1.0)
    assert np.max(np.abs(rec[settled] - x[settled])) < 0.6  # the lagged reading is off by up to 10
    assert np.max(np.abs(y[settled] - x[settled])) > 5
    tt, vv = apply_lag(t, y, lag_s=1.5)
    assert tt == pytest.approx(t - 1.5) and vv == pytest.approx(y)


def test_profiles_load_and_refuse(tmp_path):
    assert {"generic", "elapsed", "datetime_local"} <= set(builtin_profiles())
    for name in builtin_profiles():
        load_profile(name)
    with pytest.raises(InputError, match="unknown sensor profile"):
        load_profile("nope")
    with pytest.raises(InputError, match="unknown unit") as err:
        parse_profile({"time": {"column": "t"}, "channels": {"CH4": {"species": "ch4", "unit": "percent"}}}, "p.yaml")
    assert err.value.column == "channels.CH4"
    with pytest.raises(InputError, match="unknown species"):
        parse_profile({"time": {"column": "t"}, "channels": {"X": {"species": "unobtainium", "unit": "ppm"}}})
    with pytest.raises(InputError, match="time format"):
        parse_profile({"time": {"column": "t", "format": "weird"}, "channels": "auto"})
    with pytest.raises(InputError, match="time zone"):
        parse_profile({"time": {"column": "t", "format": "%H", "timezone": "Mars/Olympus"}, "channels": "auto"})
    with pytest.raises(InputError, match="unknown key"):
        parse_profile({"time": {"column": "t"}, "channels": "auto", "colour": "red"})
    bad = tmp_path / "bad.yaml"
    bad.write_text("time: [unclosed\n")
    with pytest.raises(InputError, match="bad.yaml"):
        load_profile(bad)


def test_local_time_profile(tmp_path):
    f = tmp_path / "local.csv"
    f.write_text("Timestamp,ch4_ppm\n2026-06-15 12:00:00.000,2.0\n2026-06-15 12:00:00.500,2.1\n")
    prof = tmp_path / "berlin.yaml"
    prof.write_text("time: {column: Timestamp, format: '%Y-%m-%d %H:%M:%S.%f', timezone: Europe/Berlin}\n"
                    "channels: auto\n")
    log = read_sensor_log(f, load_profile(prof))
    assert log.time[0] == pytest.approx(pd.Timestamp("2026-06-15T10:00:00Z").timestamp())
    assert log.time[1] - log.time[0] == pytest.approx(0.5)


@pytest.mark.parametrize("content, match, line, column", [
    ("ms,CH4,P_hPa\n0,2.0,1000\n100,2.1,1000\n50,2.0,1000\n", "backwards", 4, "ms"),
    ("ms,CH4,P_hPa\n0,2.0,1000\n100,abc,1000\n", "not a number", 3, "CH4"),
    ("ms,CH4,P_hPa\n0,,1000\n100,,1000\n", "empty channel", 2, "CH4"),
    ("ms,FOO\n0,2\n", "none of the channel columns", 1, None),
    ("CH4,P_hPa\n2.0,1000\n", "no time column", 1, "ms"),
    ("ms,CH4,P_hPa\n0,2.0,100000\n", "outside 100..1100", 2, "P_hPa"),
    ("ms,CH4,P_hPa\n", "no readings", 2, None),
    ("", "is empty", 1, None),
])
def test_sensor_log_refusals(tmp_path, content, match, line, column):
    f = tmp_path / "logger.csv"
    f.write_text(content)
    with pytest.raises(InputError, match=match) as err:
        read_sensor_log(f, "elapsed")
    assert err.value.path == str(f) and err.value.row == line and err.value.column == column


def test_duplicate_times_are_dropped_with_a_warning(tmp_path):
    f = tmp_path / "dup.csv"
    f.write_text("ms,CH4\n0,2.0\n100,2.1\n100,2.1\n200,2.2\n")
    log = read_sensor_log(f, "elapsed")
    assert log.time.size == 3 and "line 4" in log.warnings[0]


def test_convert_refusals(logs, tmp_path):
    out = str(tmp_path / "o.csv")
    r = runner.invoke(app, ["convert", str(logs["sensor"]), "--sensor", str(logs["sensor"]), "--out", out])
    assert r.exit_code == 2 and "not a flight log" in r.stderr
    r = runner.invoke(app, ["convert", str(logs["bin"]), "--sensor", str(logs["sensor"]), "--out", out])
    assert r.exit_code == 2 and "no time column 'time'" in r.stderr and "elapsed" in r.stderr
    r = runner.invoke(app, ["convert", str(logs["bin"]), "--sensor", str(logs["sensor"]), "--profile", "elapsed",
                            "--lag", "co_ppm=3", "--out", out])
    assert r.exit_code == 2 and "co_ppm" in r.stderr
    r = runner.invoke(app, ["convert", str(logs["bin"]), "--sensor", str(logs["sensor"]), "--profile", "elapsed",
                            "--clock-offset", "1e6", "--out", out])
    assert r.exit_code == 2 and "inside the flight" in r.stderr


def test_gps_jumps_are_flagged(logs, tmp_path):
    track = logs["track"]
    lat = track.lat.copy()
    lat[3000:3005] += 0.01  # a 1.1 km excursion for half a second
    jumped = type(track)(track.time, lat, track.lon, track.alt_msl, track.height, track.wind_speed, track.wind_dir)
    path = write_tlog(tmp_path / "jump.tlog", jumped)
    log = read_tlog(path)
    survey, report = merge(log, read_sensor_log(logs["sensor"], "elapsed"),
                           estimate_clock_offset(log, read_sensor_log(logs["sensor"], "elapsed")))
    assert report["flags"]["gps_jump"] > 0 and any("GPS jumps" in w for w in report["warnings"])


_FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                         HealthCheck.too_slow])


@pytest.fixture(scope="module")
def small_logs(tmp_path_factory):
    d = tmp_path_factory.mktemp("small")
    track = track_from_survey(_survey(seconds=60.0, hz=5.0))
    return {"bin": write_dataflash(d / "s.bin", track).read_bytes(),
            "tlog": write_tlog(d / "s.tlog", track).read_bytes()}


@_FUZZ
@given(kind=st.sampled_from(["bin", "tlog"]), cut=st.floats(0.0, 1.0),
       flips=st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(0, 255)), max_size=30))
def test_fuzz_flight_logs(small_logs, tmp_path_factory, kind, cut, flips):
    """Truncated and bit-mangled logs end in a clean error or a (warned) result, never a crash."""
    data = bytearray(small_logs[kind][: int(len(small_logs[kind]) * cut) or 1])
    for pos, value in flips:
        data[min(int(pos * len(data)), len(data) - 1)] = value
    f = tmp_path_factory.mktemp("fz") / f"f.{kind}"
    f.write_bytes(bytes(data))
    try:
        log = read_flight_log(f, require_position=False)
    except InputError as exc:
        assert str(f) in str(exc)
    else:
        assert np.all(np.isfinite(log.track["lat"].to_numpy(float)))


@settings(max_examples=700, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.sampled_from(list("ms,CH4P_hPa0123456789.-e\n\"x ")), max_size=300))
def test_fuzz_sensor_logs(tmp_path_factory, text):
    f = tmp_path_factory.mktemp("fzs") / "logger.csv"
    f.write_text("ms,CH4,P_hPa\n" + text)
    try:
        log = read_sensor_log(f, "elapsed")
    except InputError as exc:
        assert str(f) in str(exc)
    else:
        assert np.all(np.diff(log.time) > 0)
