"""Building footprints as GeoJSON (contract 2, docs/formats.md).

A FeatureCollection of Polygon/MultiPolygon features in WGS 84, each with a string or integer property
``id``. plumetrace also reads an optional numeric ``height_m`` (roof height) and ``use`` and writes them.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import mapping

from plumetrace.exceptions import InputError
from plumetrace.geo.buildings import Building
from plumetrace.geo.crs import LocalFrame
from plumetrace.io.areas import wgs84_polygon
from plumetrace.io.jsonsafe import read_json_file

DEFAULT_HEIGHT_M = 7.0


def read_buildings(path: str | Path, frame: LocalFrame | None = None, default_height: float = DEFAULT_HEIGHT_M):
    """Read a buildings GeoJSON into :class:`~plumetrace.sim.town.Building` objects in a local frame.

    Parameters
    ----------
    path : str or pathlib.Path
        The GeoJSON file.
    frame : LocalFrame, optional
        Target frame; by default one centred on the footprints.
    default_height : float
        Roof height [m] for features without ``height_m``.

    Returns
    -------
    buildings : list of Building
    frame : LocalFrame

    Raises
    ------
    InputError
        Naming the file and the feature (record = feature index, 1-based) for a file that is not JSON, not a
        FeatureCollection, a feature without an ``id`` or with a duplicate one, a geometry that is not a
        (Multi)Polygon or is invalid, or coordinates outside WGS 84.
    """
    path = Path(path)
    data = read_json_file(path, "buildings GeoJSON")
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise InputError("expected a GeoJSON FeatureCollection", path, column="type")
    features = data.get("features")
    if not isinstance(features, list) or not features:
        raise InputError("has no features", path, column="features")
    parsed = []
    seen = set()
    for k, feat in enumerate(features, start=1):
        if not isinstance(feat, dict):
            raise InputError("is not a GeoJSON feature", path, k)
        props = feat.get("properties")
        if props is None:
            props = {}
        if not isinstance(props, dict):
            raise InputError(f"'properties' must be an object, not {type(props).__name__}", path, k, "properties")
        fid = props.get("id", feat.get("id"))
        if isinstance(fid, bool) or not isinstance(fid, (str, int)) or str(fid) == "":
            raise InputError("needs a string or integer property 'id'", path, k, "properties.id")
        fid = str(fid)
        if fid in seen:
            raise InputError(f"duplicate building id {fid!r}", path, k, "properties.id")
        seen.add(fid)
        poly = wgs84_polygon(feat.get("geometry"), path, k)
        height = props.get("height_m", default_height)
        if isinstance(height, bool) or not isinstance(height, (int, float)) or not math.isfinite(height) or height < 0:
            raise InputError(f"height_m {height!r} is not a height in metres", path, k, "properties.height_m")
        parsed.append((fid, poly, float(height), str(props.get("use", "house"))))
    if frame is None:
        lats = [p.centroid.y for _, p, _, _ in parsed]
        lons = [p.centroid.x for _, p, _, _ in parsed]
        frame = LocalFrame.around(lats, lons)

    def to_local(coords):
        east, north = frame.to_local(coords[:, 1], coords[:, 0])
        return np.column_stack((east, north))

    buildings = []
    for k, (fid, poly, height, use) in enumerate(parsed, start=1):
        local = shapely.transform(poly, to_local)
        if not local.is_valid or local.area <= 0:
            raise InputError("footprint is not a valid polygon with an area", path, k, "geometry")
        buildings.append(Building(fid, local, height, use))
    return buildings, frame


def buildings_geojson(buildings, frame: LocalFrame) -> dict:
    """FeatureCollection (WGS 84) of buildings with ``id``, ``height_m`` and ``use`` properties."""

    def to_wgs(coords):
        lat, lon = frame.to_wgs84(coords[:, 0], coords[:, 1])
        return np.column_stack((lon, lat))

    features = []
    for b in buildings:
        geom = shapely.transform(b.footprint, to_wgs)
        features.append({
            "type": "Feature",
            "properties": {"id": b.id, "height_m": b.height, "use": b.use},
            "geometry": _round_coords(mapping(geom)),
        })
    return {"type": "FeatureCollection", "features": features}


def _round_coords(geom: dict, digits: int = 7) -> dict:
    def rnd(c):
        if isinstance(c, (list, tuple)) and c and isinstance(c[0], (int, float)):
            return [round(float(v), digits) for v in c]
        return [rnd(v) for v in c]

    return {"type": geom["type"], "coordinates": rnd(geom["coordinates"])}


def write_buildings(path: str | Path, buildings, frame: LocalFrame) -> None:
    """Write buildings as contract-2 GeoJSON."""
    Path(path).write_text(json.dumps(buildings_geojson(buildings, frame)), encoding="utf-8")
