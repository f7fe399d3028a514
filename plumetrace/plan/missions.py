"""A flight plan as ground-station missions: one QGroundControl ``.plan`` (or WPL file) per sortie, and a KML.

The first sortie is written at the requested path, further ones beside it as ``NAME_2.plan``, ``NAME_3.plan``…;
``NAME.kml`` shows every sortie, the airspace and the targets. Each sortie's geofence carries the authorised
polygon (inclusion) and every no-fly zone (exclusion), so the ground station enforces them too. Before anything
is written, every flown segment is checked against the airspace: a plan that breaks it is a bug, never a file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from plumetrace.geo.crs import LocalFrame
from plumetrace.io.areas import polygon_wgs84
from plumetrace.io.mission import Mission, write_mission_kml, write_qgc_plan, write_wpl
from plumetrace.plan.airspace import Airspace
from plumetrace.plan.route import FlightPlan


def missions(plan: FlightPlan, airspace: Airspace, frame: LocalFrame, name: str = "plumetrace") -> list[Mission]:
    """One :class:`Mission` per sortie (waypoints in WGS 84, altitudes above take-off)."""
    lat0, lon0 = frame.to_wgs84(plan.home[0], plan.home[1])
    auth = polygon_wgs84(airspace.authorised, frame) if airspace.authorised is not None else None
    no_fly = [polygon_wgs84(z, frame) for z in airspace.no_fly]
    out = []
    for k, s in enumerate(plan.sorties, start=1):
        bad = airspace.violations(s.path)
        if bad:
            raise RuntimeError(f"sortie {k} breaks the airspace ({'; '.join(bad[:3])}): a planner bug")
        inner = s.path[1:-1]  # the take-off point and the return are the take-off and RTL items
        lat, lon = frame.to_wgs84(inner[:, 0], inner[:, 1])
        wps = [(float(a), float(b), float(round(h, 2))) for a, b, h in zip(lat, lon, inner[:, 2], strict=True)]
        out.append(Mission(home=(float(lat0), float(lon0)), waypoints=wps, speed_mps=plan.speed_mps,
                           takeoff_alt_m=float(plan.takeoff_alt_m), authorised=auth, no_fly=no_fly,
                           name=f"{name} sortie {k} of {len(plan.sorties)}"))
    return out


def write_plan(plan: FlightPlan, airspace: Airspace, frame: LocalFrame, out: str | Path, fmt: str = "plan",
               name: str = "plumetrace") -> dict:
    """Write the sorties (``fmt`` "plan": QGroundControl; "wpl": QGC WPL 110) and the KML; returns the paths."""
    out = Path(out)
    ms = missions(plan, airspace, frame, name)
    paths = []
    for k, m in enumerate(ms, start=1):
        p = out if k == 1 else out.with_name(f"{out.stem}_{k}{out.suffix}")
        paths.append(write_wpl(m, p) if fmt == "wpl" else write_qgc_plan(m, p))
    targets = []
    for t in plan.targets:
        la, lo = frame.to_wgs84(t["east"], t["north"])
        targets.append((t["name"], float(la), float(lo)))
    kml = write_mission_kml(ms, out.with_suffix(".kml"), targets)
    return {"plan": str(paths[0]), "sorties": [str(p) for p in paths], "kml": str(kml),
            "waypoints": int(sum(len(m.waypoints) for m in ms)), "flight_min": round(plan.flight_s / 60.0, 2),
            "targets": [{"name": n, "lat": la, "lon": lo, **{k: v for k, v in t.items() if k not in ("east", "north")}}
                        for (n, la, lo), t in zip(targets, plan.targets, strict=True)]}


def plan_path_local(mission: Mission, frame: LocalFrame) -> np.ndarray:
    """A mission's flown path (east, north, alt) [m]: home at take-off altitude, the waypoints, home."""
    e0, n0 = frame.to_local(mission.home[0], mission.home[1])
    lat = np.array([w[0] for w in mission.waypoints])
    lon = np.array([w[1] for w in mission.waypoints])
    e, n = frame.to_local(lat, lon)
    alt = np.array([w[2] for w in mission.waypoints])
    start = [[float(e0), float(n0), mission.takeoff_alt_m]]
    return np.vstack((start, np.column_stack((e, n, alt)), [[float(e0), float(n0), alt[-1] if alt.size else 0.0]]))
