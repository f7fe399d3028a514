"""Gas-sensor models: what a channel reports for a true mole-fraction series.

Each channel applies, in order: cross-sensitivity (a weighted sum of species, e.g. a photo-ionisation
detector), a first-order response lag, slow drift, white noise, quantisation and a limit of detection.
The catalogue gives typical values per survey column; scenarios override them per channel.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from scipy.signal import lfilter

from plumetrace.detect.instruments import channel_response

#: Typical ambient mole fractions of the species [mol/mol] (background before drift).
BACKGROUND = {
    "ch4": 1.95e-6, "c2h6": 1.5e-9, "co2": 420e-6, "co": 120e-9, "nh3": 5e-9, "hcl": 0.1e-9, "h2s": 0.1e-9,
    "acetone": 1e-9, "toluene": 0.3e-9, "methanol": 2e-9, "dichloromethane": 0.05e-9, "ethanol": 1e-9,
    "so2": 0.5e-9, "no2": 10e-9, "benzene": 0.3e-9, "ph3": 0.0, "tetrachloroethylene": 0.01e-9, "voc": 0.0,
}

UNIT_FACTORS = {"ppm": 1e6, "ppb": 1e9}


@dataclass(frozen=True)
class ChannelSpec:
    """One sensor channel, in the unit of its survey column.

    Attributes
    ----------
    column : str
        Survey CSV column, ``<species>_<unit>`` (contract 1).
    response : dict
        Species → sensitivity (1 for a selective sensor; 1/RF for a PID).
    lag : float
        First-order time constant [s].
    noise : float
        White-noise standard deviation [column unit].
    drift_per_hour : float
        Standard deviation of a random-walk drift after one hour [column unit].
    resolution : float
        Quantisation step [column unit] (0 = none).
    lod : float
        Limit of detection [column unit]: lower readings are reported as 0 when ``clip_at_lod``.
    clip_at_lod : bool
        Whether readings under the LOD are reported as 0 (electrochemical cells, PIDs).
    """

    column: str
    response: dict = field(default_factory=dict)
    lag: float = 1.0
    noise: float = 0.0
    drift_per_hour: float = 0.0
    resolution: float = 0.0
    lod: float = 0.0
    clip_at_lod: bool = False

    @property
    def species(self) -> str:
        """Species key of the column (``ch4`` of ``ch4_ppm``)."""
        return self.column.rsplit("_", 1)[0]

    @property
    def unit(self) -> str:
        """Unit of the column (``ppm`` or ``ppb``)."""
        return self.column.rsplit("_", 1)[1]


def _spec(column, lag, noise, drift, resolution, lod, clip=False):
    return ChannelSpec(column, channel_response(column.rsplit("_", 1)[0]), lag, noise, drift, resolution, lod, clip)


#: Typical channels of drone payloads (values are representative, for simulation).
CATALOGUE: dict[str, ChannelSpec] = {
    s.column: s
    for s in (
        _spec("ch4_ppm", 0.5, 0.002, 0.005, 0.001, 0.0),  # open-path / cavity laser
        _spec("c2h6_ppb", 0.5, 0.8, 0.5, 0.1, 0.0),  # mid-IR laser
        _spec("co2_ppm", 2.0, 0.5, 1.0, 0.1, 0.0),  # NDIR
        _spec("co_ppm", 15.0, 0.02, 0.02, 0.01, 0.05, True),  # electrochemical
        _spec("nh3_ppb", 30.0, 8.0, 5.0, 1.0, 20.0, True),
        _spec("hcl_ppb", 30.0, 10.0, 5.0, 1.0, 30.0, True),
        _spec("h2s_ppb", 20.0, 2.0, 1.0, 1.0, 5.0, True),
        _spec("acetone_ppb", 2.0, 1.0, 0.5, 0.1, 0.0),  # selective VOC analyser
        _spec("toluene_ppb", 2.0, 0.5, 0.3, 0.1, 0.0),
        _spec("methanol_ppb", 2.0, 1.0, 0.5, 0.1, 0.0),
        _spec("dichloromethane_ppb", 2.0, 0.5, 0.3, 0.1, 0.0),
        _spec("ethanol_ppb", 2.0, 1.0, 0.5, 0.1, 0.0),
        _spec("tetrachloroethylene_ppb", 2.0, 0.2, 0.1, 0.05, 0.0),
        _spec("voc_ppb", 2.0, 3.0, 5.0, 1.0, 5.0, True),
    )
}


def channel_spec(column: str, **overrides) -> ChannelSpec:
    """Catalogue spec of a survey column with overrides (``lag``, ``noise``, …); KeyError lists the columns."""
    try:
        base = CATALOGUE[column]
    except KeyError:
        raise KeyError(f"unknown sensor channel {column!r}; known: {', '.join(CATALOGUE)}") from None
    return replace(base, **overrides)


def first_order_lag(values: np.ndarray, dt: float, time_constant: float) -> np.ndarray:
    """Response of a first-order sensor y' = (x − y)/τ to uniformly sampled input (exact per step)."""
    if time_constant <= 0 or values.size == 0:
        return values.copy()
    alpha = 1.0 - np.exp(-dt / time_constant)
    out, _ = lfilter([alpha], [1.0, alpha - 1.0], values, zi=[(1 - alpha) * values[0]])
    return out


def simulate_channel(spec: ChannelSpec, mole_fractions: dict, dt: float, segments: np.ndarray,
                     rng: np.random.Generator) -> np.ndarray:
    """Readings of one channel.

    Parameters
    ----------
    spec : ChannelSpec
    mole_fractions : dict
        Species → true mole fraction series (background included) [mol/mol].
    dt : float
        Sample interval [s] (uniform within a segment).
    segments : numpy.ndarray of int
        Segment label of each sample (sorties): the lag filter restarts at each segment.
    rng : numpy.random.Generator
    """
    factor = UNIT_FACTORS[spec.unit]
    n = segments.size
    true = np.zeros(n)
    for species, weight in spec.response.items():
        if species in mole_fractions:
            true += weight * mole_fractions[species] * factor
    reading = np.empty(n)
    for seg in np.unique(segments):
        idx = np.flatnonzero(segments == seg)
        reading[idx] = first_order_lag(true[idx], dt, spec.lag)
    if spec.drift_per_hour > 0:
        steps = rng.standard_normal(n) * spec.drift_per_hour * np.sqrt(dt / 3600.0)
        reading += np.cumsum(steps)
    reading += spec.noise * rng.standard_normal(n)
    if spec.resolution > 0:
        reading = np.round(reading / spec.resolution) * spec.resolution
    if spec.clip_at_lod:
        reading = np.where(reading < spec.lod, 0.0, reading)
    return reading
