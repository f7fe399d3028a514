"""Where a vehicle may fly: the authorised polygon, the no-fly zones, altitude limits and height over roofs.

All geometry is in a local metric frame [m] (shapely). The vehicle flies straight between waypoints, so the rules
are checked on every *segment*, not only on the waypoints:

- a segment lies inside the authorised polygon shrunk by ``clearance`` and outside every no-fly zone grown by
  it (the *safe region*; the ground station's geofence is the unshrunk polygons);
- every altitude is within [``alt_min``, ``alt_max``] (above take-off; a straight climb between two altitudes
  within the limits stays within them), and a segment over a building is at least ``roof_clearance`` above its
  roof (the buildings' ``height_m``).

:meth:`Airspace.route` finds the shortest transit between two points inside the safe region (a visibility graph
over the region's vertices, Dijkstra — the shortest path among polygonal obstacles runs through their vertices;
Lozano-Pérez & Wesley 1979). Nothing is clipped silently: a request the airspace cannot hold raises
:class:`~plumetrace.exceptions.PlanError` naming the limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import LineString, Point, Polygon, box
from shapely.ops import unary_union

from plumetrace.exceptions import PlanError

#: Extent added around the work area when no authorised polygon is given (the airspace is then unbounded
#: laterally, but routing needs a finite region) [m].
UNBOUNDED_MARGIN_M = 3000.0
#: Tolerance of the segment checks against the safe region (floating point on its own boundary) [m].
CHECK_TOLERANCE_M = 0.05


@dataclass
class Airspace:
    """The airspace of a plan (see the module docstring).

    Parameters
    ----------
    authorised : shapely Polygon or None
        Where flying is authorised; None: anywhere (only the no-fly zones and altitudes limit the plan).
    no_fly : list of shapely Polygon
        Exclusion zones.
    alt_min, alt_max : float
        Altitude limits above take-off [m].
    clearance : float
        Lateral margin kept inside the authorised boundary and outside each no-fly zone [m].
    buildings : list of Building
        Footprints with roof heights; a segment over one is flown at least ``roof_clearance`` above its roof.
    roof_clearance : float
        Vertical margin over roofs [m].
    work_area : shapely Polygon, optional
        The area the plan is for (with ``authorised`` None, the routing region is it plus 3 km).
    """

    authorised: Polygon | None
    no_fly: list = field(default_factory=list)
    alt_min: float = 10.0
    alt_max: float = 120.0
    clearance: float = 5.0
    buildings: list = field(default_factory=list)
    roof_clearance: float = 5.0
    work_area: Polygon | None = None

    def __post_init__(self):
        if not (math.isfinite(self.alt_min) and math.isfinite(self.alt_max) and 0 <= self.alt_min <= self.alt_max):
            raise PlanError(f"the altitude limits {self.alt_min:g}–{self.alt_max:g} m are not a range "
                            "(0 ≤ minimum ≤ maximum)", "--alt-min-m/--alt-max-m")
        if self.authorised is not None:
            bound = self.authorised
        else:
            parts = [g for g in [self.work_area, *self.no_fly] if g is not None]
            if not parts:
                raise ValueError("an airspace without an authorised polygon needs a work_area")
            bound = box(*unary_union(parts).bounds).buffer(UNBOUNDED_MARGIN_M, join_style="mitre")
        self.bound = bound
        inner = bound.buffer(-self.clearance, quad_segs=2, join_style="mitre") if self.clearance > 0 else bound
        blocked = unary_union([z.buffer(self.clearance, quad_segs=2) for z in self.no_fly]) if self.no_fly else None
        safe = inner.difference(blocked) if blocked is not None else inner
        if safe.is_empty:
            raise PlanError(f"no airspace is left once {self.clearance:g} m are kept from the authorised boundary and "
                            "the no-fly zones", "--authorized/--no-fly")
        self.safe = safe
        self._check = safe.buffer(CHECK_TOLERANCE_M)
        shapely.prepare(self._check)
        self._tree = shapely.STRtree([b.footprint for b in self.buildings]) if self.buildings else None
        self._graph = None

    # -- checks ---------------------------------------------------------------------------------------------
    def contains(self, east: float, north: float) -> bool:
        """Whether a point is in the safe region."""
        return bool(self._check.covers(Point(east, north)))

    def segments_ok(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Per segment a[i]→b[i] (arrays (n, 2) [m]): whether it lies in the safe region."""
        a, b = np.atleast_2d(a), np.atleast_2d(b)
        lines = shapely.linestrings(np.stack((a[:, :2], b[:, :2]), axis=1))
        return np.asarray(shapely.covers(self._check, lines), dtype=bool)

    def roof_height(self, a, b) -> float:
        """Highest roof under the segment a→b (within ``clearance`` of it) [m]; 0 without buildings."""
        if self._tree is None:
            return 0.0
        line = LineString([tuple(a[:2]), tuple(b[:2])]) if np.hypot(*(np.subtract(b[:2], a[:2]))) > 0 \
            else Point(tuple(a[:2]))
        idx = self._tree.query(line.buffer(self.clearance), predicate="intersects")
        return max((float(self.buildings[int(i)].height) for i in idx), default=0.0)

    def min_altitude(self, a, b) -> float:
        """Lowest altitude allowed on the segment a→b: ``alt_min`` or ``roof_clearance`` over its highest roof."""
        return max(self.alt_min, self.roof_height(a, b) + self.roof_clearance if self._tree is not None else 0.0)

    def violations(self, path: np.ndarray, original: bool = True) -> list[str]:
        """What is wrong with a flown path (n, 3) [m]: every segment and altitude checked.

        ``original``: against the unshrunk authorised polygon and the ungrown no-fly zones (the geofence the
        ground station enforces) instead of the safe region.
        """
        path = np.asarray(path, float)
        out = []
        for i in range(len(path) - 1):
            a, b = path[i], path[i + 1]
            seg = LineString([tuple(a[:2]), tuple(b[:2])]) if np.hypot(*(b[:2] - a[:2])) > 1e-9 else Point(a[:2])
            if original:
                if self.authorised is not None and not self.authorised.buffer(CHECK_TOLERANCE_M).covers(seg):
                    out.append(f"segment {i + 1} leaves the authorised area")
                for j, z in enumerate(self.no_fly, start=1):
                    if z.buffer(-CHECK_TOLERANCE_M).intersects(seg):
                        out.append(f"segment {i + 1} enters no-fly zone {j}")
            elif not self.segments_ok(a[None, :2], b[None, :2])[0]:
                out.append(f"segment {i + 1} leaves the safe region")
            lo = min(a[2], b[2])
            if max(a[2], b[2]) > self.alt_max + 1e-6 or lo < self.alt_min - 1e-6:
                out.append(f"segment {i + 1} at {lo:g}–{max(a[2], b[2]):g} m is outside the altitude limits "
                           f"{self.alt_min:g}–{self.alt_max:g} m")
            roof = self.roof_height(a, b) if self._tree is not None else 0.0
            if self._tree is not None and lo < roof + self.roof_clearance - 1e-6:
                out.append(f"segment {i + 1} at {lo:g} m is less than {self.roof_clearance:g} m above a roof of "
                           f"{roof:g} m")
        return out

    # -- legs and transits ----------------------------------------------------------------------------------
    def clip(self, a, b, min_length: float = 10.0) -> list[tuple[np.ndarray, np.ndarray]]:
        """The pieces of the straight leg a→b inside the safe region, each at least ``min_length`` long [m]."""
        piece = LineString([tuple(a[:2]), tuple(b[:2])]).intersection(self.safe)
        parts = [piece] if piece.geom_type == "LineString" else [
            g for g in getattr(piece, "geoms", []) if g.geom_type == "LineString"]
        d = np.subtract(b[:2], a[:2])
        out = []
        for g in parts:
            if g.is_empty or g.length < min_length:
                continue
            c = np.asarray(g.coords)[:, :2]
            c = c[np.argsort((c - np.asarray(a[:2])) @ d)]  # in the leg's direction
            out.append((c[0], c[-1]))
        out.sort(key=lambda p: float((p[0] - np.asarray(a[:2])) @ d))
        return out

    def _visibility(self):
        if self._graph is None:
            rings = []
            geoms = list(self.safe.geoms) if self.safe.geom_type == "MultiPolygon" else [self.safe]
            for g in geoms:
                rings.append(np.asarray(g.exterior.coords)[:-1])
                rings.extend(np.asarray(r.coords)[:-1] for r in g.interiors)
            nodes = np.vstack(rings) if rings else np.empty((0, 2))
            n = len(nodes)
            i, j = np.triu_indices(n, 1)
            ok = self.segments_ok(nodes[i], nodes[j]) if n > 1 else np.zeros(0, bool)
            self._graph = (nodes, i[ok], j[ok], np.hypot(*(nodes[i[ok]] - nodes[j[ok]]).T))
        return self._graph

    def route(self, a, b, limit: str = "--authorized/--no-fly") -> list[np.ndarray]:
        """Shortest path a → b inside the safe region: [a, (corners…), b] (2-D points [m]).

        Raises
        ------
        PlanError
            When a or b is outside the safe region, or no path joins them.
        """
        a, b = np.asarray(a[:2], float), np.asarray(b[:2], float)
        for name, p in (("start", a), ("end", b)):
            if not self.contains(*p):
                raise PlanError(f"the transit's {name} ({p[0]:.0f}, {p[1]:.0f}) m is outside the authorised airspace "
                                f"(or within {self.clearance:g} m of its edge or of a no-fly zone)", limit)
        if self.segments_ok(a[None], b[None])[0]:
            return [a, b]
        nodes, ei, ej, ew = self._visibility()
        n = len(nodes)
        pts = np.vstack((nodes, a, b))
        ia, ib = n, n + 1
        to_a = self.segments_ok(np.repeat(a[None], n, 0), nodes)
        to_b = self.segments_ok(np.repeat(b[None], n, 0), nodes)
        rows = np.concatenate((ei, np.full(int(to_a.sum()), ia), np.full(int(to_b.sum()), ib)))
        cols = np.concatenate((ej, np.flatnonzero(to_a), np.flatnonzero(to_b)))
        w = np.concatenate((ew, np.hypot(*(nodes[to_a] - a).T), np.hypot(*(nodes[to_b] - b).T)))
        g = csr_matrix((np.maximum(w, 1e-9), (rows, cols)), shape=(n + 2, n + 2))
        dist, pred = dijkstra(g, directed=False, indices=ia, return_predecessors=True)
        if not np.isfinite(dist[ib]):
            raise PlanError(f"no flight path inside the authorised airspace joins ({a[0]:.0f}, {a[1]:.0f}) and "
                            f"({b[0]:.0f}, {b[1]:.0f}) m: the no-fly zones or the authorised boundary cut them apart",
                            limit)
        path, k = [], ib
        while k != ia and k >= 0:
            path.append(pts[k])
            k = pred[k]
        path.append(a)
        return path[::-1]

    def route_length(self, a, b) -> float:
        """Length of :meth:`route` [m] (∞ when no route exists)."""
        try:
            p = np.asarray(self.route(a, b))
        except PlanError:
            return math.inf
        return float(np.sum(np.hypot(*np.diff(p, axis=0).T)))
