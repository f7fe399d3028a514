"""From survey legs to flyable sorties: transits inside the airspace, altitudes, flight time, battery endurance.

A plan is an ordered list of :class:`Leg` s (straight survey lines at one altitude). :func:`sorties` joins them
into flown paths: from the home point, each leg is reached by the shortest transit inside the airspace
(:meth:`Airspace.route`) at an altitude clear of every roof on the way, the leg is flown at its altitude (climbs
and descents are vertical, at a leg's ends, so no sloping segment dips below a roof), and the vehicle returns home.
A sortie that would outlast the usable battery (``endurance`` less a reserve) ends, and the next leg starts a new
sortie from home. Flight time counts horizontal distance at the cruise speed, vertical distance at the climb rate
and a fixed time per turn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from plumetrace.exceptions import PlanError
from plumetrace.plan.airspace import Airspace

#: Climb and descent rate [m/s] and the time lost per waypoint turn [s] (multirotor survey practice).
CLIMB_RATE_MPS = 2.0
TURN_TIME_S = 3.0
#: Fraction of the battery endurance kept in reserve.
ENDURANCE_RESERVE = 0.2


@dataclass
class Leg:
    """A straight survey line from ``start`` to ``end`` (east, north) [m] at ``altitude`` [m above take-off]."""

    start: np.ndarray
    end: np.ndarray
    altitude: float
    purpose: str = "survey"
    target: str | None = None

    @property
    def length(self) -> float:
        """Horizontal length [m]."""
        return float(np.hypot(*(np.asarray(self.end) - np.asarray(self.start))))

    def reversed(self) -> Leg:
        """The same leg flown the other way."""
        return Leg(np.asarray(self.end), np.asarray(self.start), self.altitude, self.purpose, self.target)


@dataclass
class Sortie:
    """One battery: the flown path (n, 3) [m] from home back to home, the legs in it, its flight time [s]."""

    path: np.ndarray
    legs: list[Leg]
    time_s: float


@dataclass
class FlightPlan:
    """Sorties of a plan, with what it is for (``targets``: dicts with name, east, north, …)."""

    sorties: list[Sortie]
    home: np.ndarray
    speed_mps: float
    takeoff_alt_m: float
    targets: list[dict] = field(default_factory=list)
    info: dict = field(default_factory=dict)

    @property
    def flight_s(self) -> float:
        """Flight time of all sorties [s]."""
        return float(sum(s.time_s for s in self.sorties))

    @property
    def legs(self) -> list[Leg]:
        """Every leg, in flight order."""
        return [leg for s in self.sorties for leg in s.legs]


def path_time(path: np.ndarray, speed: float) -> float:
    """Flight time of a path (n, 3) [s]: horizontal at ``speed``, vertical at the climb rate, turns."""
    d = np.diff(np.asarray(path, float), axis=0)
    if d.size == 0:
        return 0.0
    return float(np.sum(np.hypot(d[:, 0], d[:, 1])) / speed + np.sum(np.abs(d[:, 2])) / CLIMB_RATE_MPS
                 + TURN_TIME_S * len(d))


def transit(airspace: Airspace, a3: np.ndarray, b2: np.ndarray, b_alt: float) -> list[np.ndarray]:
    """Waypoints after a3 (east, north, alt) to reach b2 at ``b_alt``: route corners at a roof-clear altitude."""
    corners = airspace.route(a3[:2], b2)
    alt = max(float(a3[2]), float(b_alt))
    for p, q in zip(corners[:-1], corners[1:], strict=True):
        alt = max(alt, airspace.min_altitude(p, q))
    if alt > airspace.alt_max + 1e-9:
        raise PlanError(f"the transit to ({b2[0]:.0f}, {b2[1]:.0f}) m must fly at {alt:g} m to clear the roofs, above "
                        f"the altitude limit {airspace.alt_max:g} m", "--alt-max-m")
    pts = []
    if alt > a3[2] + 1e-9:
        pts.append(np.array([a3[0], a3[1], alt]))
    pts += [np.array([p[0], p[1], alt]) for p in corners[1:]]
    if abs(alt - b_alt) > 1e-9:
        pts.append(np.array([b2[0], b2[1], b_alt]))
    return pts


def _path_of(airspace: Airspace, home: np.ndarray, takeoff_alt: float, legs: list[Leg]) -> np.ndarray:
    pos = np.array([home[0], home[1], takeoff_alt])
    pts = [pos]
    for leg in legs:
        pts += transit(airspace, pts[-1], np.asarray(leg.start, float), leg.altitude)
        if np.hypot(*(pts[-1][:2] - np.asarray(leg.start))) > 1e-9 or abs(pts[-1][2] - leg.altitude) > 1e-9:
            pts.append(np.array([leg.start[0], leg.start[1], leg.altitude]))
        pts.append(np.array([leg.end[0], leg.end[1], leg.altitude]))
    pts += transit(airspace, pts[-1], np.asarray(home[:2], float), max(takeoff_alt, pts[-1][2]))
    return np.vstack(pts)


def sortie_time(path: np.ndarray, speed: float, takeoff_alt: float) -> float:
    """Flight time of a sortie [s]: take-off climb, the path, landing."""
    return path_time(path, speed) + 2 * takeoff_alt / CLIMB_RATE_MPS


def takeoff_altitude(airspace: Airspace, home, altitude: float) -> float:
    """The altitude a sortie climbs to over its take-off point [m].

    ``altitude``, or higher to clear the roofs within the airspace's clearance of that point (a take-off beside a
    taller house).
    """
    home = np.asarray(home, float)[:2]
    alt = max(float(altitude), airspace.min_altitude(home, home))
    if alt > airspace.alt_max + 1e-9:
        raise PlanError(f"the take-off point ({home[0]:.0f}, {home[1]:.0f}) m needs a climb to {alt:g} m to clear the "
                        f"roofs beside it, above the altitude limit {airspace.alt_max:g} m", "--alt-max-m")
    return alt


def sorties(legs: list[Leg], airspace: Airspace, home, speed: float, takeoff_alt: float,
            endurance_s: float | None = None) -> list[Sortie]:
    """Join ordered legs into sorties within the usable endurance (module docstring).

    Raises
    ------
    PlanError
        A leg outside the airspace or its altitudes, or one leg that alone outlasts a battery.
    """
    home = np.asarray(home, float)[:2]
    takeoff_alt = takeoff_altitude(airspace, home, takeoff_alt)
    for leg in legs:
        if not airspace.segments_ok(np.asarray(leg.start)[None], np.asarray(leg.end)[None])[0]:
            raise PlanError(f"a {leg.purpose} leg from ({leg.start[0]:.0f}, {leg.start[1]:.0f}) to ({leg.end[0]:.0f}, "
                            f"{leg.end[1]:.0f}) m leaves the authorised airspace", "--authorized/--no-fly")
        lo = airspace.min_altitude(leg.start, leg.end)
        if leg.altitude < lo - 1e-9 or leg.altitude > airspace.alt_max + 1e-9:
            raise PlanError(f"a {leg.purpose} leg at {leg.altitude:g} m is outside the allowed {lo:g}–"
                            f"{airspace.alt_max:g} m", "--alt-min-m/--alt-max-m")
    usable = None if endurance_s is None else endurance_s * (1 - ENDURANCE_RESERVE)
    out: list[Sortie] = []
    current: list[Leg] = []
    for leg in legs:
        trial = current + [leg]
        path = _path_of(airspace, home, takeoff_alt, trial)
        t = sortie_time(path, speed, takeoff_alt)
        if usable is not None and t > usable:
            if not current:
                raise PlanError(f"one leg with its transits takes {t / 60:.1f} min, more than the usable battery "
                                f"({usable / 60:.1f} min: {ENDURANCE_RESERVE:.0%} kept in reserve)", "--endurance-min")
            p = _path_of(airspace, home, takeoff_alt, current)
            out.append(Sortie(p, current, sortie_time(p, speed, takeoff_alt)))
            current = [leg]
            p1 = _path_of(airspace, home, takeoff_alt, current)
            if sortie_time(p1, speed, takeoff_alt) > usable:
                raise PlanError("one leg with its transits outlasts the usable battery", "--endurance-min")
        else:
            current = trial
    if current:
        p = _path_of(airspace, home, takeoff_alt, current)
        out.append(Sortie(p, current, sortie_time(p, speed, takeoff_alt)))
    return out


def default_home(airspace: Airspace, near) -> np.ndarray:
    """A take-off point: ``near`` when it is in the safe region, else the closest point of the region to it."""
    near = np.asarray(near, float)[:2]
    if airspace.contains(*near):
        return near
    from shapely.geometry import Point
    from shapely.ops import nearest_points

    p = nearest_points(airspace.safe.buffer(-0.5), Point(*near))[0]
    out = np.array([p.x, p.y])
    if not airspace.contains(*out) or math.isnan(out[0]):
        raise PlanError("no take-off point lies in the authorised airspace", "--authorized")
    return out
