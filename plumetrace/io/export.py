"""Exports in the formats the field uses: GeoJSON, KML, GeoParquet and an offline HTML map.

GeoJSON opens in QGIS, KML (written with simplekml) in Google Earth, GeoParquet holds the samples, and the
HTML map uses Leaflet from xstatic-leaflet without tiles (it works offline).

Sites are drawn with their 90 % credible region (a circle of ``credible90_radius_m``, the fused region's
equivalent radius), flight tracks coloured by the strongest channel's enhancement over its 10th percentile, hits
as points. Every string from users' files (building ids, channel and class names, file names) is escaped for its
medium (:mod:`plumetrace.io.textsafe`). GeoParquet follows the GeoParquet 1.1 specification: WKB point geometry
in a ``geometry`` column and the ``geo`` file metadata (version, primary column, encoding, geometry types, CRS
OGC:CRS84 by default).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from plumetrace.io.jsonsafe import json_safe
from plumetrace.io.textsafe import html_text, kml_text, script_json

CIRCLE_VERTICES = 48


def circle_ring(lat: float, lon: float, radius_m: float, n: int = CIRCLE_VERTICES) -> list[list[float]]:
    """A geodesic-enough circle as a closed GeoJSON ring [[lon, lat], …] (local azimuthal projection)."""
    from plumetrace.geo.crs import LocalFrame

    frame = LocalFrame(lat, lon)
    a = np.linspace(0.0, 2 * np.pi, n + 1)
    la, lo = frame.to_wgs84(radius_m * np.sin(a), radius_m * np.cos(a))
    ring = np.column_stack((lo, la)).round(7).tolist()
    ring[-1] = ring[0]
    return ring


def site_features(sites: list[dict]) -> list[dict]:
    """GeoJSON features of sites: a point and its 90 % credible circle each."""
    feats = []
    for rank, s in enumerate(sites, start=1):
        props = {k: v for k, v in s.items() if k not in ("history",)}
        props["rank"] = rank
        props["n_history"] = len(s.get("history") or [])
        feats.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [s["lon"], s["lat"]]},
                      "properties": {**props, "kind": "site"}})
        feats.append({"type": "Feature",
                      "geometry": {"type": "Polygon", "coordinates": [circle_ring(s["lat"], s["lon"],
                                                                               s["credible90_radius_m"])]},
                      "properties": {"kind": "credible90", "site_id": s.get("id"), "rank": rank}})
    return feats


def hit_features(hits: list[dict]) -> list[dict]:
    """GeoJSON features of plume hits (events)."""
    return [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [h["lon"], h["lat"]]},
             "properties": {"kind": "hit", "survey_id": h.get("survey_id"), "t_start": h["t_start"],
                            "channels": h["channels"], "peak_sigma": h["peak_sigma"], "class": h["source_class"],
                            "class_probability": h["class_probability"]}} for h in hits]


def write_sites_geojson(path: str | Path, sites: list[dict], hits: list[dict] | None = None) -> Path:
    """Sites (points + credible circles) and hits as one GeoJSON FeatureCollection (RFC 7946, WGS 84)."""
    path = Path(path)
    fc = {"type": "FeatureCollection", "features": site_features(sites) + hit_features(hits or [])}
    path.write_text(json.dumps(json_safe(fc)), encoding="utf-8")
    return path


def _track_segments(survey_csv: Path, n_colours: int = 8, stride: int = 10):
    """Track pieces of a survey file (see :func:`track_segments`)."""
    from plumetrace.io.survey import read_survey

    s = read_survey(survey_csv)
    yield from track_segments(s.data, s.channels, n_colours, stride)


def track_segments(data: pd.DataFrame, channels, n_colours: int = 8, stride: int = 10):
    """Track pieces (colour class 0…n−1, [(lon, lat), …]) from the strongest channel's relative enhancement.

    ``data`` has ``lat``, ``lon`` and the ``channels``; the enhancement of a channel is its reading over its 10th
    percentile, relative to its 99th, clipped to [0, 1].
    """
    d = data.iloc[::stride]
    score = np.zeros(len(d))
    for c in channels:
        v = d[c].to_numpy(float)
        base = np.nanpercentile(v, 10)
        spread = np.nanpercentile(v, 99) - base
        if spread > 0:
            score = np.maximum(score, np.clip(np.nan_to_num((v - base) / spread), 0, 1))
    cls = np.minimum((score * n_colours).astype(int), n_colours - 1)
    lat, lon = d["lat"].to_numpy(), d["lon"].to_numpy()
    cut = np.flatnonzero(np.diff(cls) != 0) + 1
    bounds = np.concatenate([[0], cut, [len(d)]])
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        b2 = min(b + 1, len(d))
        if b2 - a >= 2:
            yield int(cls[a]), list(zip(lon[a:b2].round(7), lat[a:b2].round(7), strict=True))


_RAMP = ["ff00a000", "ff00c0a0", "ff00e0e0", "ff00c0ff", "ff0090ff", "ff0060ff", "ff0030f0", "ff0000c0"]  # KML aabbggrr


def write_sites_kml(path: str | Path, sites: list[dict], surveys: list | None = None,
                    hits: list[dict] | None = None) -> Path:
    """A KML document (simplekml) with folders Sites, Credible regions, Flight tracks and Hits."""
    import simplekml

    kml = simplekml.Kml(name="plumetrace sites")
    f_sites = kml.newfolder(name="Sites")
    f_regions = kml.newfolder(name="Credible regions (90 %)")
    for rank, s in enumerate(sites, start=1):
        p = f_sites.newpoint(name=kml_text(f"#{rank} {s.get('class', 'unknown')}"), coords=[(s["lon"], s["lat"])])
        p.description = kml_text(
            f"status {s['status']}, confidence {s['confidence']:.2f}, log Bayes {s['log_bayes']:.1f}; channels "
            f"{', '.join(s['channels'])}; seen on {s['n_detected']} of {s['n_covering']} surveys; building "
            f"{s.get('building_id') or '–'}")
        r90 = s["credible90_radius_m"]
        poly = f_regions.newpolygon(name=f"#{rank} r90 {r90:.0f} m",
                                    outerboundaryis=[tuple(c) for c in circle_ring(s["lat"], s["lon"], r90)])
        poly.style.polystyle.color = "400000ff"
        poly.style.linestyle.color = "ff0000ff"
    if surveys:
        f_tracks = kml.newfolder(name="Flight tracks (colour: enhancement)")
        for sv in surveys:
            sub = f_tracks.newfolder(name=kml_text(Path(sv).parent.name or Path(sv).stem))
            for cls, coords in _track_segments(Path(sv)):
                ls = sub.newlinestring(coords=coords)
                ls.style.linestyle.color = _RAMP[cls]
                ls.style.linestyle.width = 2 + cls // 2
    if hits:
        f_hits = kml.newfolder(name="Hits")
        for h in hits:
            pt = f_hits.newpoint(name=kml_text(h["source_class"]), coords=[(h["lon"], h["lat"])])
            pt.description = kml_text(f"{', '.join(h['channels'])}; peak {h['peak_sigma']:.1f} σ")
    path = Path(path)
    kml.save(str(path))
    return path


def write_geoparquet_samples(path: str | Path, surveys: list) -> Path:
    """All samples of the surveys as GeoParquet 1.1 (WKB points, CRS84), with a ``survey`` column."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    import shapely

    from plumetrace.io.survey import read_survey

    frames = []
    for sv in surveys:
        s = read_survey(sv)
        d = s.data.drop(columns=["east", "north"], errors="ignore").copy()
        d.insert(0, "survey", str(sv))
        frames.append(d)
    df = pd.concat(frames, ignore_index=True)
    for c in df.columns:
        if df[c].dtype == object:
            df[c] = df[c].astype(str)
    geom = shapely.to_wkb(shapely.points(df["lon"].to_numpy(), df["lat"].to_numpy()))
    table = pa.Table.from_pandas(df, preserve_index=False).append_column("geometry", pa.array(geom, pa.binary()))
    bbox = [float(df["lon"].min()), float(df["lat"].min()), float(df["lon"].max()), float(df["lat"].max())]
    geo = {"version": "1.1.0", "primary_column": "geometry",
           "columns": {"geometry": {"encoding": "WKB", "geometry_types": ["Point"], "bbox": bbox}}}
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), b"geo": json.dumps(geo).encode()})
    path = Path(path)
    pq.write_table(table, path, compression="zstd")
    return path


def write_html_map(folder: str | Path, sites: list[dict], surveys: list, buildings: str | None = None,
                   truth: dict | None = None, plans: list | None = None) -> Path:
    """``index.html`` with an offline Leaflet map (buildings, tracks, hits, sites, truth, plans) and a table.

    ``plans``: planned sorties, each a list of [lat, lon] of its flown path (a follow-up plan's legs).
    """
    import xstatic.pkg.leaflet as xleaflet

    folder = Path(folder)
    assets = folder / "leaflet"
    if assets.exists():
        shutil.rmtree(assets)
    shutil.copytree(xleaflet.BASE_DIR, assets, ignore=shutil.ignore_patterns("*.map", "*esm*"))
    layers = {"sites": {"type": "FeatureCollection", "features": site_features(sites)}}
    if buildings:
        layers["buildings"] = json.loads(Path(buildings).read_text(encoding="utf-8"))
    tracks = []
    for sv in surveys:
        for cls, coords in _track_segments(Path(sv), stride=20):
            tracks.append({"type": "Feature", "geometry": {"type": "LineString", "coordinates": coords},
                           "properties": {"level": cls, "survey": Path(sv).parent.name}})
    layers["tracks"] = {"type": "FeatureCollection", "features": tracks}
    if truth:
        layers["truth"] = {"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [s["lon"], s["lat"]]},
             "properties": {"id": s["id"], "class": s["class"], "target": s.get("target", False)}}
            for s in truth.get("sources", [])]}
    if plans:
        layers["plans"] = {"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[lo, la] for la, lo in path]},
             "properties": {"sortie": k}} for k, path in enumerate(plans, start=1)]}
    rows = "\n".join(
        f"<tr><td>{k}</td><td>{html_text(s['status'])}</td><td>{s['confidence']:.2f}</td>"
        f"<td>{html_text(s['class'])}</td><td>{html_text(', '.join(s['channels']))}</td>"
        f"<td>{s['n_detected']}/{s['n_covering']}</td><td>{html_text(s.get('building_id') or '–')}</td>"
        f"<td>{s['credible90_radius_m']:.0f}</td>"
        + (f"<td>{s['lab_distance_m']:.1f}</td>" if "lab_distance_m" in s else "") + "</tr>"
        for k, s in enumerate(sites, start=1))
    extra = "<th>to lab (m)</th>" if sites and "lab_distance_m" in sites[0] else ""
    html = (_HTML.replace("__DATA__", script_json(json_safe(layers))).replace("__ROWS__", rows)
            .replace("__EXTRA__", extra))
    out = folder / "index.html"
    out.write_text(html, encoding="utf-8")
    return out


_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>plumetrace sites</title><link rel="icon" href="data:,">
<link rel="stylesheet" href="leaflet/leaflet.css">
<style>body{font:14px system-ui,sans-serif;margin:0}#map{height:70vh;background:#f4f1ea}
table{border-collapse:collapse;margin:1em}td,th{border:1px solid #ccc;padding:3px 8px}
h1{font-size:18px;margin:.5em 1em}.legend{background:#fff;padding:6px;line-height:1.4}</style></head>
<body><h1>plumetrace — sites (offline map: buildings, flight tracks, hits, sites with 90 % regions)</h1>
<div id="map"></div>
<table id="sites"><thead><tr><th>#</th><th>status</th><th>confidence</th><th>class</th><th>channels</th>
<th>seen</th><th>building</th><th>r90 (m)</th>__EXTRA__</tr></thead><tbody>
__ROWS__
</tbody></table>
<script src="leaflet/leaflet.js"></script>
<script>
const data = __DATA__;
// popups and tooltips are built from text nodes: strings from users' files never become markup
function lines(texts) {
  const div = document.createElement('div');
  texts.forEach((t, i) => { if (i) div.appendChild(document.createElement('br'));
                            div.appendChild(document.createTextNode(String(t))); });
  return div;
}
const map = L.map('map');
const ramp = ['#00a000','#a0c000','#e0e000','#ffc000','#ff9000','#ff6000','#f03000','#c00000'];
const groups = {};
if (data.buildings) groups['Buildings'] = L.geoJSON(data.buildings, {style: {color: '#888', weight: 1,
  fillColor: '#ccc', fillOpacity: 0.6}}).addTo(map);
groups['Flight tracks'] = L.geoJSON(data.tracks, {style: f => ({color: ramp[f.properties.level],
  weight: 1 + f.properties.level / 2, opacity: 0.8})}).addTo(map);
groups['Sites'] = L.geoJSON(data.sites, {
  style: {color: '#d00', weight: 2, fillOpacity: 0.15},
  pointToLayer: (f, ll) => L.circleMarker(ll, {radius: 7, color: '#d00', fillColor: '#fff', fillOpacity: 1}),
  onEachFeature: (f, layer) => { if (f.properties.kind === 'site') layer.bindPopup(lines([
    '#' + f.properties.rank + ' ' + f.properties.class, 'confidence ' + f.properties.confidence.toFixed(2),
    f.properties.channels.join(', '), 'building ' + (f.properties.building_id || '–')])); }}).addTo(map);
if (data.truth) groups['Truth (simulation)'] = L.geoJSON(data.truth, {pointToLayer: (f, ll) =>
  L.circleMarker(ll, {radius: 4, color: f.properties.target ? '#000' : '#06c', fillOpacity: 1})
   .bindTooltip(lines([f.properties.id + ' (' + f.properties.class + ')']))});
if (data.plans) groups['Planned follow-up'] = L.geoJSON(data.plans, {style: {color: '#6a0dad', weight: 2,
  dashArray: '6 4'}}).addTo(map);
L.control.layers(null, groups).addTo(map);
const all = L.featureGroup(Object.values(groups));
map.fitBounds(all.getBounds().pad(0.05));
window.plumetraceReady = true;
</script></body></html>
"""
