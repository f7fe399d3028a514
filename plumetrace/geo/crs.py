"""The local metric frame: the one place that converts between WGS 84 and metres (pyproj).

Surveys, towns and estimates work in a local azimuthal-equidistant frame centred on an origin, so that
east/north distances in metres are true within a few kilometres (error < 1e-6 relative at 5 km).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pyproj import CRS, Transformer


@dataclass(frozen=True)
class LocalFrame:
    """Azimuthal-equidistant projection centred on (``lat0``, ``lon0``) [degrees, WGS 84]."""

    lat0: float
    lon0: float
    _fwd: Transformer = field(init=False, repr=False, compare=False)
    _inv: Transformer = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if not (-90 <= self.lat0 <= 90 and -180 <= self.lon0 <= 180):
            raise ValueError(f"origin ({self.lat0}, {self.lon0}) is not a WGS 84 latitude/longitude")
        local = CRS.from_proj4(f"+proj=aeqd +lat_0={self.lat0} +lon_0={self.lon0} +datum=WGS84 +units=m")
        object.__setattr__(self, "_fwd", Transformer.from_crs("EPSG:4326", local, always_xy=True))
        object.__setattr__(self, "_inv", Transformer.from_crs(local, "EPSG:4326", always_xy=True))

    def to_local(self, lat: ArrayLike, lon: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(east, north) [m] of WGS 84 positions."""
        east, north = self._fwd.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
        return np.asarray(east, dtype=float), np.asarray(north, dtype=float)

    def to_wgs84(self, east: ArrayLike, north: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(lat, lon) [degrees] of local positions."""
        lon, lat = self._inv.transform(np.asarray(east, dtype=float), np.asarray(north, dtype=float))
        return np.asarray(lat, dtype=float), np.asarray(lon, dtype=float)

    @classmethod
    def around(cls, lat: ArrayLike, lon: ArrayLike) -> LocalFrame:
        """A frame centred on the middle of the given positions (also for positions across the antimeridian)."""
        lat = np.asarray(lat, dtype=float)
        lon = np.asarray(lon, dtype=float)
        if lon.size and np.nanmax(lon) - np.nanmin(lon) > 180.0:  # across ±180°: average on 0…360
            mid = float(np.nanmean(np.mod(lon, 360.0)))
            return cls(float(np.nanmean(lat)), mid - 360.0 if mid > 180.0 else mid)
        return cls(float(np.nanmean(lat)), float(np.nanmean(lon)))


def geodesic_distance_m(lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike) -> NDArray[np.float64]:
    """Distance on the WGS 84 ellipsoid between points [m] (pyproj ``Geod.inv``, Karney 2013)."""
    from pyproj import Geod

    _, _, dist = Geod(ellps="WGS84").inv(np.asarray(lon1, float), np.asarray(lat1, float),
                                         np.asarray(lon2, float), np.asarray(lat2, float))
    return np.asarray(dist, dtype=np.float64)
