"""Mass balance through a vertical flux plane (curtain flights): an emission rate independent of the plume model.

docs/methods.md §7. A curtain is a stack of crosswind transects downwind of a source. The emission rate is the
flux of the gas's mass enhancement through the plane::

    Q = Σ_layers Σ_cells ρ'(s, z) · U⊥(z) · Δs · Δz

with ρ' = χ' P M / (R T) the enhancement as mass density, U⊥ the wind component normal to the plane (power
law in z from the wind measured at the flight altitudes), Δs the cell width along the plane and Δz the
thickness a layer (transect altitude) represents. Layers are bounded half-way between transect altitudes;
the lowest layer is extended to the ground with the lowest transect's flux density (constant
extrapolation; its share of the total is reported, and its uncertainty — uniform between none of it and
twice it — is part of the interval); the plane above the highest transect is assumed clean (the share of
the highest layer is reported so a user can see when it is not). Within a layer the cell means are
interpolated linearly along the plane across cells without samples (no kriging: a flown transect samples
every cell). The background of each layer is the median of the plane's outer fifths, on top of the
detector's moving background. A Monte Carlo over the wind speed (its standard error and a 10 % profile
error), the mean wind direction (its standard error), the layer backgrounds (their standard errors) and the
extrapolation gives a 90 % interval.

References
----------
.. [1] docs/methods.md §7 (UAV flux-plane method), after Allen et al. (2019) and Morales et al. (2022):
   Morales, R. et al. (2022). Controlled-release experiment to investigate uncertainties in UAV-based
   emission quantification for methane point sources. *Atmos. Meas. Tech.* 15, 2177–2198.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from plumetrace.exceptions import InputError
from plumetrace.io.survey import Survey, mean_air, ppb_factor
from plumetrace.numerics import sample_interval
from plumetrace.physics.species import SPECIES, mass_concentration
from plumetrace.physics.wind import wind_speed_power_law


def level_flight(t: np.ndarray, z: np.ndarray, window_s: float = 5.0, max_climb_mps: float = 0.3) -> np.ndarray:
    """Samples flown level: the climb rate of the running-median altitude (``window_s``) below ``max_climb_mps``."""
    import pandas as pd

    t = np.asarray(t, float)
    dt = sample_interval(t)
    w = max(int(round(window_s / dt)), 1)
    zs = pd.Series(np.asarray(z, float)).rolling(w, center=True, min_periods=1).median().to_numpy()
    climb = np.abs(np.gradient(zs, t)) if t.size > 1 else np.zeros(t.size)
    return climb < max_climb_mps


def layer_heights(z: np.ndarray, min_share: float = 0.1) -> np.ndarray:
    """Representative altitudes of the transect layers [m].

    Sample heights (level flight) in 1 m bins; bins holding at least ``min_share`` of the fullest bin are
    kept and runs of adjacent kept bins are one layer, at the median height of its samples (climbs between
    layers and altitude noise leave only sparse bins between them).
    """
    z = np.asarray(z, float)
    z = z[np.isfinite(z)]
    if z.size == 0:
        return np.empty(0)
    lo = math.floor(z.min())
    idx = np.floor(z - lo).astype(int)
    counts = np.bincount(idx)
    kept = counts >= min_share * counts.max()
    levels = []
    k = 0
    while k < kept.size:
        if not kept[k]:
            k += 1
            continue
        j = k
        while j + 1 < kept.size and kept[j + 1]:
            j += 1
        sel = (idx >= k) & (idx <= j)
        levels.append(float(np.median(z[sel])))
        k = j + 1
    return np.array(levels)


def layer_bounds(levels: np.ndarray) -> np.ndarray:
    """Edges of the layers [m] (edges[0] = 0).

    Half-way between transect altitudes; the lowest extends to the ground and the highest by half the
    spacing above it.
    """
    levels = np.asarray(levels, float)
    if levels.size == 1:
        return np.array([0.0, 2.0 * levels[0]])
    mid = 0.5 * (levels[1:] + levels[:-1])
    top = levels[-1] + 0.5 * (levels[-1] - levels[-2])
    return np.concatenate(([0.0], mid, [top]))


def layer_flux_density(s: np.ndarray, rho: np.ndarray, cell_m: float, s_min: float, s_max: float,
                       edge_fraction: float = 0.2) -> tuple[float, float, int]:
    """Integral of ρ' along the plane for one layer [g m⁻²] with its background removed.

    ``s``: position along the plane [m]; ``rho``: enhancement mass density [g m⁻³]. Samples are averaged in
    cells of ``cell_m``; cells without samples are interpolated linearly between their neighbours; the
    layer's background is the median of the cells in the outer ``edge_fraction`` of [s_min, s_max].

    Returns
    -------
    integral : float
        Σ (ρ'_cell − background) Δs [g m⁻²].
    background_se : float
        Standard error of the layer background [g m⁻³].
    n_cells : int
        Cells along the plane.
    """
    edges = np.arange(s_min, s_max + cell_m, cell_m)
    n = edges.size - 1
    idx = np.clip(np.searchsorted(edges, s, side="right") - 1, 0, n - 1)
    sums = np.bincount(idx, weights=rho, minlength=n)
    counts = np.bincount(idx, minlength=n)
    centres = 0.5 * (edges[1:] + edges[:-1])
    filled = counts > 0
    if filled.sum() < 2:
        return 0.0, 0.0, n
    mean = np.interp(centres, centres[filled], sums[filled] / counts[filled])
    width = s_max - s_min
    outer = (centres < s_min + edge_fraction * width) | (centres > s_max - edge_fraction * width)
    bg_cells = mean[outer & filled] if np.any(outer & filled) else mean[filled]
    background = float(np.median(bg_cells))
    se = float(1.253 * np.std(bg_cells) / math.sqrt(max(bg_cells.size, 1)))  # s.e. of a median
    return float(np.sum(mean - background) * cell_m), se, n


def plane_flux(dens, levels, dz, width, z_ref, exponent, u_ref, dir_offset_deg=0.0, bg_shift=0.0,
               below_factor=1.0):
    """Flux through the plane [g/s] from the layers' integrals along it.

    ``dens``: per layer Σ ρ' Δs [g m⁻²]; ``levels``: transect altitudes [m]; ``dz``: layer thicknesses [m]
    (the lowest reaching the ground); ``width``: plane width [m]; ``u_ref``: wind speed at ``z_ref`` [m/s],
    carried to each layer by the power law with ``exponent``; ``dir_offset_deg``: angle between the wind and
    the plane's normal; ``bg_shift``: per-layer background change [g m⁻³]; ``below_factor`` scales the part of
    the lowest layer under its transect (extrapolated). Returns (per-layer flux, total, extrapolated part).
    """
    u_z = wind_speed_power_law(u_ref, z_ref, np.maximum(levels, 1.0), exponent)
    u_perp = u_z * math.cos(math.radians(dir_offset_deg))
    per_layer = (dens - bg_shift * width) * u_perp * dz
    ext = per_layer[0] * levels[0] / dz[0]  # the lowest layer's part under its transect
    return per_layer, float(np.sum(per_layer) - ext + below_factor * ext), float(ext)


@dataclass
class FluxEstimate:
    """Mass-balance emission rate of one channel's species through a curtain."""

    channel: str
    species: str
    rate_g_s: float
    rate_ci90_g_s: tuple[float, float]
    plane_east: float
    plane_north: float
    plane_normal_deg: float  # direction the normal points to (downwind) [deg from north]
    wind_speed_mps: float
    layers_m: list = field(default_factory=list)
    layer_flux_g_s: list = field(default_factory=list)
    below_lowest_fraction: float = 0.0
    top_layer_fraction: float = 0.0
    samples: int = 0

    def to_dict(self) -> dict:
        """JSON-ready record (``plumetrace locate --mass-balance``)."""
        return {"channel": self.channel, "species": self.species, "rate_g_s": self.rate_g_s,
                "rate_ci90_g_s": list(self.rate_ci90_g_s), "method": "mass_balance",
                "plane": {"east_m": self.plane_east, "north_m": self.plane_north,
                          "normal_deg": self.plane_normal_deg},
                "wind_speed_mps": self.wind_speed_mps, "layers_m": self.layers_m,
                "layer_flux_g_s": self.layer_flux_g_s, "below_lowest_fraction": self.below_lowest_fraction,
                "top_layer_fraction": self.top_layer_fraction, "samples": self.samples}


class MassBalance:
    """Flux-plane emission rate from a curtain flight (see the module docstring).

    Parameters
    ----------
    cell_m : float
        Cell width along the plane [m].
    plane_tolerance_m : float
        Samples farther than this from the plane (along the wind) are left out [m].
    wind : (speed, from_deg), optional
        A fixed wind instead of the survey's measured wind.
    power_law_exponent : float
        Exponent of the wind profile U(z) ∝ z^p used for U⊥ at each layer (0.25: urban, neutral; EPA ISC3).
    n_mc : int
        Monte Carlo draws for the interval.
    random_state : int or None
        Seed of the Monte Carlo draws.

    Attributes
    ----------
    estimates_ : list of FluxEstimate
        One per channel fitted.
    """

    def __init__(self, cell_m: float = 5.0, plane_tolerance_m: float = 25.0, wind: tuple[float, float] | None = None,
                 power_law_exponent: float = 0.25, n_mc: int = 400, random_state: int | None = 0):
        self.cell_m = cell_m
        self.plane_tolerance_m = plane_tolerance_m
        self.wind = wind
        self.power_law_exponent = power_law_exponent
        self.n_mc = n_mc
        self.random_state = random_state

    def fit(self, survey: Survey, channels=None, backgrounds: dict | None = None) -> MassBalance:
        """Estimate the rate of each channel's species; ``backgrounds``: channel → moving background (channel unit).

        Raises
        ------
        InputError
            When the survey has no wind and none is given, or does not look like a curtain (fewer than two
            transect altitudes crossing the wind).
        """
        data = survey.data
        if self.wind is None and not survey.has_wind:
            raise InputError("the survey has no wind (wind_speed_mps, wind_dir_deg); give one with --wind "
                             "SPEED_MPS@FROM_DEG", survey.path)
        if self.wind is None:
            th = np.deg2rad(data["wind_dir_deg"].to_numpy(dtype=float))
            spd = data["wind_speed_mps"].to_numpy(dtype=float)
            u_e, u_n = np.nanmean(-spd * np.sin(th)), np.nanmean(-spd * np.cos(th))
            wind_from = float(np.rad2deg(np.arctan2(-u_e, -u_n)) % 360.0)
            speed = float(np.nanmean(spd))
            dev = np.rad2deg(np.angle(np.exp(1j * (th - np.deg2rad(wind_from)))))
            dir_sd = float(np.nanstd(dev))
            minutes = max(float(np.ptp(data["time"].to_numpy(dtype=float))) / 60.0, 1.0)  # ~1-minute independence
            speed_se = float(np.nanstd(spd)) / math.sqrt(minutes)
            dir_se = dir_sd / math.sqrt(minutes)
        else:
            speed, wind_from = float(self.wind[0]), float(self.wind[1])
            dir_se, speed_se = 5.0, 0.1 * speed
        to = math.radians(wind_from + 180.0)  # downwind direction
        down = np.array([math.sin(to), math.cos(to)])
        cross = np.array([down[1], -down[0]])
        e, n = data["east"].to_numpy(dtype=float), data["north"].to_numpy(dtype=float)
        z = data["alt_m"].to_numpy(dtype=float)
        along = e * down[0] + n * down[1]
        plane_along = float(np.median(along))
        near = (np.abs(along - plane_along) <= self.plane_tolerance_m) & level_flight(data["time"].to_numpy(), z)
        levels = layer_heights(z[near])
        if levels.size < 2:
            raise InputError("does not look like a curtain flight: fewer than two transect altitudes across the "
                             "wind", survey.path)
        s = e * cross[0] + n * cross[1]
        s_min, s_max = float(np.min(s[near])), float(np.max(s[near]))
        centre = plane_along * down + float(np.median(s[near])) * cross
        bounds = layer_bounds(levels)
        layer_of = np.clip(np.searchsorted(bounds, z, side="right") - 1, 0, levels.size - 1)
        temp, pres = mean_air(data)
        rng = np.random.default_rng(self.random_state)
        # wind at the flight altitudes (measured) → reference at the mean sample height of the plane
        z_ref = float(np.nanmean(z[near]))
        self.estimates_ = []
        for ch in channels if channels is not None else survey.channels:
            species, unit = Survey.channel_parts(ch)
            if species not in SPECIES:
                continue
            x = data[ch].to_numpy(dtype=float)
            if backgrounds is not None and ch in backgrounds:
                x = x - np.asarray(backgrounds[ch], float)
            ppb = x * float(ppb_factor(unit, species, temp, pres))
            # mole fraction → mass density ρ = χ P M / (R T) [kg m⁻³] → g m⁻³
            rho = mass_concentration(ppb * 1e-9, SPECIES[species].molar_mass, temp, pres) * 1e3
            ok = near & np.isfinite(rho)
            dens, ses = [], []
            for k in range(levels.size):
                sel = ok & (layer_of == k)
                d, se, _ = layer_flux_density(s[sel], rho[sel], self.cell_m, s_min, s_max)
                dens.append(d)
                ses.append(se)
            dens, ses = np.array(dens), np.array(ses)
            width = s_max - s_min
            dz = np.diff(bounds)
            args = (dens, levels, dz, width, z_ref, self.power_law_exponent)
            per_layer, q, ext = plane_flux(*args, speed)
            draws = []
            for _ in range(self.n_mc):
                u_ref = max(speed + speed_se * rng.standard_normal(), 0.1) * (1.0 + 0.1 * rng.standard_normal())
                draws.append(plane_flux(*args, u_ref, dir_se * rng.standard_normal(), ses * rng.standard_normal(),
                                        rng.uniform(0.0, 2.0))[1])
            draws = np.array(draws)
            q_pos = max(q, 0.0)
            self.estimates_.append(FluxEstimate(
                channel=ch, species=species, rate_g_s=q_pos,
                rate_ci90_g_s=(max(float(np.quantile(draws, 0.05)), 0.0), max(float(np.quantile(draws, 0.95)), 0.0)),
                plane_east=float(centre[0]), plane_north=float(centre[1]),
                plane_normal_deg=float((wind_from + 180.0) % 360.0), wind_speed_mps=speed,
                layers_m=[float(v) for v in levels], layer_flux_g_s=[float(v) for v in per_layer],
                below_lowest_fraction=float(ext / q) if q > 0 else 0.0,
                top_layer_fraction=float(per_layer[-1] / q) if q > 0 else 0.0, samples=int(ok.sum())))
        return self
