"""The accuracy harness on a small subset of the suite (the full suite is `plumetrace bench accuracy`)."""

import json

import pytest
from typer.testing import CliRunner

from plumetrace.bench.accuracy import DEFAULT_SUITE, run_accuracy, scenario_files
from plumetrace.cli import app
from plumetrace.exceptions import InputError


def test_suite_has_the_required_spread():
    files = scenario_files(DEFAULT_SUITE)
    assert len(files) >= 40
    names = " ".join(f.stem for f in files)
    for word in ("stability_A", "stability_F", "wind_1", "wind_8", "rate_0p01", "rate_1", "no_target", "two_targets",
                 "three_targets", "decoys_near", "intermittent", "lag_0p5s", "lag_20s", "gps_poor", "source_free"):
        assert word in names, word


def test_harness_scores_a_subset():
    seen = []

    def params(truth):  # per-scenario locator settings from the truth (oracle ablations); here the defaults
        seen.append(truth["weather"]["stability"])
        return {}

    report = run_accuracy(select="14_rate_0p1,38_source_free_1", progress=False, locator_params=params)
    assert len(seen) == 2 and set(seen) <= set("ABCDEF")
    rows = {r["scenario"]: r for r in report["scenarios"]}
    assert rows["38_source_free_1"]["encounters"] == 0 and rows["38_source_free_1"]["source_free"]
    lab = rows["14_rate_0p1"]
    assert lab["encounters"] > 0 and lab["recalled"] / lab["encounters"] >= 0.9
    s = report["summary"]
    assert s["hit_recall"] == pytest.approx(sum(r["recalled"] for r in rows.values())
                                            / sum(r["encounters"] for r in rows.values()))
    free = rows["38_source_free_1"]
    assert s["false_events_per_hour_source_free"] == pytest.approx(free["false_events"] / free["flight_hours"])
    loc = report["localisation"]
    assert loc["targets"] == 1 and loc["area_km2"] > 0
    assert set(loc) >= {"detection_probability", "false_sites_per_km2", "localisation_error_median_m",
                        "building_top1", "building_top3", "rate_error_factor_median", "credible90_coverage"}
    assert rows["38_source_free_1"]["sources_predicted"] == 0
    # the lab of 14_rate_0p1 peaks above 5 σ: it counts among the targets the survey encountered
    assert lab["targets_encountered"] == ["lab"] and rows["38_source_free_1"]["targets_encountered"] == []
    assert loc["targets_encountered"] == 1 and loc["found_encountered"] == loc["targets_found"]
    assert lab["targets_observable"] == ["lab"] and loc["targets_observable"] == 1 and loc["found_ceiling"] == 1.0


def test_cli_accuracy_json_and_bad_suite(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["bench", "accuracy", "--select", "39_*", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["summary"]["encounters"] == 0
    result = runner.invoke(app, ["bench", "accuracy", "--suite", str(tmp_path)])
    assert result.exit_code == 2 and "no scenario files" in result.stderr
    with pytest.raises(InputError):
        scenario_files(tmp_path / "missing")
