"""The command line: output contracts, exit codes and messages (DESIGN.md contract 6)."""

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from plumetrace import __version__
from plumetrace.cli import app

runner = CliRunner()


def test_version_and_help():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "validate" in result.output and "bench" in result.output


def test_validate_dispersion_json(prairie_grass_dir):
    result = runner.invoke(app, ["validate", "dispersion", str(prairie_grass_dir), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data["overall"]) >= {"N", "FB", "NMSE", "MG", "VG", "FAC2"}
    assert data["overall"]["N"] == 265
    assert data["overall"]["FAC2"] >= 0.75
    assert set(data["by_stability"]) == {"A", "B", "C", "D", "E", "F"}
    assert data["samplers"]["overall"]["N"] > 5000


def test_validate_dispersion_table(prairie_grass_dir):
    result = runner.invoke(app, ["validate", "dispersion", str(prairie_grass_dir), "--model", "isc3_rural"])
    assert result.exit_code == 0
    from plumetrace.io.field_experiment import read_field_experiment
    from plumetrace.validation.dispersion import validate_dispersion

    overall = validate_dispersion(read_field_experiment(prairie_grass_dir), model="isc3_rural").observations.overall
    all_row = next(line for line in result.output.splitlines() if line.strip("│ ").startswith("all"))
    cells = [c.strip() for c in all_row.strip("│ ").split("│")]
    assert cells[1] == str(overall.N) == "265" and cells[-1] == f"{overall.FAC2:.2f}"  # the model's own scores


def test_bad_folder_exits_2_with_message(tmp_path):
    (tmp_path / "runs.csv").write_text("run,q_g_s,h_m,u_ref_mps,z_ref_m,stability\n1,-3,0.5,4,2,D\n")
    (tmp_path / "concentrations.csv").write_text("run,x_m,y_m,z_m,c_ug_m3\n1,50,,1.5,10\n")
    result = runner.invoke(app, ["validate", "dispersion", str(tmp_path)])
    assert result.exit_code == 2
    assert "runs.csv" in result.stderr and "line 2" in result.stderr and "q_g_s" in result.stderr
    assert "Traceback" not in result.output + result.stderr


def test_unknown_model_exits_2(prairie_grass_dir):
    result = runner.invoke(app, ["validate", "dispersion", str(prairie_grass_dir), "--model", "gauss"])
    assert result.exit_code == 2
    assert "briggs_rural" in result.stderr


def test_internal_error_exits_1(monkeypatch, prairie_grass_dir):
    import plumetrace.validation.dispersion as mod

    def boom(*args, **kwargs):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(mod, "validate_dispersion", boom)
    result = runner.invoke(app, ["validate", "dispersion", str(prairie_grass_dir)])
    assert result.exit_code == 1
    assert "internal error" in result.stderr and "Traceback" not in result.stderr


def test_installed_script_runs_without_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "plumetrace.cli", "validate", "dispersion", str(tmp_path / "x")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "is not a folder" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_bench_speed_quick_json():
    result = runner.invoke(app, ["bench", "speed", "--quick", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    forward = data["forward"]
    assert forward["naive"]["max_rel_diff"] < 1e-9
    assert forward["summary"]["ratio_vs_naive"] > 1
    for row in forward["pyelq"]:
        if "max_rel_diff" in row:
            assert row["max_rel_diff"] < 1e-9
    assert data["detection"]["hits"] > 0 and data["detection"]["events"] > 0
    loc = data["locate"]
    assert loc["grid"]["error_m"] < 50 and loc["emcee"]["likelihood_evaluations"] > 1000
    assert loc["speedup_vs_emcee"] > 1
    pyelq = loc["pyelq"]
    assert pyelq["iterations"] == 300 and len(pyelq["trace"]) == 20
    # pyELQ's time to the grid's accuracy (or all its time, a lower bound) over the grid's time
    reach = pyelq["seconds_to_grid_accuracy"] if pyelq["reached"] else pyelq["seconds"]
    assert pyelq["speedup"] == pytest.approx(reach / loc["grid"]["seconds"], rel=1e-9)
    assert pyelq["grid_mode_error_m"] < 50 and pyelq["speedup_is_lower_bound"] == (not pyelq["reached"])


def test_detect_json_and_table(tmp_path):
    from plumetrace.bench.accuracy import DEFAULT_SUITE
    from plumetrace.sim.scenario import load_scenario
    from plumetrace.sim.simulate import simulate, write_simulation

    path = DEFAULT_SUITE / "14_rate_0p1.yaml"
    sc, base = load_scenario(path)
    paths = write_simulation(simulate(sc, path, base), tmp_path)
    result = runner.invoke(app, ["detect", str(paths["survey"]), "--json", "--lag", "co_ppm=15"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"survey", "channels", "events", "summary"} <= set(data)
    assert data["events"] and {"class", "class_probability", "lat", "lon", "ratios"} <= set(data["events"][0])
    result = runner.invoke(app, ["detect", str(paths["survey"])])
    assert result.exit_code == 0 and "plume events" in result.output
    result = runner.invoke(app, ["detect", str(paths["survey"]), "--lag", "co_ppm"])
    assert result.exit_code == 2 and "COLUMN=SECONDS" in result.stderr
    result = runner.invoke(app, ["detect", str(tmp_path / "nope.csv")])
    assert result.exit_code == 2 and "file not found" in result.stderr
