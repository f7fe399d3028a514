"""Malformed validation folders are refused with the file, line and column named."""

import pytest

from plumetrace.exceptions import InputError
from plumetrace.io.field_experiment import read_field_experiment

RUNS = "run,q_g_s,h_m,u_ref_mps,z_ref_m,stability\n1,50,0.5,4.0,2.0,D\n2,60,0.5,3.0,2.0,B\n"
CONC = "run,x_m,y_m,z_m,c_ug_m3\n1,50,,1.5,1000\n2,100,,1.5,500\n"


def make(tmp_path, runs=RUNS, conc=CONC):
    (tmp_path / "runs.csv").write_text(runs)
    (tmp_path / "concentrations.csv").write_text(conc)
    return tmp_path


def test_good_folder(tmp_path):
    exp = read_field_experiment(make(tmp_path))
    assert exp.runs["stability"].tolist() == ["D", "B"]
    assert exp.concentrations["line"].tolist() == [2, 3]
    assert exp.samplers is None


@pytest.mark.parametrize(
    ("runs", "conc", "file", "line", "column", "words"),
    [
        (RUNS.replace("stability", "stab"), CONC, "runs.csv", 1, "stability", "missing required column"),
        (RUNS.replace("1,50,0.5", "1,fifty,0.5"), CONC, "runs.csv", 2, "q_g_s", "'fifty' is not"),
        (RUNS.replace("2,60,0.5", "2,-60,0.5"), CONC, "runs.csv", 3, "q_g_s", "out of range"),
        (RUNS.replace("3.0,2.0,B", "3.0,2.0,Q"), CONC, "runs.csv", 3, "stability", "unknown stability class 'Q'"),
        (RUNS + "1,50,0.5,4.0,2.0,D\n", CONC, "runs.csv", 4, "run", "appears twice"),
        (RUNS.replace("4.0,2.0,D", "nan,2.0,D"), CONC, "runs.csv", 2, "u_ref_mps", "not a finite number"),
        (RUNS, CONC.replace("2,100", "7,100"), "concentrations.csv", 3, "run", "not in runs.csv"),
        (RUNS, CONC.replace("1,50,,1.5,1000", "1,50,,1.5,"), "concentrations.csv", 2, "c_ug_m3", "is empty"),
        (RUNS, CONC.replace("2,100,,1.5,500", "2,100,,1.5"), "concentrations.csv", 3, None, "has 4 fields"),
        (RUNS, CONC.replace("1,50,", "1,-5,"), "concentrations.csv", 2, "x_m", "out of range"),
        ("", CONC, "runs.csv", 1, None, "is empty"),
    ],
)
def test_bad_folders(tmp_path, runs, conc, file, line, column, words):
    with pytest.raises(InputError) as info:
        read_field_experiment(make(tmp_path, runs, conc))
    err = info.value
    assert err.path.endswith(file)
    assert err.row == line
    assert err.column == column
    assert words in str(err)
    assert file in str(err) and f"line {line}" in str(err)


def test_missing_folder_and_file(tmp_path):
    with pytest.raises(InputError, match="is not a folder"):
        read_field_experiment(tmp_path / "nope")
    (tmp_path / "runs.csv").write_text(RUNS)
    with pytest.raises(InputError, match="concentrations.csv: file not found"):
        read_field_experiment(tmp_path)


def test_binary_garbage_is_refused(tmp_path):
    (tmp_path / "runs.csv").write_bytes(b"\xff\xfe\x00garbage\x00\x81")
    (tmp_path / "concentrations.csv").write_text(CONC)
    with pytest.raises(InputError, match="runs.csv"):
        read_field_experiment(tmp_path)


def test_samplers_of_unknown_runs_are_left_out_with_a_note(tmp_path):
    make(tmp_path)
    (tmp_path / "samplers.csv").write_text("run,x_m,azimuth_deg,z_m,c_ug_m3\n1,50,90,1.5,10\n9,50,90,1.5,10\n")
    exp = read_field_experiment(tmp_path)
    assert len(exp.samplers) == 1
    assert "1 readings of 1 runs" in exp.notes[0]
