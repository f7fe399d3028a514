"""Gas species and the ideal-gas conversion between mole fraction and mass concentration.

Molar masses are computed from IUPAC standard atomic weights (conventional values: H 1.008, C 12.011,
N 14.007, O 15.999, S 32.06, Cl 35.45, P 30.974) and agree with the NIST Chemistry WebBook to 0.01 g/mol.

References
----------
.. [1] Prohaska, T. et al. (2022). Standard atomic weights of the elements 2021 (IUPAC Technical Report).
   *Pure Appl. Chem.* 94, 573–600. doi:10.1515/pac-2019-0603
.. [2] Seinfeld, J. H. and Pandis, S. N. (2006). *Atmospheric Chemistry and Physics*, 2nd ed., §1.7
   (ρ = χ P M / (R T)).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
from numpy.typing import ArrayLike, NDArray

#: Molar gas constant [J mol⁻¹ K⁻¹] (CODATA 2018, exact).
GAS_CONSTANT = 8.314462618
#: Standard temperature and pressure used when a survey gives none: 15 °C, 1013.25 hPa.
STANDARD_TEMPERATURE = 288.15
STANDARD_PRESSURE = 101325.0

_ATOMIC = {"H": 1.008, "C": 12.011, "N": 14.007, "O": 15.999, "S": 32.06, "Cl": 35.45, "P": 30.974}


@dataclass(frozen=True)
class Species:
    """A gas: key (lowercase, as in survey column names), name, formula and molar mass [kg mol⁻¹]."""

    key: str
    name: str
    formula: dict
    molar_mass: float


def _species(key: str, name: str, **atoms: int) -> Species:
    mass = sum(_ATOMIC[el] * n for el, n in atoms.items()) * 1e-3
    return Species(key, name, MappingProxyType(dict(atoms)), mass)


SPECIES = MappingProxyType(
    {
        s.key: s
        for s in (
            _species("ch4", "methane", C=1, H=4),
            _species("c2h6", "ethane", C=2, H=6),
            _species("co", "carbon monoxide", C=1, O=1),
            _species("co2", "carbon dioxide", C=1, O=2),
            _species("nh3", "ammonia", N=1, H=3),
            _species("hcl", "hydrogen chloride", H=1, Cl=1),
            _species("h2s", "hydrogen sulfide", H=2, S=1),
            _species("acetone", "acetone", C=3, H=6, O=1),
            _species("toluene", "toluene", C=7, H=8),
            _species("methanol", "methanol", C=1, H=4, O=1),
            _species("dichloromethane", "dichloromethane", C=1, H=2, Cl=2),
            _species("ethanol", "ethanol", C=2, H=6, O=1),
            _species("so2", "sulfur dioxide", S=1, O=2),
            _species("no2", "nitrogen dioxide", N=1, O=2),
            _species("benzene", "benzene", C=6, H=6),
            _species("ph3", "phosphine", P=1, H=3),
            _species("tetrachloroethylene", "tetrachloroethylene", C=2, Cl=4),
            # PID "total VOC" channels are calibrated as isobutylene equivalents
            _species("voc", "VOC (isobutylene equivalent)", C=4, H=8),
        )
    }
)


def get_species(key: str) -> Species:
    """Look up a species by key (case-insensitive); the error lists the known keys."""
    try:
        return SPECIES[key.lower()]
    except KeyError:
        raise KeyError(f"unknown species {key!r}; known: {', '.join(sorted(SPECIES))}") from None


def air_molar_density(temperature: ArrayLike = STANDARD_TEMPERATURE,
                      pressure: ArrayLike = STANDARD_PRESSURE) -> NDArray[np.float64]:
    """Moles of air per cubic metre, P / (R T) [mol m⁻³], for temperature [K] and pressure [Pa]."""
    t = np.asarray(temperature, dtype=np.float64)
    p = np.asarray(pressure, dtype=np.float64)
    if np.any(t <= 0) or np.any(p <= 0):
        raise ValueError("temperature [K] and pressure [Pa] must be > 0")
    return p / (GAS_CONSTANT * t)


def mass_concentration(
    mole_fraction: ArrayLike,
    molar_mass: ArrayLike,
    temperature: ArrayLike = STANDARD_TEMPERATURE,
    pressure: ArrayLike = STANDARD_PRESSURE,
) -> NDArray[np.float64]:
    """Mass concentration from mole fraction, ρ = χ · P · M / (R · T).

    Parameters
    ----------
    mole_fraction : array_like
        χ [mol mol⁻¹] (1 ppm = 1e-6).
    molar_mass : array_like
        M [kg mol⁻¹].
    temperature : array_like
        T [K].
    pressure : array_like
        P [Pa].

    Returns
    -------
    numpy.ndarray
        ρ [kg m⁻³].

    Examples
    --------
    1 ppm of methane at 25 °C and 1 atm is about 656 µg/m³:

    >>> round(float(mass_concentration(1e-6, SPECIES["ch4"].molar_mass, 298.15)) * 1e9, 0)
    656.0
    """
    return np.asarray(mole_fraction, dtype=np.float64) * np.asarray(molar_mass, dtype=np.float64) * \
        air_molar_density(temperature, pressure)


def mole_fraction(
    mass_concentration_: ArrayLike,
    molar_mass: ArrayLike,
    temperature: ArrayLike = STANDARD_TEMPERATURE,
    pressure: ArrayLike = STANDARD_PRESSURE,
) -> NDArray[np.float64]:
    """Inverse of :func:`mass_concentration`: χ [mol mol⁻¹] from ρ [kg m⁻³]."""
    return np.asarray(mass_concentration_, dtype=np.float64) / (
        np.asarray(molar_mass, dtype=np.float64) * air_molar_density(temperature, pressure)
    )
