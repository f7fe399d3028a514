"""Emitters: where a source is, how high it releases, what and how much it emits, and when."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from plumetrace.detect.signatures import SourceClass
from plumetrace.physics.species import SPECIES


@dataclass(frozen=True)
class Schedule:
    """When a source emits: a factor of its nominal rate as a function of time.

    kinds: ``continuous`` (1 always); ``intermittent`` (batches: on for ``on`` s then off for ``off`` s,
    starting ``phase`` s after the survey start); ``windows`` (on only inside the given [start, end]
    windows, s after the survey start); ``diurnal`` (a 24-value hourly profile of local solar time).
    """

    kind: str = "continuous"
    on: float = 0.0
    off: float = 0.0
    phase: float = 0.0
    windows: tuple = ()
    profile: tuple = ()
    t0: float = 0.0
    lon: float = 0.0

    def factor(self, t) -> np.ndarray:
        """Multiplier of the nominal rate at UNIX times ``t`` [s]."""
        t = np.asarray(t, dtype=float)
        rel = t - self.t0
        if self.kind == "continuous":
            return np.ones_like(t)
        if self.kind == "intermittent":
            period = self.on + self.off
            return (np.mod(rel - self.phase, period) < self.on).astype(float)
        if self.kind == "windows":
            on = np.zeros_like(t, dtype=bool)
            for a, b in self.windows:
                on |= (rel >= a) & (rel < b)
            return on.astype(float)
        if self.kind == "diurnal":
            hour = np.mod(t / 3600.0 + self.lon / 15.0, 24.0)
            prof = np.asarray(self.profile, dtype=float)
            return np.interp(hour, np.arange(25), np.append(prof, prof[0]))
        raise ValueError(f"unknown schedule kind {self.kind!r}")

    def describe(self) -> dict:
        """JSON-ready description for truth.json."""
        out = {"kind": self.kind}
        if self.kind == "intermittent":
            out.update(on_s=self.on, off_s=self.off, phase_s=self.phase)
        elif self.kind == "windows":
            out["windows_s"] = [list(w) for w in self.windows]
        elif self.kind == "diurnal":
            out["profile"] = list(self.profile)
        return out

    def fraction_on(self, t_start: float, t_end: float) -> float:
        """Mean factor over [t_start, t_end]."""
        t = np.linspace(t_start, t_end, 2001)
        return float(self.factor(t).mean())


@dataclass
class Emitter:
    """A source in the local frame.

    ``points`` holds one (east, north) for a point source or several for a line source (traffic along a
    street), each emitting an equal share. ``rates`` are nominal rates per species [g/s] (before the
    schedule factor).
    """

    id: str
    source_class: str
    points: np.ndarray
    height: float
    rates: dict[str, float]
    schedule: Schedule = field(default_factory=Schedule)
    building_id: str | None = None
    target: bool = False
    primary: str = "ch4"
    ratios: dict[str, float] = field(default_factory=dict)

    @property
    def position(self) -> tuple[float, float]:
        """Centre of the emitter's points [m]."""
        return float(self.points[:, 0].mean()), float(self.points[:, 1].mean())


def draw_emission(cls: SourceClass, rng: np.random.Generator, rate_g_s: float | None = None):
    """Draw an emitter's primary rate and its molar ratios (natural variation) from its class.

    Returns
    -------
    rates : dict
        Species → nominal mass rate [g/s].
    ratios : dict
        Species → molar ratio to the primary species actually drawn (0 for absent species).
    """
    if rate_g_s is None:
        rate_g_s = float(cls.rate_median_g_s * np.exp(cls.rate_log_sd * rng.standard_normal()))
    m_primary = SPECIES[cls.primary].molar_mass
    rates = {cls.primary: float(rate_g_s)}
    ratios = {}
    for species, r in cls.ratios.items():
        present = rng.random() < r.presence
        ratio = r.median * np.exp(r.log_sd * rng.standard_normal()) if (present and r.median > 0) else 0.0
        ratios[species] = float(ratio)
        if ratio > 0:
            rates[species] = float(rate_g_s * ratio * SPECIES[species].molar_mass / m_primary)
    return rates, ratios
