"""The Pasquill class read from σθ is uncertain: the locator marginalises it with its neighbours in every channel."""

import math

import pytest
from shapely.geometry import Point

from plumetrace.locate import SourceLocator
from plumetrace.physics.stability import neighbour_class_weights
from tests.locate.tracks import gas_survey

WIND = (3.0, 270.0)


def class_b_survey(seed: int):
    """Acetone and toluene from one vent (0, 0, 3 m) in a class B (unstable) plume, crosswind transects at 15 m."""
    vent = (0.0, 0.0, 3.0)
    return gas_survey(seed, {"acetone": [(vent, 0.3)], "toluene": [(vent, 0.2)]}, 1.0, WIND, "B", "class_b.csv")


class ReadsC(SourceLocator):
    """A locator whose σθ reading gave class C (code 2) for the class B world above."""

    def _stability(self, survey):
        self.sigma_theta_ = 15.0
        return "C", neighbour_class_weights(2.0, 0.5)


def test_class_weights_sum_to_one():
    for code in range(6):
        w = neighbour_class_weights(float(code), 0.5)
        assert w[0][0] == code and math.isclose(sum(x for _, x in w), 1.0)
        assert all(abs(c - code) <= 1 for c, _ in w) and len(w) == (2 if code in (0, 5) else 3)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_class_read_one_off_keeps_the_truth_inside_the_region(seed):
    """Transects 30 m apart see a class B plume from (0, 0) almost as well as a narrower class C plume from 30 m
    upwind (under 1.5 nats apart at 150 nats): one class, read wrong, gives a confident region without the vent;
    the class and its neighbours give a wider one that holds it."""
    survey = class_b_survey(seed)
    loc = ReadsC(dispersion="briggs_rural", wind_offset_sd_deg=0.0).fit(survey)
    first = loc.posteriors_[0]
    assert first.class_mass()[1.0] > 0.1  # B keeps weight
    for post in loc.posteriors_:  # every class of the prior weighed in every channel
        assert set(post.class_mass()) == {1.0, 2.0, 3.0}
    assert loc.stability_weights_ == neighbour_class_weights(2.0, 0.5)
    (site,) = loc.sources_
    assert site.credible90.contains(Point(0.0, 0.0)), (site.east, site.north, site.credible90_radius_m)
    only_c = SourceLocator(stability="C", dispersion="briggs_rural", wind_offset_sd_deg=0.0).fit(survey)
    assert only_c.stability_weights_ == [(2.0, 1.0)]  # a class the user gives is taken as given
    (wrong,) = only_c.sources_
    assert not wrong.credible90.contains(Point(0.0, 0.0))  # the failure the neighbours prevent


def test_the_class_is_kept_jointly_with_the_cell():
    """The posterior keeps each class's mass per cell (what a follow-up planner draws): in the class B world read as C,
    the class B cells lie nearer the vent and the class C ones farther upwind, in the tempered and bagged posteriors."""
    survey = class_b_survey(0)
    loc = ReadsC(dispersion="briggs_rural", wind_offset_sd_deg=0.0).fit(survey)
    (site,) = loc.sources_
    for post in (loc.posteriors_[0], site.posterior):
        joint = post.setting_mass  # (class, σ family, release height) → mass per cell
        assert {(code, family) for code, family, _ in joint} <= {(1.0, 0), (2.0, 0), (3.0, 0)}
        assert {h for _, _, h in joint} == set(loc.heights_)
        assert sum(joint.values()) == pytest.approx(post.mass, abs=1e-9)
        by_class: dict = {}
        for (code, _, _), m in joint.items():
            by_class[code] = by_class.get(code, 0.0) + m
        east = {code: float(m @ post.cells[:, 0] / m.sum()) for code, m in by_class.items() if m.sum() > 0.05}
        assert east[2.0] < east[1.0] - 10.0, east  # the narrower class C plume comes from farther upwind


def test_the_fine_level_configuration_screen_changes_no_posterior(monkeypatch):
    """The fine level refines only the configurations holding ≥ 1e-6 of the posterior on every other cell: the
    posterior, its evidence and each class's mass are those of refining every configuration."""
    import numpy as np

    import plumetrace.locate.levels as posterior

    survey = class_b_survey(1)
    cut = posterior.FINE_MIN_CONFIG_MASS
    fast = ReadsC(dispersion=("briggs_rural", "briggs_urban"), max_sources=1, calibrate=False).fit(survey)
    monkeypatch.setattr(posterior, "FINE_MIN_CONFIG_MASS", 0.0)
    full = ReadsC(dispersion=("briggs_rural", "briggs_urban"), max_sources=1, calibrate=False).fit(survey)
    assert len(fast.posteriors_) == len(full.posteriors_) == 2
    for a, b in zip(fast.posteriors_, full.posteriors_, strict=True):
        assert np.sum(np.array(a.config["config_mass"]) < cut) > 0  # some were left out
        assert a.log_bayes == pytest.approx(b.log_bayes, abs=1e-4)
        assert np.allclose(a.mass, b.mass, atol=1e-5) and (a.east, a.north) == (b.east, b.north)
        for code, m in b.class_mass().items():
            assert a.class_mass()[code] == pytest.approx(m, abs=1e-5)


def test_class_bounds_weigh_the_sigma_theta_class_with_the_wind_and_the_sun():
    """A steady wind reads σθ as class F; at 4 m/s at 15 m on a late-May night Pasquill allows only D or E."""
    survey = class_b_survey(0)  # night (20:26 UTC at 52° N, 5° E), wind 3 m/s at 15 m: F allowed at that speed
    assert SourceLocator()._stability(survey)[1][0][0] == 5.0
    fast = gas_survey(0, {"acetone": []}, 1.0, (4.0, 270.0), "D", "fast.csv")
    label, weights = SourceLocator(class_bounds=True)._stability(fast)
    f, e = 2 / 3, 1 / 3  # F at the end of the scale: its one neighbour E takes the other's share
    assert label == "E" and dict(weights)[5.0] == pytest.approx(0.1 * f / (0.1 * f + e))
    assert SourceLocator()._stability(fast)[1] == neighbour_class_weights(5.0, 0.5)  # off by default
