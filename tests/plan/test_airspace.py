"""Airspace: every flown segment inside the authorised area and outside the no-fly zones (property tests)."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point, Polygon, box

from plumetrace.exceptions import PlanError
from plumetrace.geo.buildings import Building
from plumetrace.plan.airspace import Airspace
from plumetrace.plan.coverage import CoveragePlanner
from plumetrace.plan.route import Leg, sorties


def star(n: int, r_in: float, r_out: float, rot: float) -> Polygon:
    """A star-shaped polygon (not convex when r_in < r_out) centred on the origin."""
    a = np.linspace(0, 2 * np.pi, 2 * n, endpoint=False) + rot
    r = np.where(np.arange(2 * n) % 2 == 0, r_out, r_in)
    return Polygon(np.column_stack((r * np.cos(a), r * np.sin(a))))


def check_paths(air: Airspace, paths) -> None:
    for path in paths:
        for i in range(len(path) - 1):
            a, b = path[i], path[i + 1]
            seg = LineString([a[:2], b[:2]]) if np.hypot(*(b[:2] - a[:2])) > 1e-9 else Point(a[:2])
            if air.authorised is not None:
                assert air.authorised.buffer(1e-3).covers(seg), f"segment {i} leaves the authorised area"
            for z in air.no_fly:
                assert not z.buffer(-1e-3).intersects(seg), f"segment {i} enters a no-fly zone"
            assert air.alt_min - 1e-9 <= min(a[2], b[2]) and max(a[2], b[2]) <= air.alt_max + 1e-9
        assert not air.violations(path)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(3, 8), r_in=st.floats(350, 900), rot=st.floats(0, 2 * math.pi),
       zone=st.tuples(st.floats(-150, 150), st.floats(-150, 150), st.floats(10, 60)),
       wind_from=st.floats(0, 359), speed=st.floats(1.5, 8))
def test_coverage_plans_keep_to_the_airspace(n, r_in, rot, zone, wind_from, speed):
    auth = star(n, r_in, 900.0, rot)
    area = box(-200, -200, 200, 200)
    if not auth.buffer(-10).covers(area):
        return
    no_fly = [Point(zone[0], zone[1]).buffer(zone[2])]
    air = Airspace(auth, no_fly, 15.0, 80.0)
    planner = CoveragePlanner(wind=(speed, wind_from), min_rate_g_s=0.5, n_sources=300, endurance_min=8.0)
    try:
        plan = planner.plan(area, air)
    except PlanError as exc:  # allowed only with the limit named
        assert exc.limit
        return
    check_paths(air, [s.path for s in plan.sorties])
    assert all(s.time_s <= 8 * 60 for s in plan.sorties)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(3, 7), rot=st.floats(0, 2 * math.pi), seed=st.integers(0, 10_000))
def test_transits_go_around_no_fly_zones(n, rot, seed):
    rng = np.random.default_rng(seed)
    auth = star(n, 500.0, 1000.0, rot)
    zones = [Point(*rng.uniform(-200, 200, 2)).buffer(rng.uniform(20, 80)) for _ in range(2)]
    air = Airspace(auth, zones, 10.0, 60.0)
    pts = [p for p in rng.uniform(-400, 400, (12, 2)) if air.contains(*p)]
    legs = [Leg(pts[i], pts[i + 1], 20.0) for i in range(0, len(pts) - 1, 2)
            if air.segments_ok(pts[i][None], pts[i + 1][None])[0]]
    if not legs:
        return
    out = sorties(legs, air, legs[0].start, 8.0, 20.0, None)
    check_paths(air, [s.path for s in out])


def test_impossible_requests_name_the_limit():
    auth = box(-500, -500, 500, 500)
    with pytest.raises(PlanError, match="--authorized"):
        CoveragePlanner(wind=(4, 270)).plan(box(-600, -100, 100, 100), Airspace(auth, [], 10, 80))
    with pytest.raises(PlanError, match="--min-rate-g-s"):
        CoveragePlanner(wind=(4, 270), min_rate_g_s=1e-6, n_sources=200).plan(box(-100, -100, 100, 100),
                                                                              Airspace(auth, [], 10, 80))
    tower = [Building("t", box(-50, -50, 50, 50), 150.0)]
    with pytest.raises(PlanError, match="--alt-max-m"):
        CoveragePlanner(wind=(4, 270), n_sources=200).plan(box(-100, -100, 100, 100),
                                                           Airspace(auth, [], 10, 80, buildings=tower))
    with pytest.raises(PlanError, match="--endurance-min"):
        sorties([Leg(np.array([-450.0, 0]), np.array([450.0, 0]), 20.0)], Airspace(auth, [], 10, 80),
                np.array([0.0, 0.0]), 1.0, 20.0, 60.0)
    with pytest.raises(PlanError, match="--alt-min-m"):
        Airspace(auth, [], 90, 80)
    split = Airspace(auth, [box(-10, -600, 10, 600)], 10, 80)  # a wall across the whole authorised area
    with pytest.raises(PlanError, match="cut them apart"):
        split.route(np.array([-300.0, 0]), np.array([300.0, 0]))


def test_legs_are_flown_clear_of_roofs():
    auth = box(-500, -500, 500, 500)
    tall = [Building("tall", box(-20, -20, 20, 20), 30.0)]
    air = Airspace(auth, [], 10, 80, buildings=tall, roof_clearance=5.0)
    assert air.min_altitude(np.array([-100.0, 0]), np.array([100.0, 0])) == pytest.approx(35.0)
    assert air.min_altitude(np.array([-100.0, 200]), np.array([100.0, 200])) == pytest.approx(10.0)
    out = sorties([Leg(np.array([-100.0, 200]), np.array([100.0, 200]), 10.0),
                   Leg(np.array([100.0, -200]), np.array([-100.0, -200]), 10.0)], air, np.array([0.0, 300.0]),
                  8.0, 10.0)
    check_paths(air, [s.path for s in out])  # the transit between the legs climbs over the tall roof or goes round


def test_a_take_off_beside_a_taller_house_climbs_clear_of_its_roof():
    """The demo's town once put the take-off point within the clearance of a 9.1 m roof with legs at 12.6 m:
    the first climb must clear that roof too (a planner bug the path check caught)."""
    auth = box(-500, -500, 500, 500)
    house = [Building("house", box(0, 2, 10, 12), 9.1)]
    air = Airspace(auth, [], 10, 80, buildings=house, roof_clearance=5.0)
    home = np.array([0.0, 0.0])
    assert air.min_altitude(home, home) == pytest.approx(14.1)
    out = sorties([Leg(np.array([-100.0, 200]), np.array([100.0, 200]), 12.6)], air, home, 8.0, 12.6)
    check_paths(air, [s.path for s in out])
    assert out[0].path[0][2] == pytest.approx(14.1)
