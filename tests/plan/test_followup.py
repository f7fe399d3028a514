"""Adaptive follow-up: within the budget and the airspace, informative, and refusing what cannot be flown."""

import numpy as np
import pytest
from shapely.geometry import box

from plumetrace.exceptions import PlanError
from plumetrace.physics.sigmas import sigma_model
from plumetrace.plan.airspace import Airspace
from plumetrace.plan.followup import Candidate, FollowUpPlanner
from plumetrace.plan.patterns import fixed_pattern


def candidate(sd_along=20.0, sd_cross=8.0):
    x, y = np.meshgrid(np.arange(-60, 61, 5.0), np.arange(-60, 61, 5.0), indexing="ij")
    cells = np.column_stack((x.ravel(), y.ravel()))
    m = np.exp(-0.5 * ((cells[:, 0] / sd_along) ** 2 + (cells[:, 1] / sd_cross) ** 2))
    qg = np.logspace(-3, 1, 50)
    qm = np.exp(-0.5 * ((np.log(qg) - np.log(0.1)) / 0.5) ** 2)
    return Candidate("c1", cells, m / m.sum(), qg, qm / qm.sum(), 1.0, 3.0, sigma_model("briggs_rural"))


def test_follow_up_is_within_budget_airspace_and_informative():
    air = Airspace(box(-400, -400, 400, 400), [box(60, -30, 90, 30)], 10, 60)
    fp = FollowUpPlanner(wind=(3.0, 270.0), budget_min=8.0, n_hypotheses=80).fit([candidate()], air)
    plan = fp.plan_
    assert 0 < plan.flight_s <= 8 * 60
    for s in plan.sorties:
        assert not air.violations(s.path)
    # the expected gain is positive and bounded by what there is to learn (the prior entropy)
    assert 0.5 < fp.gain_ <= fp.prior_entropy_["c1"] + 1e-6
    assert np.all(np.diff(fp.gains_) > 0)


def test_gain_is_about_the_building_when_buildings_are_given():
    from plumetrace.geo.buildings import Building

    houses = [Building(f"h{i}{j}", box(i * 20 - 8, j * 20 - 8, i * 20 + 8, j * 20 + 8), 6.0)
              for i in range(-3, 4) for j in range(-3, 4)]
    air = Airspace(box(-400, -400, 400, 400), [], 10, 60, buildings=houses)
    fp = FollowUpPlanner(wind=(3.0, 270.0), budget_min=8.0, n_hypotheses=80, buildings=houses).fit([candidate()], air)
    cells_only = FollowUpPlanner(wind=(3.0, 270.0), budget_min=8.0, n_hypotheses=80).fit([candidate()], air)
    assert fp.prior_entropy_["c1"] < cells_only.prior_entropy_["c1"]  # fewer labels: houses, not cells
    for leg in fp.plan_.legs:  # 5 m over the 6 m roofs wherever a leg crosses one
        assert leg.altitude >= air.min_altitude(leg.start, leg.end)
    assert any(leg.altitude >= 11.0 for leg in fp.plan_.legs)


def test_fixed_patterns_fill_the_same_budget():
    air = Airspace(box(-400, -400, 400, 400), [], 10, 60)
    for kind in ("ladder", "orbit"):
        p = fixed_pattern(kind, candidate(), air, (3.0, 270.0), 6.0)
        assert 4.0 * 60 < p.flight_s <= 6.0 * 60
        for s in p.sorties:
            assert not air.violations(s.path)


def test_impossible_follow_ups_exit_with_the_limit():
    air = Airspace(box(-400, -400, 400, 400), [], 10, 60)
    with pytest.raises(PlanError, match="--budget-min"):
        FollowUpPlanner(wind=(3.0, 270.0), budget_min=0.2).fit([candidate()], air)
    with pytest.raises(PlanError, match="no candidate"):
        FollowUpPlanner(wind=(3.0, 270.0)).fit([], air)


def test_hypotheses_draw_the_class_and_the_height_with_the_cell():
    # a source upwind in class B, or released low, explains the same crossings as a nearer one in class D, or
    # released higher: the planner must keep the triples
    cand = candidate()
    rural = sigma_model("briggs_rural")
    upwind = cand.cells[:, 0] < 0  # the wind blows from the west
    cand.settings = [(1.0, rural, 1.0, np.where(upwind, cand.mass, 0.0)),
                     (3.0, rural, 10.0, np.where(upwind, 0.0, cand.mass))]
    planner = FollowUpPlanner(wind=(3.0, 270.0), n_hypotheses=80)
    cells, q, w, labels, offsets, settings = planner._hypotheses(cand, np.random.default_rng(1))
    codes = np.array([code for code, _, _ in settings])
    heights = np.array([h for _, _, h in settings])
    assert set(codes) == {1.0, 3.0}
    assert np.all(codes[cells[:, 0] < 0] == 1.0) and np.all(codes[cells[:, 0] >= 0] == 3.0)
    assert np.all(heights[codes == 1.0] == 1.0) and np.all(heights[codes == 3.0] == 10.0)
    # each hypothesis's plume is its own class's and height's: on a line 80 m downwind, class B's at 1 m differs
    pts = np.column_stack((np.full(41, 80.0), np.linspace(-100.0, 100.0, 41)))
    zero = np.zeros_like(offsets)
    own = planner._predict(cand, (cells, q, w, labels, zero, settings), pts, 10.0)
    as_d = planner._predict(cand, (cells, q, w, labels, zero, [(3.0, rural, 10.0)] * len(settings)), pts, 10.0)
    b = codes == 1.0
    assert np.allclose(own[~b], as_d[~b])
    assert not np.allclose(own[b], as_d[b])
    low_d = planner._predict(cand, (cells, q, w, labels, zero, [(3.0, rural, 1.0)] * len(settings)), pts, 10.0)
    assert not np.allclose(low_d[~b], as_d[~b])  # the height enters the prediction
    # settings without a height take the candidate's
    cand.settings = [(3.0, rural, cand.mass)]
    *_, plain = planner._hypotheses(cand, np.random.default_rng(1))
    assert {h for _, _, h in plain} == {cand.height}


def test_expected_information_of_given_legs_matches_the_plans_gain_and_is_nil_upwind():
    """What fit maximises, evaluated for any legs: the plan's own legs about its gain, legs upwind nothing."""
    from plumetrace.plan.route import Leg

    air = Airspace(box(-400, -400, 400, 400), [], 10, 60)
    fp = FollowUpPlanner(wind=(3.0, 270.0), budget_min=8.0, n_hypotheses=80).fit([candidate()], air)
    own = fp.expected_information([candidate()], fp.plan_.legs)
    assert own == pytest.approx(fp.gain_, rel=0.25)  # other simulated data sets than fit's: Monte Carlo error
    upwind = [Leg(np.array([-200.0, -100.0]), np.array([-200.0, 100.0]), 10.0)]  # wind from the west: upwind
    assert fp.expected_information([candidate()], upwind) < 0.05 * own
    ladder = fixed_pattern("ladder", candidate(), air, (3.0, 270.0), 8.0)
    assert 0.0 < fp.expected_information([candidate()], ladder.legs) <= fp.prior_entropy_["c1"] + 1e-6
    assert fp.expected_information([candidate()], []) == 0.0


def test_a_per_leg_direction_offset_makes_the_same_legs_worth_less():
    """Data whose plume turns from leg to leg agree less with any one hypothesis: less expected information."""
    air = Airspace(box(-400, -400, 400, 400), [], 10, 60)
    fp = FollowUpPlanner(wind=(3.0, 270.0), budget_min=8.0, n_hypotheses=80).fit([candidate()], air)
    steady = fp.expected_information([candidate()], fp.plan_.legs)
    turned = FollowUpPlanner(wind=(3.0, 270.0), budget_min=8.0, n_hypotheses=80, leg_offset_sd_deg=15.0)
    assert turned.expected_information([candidate()], fp.plan_.legs) < 0.9 * steady
    assert turned.fit([candidate()], air).plan_.flight_s <= 8 * 60


def test_the_student_t_scorer_tends_to_the_gaussian_and_forgives_a_swung_plume():
    air = Airspace(box(-400, -400, 400, 400), [], 10, 60)
    fp = FollowUpPlanner(wind=(3.0, 270.0), budget_min=8.0, n_hypotheses=80).fit([candidate()], air)
    legs = fp.plan_.legs
    gauss = fp.expected_information([candidate()], legs)
    # the same simulated data (same stream), scored by a Student-t of huge ν: the Gaussian's information
    wide = FollowUpPlanner(wind=(3.0, 270.0), budget_min=8.0, n_hypotheses=80, nu=1e7)
    assert wide.expected_information([candidate()], legs) == pytest.approx(gauss, rel=1e-3)
    # the locator's scorer (ν = 4, α = 1) where each crossing's plume turns: a wrong confident read costs less than
    # under the sharp Gaussian, so the same legs keep more of their information
    turned = dict(wind=(3.0, 270.0), budget_min=8.0, n_hypotheses=80, leg_offset_sd_deg=15.0)
    sharp = FollowUpPlanner(**turned).expected_information([candidate()], legs)
    heavy = FollowUpPlanner(**turned, nu=4.0, score_model_error=1.0)
    assert heavy.expected_information([candidate()], legs) > sharp
    plan = heavy.fit([candidate()], air).plan_
    assert 0 < plan.flight_s <= 8 * 60 and 0 < heavy.gain_ <= heavy.prior_entropy_["c1"] + 1e-6
