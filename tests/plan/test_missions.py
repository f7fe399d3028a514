"""Missions: the QGroundControl plan against its documented format, WPL read back by pymavlink, KML parses."""

import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from shapely.geometry import Point, box

from plumetrace.exceptions import InputError
from plumetrace.geo.crs import LocalFrame
from plumetrace.io.mission import read_mission, read_qgc_plan
from plumetrace.plan.airspace import Airspace
from plumetrace.plan.coverage import CoveragePlanner
from plumetrace.plan.missions import write_plan

FRAME = LocalFrame(52.09, 5.12)


@pytest.fixture(scope="module")
def plan_and_air():
    air = Airspace(box(-600, -600, 600, 600), [Point(100, 100).buffer(40)], 10, 80)
    plan = CoveragePlanner(wind=(4, 250), min_rate_g_s=0.3, n_sources=500, endurance_min=10).plan(
        box(-300, -300, 300, 300), air)
    return plan, air


def test_qgc_plan_has_the_documented_keys(tmp_path, plan_and_air):
    plan, air = plan_and_air
    res = write_plan(plan, air, FRAME, tmp_path / "c.plan")
    doc = json.loads((tmp_path / "c.plan").read_text())
    assert doc["fileType"] == "Plan" and doc["version"] == 1 and doc["groundStation"]
    m = doc["mission"]
    assert m["version"] == 2 and {"firmwareType", "vehicleType", "cruiseSpeed", "hoverSpeed",
                                  "plannedHomePosition", "items"} <= set(m)
    cmds = [it["command"] for it in m["items"]]
    assert cmds[0] == 22 and cmds[1] == 178 and cmds[-1] == 20 and set(cmds[2:-1]) == {16}
    for it in m["items"]:
        assert it["type"] == "SimpleItem" and len(it["params"]) == 7 and isinstance(it["doJumpId"], int)
        if it["command"] == 16:
            assert it["frame"] == 3 and -90 <= it["params"][4] <= 90 and 10 <= it["params"][6] <= 80
    fence = doc["geoFence"]
    assert fence["version"] == 2 and [p["inclusion"] for p in fence["polygons"]] == [True, False]
    assert doc["rallyPoints"]["version"] == 2
    back = read_qgc_plan(tmp_path / "c.plan")
    assert len(back.waypoints) == len(m["items"]) - 3
    assert res["flight_min"] > 0 and res["waypoints"] == sum(len(s.path) - 2 for s in plan.sorties)
    ET.parse(res["kml"])  # the KML beside it parses


def test_wpl_is_read_back_by_pymavlink(tmp_path, plan_and_air):
    from pymavlink import mavwp

    plan, air = plan_and_air
    write_plan(plan, air, FRAME, tmp_path / "c.waypoints", fmt="wpl")
    assert (tmp_path / "c.waypoints").read_text().startswith("QGC WPL 110\n")
    loader = mavwp.MAVWPLoader()
    n = loader.load(str(tmp_path / "c.waypoints"))
    cmds = [loader.wp(i).command for i in range(n)]
    assert cmds[1] == 22 and cmds[-1] == 20
    m = read_mission(tmp_path / "c.waypoints")
    path = plan.sorties[0].path
    e, nn = FRAME.to_local(np.array([w[0] for w in m.waypoints]), np.array([w[1] for w in m.waypoints]))
    assert np.allclose(np.column_stack((e, nn)), path[1:-1, :2], atol=0.05)


def test_a_bad_plan_file_is_refused(tmp_path):
    p = tmp_path / "x.plan"
    p.write_text('{"fileType": "Nope"}')
    with pytest.raises(InputError, match="not a QGroundControl plan"):
        read_mission(p)
    p.write_text("QGC WPL 110\n0\t1\n")
    with pytest.raises(InputError, match="WPL"):
        read_mission(p)
