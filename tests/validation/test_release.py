"""A real controlled release: Chilbolton source 1, seven open-path beams (../shared/data/chilbolton)."""

import json
import math
import os

import pytest
from shapely.geometry import Point

from plumetrace.io.survey import read_survey
from plumetrace.locate import SourceLocator
from tests.conftest import SHARED_DATA

CASE = SHARED_DATA / "chilbolton" / "source_1"


@pytest.fixture(scope="module")
def release():
    if not (CASE / "survey.csv").exists():
        if os.environ.get("CI"):
            pytest.fail(f"the Chilbolton release is missing at {CASE}")
        pytest.skip(f"the Chilbolton release is not here ({CASE}; ../shared/data is beside the checkout in CI)")
    survey = read_survey(CASE / "survey.csv")
    truth = json.loads((CASE / "truth.json").read_text())["sources"][0]
    return survey, truth, SourceLocator().fit(survey)


def test_chilbolton_source_is_located_to_within_3_m_and_its_rate_to_a_factor_1_25(release):
    """Issue #15's bar; the record's beams have offsets of their own and the release is on most of the time."""
    survey, truth, loc = release
    assert len(loc.sources_) == 1
    s = loc.sources_[0]
    te, tn = (float(v) for v in survey.frame.to_local(truth["lat"], truth["lon"]))
    assert math.hypot(s.east - te, s.north - tn) <= 3.0
    assert 1 / 1.25 <= s.rate_g_s / truth["rate_g_s"] <= 1.25
    assert s.credible90.buffer(1e-6).covers(Point(te, tn))


def test_the_network_path_learns_its_noise_and_offsets(release):
    survey, _, loc = release
    net = loc.network_["ch4_ppm"]
    assert net.readings_.n_groups == 7 * net.readings_.n_session  # one offset per beam and session
    assert 0.05 <= net.tempering_ < 1.0  # consecutive one-minute means are correlated
    assert net.tau_ppb_ in (10.0, 30.0, 100.0, 300.0, 1000.0)
