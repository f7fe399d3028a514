"""The follow-up benchmark's summary: per-arm scores, per world, and the paired comparison."""

import pytest

from plumetrace.bench.follow_up import ARMS, summarise_follow_up


def _arm(found, top1=False, top3=False, covered=False, error=None, minutes=0.0, house=None):
    return {"found": found, "top1": top1, "top3": top3, "covered": covered, "error_m": error, "flight_min": minutes,
            "building_distance_m": house}


def _row(world, seconds=10.0, **arms):
    row = {"scenario": f"follow_up_{world}", "world": world, "seed": 0, "seconds": seconds}
    for arm in ARMS:
        row[arm] = arms.get(arm, _arm(False))
    return row


def test_summary_scores_every_arm_and_pairs_adaptive_with_the_best_fixed_pattern():
    rows = [
        _row("meander", adaptive=_arm(True, True, True, True, 2.0, 20.0, 0.0),
             ladder=_arm(True, False, True, True, 9.0), orbit=_arm(True, True, True, False, 6.0),
             none=_arm(True, False, False, True, 14.0)),
        _row("meander", adaptive=_arm(True, False, True, True, 8.0, 24.0, 3.5),
             ladder=_arm(True, True, True, True, 3.0), orbit=_arm(False)),
        _row("puff", adaptive=_arm(True, True, True, False, 4.0, 22.0, 0.0), ladder=_arm(True, True, True, True, 5.0),
             orbit=_arm(True, False, False, True, 30.0)),
    ]
    s = summarise_follow_up(rows)
    a = s["overall"]["adaptive"]
    assert s["cases"] == 3 and a["found"] == 3
    assert a["top1"] == pytest.approx(2 / 3) and a["top3"] == 1.0
    assert a["median_error_m"] == 4.0 and a["coverage90"] == pytest.approx(2 / 3)
    assert a["flight_min"] == pytest.approx(22.0)
    # the distance to the lab's house: 0 inside it; rows without it (older runs) are left out, not counted as 0
    assert a["median_building_distance_m"] == 0.0
    assert s["by_world"]["meander"]["adaptive"]["median_building_distance_m"] == pytest.approx(1.75)
    assert s["overall"]["ladder"]["median_building_distance_m"] is None
    # the ladder names the building in 2 cases, the orbit in 1: the ladder is the best fixed pattern
    assert s["paired_top1"] == {"best_fixed": "ladder", "adaptive_only": 1, "fixed_only": 1}
    assert s["by_world"]["puff"]["adaptive"]["cases"] == 1
    assert s["by_world"]["meander"]["orbit"]["found"] == 1
    assert s["overall"]["none"]["median_error_m"] == 14.0 and s["seconds"] == 30.0


def test_an_estimate_is_scored_by_its_distance_to_the_release_point_and_to_the_lab_house():
    from types import SimpleNamespace

    from shapely.geometry import box

    from plumetrace.bench.follow_up import _score
    from plumetrace.geo.crs import LocalFrame

    frame = LocalFrame(52.1, 5.12)
    house = box(0.0, 0.0, 9.0, 11.0)
    lat, lon = frame.to_wgs84(9.0, 5.5)  # a window on the house's east wall
    target = {"lat": float(lat), "lon": float(lon), "building_id": "b7"}
    inside = SimpleNamespace(east=4.5, north=5.5, buildings_top=[["b7", 0.6]], building_id="b7", credible90=None,
                             building_probability=0.6, height_m=3.0)
    loc = SimpleNamespace(sources_=[inside], heights_=(1.0, 5.0))
    r = _score(loc, frame, target, 270.0, house)  # wind from the west: downwind is east
    assert r["found"] and r["top1"] and r["error_m"] == pytest.approx(4.5, abs=1e-3)
    assert r["building_distance_m"] == 0.0 and r["along_wind_m"] == pytest.approx(-4.5, abs=1e-3)
    inside.east, inside.north = 4.5, -2.0  # in front of the house, 2 m off its south wall
    assert _score(loc, frame, target, 270.0, house)["building_distance_m"] == pytest.approx(2.0)
    assert _score(loc, frame, target, 270.0)["building_distance_m"] is None


def test_the_bench_runs_the_seed_range_it_is_given(monkeypatch):
    """``first_seed`` moves the cases to seeds no setting was chosen on; every case is run once, in order."""
    import plumetrace.bench.follow_up as follow_up

    seen = []

    def fake_case(seed, locator=None, joint_locator=None, planner=None, arms=ARMS[1:], budget_min=12.0):
        seen.append((seed, locator, joint_locator, planner, arms, budget_min))
        return {**_row("meander", adaptive=_arm(True, True, True, True, 3.0, 20.0, 0.0)), "seed": seed}

    monkeypatch.setattr(follow_up, "run_follow_up_case", fake_case)
    report = follow_up.run_follow_up_bench(3, first_seed=20, locator={"model_error": 0.5}, planner={"nu": 4.0},
                                           budget_min=6.0)
    assert [s[0] for s in seen] == [20, 21, 22]
    # every case gets the options as given, and flies every arm on the per-candidate budget
    assert all(s[1:] == ({"model_error": 0.5}, None, {"nu": 4.0}, ARMS[1:], 6.0) for s in seen)
    assert [r["seed"] for r in report["rows"]] == [20, 21, 22] and report["summary"]["cases"] == 3


def test_a_case_plans_on_the_budget_and_planner_options_given(monkeypatch):
    """``"survey"`` as the per-leg offset takes the coverage survey's σθ; the budget is per candidate."""
    import plumetrace.bench.follow_up as follow_up

    class FakeLocator:
        sigma_theta_ = 3.2

        def __init__(self, **opts):
            self.opts = opts

        def fit(self, survey, buildings):
            return self

    seen = {}

    class Stop(Exception):
        pass

    def fake_planner(**kw):
        seen.update(kw)
        raise Stop

    monkeypatch.setattr(follow_up, "SourceLocator", FakeLocator)
    monkeypatch.setattr(follow_up, "follow_up_candidates", lambda loc, n: ["c1", "c2"])
    monkeypatch.setattr(follow_up, "FollowUpPlanner", fake_planner)
    with pytest.raises(Stop):
        follow_up.plan_follow_up_case(0, planner={"nu": 4.0, "leg_offset_sd_deg": "survey"}, budget_min=5.0)
    assert seen["budget_min"] == 10.0 and seen["nu"] == 4.0 and seen["leg_offset_sd_deg"] == 3.2
