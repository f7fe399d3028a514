"""Validation of the forward model on Project Prairie Grass (shipped in plumetrace/data/prairie_grass)."""

import numpy as np
import pytest

from plumetrace.io.field_experiment import read_field_experiment
from plumetrace.validation.dispersion import validate_dispersion


def test_prairie_grass_arc_maxima_meet_the_targets(prairie_grass_dir):
    """Issue #2: FAC2 >= 0.75, |FB| <= 0.25, NMSE <= 1 overall; FAC2 >= 0.5 in every class."""
    result = validate_dispersion(read_field_experiment(prairie_grass_dir), model="briggs_rural")
    overall = result.observations.overall
    assert overall.N == 265
    assert overall.FAC2 >= 0.75
    assert abs(overall.FB) <= 0.25
    assert overall.NMSE <= 1.0
    assert set(result.observations.by_stability) == {"A", "B", "C", "D", "E", "F"}
    for cls, stats in result.observations.by_stability.items():
        assert stats.FAC2 >= 0.5, cls


def test_prairie_grass_samplers_are_scored(prairie_grass_dir):
    result = validate_dispersion(read_field_experiment(prairie_grass_dir))
    assert result.samplers is not None
    assert result.samplers.overall.N > 5000
    pairs = result.samplers.pairs
    pairs = pairs[pairs["observed"] > 0]
    # the model's plume axis follows the measured wind, so readings and predictions rise and fall together
    r = np.corrcoef(np.log(pairs["observed"]), np.log(np.maximum(pairs["predicted"], 1e-3)))[0, 1]
    assert r > 0.5


#: SHA-256 of the field data files as converted from Irwin's digitisation (the shared data set of the project).
PRAIRIE_GRASS_SHA256 = {
    "SOURCE.txt": "96e211fb3bf7c01a2168b7022ea8116b5b3759f501819fbd57d2b2d3f6d4d632",
    "concentrations.csv": "bff7d116f77d957c7441774ac04f651c29e600a7f12124db607d6238383f5cef",
    "runs.csv": "763cdb42649e31a0577ca109ae2f28e1368670f1c695968d2b4a0dfb14df61b1",
    "samplers.csv": "6476138183b569035316ff4ffcaaed97ef641a11e0189834e6cc0df0009a40f7",
}


def test_shipped_prairie_grass_is_the_field_data_set(prairie_grass_dir):
    """The copy in the package is byte for byte the field data set (and the shared copy, when it is beside us)."""
    import hashlib
    import os

    from tests.conftest import SHARED_DATA

    for name, digest in PRAIRIE_GRASS_SHA256.items():
        data = (prairie_grass_dir / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest, name
        shared = SHARED_DATA / "prairie_grass" / name
        if shared.exists() or os.environ.get("CI"):
            assert shared.read_bytes() == data, name


def test_validate_dispersion_without_a_folder_uses_the_shipped_data():
    import json

    from typer.testing import CliRunner

    from plumetrace.cli import app

    result = CliRunner().invoke(app, ["validate", "dispersion", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["overall"]["N"] == 265 and report["overall"]["FAC2"] >= 0.75


def _write(folder, runs, conc):
    (folder / "runs.csv").write_text(runs)
    (folder / "concentrations.csv").write_text(conc)
    return folder


def test_model_scores_itself_perfectly(tmp_path):
    """Observations made by the model itself give FB = 0 and FAC2 = 1 (the plumbing is right)."""
    from plumetrace.physics.plume import gaussian_plume

    xs = [50.0, 100.0, 200.0]
    rows = []
    for x in xs:
        c = gaussian_plume(x, 0.0, 1.5, 0.0, 0.0, 0.5, 1e6 * 50.0, 4.0, 270.0, "D", averaging_time=600.0)[0]
        rows.append(f"1,{x},,1.5,{float(c)!r}")
    folder = _write(tmp_path, "run,q_g_s,h_m,u_ref_mps,z_ref_m,stability,sampling_min\n1,50,0.5,4.0,2.0,D,10\n",
                    "run,x_m,y_m,z_m,c_ug_m3\n" + "\n".join(rows) + "\n")
    result = validate_dispersion(read_field_experiment(folder))
    assert result.observations.overall.FAC2 == 1.0
    assert result.observations.overall.FB == pytest.approx(0.0, abs=1e-12)
    assert result.samplers is None
