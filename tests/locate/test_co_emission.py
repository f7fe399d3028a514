"""Co-emission: a source's other gases, each too weak alone, add their evidence at the position they share."""

import math
from dataclasses import replace

import pytest

from plumetrace.detect.signatures import load_source_classes
from plumetrace.locate import SourceLocator
from plumetrace.locate.co_emission import co_emission_prior
from tests.locate import tracks

WIND = (4.0, 270.0)
#: A detector sensitive enough to raise events on the weak plumes (the candidates' channels need events).
DETECTOR = {"false_alarms_per_hour": 50.0, "k_min": 2.5}


def gas_survey(seed: int, sources: dict, noise_ppb: float = 1.0):
    """Crosswind transects (30 m apart, 10 Hz); ``sources``: gas → list of ((east, north, height) [m], rate [g/s])."""
    return tracks.gas_survey(seed, sources, noise_ppb, WIND, "D", "co_emission.csv")


def _fit(survey, co_emission=True):
    return SourceLocator(stability="D", dispersion="briggs_rural", wind_offset_sd_deg=0.0, detector=DETECTOR,
                         co_emission=co_emission).fit(survey)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_two_weak_gases_of_one_source_make_a_source(seed):
    """Acetone and toluene from one roof vent, each below the evidence threshold alone; a third gas is silent."""
    survey = gas_survey(seed, {"acetone": [((0.0, 0.0, 5.0), 0.022)], "toluene": [((0.0, 0.0, 5.0), 0.033)],
                               "methanol": []})
    alone = _fit(survey, co_emission=False)
    assert alone.sources_ == [] and alone.candidates_
    assert all(c.posterior.log_bayes < alone.min_log_bayes for c in alone.candidates_)
    loc = _fit(survey)
    assert len(loc.sources_) == 1
    s = loc.sources_[0]
    assert s.log_bayes >= loc.min_log_bayes
    assert math.hypot(s.east, s.north) <= 15.0
    support = s.posterior.config["co_emission"]
    other = "toluene_ppb" if s.channels[0] == "acetone_ppb" else "acetone_ppb"
    assert support[other] > 1.0 and support["methanol_ppb"] < 0.0  # the silent gas costs, the other pays
    # the other gas's candidate at the same place is that source, not listed again
    assert all(math.hypot(c.posterior.east - s.east, c.posterior.north - s.north) > 20.0 for c in loc.candidates_)


def test_a_gas_from_elsewhere_does_not_make_the_weak_one_a_source():
    """Toluene comes from a second vent 120 m across the wind: explained there, it gives the acetone no support."""
    survey = gas_survey(0, {"acetone": [((0.0, 0.0, 5.0), 0.022)], "toluene": [((0.0, 120.0, 5.0), 0.1)]})
    loc = _fit(survey)
    assert [round(math.hypot(s.east, s.north - 120.0)) <= 15 for s in loc.sources_] == [True]
    assert all(s.posterior.config.get("co_emission") is None for s in loc.sources_)


def test_source_free_gases_stay_source_free():
    for seed in (0, 1):
        loc = _fit(gas_survey(seed, {"acetone": [], "toluene": [], "methanol": []}))
        assert loc.sources_ == []


def test_the_co_emission_prior_comes_from_the_source_class_library():
    lib = load_source_classes()
    assert co_emission_prior("toluene", "tetrachloroethylene", lib) == pytest.approx(0.05)  # no class emits both
    assert co_emission_prior("acetone", "toluene", lib) == pytest.approx(0.95)  # paint shop and lab both do
    # the lab emits dichloromethane with presence 0.6; of the acetone emitters, half are labs
    assert co_emission_prior("acetone", "dichloromethane", lib) == pytest.approx(0.9 * 0.5 * 0.6 + 0.05)
    assert co_emission_prior("xenon", "acetone", lib) == pytest.approx(0.5)  # a gas no class emits: no opinion
    one = {"solvent_store": replace(lib["paint_shop"], key="solvent_store")}
    assert co_emission_prior("toluene", "acetone", one) == pytest.approx(0.95)


def test_the_bagged_region_of_a_joint_source_weighs_the_other_gas():
    """The promoted source's reported region is bagged over its own gas with the other gas's support held fixed."""
    survey = gas_survey(0, {"acetone": [((0.0, 0.0, 5.0), 0.022)], "toluene": [((0.0, 0.0, 5.0), 0.033)]})
    loc = _fit(survey)
    post = next(p for p in loc.posteriors_ if p.config.get("co_emission_term") is not None)
    assert len(post.config["co_emission_term"]) == len(post.config["co_emission_cells"])
    alone = replace(post, config={k: v for k, v in post.config.items() if not k.startswith("co_emission_")})
    with_term, without = loc._bagged(post), loc._bagged(alone)
    assert with_term.credible_radius() < without.credible_radius()
    assert loc.sources_[0].credible90_radius_m == pytest.approx(with_term.credible_radius())
