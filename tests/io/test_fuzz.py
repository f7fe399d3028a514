"""Fuzzing the readers: malformed input ends in a clean InputError or a result, never another exception."""

import os
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plumetrace.exceptions import InputError
from plumetrace.io.field_experiment import read_field_experiment
from plumetrace.io.survey import read_survey
from plumetrace.io.ulog import read_ulog

GOOD_SURVEY = (
    "time,lat,lon,alt_m,ch4_ppm,wind_speed_mps,wind_dir_deg\n"
    "1781532000.0,52.0,5.0,20,1.95,4.0,250\n"
    "1781532000.1,52.00001,5.0,20,1.96,4.1,251\n"
    "1781532000.2,52.00002,5.0,20,1.97,4.2,249\n"
)
N_CSV = int(os.environ.get("PLUMETRACE_FUZZ_EXAMPLES", "10000" if os.environ.get("CI") else "1000"))


def mutate(text: str, rng: random.Random) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 6)):
        op = rng.random()
        pos = rng.randrange(len(chars) + 1)
        if op < 0.3 and chars:
            del chars[min(pos, len(chars) - 1)]
        elif op < 0.6:
            chars.insert(pos, rng.choice(",\n-.e9x\"\x00 ;abcNaN"))
        elif op < 0.8 and chars:
            chars[min(pos, len(chars) - 1)] = rng.choice("0,\n.x-")
        else:
            chars = chars[: max(pos, 1)]  # truncation
    return "".join(chars)


@settings(max_examples=N_CSV, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_survey_reader_never_crashes(tmp_path_factory, seed):
    rng = random.Random(seed)
    path = tmp_path_factory.getbasetemp() / "fuzz_survey.csv"
    path.write_bytes(mutate(GOOD_SURVEY, rng).encode("utf-8", "replace"))
    try:
        survey = read_survey(path)
    except InputError as exc:
        assert "fuzz_survey.csv" in str(exc)
    else:
        assert survey.n_samples >= 1 and survey.channels


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(data=st.binary(max_size=400))
def test_survey_reader_random_bytes(tmp_path_factory, data):
    path = tmp_path_factory.getbasetemp() / "bytes.csv"
    path.write_bytes(data)
    try:
        read_survey(path)
    except InputError:
        pass


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_field_experiment_reader_never_crashes(tmp_path_factory, seed):
    rng = random.Random(seed)
    folder = tmp_path_factory.mktemp("exp")
    (folder / "runs.csv").write_bytes(mutate("run,q_g_s,h_m,u_ref_mps,z_ref_m,stability\n1,50,0.5,4,2,D\n",
                                             rng).encode("utf-8", "replace"))
    (folder / "concentrations.csv").write_bytes(mutate("run,x_m,y_m,z_m,c_ug_m3\n1,50,,1.5,10\n",
                                                       rng).encode("utf-8", "replace"))
    try:
        read_field_experiment(folder)
    except InputError:
        pass


@pytest.mark.parametrize("seed", range(40))
def test_ulog_reader_on_mutated_logs(tmp_path, seed):
    from tests.io.test_flightlog import PX4

    src = PX4 / "sample_log_small.ulg"
    if not src.exists():
        pytest.skip("PX4 sample log not available")
    data = bytearray(src.read_bytes())
    rng = random.Random(seed)
    if seed % 2:
        data = data[: rng.randrange(16, len(data))]  # truncated
    else:
        for _ in range(50):
            data[rng.randrange(16, len(data))] = rng.randrange(256)  # flipped bytes
    path = tmp_path / "mutated.ulg"
    path.write_bytes(bytes(data))
    try:
        read_ulog(path, require_position=False)
    except InputError as exc:
        assert "mutated.ulg" in str(exc)
