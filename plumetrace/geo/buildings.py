"""Buildings and towns in a local metric frame: the geometry that sources are attributed to."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from shapely.geometry import LineString, Point, Polygon
from shapely.strtree import STRtree

from plumetrace.geo.crs import LocalFrame


@dataclass
class Building:
    """One building footprint in the local frame [m] with its roof height [m] and use."""

    id: str
    footprint: Polygon
    height: float
    use: str = "house"

    @property
    def centroid(self) -> tuple[float, float]:
        """Footprint centroid (east, north) [m]."""
        c = self.footprint.centroid
        return float(c.x), float(c.y)


@dataclass
class Town:
    """Buildings and street centre lines in a local frame."""

    buildings: list[Building]
    frame: LocalFrame
    streets: list[LineString] = field(default_factory=list)
    _index: dict = field(default_factory=dict, init=False, repr=False)
    _tree: STRtree | None = field(default=None, init=False, repr=False)

    def __post_init__(self):
        self._index = {b.id: b for b in self.buildings}
        if len(self._index) != len(self.buildings):
            raise ValueError("building ids must be unique")
        self._tree = STRtree([b.footprint for b in self.buildings]) if self.buildings else None

    def building(self, building_id: str) -> Building:
        """The building with this id (KeyError naming it if absent)."""
        try:
            return self._index[str(building_id)]
        except KeyError:
            raise KeyError(f"no building with id {building_id!r} in the town") from None

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(min east, min north, max east, max north) of all footprints and streets [m]."""
        geoms = [b.footprint for b in self.buildings] + list(self.streets)
        if not geoms:
            return (0.0, 0.0, 0.0, 0.0)
        b = np.array([g.bounds for g in geoms])
        return float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max())

    @property
    def area_km2(self) -> float:
        """Area of the bounding box [km²]."""
        x0, y0, x1, y1 = self.bounds
        return (x1 - x0) * (y1 - y0) / 1e6

    def contains(self, east: float, north: float, margin: float = 0.0) -> bool:
        """Whether a point lies inside the town's bounding box grown by ``margin`` [m]."""
        x0, y0, x1, y1 = self.bounds
        return x0 - margin <= east <= x1 + margin and y0 - margin <= north <= y1 + margin

    def building_at(self, east: float, north: float) -> Building | None:
        """The building whose footprint contains the point, if any."""
        if self._tree is None:
            return None
        pt = Point(east, north)
        for i in self._tree.query(pt, predicate="intersects"):
            return self.buildings[int(i)]
        return None

    def by_use(self, use: str) -> list[Building]:
        """Buildings of one use ("house", "industrial", "commercial")."""
        return [b for b in self.buildings if b.use == use]
