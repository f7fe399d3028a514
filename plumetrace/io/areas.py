"""Area polygons for planning: the survey area, the authorised airspace, the no-fly zones (GeoJSON, WGS 84).

A file may hold a FeatureCollection, one Feature or a bare (Multi)Polygon geometry; every polygon of it is read
(a MultiPolygon gives its parts). Polygons come back in a local metric frame (shapely, [m]).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import Polygon, shape

from plumetrace.exceptions import InputError
from plumetrace.geo.crs import LocalFrame
from plumetrace.io.jsonsafe import read_json_file


def _geometries(data, path: Path):
    if not isinstance(data, dict):
        raise InputError("expected a GeoJSON object (FeatureCollection, Feature or Polygon)", path)
    kind = data.get("type")
    if kind == "FeatureCollection":
        feats = data.get("features")
        if not isinstance(feats, list) or not feats:
            raise InputError("has no features", path, column="features")
        for k, f in enumerate(feats, start=1):
            if not isinstance(f, dict) or not isinstance(f.get("geometry"), dict):
                raise InputError("is not a GeoJSON feature with a geometry", path, k, "geometry")
            yield k, f["geometry"]
    elif kind == "Feature":
        if not isinstance(data.get("geometry"), dict):
            raise InputError("the feature has no geometry", path, 1, "geometry")
        yield 1, data["geometry"]
    else:
        yield 1, data


def wgs84_polygon(geom, path: Path, record: int):
    """A GeoJSON (Multi)Polygon geometry as shapely, checked: readable, in WGS 84 (InputError naming the record)."""
    if not isinstance(geom, dict) or geom.get("type") not in ("Polygon", "MultiPolygon"):
        kind = geom.get("type") if isinstance(geom, dict) else type(geom).__name__
        raise InputError(f"geometry must be a Polygon or MultiPolygon, not {kind!r}", path, record, "geometry")
    try:
        g = shape(geom)
    except Exception as exc:  # noqa: BLE001 - shapely raises several types for bad coordinates
        raise InputError(f"geometry cannot be read ({exc})", path, record, "geometry") from None
    lon0, lat0, lon1, lat1 = g.bounds
    if not (-180 <= lon0 <= lon1 <= 180 and -90 <= lat0 <= lat1 <= 90):
        raise InputError("coordinates are not WGS 84 longitude/latitude", path, record, "geometry")
    return g


def read_polygons(path: str | Path, frame: LocalFrame | None = None) -> tuple[list[Polygon], LocalFrame]:
    """Read every polygon of a GeoJSON file into ``frame`` (by default one centred on them).

    Raises
    ------
    InputError
        Naming the file and the feature (1-based) for a file that is not JSON, a geometry that is not a
        (Multi)Polygon, coordinates outside WGS 84, or a polygon that is invalid or has no area.
    """
    path = Path(path)
    data = read_json_file(path, "GeoJSON")
    parsed = []
    for k, geom in _geometries(data, path):
        g = wgs84_polygon(geom, path, k)
        parts = list(g.geoms) if g.geom_type == "MultiPolygon" else [g]
        parsed.extend((k, p) for p in parts)
    if frame is None:
        frame = LocalFrame.around([p.centroid.y for _, p in parsed], [p.centroid.x for _, p in parsed])

    def to_local(coords):
        east, north = frame.to_local(coords[:, 1], coords[:, 0])
        return np.column_stack((east, north))

    out = []
    for k, p in parsed:
        local = shapely.transform(p, to_local)
        if not local.is_valid or local.area <= 0:
            raise InputError(f"the polygon is not valid ({shapely.is_valid_reason(local)}) or has no area", path, k,
                             "geometry")
        out.append(local)
    return out, frame


def polygon_wgs84(poly: Polygon, frame: LocalFrame) -> list[tuple[float, float]]:
    """The exterior ring of a local polygon as (lat, lon) pairs, not repeating the first vertex."""
    x, y = np.asarray(poly.exterior.coords).T
    lat, lon = frame.to_wgs84(x, y)
    ring = list(zip(lat.tolist(), lon.tolist(), strict=True))
    return ring[:-1] if len(ring) > 1 and ring[0] == ring[-1] else ring
