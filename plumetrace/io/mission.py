"""Survey missions for ground stations: QGroundControl ``.plan``, MAVLink ``QGC WPL 110`` waypoints, and KML.

A :class:`Mission` is what a vehicle flies: a home (take-off and landing) point, the cruise speed and an ordered
list of waypoints (WGS 84, altitude above take-off [m]) flown in straight lines, with the airspace it must keep
to (the authorised polygon, the no-fly zones). Formats:

- **QGroundControl plan** (JSON; QGroundControl developer guide, "Plan File Format"): ``fileType`` "Plan",
  ``version`` 1, ``groundStation``, ``mission`` (``version`` 2, ``firmwareType``, ``vehicleType``,
  ``cruiseSpeed``, ``hoverSpeed``, ``plannedHomePosition`` [lat, lon, alt AMSL], ``items``), ``geoFence``
  (``version`` 2, ``polygons`` with ``inclusion`` true for the authorised area and false for each no-fly zone,
  each ``polygon`` a list of [lat, lon]; ``circles``) and ``rallyPoints``. Items are ``SimpleItem`` s with MAVLink
  commands (MAVLink common message set, MAV_CMD): 22 NAV_TAKEOFF, 178 DO_CHANGE_SPEED, 16 NAV_WAYPOINT
  (``frame`` 3 = MAV_FRAME_GLOBAL_RELATIVE_ALT, ``params[4..6]`` = lat, lon, altitude) and 20
  NAV_RETURN_TO_LAUNCH.
- **QGC WPL 110** (mavlink.io, "File Formats"): a ``QGC WPL 110`` header, then one tab-separated line per item —
  index, current, frame, command, param1–4, latitude, longitude, altitude, autocontinue; item 0 is the home
  position (frame 0, absolute). pymavlink's ``mavwp.MAVWPLoader`` reads it back.
- **KML** (simplekml): the route as a line, the waypoints, and the airspace polygons, for Google Earth.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from plumetrace.exceptions import InputError
from plumetrace.io.jsonsafe import read_json_file
from plumetrace.io.textsafe import kml_text

#: MAVLink MAV_CMD numbers used by the missions (MAVLink common.xml).
CMD_WAYPOINT, CMD_RTL, CMD_TAKEOFF, CMD_CHANGE_SPEED = 16, 20, 22, 178
#: MAV_FRAME_GLOBAL_RELATIVE_ALT: altitude above the home position.
FRAME_RELATIVE_ALT = 3
#: MAV_AUTOPILOT (12 PX4, 3 ArduPilot) and MAV_TYPE (2 quadrotor).
FIRMWARE = {"px4": 12, "ardupilot": 3}
VEHICLE_QUADROTOR = 2


@dataclass
class Mission:
    """One sortie: take off at ``home``, fly ``waypoints`` in order, return to launch.

    ``home`` is (lat, lon) [deg]; ``waypoints`` a list of (lat, lon, altitude above take-off [m]);
    ``speed_mps`` the cruise speed; ``takeoff_alt_m`` the take-off altitude; ``authorised`` the inclusion
    polygon and ``no_fly`` the exclusion polygons, each a list of (lat, lon); ``name`` a label.
    """

    home: tuple[float, float]
    waypoints: list[tuple[float, float, float]]
    speed_mps: float
    takeoff_alt_m: float
    authorised: list[tuple[float, float]] | None = None
    no_fly: list[list[tuple[float, float]]] = field(default_factory=list)
    home_amsl_m: float = 0.0
    firmware: str = "px4"
    name: str = "plumetrace survey"


def _item(seq: int, command: int, params: list, frame: int = FRAME_RELATIVE_ALT) -> dict:
    alt = params[6]
    return {"AMSLAltAboveTerrain": None, "Altitude": alt, "AltitudeMode": 1, "autoContinue": True,
            "command": command, "doJumpId": seq, "frame": frame, "params": params, "type": "SimpleItem"}


def qgc_plan(mission: Mission) -> dict:
    """The QGroundControl plan (a JSON-ready dict) of a mission (module docstring)."""
    lat0, lon0 = mission.home
    items = [_item(1, CMD_TAKEOFF, [0, 0, 0, None, lat0, lon0, mission.takeoff_alt_m]),
             _item(2, CMD_CHANGE_SPEED, [1, mission.speed_mps, -1, 0, 0, 0, 0], frame=2)]
    items[1]["Altitude"] = None
    for k, (lat, lon, alt) in enumerate(mission.waypoints, start=3):
        items.append(_item(k, CMD_WAYPOINT, [0, 0, 0, None, round(lat, 8), round(lon, 8), round(alt, 2)]))
    rtl = _item(len(items) + 1, CMD_RTL, [0, 0, 0, 0, 0, 0, 0], frame=2)
    rtl["Altitude"] = None
    items.append(rtl)
    polygons = []
    if mission.authorised:
        polygons.append({"inclusion": True, "polygon": [[round(a, 8), round(b, 8)] for a, b in mission.authorised],
                         "version": 1})
    for zone in mission.no_fly:
        polygons.append({"inclusion": False, "polygon": [[round(a, 8), round(b, 8)] for a, b in zone], "version": 1})
    return {
        "fileType": "Plan", "version": 1, "groundStation": "plumetrace",
        "mission": {"version": 2, "firmwareType": FIRMWARE.get(mission.firmware, 12), "vehicleType": VEHICLE_QUADROTOR,
                    "cruiseSpeed": mission.speed_mps, "hoverSpeed": min(mission.speed_mps, 5.0),
                    "globalPlanAltitudeMode": 1,
                    "plannedHomePosition": [round(lat0, 8), round(lon0, 8), mission.home_amsl_m], "items": items},
        "geoFence": {"version": 2, "circles": [], "polygons": polygons},
        "rallyPoints": {"version": 2, "points": []},
    }


def write_qgc_plan(mission: Mission, path: str | Path) -> Path:
    """Write a mission as a QGroundControl ``.plan`` file."""
    path = Path(path)
    path.write_text(json.dumps(qgc_plan(mission), indent=2) + "\n", encoding="utf-8")
    return path


def read_qgc_plan(path: str | Path) -> Mission:
    """Read a QGroundControl ``.plan`` back into a :class:`Mission` (the items plumetrace writes).

    Raises
    ------
    InputError
        Naming the file and the item for a file that is not a plan, or an item of another command.
    """
    path = Path(path)
    data = read_json_file(path, "QGroundControl plan")
    if not isinstance(data, dict) or data.get("fileType") != "Plan" or not isinstance(data.get("mission"), dict):
        raise InputError('is not a QGroundControl plan (no "fileType": "Plan" with a "mission")', path)
    m = data["mission"]
    try:
        home = m["plannedHomePosition"]
        items = m["items"]
        speed, takeoff, wps = float(m.get("cruiseSpeed", 5.0)), None, []
        for k, it in enumerate(items, start=1):
            cmd, p = int(it["command"]), it["params"]
            if cmd == CMD_TAKEOFF:
                takeoff = float(p[6])
            elif cmd == CMD_CHANGE_SPEED:
                speed = float(p[1])
            elif cmd == CMD_WAYPOINT:
                if int(it.get("frame", FRAME_RELATIVE_ALT)) != FRAME_RELATIVE_ALT:
                    raise InputError(f"waypoint frame {it.get('frame')} is not 3 (relative altitude)", path, k,
                                     "mission.items")
                wps.append((float(p[4]), float(p[5]), float(p[6])))
            elif cmd != CMD_RTL:
                raise InputError(f"mission command {cmd} is not one plumetrace flies (16, 20, 22, 178)", path, k,
                                 "mission.items")
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"is not a QGroundControl plan plumetrace can read ({type(exc).__name__}: {exc})",
                         path) from None
    if not wps:
        raise InputError("the plan has no waypoints (command 16)", path, column="mission.items")
    fence = data.get("geoFence") or {}
    auth, no_fly = None, []
    for poly in fence.get("polygons", []):
        ring = [(float(a), float(b)) for a, b in poly["polygon"]]
        if poly.get("inclusion", True):
            auth = ring
        else:
            no_fly.append(ring)
    return Mission(home=(float(home[0]), float(home[1])), waypoints=wps, speed_mps=speed,
                   takeoff_alt_m=takeoff if takeoff is not None else wps[0][2], authorised=auth, no_fly=no_fly,
                   home_amsl_m=float(home[2]) if len(home) > 2 else 0.0)


def write_wpl(mission: Mission, path: str | Path) -> Path:
    """Write a mission as a MAVLink ``QGC WPL 110`` waypoint file (Mission Planner, ArduPilot)."""
    lat0, lon0 = mission.home
    rows = [(0, 1, 0, CMD_WAYPOINT, 0, 0, 0, 0, lat0, lon0, mission.home_amsl_m, 1),
            (1, 0, FRAME_RELATIVE_ALT, CMD_TAKEOFF, 0, 0, 0, 0, lat0, lon0, mission.takeoff_alt_m, 1),
            (2, 0, 2, CMD_CHANGE_SPEED, 1, mission.speed_mps, -1, 0, 0, 0, 0, 1)]
    for k, (lat, lon, alt) in enumerate(mission.waypoints, start=3):
        rows.append((k, 0, FRAME_RELATIVE_ALT, CMD_WAYPOINT, 0, 0, 0, 0, lat, lon, alt, 1))
    rows.append((len(rows), 0, 2, CMD_RTL, 0, 0, 0, 0, 0, 0, 0, 1))

    def fmt(v):
        return f"{v:.8f}" if isinstance(v, float) else str(v)

    text = "QGC WPL 110\n" + "".join("\t".join(fmt(v) for v in r) + "\n" for r in rows)
    path = Path(path)
    path.write_text(text, encoding="utf-8")
    return path


def write_mission_kml(missions: list[Mission], path: str | Path, targets=()) -> Path:
    """Write missions (sorties) as KML: each route a line with its waypoints, the airspace, the targets.

    ``targets``: (name, lat, lon) of what the plan is for (candidate sources).
    """
    import simplekml

    kml = simplekml.Kml()
    for k, m in enumerate(missions, start=1):
        folder = kml.newfolder(name=kml_text(f"sortie {k}: {m.name}"))
        coords = [(m.home[1], m.home[0], 0.0)] + [(lon, lat, alt) for lat, lon, alt in m.waypoints] + \
                 [(m.home[1], m.home[0], 0.0)]
        line = folder.newlinestring(name=kml_text(f"route {k}"), coords=coords)
        line.altitudemode = simplekml.AltitudeMode.relativetoground
        line.style.linestyle.width = 3
        line.style.linestyle.color = simplekml.Color.cyan
        home = folder.newpoint(name="home", coords=[(m.home[1], m.home[0])])
        home.style.iconstyle.color = simplekml.Color.green
        if k == 1:
            if m.authorised:
                pol = kml.newpolygon(name="authorised airspace", outerboundaryis=[(b, a) for a, b in m.authorised])
                pol.style.polystyle.color = simplekml.Color.changealphaint(40, simplekml.Color.green)
            for j, zone in enumerate(m.no_fly, start=1):
                pol = kml.newpolygon(name=f"no-fly zone {j}", outerboundaryis=[(b, a) for a, b in zone])
                pol.style.polystyle.color = simplekml.Color.changealphaint(90, simplekml.Color.red)
    for name, lat, lon in targets:
        if math.isfinite(lat) and math.isfinite(lon):
            p = kml.newpoint(name=kml_text(str(name)), coords=[(lon, lat)])
            p.style.iconstyle.color = simplekml.Color.red
    path = Path(path)
    kml.save(str(path))
    return path


def read_wpl(path: str | Path) -> Mission:
    """Read a ``QGC WPL 110`` waypoint file with pymavlink's loader (home, take-off, speed, waypoints)."""
    from pymavlink import mavwp

    path = Path(path)
    loader = mavwp.MAVWPLoader()
    try:
        loader.load(str(path))
    except FileNotFoundError:
        raise InputError("file not found", path) from None
    except Exception as exc:  # noqa: BLE001 - pymavlink raises MAVWPError, ValueError, IndexError
        raise InputError(f"is not a QGC WPL 110 waypoint file ({exc})", path) from None
    items = [loader.wp(i) for i in range(loader.count())]
    if not items:
        raise InputError("has no mission items", path)
    home, speed, takeoff, wps = (items[0].x, items[0].y), 5.0, None, []
    for k, it in enumerate(items[1:], start=2):
        if it.command == CMD_TAKEOFF:
            takeoff = float(it.z)
        elif it.command == CMD_CHANGE_SPEED:
            speed = float(it.param2)
        elif it.command == CMD_WAYPOINT:
            wps.append((float(it.x), float(it.y), float(it.z)))
        elif it.command != CMD_RTL:
            raise InputError(f"mission command {it.command} is not one plumetrace flies (16, 20, 22, 178)", path, k)
    if not wps:
        raise InputError("the file has no waypoints (command 16)", path)
    return Mission(home=(float(home[0]), float(home[1])), waypoints=wps, speed_mps=speed,
                   takeoff_alt_m=takeoff if takeoff is not None else wps[0][2])


def read_mission(path: str | Path) -> Mission:
    """A QGroundControl ``.plan`` or a ``QGC WPL 110`` file, by its content."""
    path = Path(path)
    try:
        head = path.read_bytes()[:16]
    except FileNotFoundError:
        raise InputError("file not found", path) from None
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror or exc})", path) from None
    return read_wpl(path) if head.startswith(b"QGC WPL") else read_qgc_plan(path)
