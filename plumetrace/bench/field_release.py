"""A real controlled release located by plumetrace and by pyELQ in one run: Chilbolton source 1 (open-path beams).

``../shared/data/chilbolton/source_1``: seven open-path laser beams from one instrument, one-minute means of CH4,
a 0.38 g/s release from a 2 m × 2 m frame on the ground (``truth.json``). plumetrace runs as ``plumetrace locate``
does (a fixed network goes to :class:`plumetrace.locate.network.NetworkLocator`). pyELQ (Apache-2.0) gets the
same readings as its own ``Beam`` sensors (sensor and retro-reflector as the two ends, 50 knots), the measured
wind and its one-minute σθ and σφ as the turbulence of its ``AngularModel`` plume, a ``PerSensor`` offset per beam
(the fault this record is known for), its spatio-temporal background, a ``BySensor`` error model, reversible-jump
sources over the same search box; its estimate is the 1 m cell holding most post-burn-in source samples, its rate
their median. Errors are horizontal distances to the release; times exclude reading the file.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np


def read_truth(directory: Path) -> dict:
    """``truth.json`` of a release: ``sources[0]`` with ``lat``, ``lon``, ``rate_g_s`` (InputError if not)."""
    from plumetrace.exceptions import InputError
    from plumetrace.io.jsonsafe import read_json_file

    path = Path(directory) / "truth.json"
    truth = read_json_file(path, "truth JSON")
    src = truth.get("sources") if isinstance(truth, dict) else None
    if not isinstance(src, list) or not src or not isinstance(src[0], dict):
        raise InputError('needs "sources": [{"lat", "lon", "rate_g_s"}, …]', path, column="sources")
    for key in ("lat", "lon", "rate_g_s"):
        v = src[0].get(key)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise InputError(f"sources[0].{key} must be a number", path, column=f"sources.{key}")
    return truth


def run_plumetrace(survey_path: Path, truth: dict | None = None, locator_params: dict | None = None) -> dict:
    """``plumetrace locate`` on the record: position, rate, 90 % region, time (``locator_params``: for ablations)."""
    from shapely.geometry import Point

    from plumetrace.io.survey import read_survey
    from plumetrace.locate import SourceLocator

    survey = read_survey(survey_path)
    truth = (truth or read_truth(survey_path.parent))["sources"][0]
    te, tn = (float(v) for v in survey.frame.to_local(truth["lat"], truth["lon"]))
    t0 = time.perf_counter()
    loc = SourceLocator(**(locator_params or {})).fit(survey)
    seconds = time.perf_counter() - t0
    if not loc.sources_:
        return {"found": False, "seconds": seconds}
    s = loc.sources_[0]
    return {"found": True, "seconds": seconds, "error_m": math.hypot(s.east - te, s.north - tn),
            "rate_g_s": s.rate_g_s, "rate_ci90_g_s": list(s.rate_ci90_g_s), "rate_factor": _factor(s.rate_g_s, truth),
            "credible90_radius_m": s.credible90_radius_m, "height_m": s.height_m,
            "covered": bool(s.credible90.buffer(1e-6).covers(Point(te, tn))), "log_bayes": s.log_bayes}


def _factor(rate: float | None, truth: dict) -> float | None:
    if rate is None or not rate > 0:
        return None
    r = rate / truth["rate_g_s"]
    return max(r, 1.0 / r)


def run_pyelq_network(survey_path: Path, n_iter: int = 3000, seed: int = 0, truth: dict | None = None) -> dict:
    """PyELQ on the same record (module docstring)."""
    import pandas as pd
    from pyelq.component.background import SpatioTemporalBackground
    from pyelq.component.error_model import BySensor
    from pyelq.component.offset import PerSensor
    from pyelq.coordinate_system import ENU, LLA
    from pyelq.meteorology.meteorology import Meteorology
    from pyelq.model import ELQModel
    from pyelq.sensor.beam import Beam
    from pyelq.sensor.sensor import SensorGroup

    from plumetrace.bench.pyelq_baseline import _gas_species, rj_source, run_model
    from plumetrace.geo.crs import LocalFrame
    from plumetrace.io.survey import read_survey
    from plumetrace.physics.species import SPECIES

    d = read_survey(survey_path).data  # the same checks as plumetrace's own read
    truth = (truth or read_truth(survey_path.parent))["sources"][0]
    times = np.sort(d["time"].unique())
    group = SensorGroup()
    for name, g in d.groupby("sensor_id"):
        g = g.set_index("time").reindex(times)
        g = g.ffill().bfill()
        b = Beam()
        b.label = str(name)
        b.time = pd.to_datetime(times, unit="s").array
        r0 = g.iloc[0]
        b.location = LLA(latitude=np.array([r0["lat"], r0["end_lat"]]), longitude=np.array([r0["lon"], r0["end_lon"]]),
                         altitude=np.array([r0["alt_m"], r0["end_alt_m"]]))
        b.concentration = g["ch4_ppm"].to_numpy(float)
        group.add_sensor(b)
    w = d.groupby("time")[["wind_speed_mps", "wind_dir_deg", "wind_dir_sd_deg", "wind_elev_sd_deg"]].first() \
        .reindex(times)
    met = Meteorology()
    met.time = pd.to_datetime(times, unit="s").array
    met.wind_speed = w["wind_speed_mps"].to_numpy(float)
    met.wind_direction = w["wind_dir_deg"].to_numpy(float)
    met.calculate_uv_from_wind_speed_direction()
    met.temperature = np.full(times.size, 288.15)
    met.pressure = np.full(times.size, 101.325)
    met.wind_turbulence_horizontal = w["wind_dir_sd_deg"].to_numpy(float)
    met.wind_turbulence_vertical = w["wind_elev_sd_deg"].to_numpy(float)
    frame = LocalFrame(truth["lat"], truth["lon"])
    lat_all = np.concatenate((d["lat"].to_numpy(), d["end_lat"].to_numpy()))
    lon_all = np.concatenate((d["lon"].to_numpy(), d["end_lon"].to_numpy()))
    e, n = frame.to_local(lat_all, lon_all)
    x0, x1, y0, y1 = float(e.min()) - 60, float(e.max()) + 60, float(n.min()) - 60, float(n.max()) + 60
    clat, clon = frame.to_wgs84(np.array([x0, x1]), np.array([y0, y1]))
    first = group[next(iter(group.keys()))]
    ref = first.location.to_enu()
    corners = LLA(latitude=np.asarray(clat, float), longitude=np.asarray(clon, float), altitude=np.zeros(2)).to_enu(
        ref_latitude=ref.ref_latitude, ref_longitude=ref.ref_longitude, ref_altitude=ref.ref_altitude)
    source = rj_source(corners, 5.0)
    error = BySensor()
    background = SpatioTemporalBackground()
    background.n_time = max(2, times.size // 10)
    background.spatial_dependence = False
    model = ELQModel(sensor_object=group, meteorology=met, gas_species=_gas_species("ch4", SPECIES["ch4"].molar_mass),
                     background=background, source_model=source, error_model=error, offset_model=PerSensor())
    seconds = run_model(model, n_iter, seed)
    comp = model.components["source"]
    loc = comp.all_source_locations
    east = np.asarray(loc.east, float).reshape(-1, model.n_iter)
    north = np.asarray(loc.north, float).reshape(-1, model.n_iter)
    rate = np.asarray(comp.emission_rate, float).reshape(-1, model.n_iter)
    it = np.broadcast_to(np.arange(model.n_iter), east.shape)
    ok = np.isfinite(east) & np.isfinite(north) & (it >= model.n_iter // 2)
    if not ok.any():
        return {"found": False, "seconds": seconds, "iterations": model.n_iter}
    enu = ENU(ref_latitude=loc.ref_latitude, ref_longitude=loc.ref_longitude, ref_altitude=loc.ref_altitude,
              east=east[ok], north=north[ok], up=np.zeros(int(ok.sum())))
    lla = enu.to_lla()
    le, ln = (np.asarray(v, float) for v in frame.to_local(np.asarray(lla.latitude), np.asarray(lla.longitude)))
    h, xe, ye = np.histogram2d(le, ln, bins=[np.arange(x0, x1 + 1.0, 1.0), np.arange(y0, y1 + 1.0, 1.0)])
    i, j = np.unravel_index(int(np.argmax(h)), h.shape)
    ex, ny = float(xe[i] + 0.5), float(ye[j] + 0.5)
    near = np.hypot(le - ex, ln - ny) < 5.0
    q = float(np.median(rate[ok][near])) / 3.6 if near.any() else None  # kg/h → g/s
    return {"found": True, "seconds": seconds, "iterations": model.n_iter, "error_m": math.hypot(ex, ny),
            "rate_g_s": q, "rate_factor": _factor(q, truth),
            "sources_median": float(np.median(comp.number_on_sources[model.n_iter // 2:]))}


def run_field_release(survey_path: Path, pyelq: bool = True, n_iter: int = 3000) -> dict:
    """Both methods on one record, in this process."""
    truth = read_truth(survey_path.parent)
    out = {"case": str(survey_path.parent.name), "truth": truth, "plumetrace": run_plumetrace(survey_path, truth)}
    if pyelq:
        out["pyelq"] = run_pyelq_network(survey_path, n_iter=n_iter, truth=truth)
        p, e = out["plumetrace"], out["pyelq"]
        if p.get("found") and e.get("found"):
            out["speed_ratio"] = e["seconds"] / p["seconds"]
    return out
