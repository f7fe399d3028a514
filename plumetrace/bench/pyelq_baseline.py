"""pyELQ on a plumetrace survey: Shell's Gaussian-plume + reversible-jump MCMC source-term estimation (baseline).

pyELQ (sede-open/pyELQ, Apache-2.0; ``pip install pyelq``) estimates the number, positions and rates of
sources from concentration time series by reversible-jump MCMC over a Gaussian plume whose spreads grow
with the measured wind-direction variability (its ``AngularModel``: σ = tan(σθ)·x). The survey is handed
over as one moving point sensor — the *same* binned, lag-corrected, background-subtracted observations the
grid locator uses (:mod:`plumetrace.locate.observations`), in ppm — with the survey's wind and σθ, a
per-sensor error model, and a source map limited to the locator's search area. The calls follow pyELQ's
documented workflow: ``ELQModel(...).initialise(); .to_mcmc(); .run_mcmc(); .from_mcmc()``.

Two adaptations for an airborne survey, both in pyELQ's own configuration: the "coverage" test that screens
candidate source positions uses the largest coupling over the survey instead of the 95th percentile (a
drone sees a given plume in a few percent of its samples, so the percentile is zero everywhere), and the
background is a slowly varying temporal one with zero mean (the observations are already
background-subtracted).

The estimate is the most probable source position: the 5 m cell holding most of the post-burn-in source
samples (all sources of every iteration). Accuracy against iterations is traced from the stored chain, so
the time to reach a given accuracy is read from one run (iterations cost about the same).
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass

import numpy as np


def _gas_species(name: str, molar_mass_g: float):
    from pyelq.gas_species import GasSpecies

    @dataclass
    class _Species(GasSpecies):
        global_background: float = 0.0
        half_life: float = 1e12

        @property
        def name(self):
            return name

        @property
        def molar_mass(self):
            return molar_mass_g

        @property
        def formula(self):
            return name

    return _Species()


def sigma_theta_deg(wind_from_deg: np.ndarray) -> float:
    """Circular standard deviation of wind directions [deg] (Mardia & Jupp 2000, eq. 2.3.11)."""
    th = np.deg2rad(np.asarray(wind_from_deg, float))
    r = float(np.hypot(np.mean(np.sin(th)), np.mean(np.cos(th))))
    return float(np.rad2deg(math.sqrt(-2.0 * math.log(max(r, 1e-12)))))


def rj_source(corners, max_height: float):
    """PyELQ's reversible-jump Gaussian source model over the ENU box ``corners`` (east, north) up to ``max_height``."""
    from pyelq.component.source_model import Normal

    source = Normal()
    source.emission_rate_mean = np.array([0.0])
    source.initial_precision = np.array([1.0 / 2.5**2])  # kg/h
    source.reversible_jump = True
    source.rate_num_sources = 1.0
    source.update_precision = False
    source.site_limits = np.array([[corners.east[0], corners.east[1]], [corners.north[0], corners.north[1]],
                                   [0.0, max_height]])
    return source


def run_model(model, n_iter: int, seed: int) -> float:
    """Run an ``ELQModel``'s MCMC (``n_iter`` iterations, NumPy's global generator seeded), quietly; seconds."""
    import contextlib
    import io

    model.n_iter = int(n_iter)
    np.random.seed(seed)  # noqa: NPY002 - openMCMC draws from NumPy's global generator
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):  # openMCMC chatter
            model.initialise()
            model.to_mcmc()
            model.run_mcmc()
            model.from_mcmc()
    return time.perf_counter() - t0


def run_pyelq(obs, frame, bounds: tuple[float, float, float, float], truth_xy: tuple[float, float],
              n_iter: int = 2000, seed: int = 0, sigma_theta_deg: float | None = None,
              max_height: float = 10.0) -> dict:
    """Run pyELQ on one channel's observations; return time, position estimate, error trace and rate.

    Parameters
    ----------
    obs : Observations
        Binned observations of one channel (ppb, background removed).
    frame : LocalFrame
        The survey's local frame (east/north ↔ lat/lon).
    bounds : (x0, x1, y0, y1)
        Search area in the local frame [m].
    truth_xy : (east, north)
        True source position, for the error trace [m].
    n_iter : int
        MCMC iterations (the first half is discarded as burn-in).
    sigma_theta_deg : float, optional
        Horizontal and vertical turbulence (σθ) [deg]; by default the circular spread of the observations' winds
        (pass the spread of the raw samples' winds when the observations carry smoothed winds).
    """
    import pandas as pd
    from pyelq.component.background import SpatioTemporalBackground
    from pyelq.component.error_model import BySensor
    from pyelq.coordinate_system import ENU, LLA
    from pyelq.meteorology.meteorology import Meteorology
    from pyelq.model import ELQModel
    from pyelq.sensor.sensor import Sensor, SensorGroup

    from plumetrace.physics.species import SPECIES

    n = len(obs)
    lat, lon = frame.to_wgs84(obs.east, obs.north)
    times = pd.to_datetime(obs.time, unit="s").array
    sensor = Sensor()
    sensor.label = "survey"
    sensor.time = times
    sensor.location = LLA(latitude=np.asarray(lat, float), longitude=np.asarray(lon, float),
                          altitude=np.asarray(obs.height, float))
    sensor.concentration = np.asarray(obs.enhancement, float) / 1000.0  # ppb → ppm
    group = SensorGroup()
    group.add_sensor(sensor)
    met = Meteorology()
    met.time = times
    met.wind_speed = np.asarray(obs.wind_speed, float)
    met.wind_direction = np.asarray(obs.wind_from_deg, float)
    met.calculate_uv_from_wind_speed_direction()
    met.temperature = np.full(n, obs.temperature)
    met.pressure = np.full(n, obs.pressure / 1000.0)  # kPa
    st = sigma_theta_deg(obs.wind_from_deg) if sigma_theta_deg is None else sigma_theta_deg
    met.wind_turbulence_horizontal = np.full(n, st)
    met.wind_turbulence_vertical = np.full(n, st)

    # site limits in the ENU frame pyELQ builds around the sensor locations
    ref = sensor.location.to_enu()
    x0, x1, y0, y1 = bounds
    clat, clon = frame.to_wgs84(np.array([x0, x1]), np.array([y0, y1]))
    corners = LLA(latitude=np.asarray(clat, float), longitude=np.asarray(clon, float), altitude=np.zeros(2)).to_enu(
        ref_latitude=ref.ref_latitude, ref_longitude=ref.ref_longitude, ref_altitude=ref.ref_altitude)
    source = rj_source(corners, max_height)
    noise_ppm = float(np.sqrt(np.median(obs.variance))) / 1000.0
    source.coverage_detection = max(5.0 * noise_ppm, 1e-6)
    source.coverage_test_source = 3.6  # 1 g/s in kg/h
    source.threshold_function = lambda x: np.max(x, axis=0)
    error = BySensor()
    error.initial_precision = 1.0 / max(float(np.std(sensor.concentration)), noise_ppm) ** 2
    error.prior_precision_shape = 1e-2
    error.prior_precision_rate = 1e-2
    background = SpatioTemporalBackground()
    background.n_time = max(2, int((obs.time.max() - obs.time.min()) // 60))
    background.mean_bg = 0.0
    background.spatial_dependence = False
    background.initial_precision = 1.0 / (3.0 * noise_ppm) ** 2
    background.update_precision = False
    model = ELQModel(sensor_object=group, meteorology=met,
                     gas_species=_gas_species(obs.species, SPECIES[obs.species].molar_mass),
                     background=background, source_model=source, error_model=error)
    seconds = run_model(model, n_iter, seed)
    comp = model.components["source"]
    loc = comp.all_source_locations
    east = np.asarray(loc.east, float).reshape(-1, model.n_iter)
    north = np.asarray(loc.north, float).reshape(-1, model.n_iter)
    rate = np.asarray(comp.emission_rate, float).reshape(-1, model.n_iter)
    ok = np.isfinite(east) & np.isfinite(north)
    it = np.broadcast_to(np.arange(model.n_iter), east.shape)[ok]
    enu = ENU(ref_latitude=loc.ref_latitude, ref_longitude=loc.ref_longitude, ref_altitude=loc.ref_altitude,
              east=east[ok], north=north[ok], up=np.zeros(int(ok.sum())))
    lla = enu.to_lla()
    le, ln = frame.to_local(np.asarray(lla.latitude), np.asarray(lla.longitude))
    le, ln = np.asarray(le, float), np.asarray(ln, float)
    q = rate[ok]

    def mode(upto: int):
        keep = (it >= upto // 2) & (it < upto)
        if not np.any(keep):
            return None
        bins = [np.arange(x0, x1 + 5.0, 5.0), np.arange(y0, y1 + 5.0, 5.0)]
        h, xe, ye = np.histogram2d(le[keep], ln[keep], bins=bins)
        i, j = np.unravel_index(int(np.argmax(h)), h.shape)
        return float(xe[i] + 2.5), float(ye[j] + 2.5), keep

    trace = []
    for upto in range(max(model.n_iter // 20, 1), model.n_iter + 1, max(model.n_iter // 20, 1)):
        m = mode(upto)
        err = math.hypot(m[0] - truth_xy[0], m[1] - truth_xy[1]) if m else math.inf
        trace.append((upto, seconds * upto / model.n_iter, err))
    final = mode(model.n_iter)
    n_src = comp.number_on_sources[model.n_iter // 2:]
    return {
        "seconds": seconds, "iterations": model.n_iter, "sigma_theta_deg": st,
        "east": final[0] if final else None, "north": final[1] if final else None,
        "error_m": trace[-1][2], "trace": trace,
        "sources_median": float(np.median(n_src)) if n_src.size else 0.0,
        "rate_g_s_median": float(np.median(q[final[2]]) / 3.6) if final and np.any(final[2]) else None,
    }
