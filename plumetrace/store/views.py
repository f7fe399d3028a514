"""What the web map and the site panel show, built from the store (JSON-ready dicts and PNG bytes).

- :func:`map_layers`: GeoJSON (RFC 7946, WGS 84) of sites with their 90 % regions, hits, buildings, flight tracks
  coloured by enhancement (the classes of :func:`plumetrace.io.export.track_segments`), the single-survey
  estimates' 90 % regions, and planned sorties.
- :func:`site_evidence`: one site's evidence — the surveys that covered it (seen or not, with their log Bayes
  factor), the estimates that saw it (rate with its 90 % interval, class, building), and the plume hits it
  explains with the concentration time series around each (reading and background, from the kept samples),
  their enhancement ratios and class probabilities (those of the site's class first, then by strength; the
  panel's class probabilities are the first hit's). A hit belongs to the site when it lies downwind of it
  (within :data:`DOWNWIND_HALF_ANGLE_DEG` of the wind's direction at the hit, up to :data:`DOWNWIND_MAX_M`) and
  shares a channel with it.
- :func:`posterior_png`: an estimate's posterior as a transparent heat image with its WGS 84 bounds, for an
  ``L.imageOverlay``.
"""

from __future__ import annotations

import io
import math

import numpy as np

from plumetrace.io.export import hit_features, site_features, track_segments

DOWNWIND_HALF_ANGLE_DEG = 40.0
DOWNWIND_MAX_M = 1500.0
#: Seconds of readings shown either side of a hit.
#: At most this many points per hit's time series (min-max decimation keeps every peak).
SERIES_POINTS = 400
WINDOW_S = 60.0
MAX_HITS_SHOWN = 8


def _fc(features: list) -> dict:
    return {"type": "FeatureCollection", "features": features}


def _frame(store):
    from plumetrace.geo.crs import LocalFrame

    origin = store.campaign_origin()
    return None if origin is None else LocalFrame(*origin)


def map_layers(store, sites: list[dict]) -> dict:
    """Every layer of the analyst map (see the module docstring) and the bounds that fit the sites."""
    layers = {"sites": _fc(site_features(sites)), "hits": _fc(hit_features(store.hits())),
              "buildings": store.buildings() or _fc([])}
    tracks = []
    for sv in store.surveys():
        d = store.samples(sv["id"])
        if d is None:
            continue
        stride = max(1, len(d) // 600)
        for level, coords in track_segments(d, sv["channels"], stride=stride):
            tracks.append({"type": "Feature", "geometry": {"type": "LineString", "coordinates": coords},
                           "properties": {"level": level, "survey_id": sv["id"]}})
    layers["tracks"] = _fc(tracks)
    layers["regions"] = _fc([{"type": "Feature", "geometry": e["credible90"],
                              "properties": {"kind": "estimate90", "estimate_id": e["id"],
                                             "survey_id": e["survey_id"], "class": e["source_class"]}}
                             for e in store.estimates() if e.get("credible90")])
    layers["plans"] = _fc([{"type": "Feature",
                            "geometry": {"type": "LineString", "coordinates": [[lo, la] for la, lo in path]},
                            "properties": {"plan_id": p["id"], "name": p["name"], "sortie": k}}
                           for p in store.plans() for k, path in enumerate(p["paths"], start=1)])
    pts = [(s["lat"], s["lon"]) for s in sites] or [
        (c[1], c[0]) for f in tracks for c in f["geometry"]["coordinates"][::10]]
    bounds = None
    if pts:
        la, lo = np.array(pts).T
        bounds = [[float(la.min()), float(lo.min())], [float(la.max()), float(lo.max())]]
    return {"layers": layers, "bounds": bounds,
            "estimates": [{"id": e["id"], "survey_id": e["survey_id"], "lat": e["lat"], "lon": e["lon"]}
                          for e in store.estimates()]}


def _downwind(site: dict, hit: dict, frame) -> float | None:
    """Distance of a hit downwind of the site [m], or None when it is not downwind."""
    wind = (hit.get("details") or {}).get("wind_dir_deg")
    se, sn = frame.to_local(site["lat"], site["lon"])
    he, hn = frame.to_local(hit["lat"], hit["lon"])
    de, dn = float(he - se), float(hn - sn)
    dist = math.hypot(de, dn)
    if dist > DOWNWIND_MAX_M:
        return None
    if wind is None or dist < 1.0:
        return dist
    to = math.radians((float(wind) + 180.0) % 360.0)  # the direction the wind blows to
    cos = (de * math.sin(to) + dn * math.cos(to)) / dist
    return dist if cos >= math.cos(math.radians(DOWNWIND_HALF_ANGLE_DEG)) else None


def _series(samples, hit: dict, channels: list[str]) -> dict | None:
    """Readings and background of the hit's channels within :data:`WINDOW_S` of it."""
    if samples is None:
        return None
    t = samples["time"].to_numpy()
    sel = (t >= hit["t_start"] - WINDOW_S) & (t <= hit["t_end"] + WINDOW_S)
    if not sel.any():
        return None
    idx = np.flatnonzero(sel)
    present = [c for c in channels if c in samples.columns]
    if len(idx) > SERIES_POINTS and present:
        idx = envelope_indices(samples[present[0]].to_numpy()[idx], SERIES_POINTS // 2, idx)
    out = {"time": np.round(t[idx], 2).tolist(), "t_start": hit["t_start"], "t_end": hit["t_end"], "channels": {}}
    for c in present:
        bg = samples.get(f"background:{c}")
        out["channels"][c] = {"value": [None if not np.isfinite(v) else round(float(v), 4)
                                        for v in samples[c].to_numpy()[idx]],
                              "background": None if bg is None else
                              [None if not np.isfinite(v) else round(float(v), 4) for v in bg.to_numpy()[idx]]}
    return out


def envelope_indices(values: np.ndarray, buckets: int, index: np.ndarray | None = None) -> np.ndarray:
    """The indices of each of ``buckets`` equal runs' smallest and largest value, in order (min-max decimation).

    A plot of the kept points has the same envelope as a plot of all of them — every peak stays at its height —
    with at most ``2 * buckets`` points. ``index`` maps positions in ``values`` to the indices returned.
    """
    n = len(values)
    index = np.arange(n) if index is None else np.asarray(index)
    if n <= 2 * buckets:
        return index
    v = np.where(np.isfinite(values), values, np.nan)
    keep = []
    for run in np.array_split(np.arange(n), buckets):
        seg = v[run]
        if np.isnan(seg).all():
            keep.append(run[0])
            continue
        keep.extend((run[int(np.nanargmin(seg))], run[int(np.nanargmax(seg))]))
    return index[np.unique(keep)]


def site_evidence(store, site: dict) -> dict:
    """The evidence panel of one site (see the module docstring)."""
    frame = _frame(store)
    surveys = {s["id"]: s for s in store.surveys()}
    history = [{**h, "start_time": surveys.get(int(h["survey"]), {}).get("start_time"),
                "path": surveys.get(int(h["survey"]), {}).get("path")} for h in (site.get("history") or [])]
    seen = {int(h["survey"]) for h in history if h.get("detected")}
    reach = max(50.0, 2.0 * float(site["credible90_radius_m"]))
    se, sn = frame.to_local(site["lat"], site["lon"]) if frame is not None else (0.0, 0.0)
    estimates = []
    for e in store.estimates():
        if frame is None or e["survey_id"] not in seen:
            continue
        if math.hypot(float(e["east"] - se), float(e["north"] - sn)) <= reach:
            estimates.append({"id": e["id"], "survey_id": e["survey_id"], "lat": e["lat"], "lon": e["lon"],
                              "rate_g_s": e["rate_g_s"], "rate_ci90_g_s": [e["rate_ci90_low_g_s"],
                                                                          e["rate_ci90_high_g_s"]],
                              "species": e["species"], "class": e["source_class"],
                              "class_probability": e["class_probability"], "building_id": e["building_id"],
                              "building_probability": e["building_probability"],
                              "credible90_radius_m": e["credible90_radius_m"], "log_bayes": e["log_bayes"]})
    hits = []
    channels = set(site.get("channels") or [])
    for h in store.hits():
        if frame is None or h["survey_id"] not in seen or not channels & set(h["channels"]):
            continue
        d = _downwind(site, h, frame)
        if d is not None:
            hits.append((h, d))
    hits.sort(key=lambda hd: (hd[0]["source_class"] != site.get("class"), -hd[0]["peak_sigma"]))
    shown = []
    cache: dict[int, object] = {}
    for h, d in hits[:MAX_HITS_SHOWN]:
        sid = h["survey_id"]
        if sid not in cache:
            cache[sid] = store.samples(sid)
        det = h.get("details") or {}
        shown.append({"id": h["id"], "survey_id": sid, "t_start": h["t_start"], "t_end": h["t_end"],
                      "lat": h["lat"], "lon": h["lon"], "distance_m": round(d, 1), "channels": h["channels"],
                      "peak_sigma": h["peak_sigma"], "class": h["source_class"],
                      "class_probability": h["class_probability"], "ratios": det.get("ratios") or {},
                      "probabilities": det.get("probabilities") or {}, "peak": det.get("peak") or {},
                      "series": _series(cache[sid], h, list(h["channels"]))})
    lo = [e["rate_ci90_g_s"][0] for e in estimates]
    hi = [e["rate_ci90_g_s"][1] for e in estimates]
    probs = shown[0]["probabilities"] if shown else {}
    return {"site": {k: v for k, v in site.items() if k != "history"}, "surveys": history, "estimates": estimates,
            "hits": shown, "hits_total": len(hits), "class_probabilities": probs,
            "rate_g_s": site.get("rate_g_s"),
            "rate_ci90_g_s": [float(min(lo)), float(max(hi))] if estimates else None}


def posterior_png(store, estimate_id: int) -> tuple[bytes, list] | None:
    """An estimate's posterior as a PNG (transparent where the mass is negligible) and its [[S, W], [N, E]]."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import colormaps
    from matplotlib.image import imsave

    post, frame = store.estimate_posterior(estimate_id), _frame(store)
    if not post or frame is None or not post.get("mass"):
        return None
    e, n, w = (np.asarray(post[k], float) for k in ("east", "north", "mass"))
    r = float(post["resolution"])
    e0, n0 = e.min() - r / 2, n.min() - r / 2
    nx, ny = int(round((e.max() - e.min()) / r)) + 1, int(round((n.max() - n.min()) / r)) + 1
    grid = np.zeros((ny, nx))
    ix = np.clip(np.round((e - e.min()) / r).astype(int), 0, nx - 1)
    iy = np.clip(np.round((n - n.min()) / r).astype(int), 0, ny - 1)
    np.add.at(grid, (ny - 1 - iy, ix), w)
    v = grid / grid.max()
    rgba = colormaps["inferno"](v)
    rgba[..., 3] = np.where(v > 0, 0.25 + 0.65 * np.sqrt(v), 0.0)
    buf = io.BytesIO()
    imsave(buf, rgba, format="png")
    la, lo = frame.to_wgs84(np.array([e0, e0 + nx * r]), np.array([n0, n0 + ny * r]))
    return buf.getvalue(), [[float(la[0]), float(lo[0])], [float(la[1]), float(lo[1])]]
