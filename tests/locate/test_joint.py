"""Several surveys located jointly (contract 3), and candidates below the evidence threshold."""

import json

import numpy as np
from typer.testing import CliRunner

from plumetrace.cli import app
from plumetrace.io.survey import merge_surveys
from plumetrace.locate import SourceLocator
from tests.locate.test_locator import SOURCE, synthetic_survey


def _fit(survey):
    return SourceLocator(stability="D", dispersion="briggs_rural").fit(survey)


def test_joint_posterior_is_sharper_than_either_survey():
    """Two surveys in winds 30° apart cross the plume from two sides: together they pin the source."""
    a = synthetic_survey(0.003, seed=1, wind=(4.0, 270.0))
    b = synthetic_survey(0.003, seed=2, wind=(4.0, 240.0))
    joint = merge_surveys([a, b], a.frame)
    assert set(joint.data["platform"]) == {"s1:uav", "s2:uav"}
    radii = [_fit(s).sources_[0].credible90_radius_m for s in (a, b)]
    loc = _fit(joint)
    assert len(loc.sources_) == 1
    s = loc.sources_[0]
    assert s.credible90_radius_m < 0.6 * min(radii)
    assert np.hypot(s.east - SOURCE[0], s.north - SOURCE[1]) <= max(s.credible90_radius_m, 10.0)


def test_weak_evidence_is_listed_as_a_candidate():
    loc = _fit(synthetic_survey(0.003, seed=3, rate=0.025))
    assert loc.sources_ == []
    assert len(loc.candidates_) == 1
    c = loc.candidates_[0]
    assert 1.0 <= c.posterior.log_bayes < 8.0
    assert np.hypot(c.posterior.east - SOURCE[0], c.posterior.north - SOURCE[1]) < 30.0
    assert c.events == [e.id for e in loc.detector_.events_]


def test_no_candidate_on_a_source_free_survey():
    loc = _fit(synthetic_survey(0.003, seed=5, rate=0.0))
    assert loc.sources_ == [] and loc.candidates_ == []


def _write(survey, path):
    cols = ["time", "lat", "lon", "alt_m", "ch4_ppm", "wind_speed_mps", "wind_dir_deg"]
    survey.data[cols].to_csv(path, index=False)
    return path


def test_locate_cli_joint_and_candidates(tmp_path):
    a = _write(synthetic_survey(0.003, seed=1, wind=(4.0, 270.0)), tmp_path / "a.csv")
    b = _write(synthetic_survey(0.003, seed=2, wind=(4.0, 240.0)), tmp_path / "b.csv")
    weak = _write(synthetic_survey(0.003, seed=3, rate=0.025), tmp_path / "weak.csv")
    runner = CliRunner()
    r = runner.invoke(app, ["locate", str(a), str(b), "--stability", "D", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["survey"]["surveys"] == 2 and len(d["sources"]) == 1 and d["candidates"] == []
    r = runner.invoke(app, ["locate", str(weak), "--stability", "D", "--json"])
    d = json.loads(r.stdout)
    assert d["sources"] == [] and len(d["candidates"]) == 1 and "surveys" not in d["survey"]
    cand = d["candidates"][0]
    assert {"lat", "lon", "log_bayes", "events", "class", "class_probability", "credible90_radius_m"} <= set(cand)
    r = runner.invoke(app, ["locate", str(weak), "--stability", "D", "--map", str(tmp_path / "m.png")])
    assert r.exit_code == 0 and "plumetrace plan follow-up" in r.stdout
