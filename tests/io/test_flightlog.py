"""PX4 ULog reading and `plumetrace inspect` on the real logs in ../shared/data/flight_logs/px4."""

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from plumetrace.cli import app
from plumetrace.exceptions import InputError
from plumetrace.io.flightlog import detect_format
from plumetrace.io.ulog import read_ulog

PX4 = Path(os.environ.get("PLUMETRACE_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data")) / \
    "flight_logs" / "px4"


@pytest.fixture(scope="module")
def logs():
    files = sorted(PX4.glob("*.ulg"))
    if not files:
        if os.environ.get("CI"):
            pytest.fail(f"PX4 sample logs missing at {PX4}")
        pytest.skip(f"PX4 sample logs not found at {PX4}")
    return files


def test_inspect_every_shared_log(logs):
    runner = CliRunner()
    for f in logs:
        result = runner.invoke(app, ["inspect", str(f), "--json"])
        assert result.exit_code == 0, (f, result.output)
        info = json.loads(result.stdout)
        assert info["format"] == "px4-ulog" and info["duration_s"] > 0
        assert {"samples", "position_fixes", "wind", "time_source"} <= set(info)


def test_gps_time_position_and_wind(logs):
    log = read_ulog(PX4 / "sample_log_small.ulg")
    assert log.time_source == "gps" and log.span[0] > 1.6e9  # 2021, UTC from the GPS
    assert len(log.track) == 32 and log.track["lat"].between(63, 64).all()  # Trondheim
    assert len(log.wind) > 0 and not log.has_wind  # the estimator's wind is all zeros in this log
    events = read_ulog(PX4 / "sample_px4_events.ulg")
    assert events.track["lat"].notna().all() and len(events.track) == 109


def test_log_without_position(logs):
    with pytest.raises(InputError, match="has no position"):
        read_ulog(PX4 / "sample.ulg")
    log = read_ulog(PX4 / "sample.ulg", require_position=False)
    assert log.track.empty and log.warnings


def test_not_ulog_and_truncated(tmp_path, logs):
    bad = tmp_path / "x.ulg"
    bad.write_bytes(b"not a log at all")
    with pytest.raises(InputError, match="not a PX4 ULog"):
        read_ulog(bad)
    data = (PX4 / "sample_log_small.ulg").read_bytes()
    cut = tmp_path / "cut.ulg"
    cut.write_bytes(data[: len(data) // 3])
    try:
        log = read_ulog(cut, require_position=False)  # pyulog recovers what it can: flagged, not a crash
        assert isinstance(log.warnings, list)
    except InputError as exc:
        assert "cut.ulg" in str(exc)
    assert detect_format(PX4 / "sample.ulg") == "px4-ulog"


def test_inspect_refuses_unknown_and_unsupported(tmp_path):
    runner = CliRunner()
    f = tmp_path / "blob.bin"
    f.write_bytes(b"\xa3\x95\x80\x80" + b"\x00" * 50)
    result = runner.invoke(app, ["inspect", str(f)])
    assert result.exit_code == 0 and "no position" in result.stdout  # a header and nothing else: said, not a crash
    g = tmp_path / "blob.dat"
    g.write_bytes(b"\x00\x01\x02")
    result = runner.invoke(app, ["inspect", str(g)])
    assert result.exit_code == 2 and "neither" in result.stderr
