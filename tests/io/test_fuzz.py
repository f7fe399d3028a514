"""Fuzzing the readers: malformed input ends in a clean InputError or a result, never another exception.

The mutated survey CSVs are in tests/test_fuzz_inputs.py (with the other readers and the options).
"""

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plumetrace.exceptions import InputError
from plumetrace.io.field_experiment import read_field_experiment
from plumetrace.io.survey import read_survey
from plumetrace.io.ulog import read_ulog
from tests.test_fuzz_inputs import mutate


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
