"""Coverage plans: crosswind legs whose spacing follows from the physics of the weakest source to be found.

A source anywhere in the area must put a plume peak above the sensor's detection threshold on at least one leg
downwind of it, with probability ``probability``. For legs across the forecast wind, ``spacing`` apart, at the
lowest altitude the airspace allows over the area (``alt_min``, or ``roof_clearance`` over the highest roof), the
probability is computed by Monte Carlo over

- the source's position, uniform over the area (so its distance to the next leg downwind is uniform over a
  spacing, and the legs behind that one see it too),
- its release height, uniform over ``release_heights`` (ground to roof vents),
- the plume's direction, the forecast one turned by a meander offset N(0, σθ) with σθ the centre of the
  stability class's σθ band (EPA 2000, Table 6-8 via :func:`plumetrace.physics.stability.sigma_theta_class_centre`):
  the plume crosses a leg where it crosses, and a leg cut short by the airspace can miss it,

with the peak of the time-averaged Gaussian plume (its σy includes the meander; :func:`plume_coupling`) at the
crossing, reduced by the sensor's averaging over ``reading_s`` of track (the mean of a Gaussian of width σy over
a window of speed × reading_s), against ``threshold_sigma`` × ``noise_ppb``. The plan takes the widest spacing
that meets ``probability`` (doubling steps from 10 m find the bracket, bisection to 5 m the spacing); when none
does, it exits naming the limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import erf
from shapely.geometry import Polygon

from plumetrace.exceptions import PlanError
from plumetrace.physics.plume import plume_coupling
from plumetrace.physics.sigmas import dispersion_coefficients
from plumetrace.physics.species import SPECIES, mole_fraction
from plumetrace.physics.stability import sigma_theta_class_centre, stability_code
from plumetrace.physics.wind import wind_axes
from plumetrace.plan.airspace import Airspace
from plumetrace.plan.route import FlightPlan, Leg, default_home, sorties, takeoff_altitude

#: Spacings tried [m]: 10 … 400 in 5 m steps.
SPACINGS_M = np.arange(10.0, 400.1, 5.0)
#: Downwind distances of the peak table [m] (log-spaced; beyond 2 km a drone survey does not resolve a source).
PEAK_X_M = np.geomspace(1.0, 2000.0, 160)


@dataclass
class CoveragePlanner:
    """Plan a coverage survey of an area (see the module docstring).

    Parameters
    ----------
    wind : (speed [m/s], from [deg])
        Forecast wind.
    min_rate_g_s : float
        Weakest source to be detected [g/s of ``species``].
    species : str
        Gas the threshold refers to.
    noise_ppb, threshold_sigma : float
        Sensor noise of one reading [ppb] and the detection threshold in noise σ.
    probability : float
        Required probability that a source anywhere in the area is detected.
    stability : str
        Pasquill class of the forecast.
    dispersion : str
        σ family of the forward model.
    release_heights : (float, float)
        Range of release heights [m].
    speed_mps : float
        Cruise speed [m/s].
    reading_s : float
        Averaging time of one reading (sensor response and binning) [s].
    endurance_min : float or None
        Battery endurance [min] (sorties are split by it).
    n_sources : int
        Monte Carlo sources.
    random_state : int
    """

    wind: tuple[float, float]
    min_rate_g_s: float = 0.05
    species: str = "ch4"
    noise_ppb: float = 2.0
    threshold_sigma: float = 6.0
    probability: float = 0.9
    stability: str = "D"
    dispersion: str = "briggs_rural"
    release_heights: tuple[float, float] = (0.5, 10.0)
    speed_mps: float = 8.0
    reading_s: float = 1.0
    endurance_min: float | None = 25.0
    n_sources: int = 3000
    random_state: int = 0

    def peak_table(self, z: float, heights: np.ndarray) -> np.ndarray:
        """Peaks [ppb] read at altitude z [m] at the distances :data:`PEAK_X_M` (rows), per release height."""
        u, _ = self.wind
        g = plume_coupling(PEAK_X_M, np.zeros_like(PEAK_X_M), np.full_like(PEAK_X_M, z), np.zeros_like(heights),
                           np.zeros_like(heights), heights, np.full_like(PEAK_X_M, u), np.full_like(PEAK_X_M, 270.0),
                           self.stability, model=self.dispersion)
        sy, _ = dispersion_coefficients(PEAK_X_M, self.stability, self.dispersion)
        w = self.speed_mps * self.reading_s
        avg = np.where(w > 0, np.sqrt(2 * np.pi) * sy / w * erf(w / (2 * math.sqrt(2) * sy)), 1.0)
        ppb = mole_fraction(1e-3 * self.min_rate_g_s, SPECIES[self.species].molar_mass) * 1e9
        return g * (avg * ppb)[:, None]

    def peak_ppb(self, x: np.ndarray, z: float, h: np.ndarray, table=None) -> np.ndarray:
        """Peak [ppb] read at altitude z [m] crossing the plume x [m] downwind of a source at height h [m]."""
        heights = np.unique(np.round(np.asarray(h, float), 2))
        table = self.peak_table(z, heights) if table is None else table
        xi = np.log(np.clip(np.asarray(x, float), PEAK_X_M[0], PEAK_X_M[-1]))
        hi = np.searchsorted(heights, np.round(np.asarray(h, float), 2))
        xb, hb = np.broadcast_arrays(xi, hi)
        out = np.empty(xb.shape)
        lx = np.log(PEAK_X_M)
        for k in range(heights.size):
            sel = hb == k
            out[sel] = np.interp(xb[sel], lx, table[:, k])
        return np.where(np.asarray(x) > 0, out, 0.0)

    def detection_probability(self, legs: list[Leg], area: Polygon, altitude: float, rng=None) -> float:
        """Monte Carlo probability that a source in ``area`` is detected on ``legs`` (module docstring)."""
        rng = np.random.default_rng(self.random_state) if rng is None else rng
        src = _sample_polygon(area, self.n_sources, rng)
        h = rng.uniform(*self.release_heights, size=len(src))
        h = np.round(h * 2) / 2  # 0.5 m steps: a small peak table
        theta = np.deg2rad(rng.normal(0.0, float(sigma_theta_class_centre(float(stability_code(self.stability)))),
                                      size=len(src)))
        down, cross = wind_axes(self.wind[1])
        s_along, s_cross = src @ down, src @ cross
        seen = np.zeros(len(src), dtype=bool)
        heights = np.unique(h)
        table = self.peak_table(altitude, heights)
        threshold = self.threshold_sigma * self.noise_ppb
        for leg in legs:
            a, b = np.asarray(leg.start), np.asarray(leg.end)
            la, lb = a @ down, b @ down
            along = 0.5 * (la + lb)  # crosswind legs: one along-wind position
            ca, cb = sorted((a @ cross, b @ cross))
            x = along - s_along
            ok = x > 0
            c_hit = s_cross + x * np.tan(theta)
            ok &= (c_hit >= ca) & (c_hit <= cb)
            if not ok.any():
                continue
            idx = np.flatnonzero(ok & ~seen)
            if idx.size == 0:
                continue
            peak = self.peak_ppb(x[idx] / np.cos(theta[idx]), altitude, h[idx], table)
            seen[idx] |= peak >= threshold
        return float(seen.mean())

    def legs_for(self, area: Polygon, airspace: Airspace, spacing: float, altitude: float) -> list[Leg]:
        """Crosswind legs ``spacing`` apart over ``area`` (and one spacing downwind of it), cut to the airspace."""
        down, cross = wind_axes(self.wind[1])
        pts = np.asarray(area.exterior.coords)
        al, cr = pts @ down, pts @ cross
        sigma_theta = math.radians(float(sigma_theta_class_centre(float(stability_code(self.stability)))))
        reach = float(np.ptp(al)) + spacing
        margin = max(20.0, reach * math.tan(2 * sigma_theta))
        c0, c1 = cr.min() - margin, cr.max() + margin
        legs = []
        k = 0
        for y in np.arange(al.min() + spacing / 2, al.max() + spacing, spacing):
            a, b = (c0, c1) if k % 2 == 0 else (c1, c0)
            pa, pb = y * down + a * cross, y * down + b * cross
            for s, e in airspace.clip(pa, pb):
                legs.append(Leg(s, e, altitude, "coverage"))
            k += 1
        return legs

    def plan(self, area: Polygon, airspace: Airspace, home=None) -> FlightPlan:
        """The coverage plan of ``area`` in ``airspace`` (raises PlanError naming the limit when none exists)."""
        if airspace.authorised is not None and not airspace.authorised.buffer(1.0).covers(area):
            outside = area.difference(airspace.authorised).area
            raise PlanError(f"{outside:,.0f} m² of the area lie outside the authorised airspace: shrink the area or "
                            "extend the authorisation", "--authorized")
        if self.species not in SPECIES:
            raise PlanError(f"no molar mass for species {self.species!r}", "--species")
        cache: dict[float, tuple] = {}

        def evaluate(spacing: float):
            if spacing not in cache:
                legs = self.legs_for(area, airspace, spacing, airspace.alt_min)
                if not legs:
                    cache[spacing] = (0.0, legs, airspace.alt_min)
                    return cache[spacing]
                # the lowest altitude clear of every roof under the legs (one altitude for the whole survey)
                altitude = max(airspace.min_altitude(leg.start, leg.end) for leg in legs)
                if altitude > airspace.alt_max:
                    raise PlanError(f"the roofs under the legs need {altitude:g} m, above the altitude limit "
                                    f"{airspace.alt_max:g} m", "--alt-max-m")
                for leg in legs:
                    leg.altitude = altitude
                p = self.detection_probability(legs, area, altitude, np.random.default_rng(self.random_state))
                cache[spacing] = (p, legs, altitude)
            return cache[spacing]

        # the probability falls with the spacing: doubling steps find the bracket, bisection (5 m) the widest
        lo, hi = None, None
        for spacing in (10.0, 20.0, 40.0, 80.0, 160.0, 320.0, float(SPACINGS_M[-1])):
            if evaluate(spacing)[0] >= self.probability:
                lo = spacing
            else:
                hi = spacing
                break
        best, best_p = None, max(v[0] for v in cache.values())
        if lo is not None:
            hi = hi if hi is not None else lo
            while hi - lo > 5.0:
                mid = 5.0 * round((lo + hi) / 10.0)
                if mid in (lo, hi):
                    break
                if evaluate(mid)[0] >= self.probability:
                    lo = mid
                else:
                    hi = mid
            p, legs, altitude = evaluate(lo)
            best, best_p = (lo, legs, altitude), p
        if best is None:
            raise PlanError(f"a source of {self.min_rate_g_s:g} g/s is detected with probability at most {best_p:.2f} "
                            f"(wanted {self.probability:.2f}) even with legs 10 m apart at {airspace.alt_min:g} m or "
                            "more: raise "
                            "--min-rate-g-s or lower the altitude", "--min-rate-g-s")
        spacing, legs, altitude = best
        c = area.centroid
        home = default_home(airspace, (c.x, c.y) if home is None else home)
        sort = sorties(legs, airspace, home, self.speed_mps, altitude,
                       None if self.endurance_min is None else 60.0 * self.endurance_min)
        return FlightPlan(sort, home, self.speed_mps, takeoff_altitude(airspace, home, altitude), info={
            "spacing_m": spacing, "altitude_m": altitude, "detection_probability": round(best_p, 3),
            "min_rate_g_s": self.min_rate_g_s, "species": self.species, "legs": len(legs),
            "area_m2": float(area.area)})


def _sample_polygon(poly: Polygon, n: int, rng) -> np.ndarray:
    """``n`` points uniform in a polygon (rejection from its bounding box)."""
    from shapely import contains_xy

    x0, y0, x1, y1 = poly.bounds
    out = []
    got = 0
    while got < n:
        p = np.column_stack((rng.uniform(x0, x1, 2 * n), rng.uniform(y0, y1, 2 * n)))
        p = p[contains_xy(poly, p[:, 0], p[:, 1])]
        out.append(p)
        got += len(p)
    return np.vstack(out)[:n]
