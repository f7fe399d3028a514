"""Buildings GeoJSON (contract 2): round trip and clear errors."""

import json

import numpy as np
import pytest
from shapely.geometry import box

from plumetrace.exceptions import InputError
from plumetrace.geo.buildings import Building
from plumetrace.geo.crs import LocalFrame
from plumetrace.io.buildings import read_buildings, write_buildings


def test_round_trip_keeps_ids_heights_and_shapes(tmp_path):
    frame = LocalFrame(48.85, 2.35)
    bs = [Building("b1", box(0, 0, 10, 12), 7.5, "house"), Building("17", box(30, -5, 80, 20), 12.0, "industrial")]
    path = tmp_path / "b.geojson"
    write_buildings(path, bs, frame)
    back, _ = read_buildings(path, frame)
    assert [b.id for b in back] == ["b1", "17"]
    assert [b.height for b in back] == [7.5, 12.0]
    for a, b in zip(bs, back, strict=True):
        assert b.footprint.symmetric_difference(a.footprint).area < 0.01 * a.footprint.area


def _fc(features):
    return {"type": "FeatureCollection", "features": features}


def _feat(fid=1, coords=((5.0, 52.0), (5.0001, 52.0), (5.0001, 52.0001), (5.0, 52.0))):
    return {"type": "Feature", "properties": {"id": fid}, "geometry": {"type": "Polygon", "coordinates": [coords]}}


@pytest.mark.parametrize(
    ("data", "record", "words"),
    [
        ({"type": "Feature"}, None, "FeatureCollection"),
        (_fc([]), None, "no features"),
        (_fc([_feat(None)]), 1, "property 'id'"),
        (_fc([_feat(1), _feat(1)]), 2, "duplicate building id"),
        (_fc([{**_feat(2), "geometry": {"type": "Point", "coordinates": [5, 52]}}]), 1, "Polygon"),
        (_fc([_feat(3, ((500.0, 52.0), (501, 52), (501, 53), (500, 52)))]), 1, "WGS 84"),
    ],
)
def test_bad_files(tmp_path, data, record, words):
    path = tmp_path / "bad.geojson"
    path.write_text(json.dumps(data))
    with pytest.raises(InputError) as info:
        read_buildings(path)
    assert words in str(info.value) and "bad.geojson" in str(info.value)
    assert info.value.row == record


def test_not_json(tmp_path):
    path = tmp_path / "x.geojson"
    path.write_text("{nope")
    with pytest.raises(InputError, match="not valid JSON"):
        read_buildings(path)


def test_local_frame_round_trip():
    f = LocalFrame(-33.9, 151.2)
    e, n = f.to_local([-33.91, -33.89], [151.19, 151.21])
    lat, lon = f.to_wgs84(e, n)
    np.testing.assert_allclose(lat, [-33.91, -33.89], atol=1e-9)
    np.testing.assert_allclose(lon, [151.19, 151.21], atol=1e-9)
    assert abs(n[0] + 1110.0) < 5  # 0.01° of latitude ≈ 1.11 km
    with pytest.raises(ValueError):
        LocalFrame(91.0, 0.0)
