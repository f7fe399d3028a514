"""The simulated atmosphere: a rough world whose *average* is the steady Gaussian plume.

The world is deliberately not the locator's forward model (the "inverse crime"). At any instant a plume
is narrower than the time-averaged one and snakes across the wind (Gifford's 1959 fluctuating-plume
model): the instantaneous plume has the relative spread σr = f·σy and its centre line meanders crosswind
by σm·ξ(t − x/u), with σm = √(1 − f²)·σy and ξ a unit Ornstein–Uhlenbeck process advected from the
source (a frozen, snaking pattern). Averaged over the meander the crosswind profile is exactly the
Gaussian of width σy, so long averages converge to :func:`plumetrace.physics.gaussian_plume`. On top:

- wind-speed gusts: a log-normal OU factor with E[1/u] preserved;
- concentration intermittency: a correlated log-normal factor with mean 1, one process per source;
- a mean wind direction that may drift over the survey;
- an optional mixing lid;
- the wind at the drone is the power-law wind at its altitude with the local meander and gusts, so a
  locator that reads wind from the survey does not see the wind at the source.

With ``model="puff"`` the release is instead a train of puffs advected by the time-varying wind
(direction = mean + meander angle), each with the relative spread f·σy (:func:`gaussian_puff`). With
``model="lagrangian"`` the relative plume comes from a Lagrangian stochastic particle model (Thomson 1987;
:mod:`plumetrace.sim.lagrangian`) — not Gaussian in height or across the wind, with its own wind profile — and
meanders like the default world's.

References
----------
.. [1] Gifford, F. (1959). Statistical properties of a fluctuating plume dispersion model. *Adv. Geophys.*
   6, 117–137. doi:10.1016/S0065-2687(08)60099-0
.. [2] Yee, E. and Wilson, D. J. (2000). A comparison of the detailed structure in dispersing tracer
   plumes measured in grid-generated turbulence with a meandering plume model incorporating internal
   fluctuations. *Boundary-Layer Meteorol.* 94, 253–296 (log-normal internal fluctuations).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

from plumetrace.physics.plume import gaussian_plume
from plumetrace.physics.puff import gaussian_puff
from plumetrace.physics.sigmas import dispersion_coefficients
from plumetrace.physics.wind import power_law_exponent, wind_speed_power_law

GRID_STEP_S = 1.0
#: Particles per release height in the Lagrangian world.
PARTICLES = 15_000


def ou_process(rng: np.random.Generator, n: int, dt: float, time_scale: float) -> np.ndarray:
    """Stationary unit-variance Ornstein–Uhlenbeck series (exact AR(1) discretisation)."""
    if time_scale <= 0:
        return rng.standard_normal(n)
    a = np.exp(-dt / time_scale)
    eps = rng.standard_normal(n)
    eps[0] = rng.standard_normal() / np.sqrt(1 - a * a)  # start in the stationary distribution
    return lfilter([np.sqrt(1 - a * a)], [1.0, -a], eps)


@dataclass
class Atmosphere:
    """Weather of a scenario (all SI; the wind speed is at 10 m)."""

    wind_speed: float
    wind_from_deg: float
    stability: str = "D"
    mixing_height: float | None = None
    dispersion: str = "briggs_urban"
    setting: str = "urban"
    relative_fraction: float = 0.7
    meander_time_scale: float = 20.0
    gustiness: float = 0.15
    intermittency: float = 0.5
    intermittency_time_scale: float = 3.0
    direction_drift_deg: float = 0.0
    temperature: float = 288.15
    pressure: float = 101325.0
    model: str = "meander"

    def __post_init__(self):
        if not 0 < self.relative_fraction <= 1:
            raise ValueError("relative_fraction must be in (0, 1]")
        if self.model not in ("meander", "puff", "lagrangian"):
            raise ValueError("atmosphere model must be 'meander', 'puff' or 'lagrangian'")

    def speed_at(self, height):
        """Mean wind speed at a height [m] by the ISC3 power law from 10 m (floored at 2 m height)."""
        p = power_law_exponent(self.stability, self.setting)
        return wind_speed_power_law(self.wind_speed, 10.0, np.maximum(np.asarray(height, float), 2.0), p)


class Weather:
    """One realisation of an :class:`Atmosphere` over a time span (seeded by the caller's generator)."""

    def __init__(self, atmosphere: Atmosphere, t_start: float, t_end: float, n_sources: int,
                 rng: np.random.Generator):
        self.atm = atmosphere
        pad = 3600.0  # emission times reach back by the travel time
        self.t0 = t_start - pad
        n = int(np.ceil((t_end - self.t0) / GRID_STEP_S)) + 2
        self.grid = self.t0 + GRID_STEP_S * np.arange(n)
        self.meander = ou_process(rng, n, GRID_STEP_S, atmosphere.meander_time_scale)
        g = atmosphere.gustiness
        self.gust = np.exp(g * ou_process(rng, n, GRID_STEP_S, atmosphere.meander_time_scale / 3) + 0.5 * g * g)
        ic = atmosphere.intermittency
        self.intermittency = [
            np.exp(ic * ou_process(rng, n, GRID_STEP_S, atmosphere.intermittency_time_scale) - 0.5 * ic * ic)
            for _ in range(n_sources)
        ]
        self.t_start, self.t_end = t_start, t_end
        if atmosphere.model == "lagrangian":  # particle plumes, one per release height, from their own stream
            self._particle_seed = int(rng.integers(0, 2**31 - 1))
            self._particle_plumes: dict = {}

    def _interp(self, series, t):
        return np.interp(t, self.grid, series)

    def mean_direction(self, t) -> np.ndarray:
        """Mean wind direction (from) at time t [deg], drifting linearly over the survey."""
        span = max(self.t_end - self.t_start, 1.0)
        frac = np.clip((np.asarray(t, float) - self.t_start) / span, 0.0, 1.0)
        return self.atm.wind_from_deg + self.atm.direction_drift_deg * frac

    def meander_angle_sd(self, distance: float = 200.0) -> float:
        """Meander of the plume axis as an angle at ``distance`` [rad]."""
        sy, _ = dispersion_coefficients(distance, self.atm.stability, model=self.atm.dispersion)
        return float(np.sqrt(1 - self.atm.relative_fraction**2) * sy / distance)

    def unit_concentration(self, t, east, north, height, src_east, src_north, src_height, source_index,
                           rate_factor=None):
        """Concentration per unit emission rate [s m⁻³] of one source at samples (t, east, north, height).

        ``rate_factor(t_emit)`` scales the emission at the time the sampled air left the source (schedules).
        """
        atm = self.atm
        t = np.asarray(t, float)
        theta = np.deg2rad(self.mean_direction(t))
        s, c = np.sin(theta), np.cos(theta)
        dx, dy = np.asarray(east) - src_east, np.asarray(north) - src_north
        x = -(dx * s + dy * c)
        u_mean = atm.speed_at(0.5 * (np.asarray(height) + src_height))
        travel = np.maximum(x, 0.0) / u_mean
        t_emit = t - travel
        sy, _ = dispersion_coefficients(np.maximum(x, 1.0), atm.stability, model=atm.dispersion)
        f = atm.relative_fraction
        y_c = np.sqrt(1 - f * f) * sy * self._interp(self.meander, t_emit)
        # the axis swings by y_c to the right of downwind ((-cos θ, sin θ)), as a wind reported from a larger
        # direction (measured_wind: + the meander angle) turns the plume clockwise: the receptor moves by -y_c
        e_shift = np.asarray(east) + y_c * c
        n_shift = np.asarray(north) - y_c * s
        u = np.maximum(u_mean * self._interp(self.gust, t_emit), 0.3)
        conc = gaussian_plume(e_shift, n_shift, height, src_east, src_north, src_height, 1.0, u,
                              np.rad2deg(theta), atm.stability, model=atm.dispersion,
                              mixing_height=atm.mixing_height, sigma_y_scale=f, min_wind_speed=0.3)
        conc = conc * self._interp(self.intermittency[source_index], t)
        if rate_factor is not None:
            conc = conc * rate_factor(t_emit)
        return conc

    def particle_plume(self, height: float):
        """The steady relative particle plume of a release height (computed once per height, 0.5 m steps)."""
        from plumetrace.sim.lagrangian import ParticlePlume

        key = round(float(height) * 2) / 2
        if key not in self._particle_plumes:
            self._particle_plumes[key] = ParticlePlume.run(
                key, self.atm.wind_speed, self.atm.stability, self.atm.mixing_height,
                relative_fraction=self.atm.relative_fraction, n_particles=PARTICLES,
                seed=self._particle_seed + int(key * 2))
        return self._particle_plumes[key]

    def lagrangian_concentration(self, t, east, north, height, src_east, src_north, src_height, source_index,
                                 rate_factor=None):
        """Like :meth:`unit_concentration` in the particle world (:mod:`plumetrace.sim.lagrangian`).

        The relative plume of the particle model, its axis meandering by √(1 − f²) σy(x) ξ(t − x/u), gusts and
        intermittency as in the default world.
        """
        plume = self.particle_plume(src_height)
        t = np.asarray(t, float)
        theta = np.deg2rad(self.mean_direction(t))
        s, c = np.sin(theta), np.cos(theta)
        dx, dy = np.asarray(east) - src_east, np.asarray(north) - src_north
        x = -(dx * s + dy * c)
        y = dy * s - dx * c  # to the right of downwind, as in unit_concentration
        t_emit = t - np.maximum(x, 0.0) / plume.u
        f = self.atm.relative_fraction
        y_c = np.sqrt(1 - f * f) * plume.sigma_y(x) * self._interp(self.meander, t_emit)
        gust = np.maximum(self._interp(self.gust, t_emit), 0.3)
        conc = plume.at(x, y - y_c, np.asarray(height, float)) / gust
        conc = conc * self._interp(self.intermittency[source_index], t)
        if rate_factor is not None:
            conc = conc * rate_factor(t_emit)
        return conc

    def puff_concentration(self, t, east, north, height, src_east, src_north, src_height, source_index,
                           rate_factor=None, puff_interval: float = 2.0):
        """Like :meth:`unit_concentration` with puffs advected by the time-varying wind."""
        atm = self.atm
        wt = self.grid
        direction = self.mean_direction(wt) + np.rad2deg(self.meander_angle_sd()) * self.meander
        speed = atm.speed_at(max(src_height, 2.0)) * self.gust
        t_rel = np.arange(max(self.t0, self.t_start - 1800.0), float(np.max(t)), puff_interval) + 0.5 * puff_interval
        mass = np.full(t_rel.size, puff_interval)
        if rate_factor is not None:
            mass = mass * rate_factor(t_rel)
        n = t_rel.size
        conc = gaussian_puff(t, east, north, height, t_rel, np.full(n, src_east), np.full(n, src_north),
                             np.full(n, src_height), mass, wt, speed, direction, atm.stability,
                             model=atm.dispersion, mixing_height=atm.mixing_height,
                             sigma_y_scale=atm.relative_fraction)
        return conc * self._interp(self.intermittency[source_index], t)

    def measured_wind(self, t, height, rng: np.random.Generator, speed_noise: float = 0.2,
                      direction_noise_deg: float = 5.0):
        """Wind the drone reports at (t, height): local gusts and meander plus sensor noise."""
        t = np.asarray(t, float)
        speed = self.atm.speed_at(height) * self._interp(self.gust, t)
        speed = np.maximum(speed + speed_noise * rng.standard_normal(t.size), 0.0)
        meander_deg = np.rad2deg(self.meander_angle_sd()) * self._interp(self.meander, t)
        direction = self.mean_direction(t) + meander_deg + direction_noise_deg * rng.standard_normal(t.size)
        return speed, np.mod(direction, 360.0)
