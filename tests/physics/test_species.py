"""Species table and ideal-gas conversions."""

import pytest

from plumetrace.physics.species import SPECIES, get_species, mass_concentration, mole_fraction

# NIST Chemistry WebBook molecular weights [g/mol]
NIST = {
    "ch4": 16.0425, "c2h6": 30.0690, "co": 28.0101, "co2": 44.0095, "nh3": 17.0305, "hcl": 36.461,
    "h2s": 34.081, "acetone": 58.0791, "toluene": 92.1384, "methanol": 32.0419, "dichloromethane": 84.933,
    "ethanol": 46.0684, "so2": 64.064,
}


@pytest.mark.parametrize("key", sorted(NIST))
def test_molar_masses_match_nist(key):
    assert SPECIES[key].molar_mass * 1e3 == pytest.approx(NIST[key], abs=0.02)


def test_ppm_to_mass_at_25c():
    """1 ppm at 25 °C, 1 atm: CH4 0.656 mg/m³, CO2 1.80 mg/m³ (M/24.45)."""
    ch4 = mass_concentration(1e-6, SPECIES["ch4"].molar_mass, 298.15, 101325.0)
    co2 = mass_concentration(1e-6, SPECIES["co2"].molar_mass, 298.15, 101325.0)
    assert ch4 * 1e6 == pytest.approx(16.043 / 24.465, rel=1e-3)
    assert co2 * 1e6 == pytest.approx(1.799, rel=1e-3)


def test_round_trip_and_errors():
    m = SPECIES["so2"].molar_mass
    rho = mass_concentration(2.5e-6, m, 280.0, 95000.0)
    assert mole_fraction(rho, m, 280.0, 95000.0) == pytest.approx(2.5e-6)
    with pytest.raises(ValueError):
        mass_concentration(1e-6, m, -1.0)
    with pytest.raises(KeyError, match="known:"):
        get_species("unobtainium")
    assert get_species("CH4") is SPECIES["ch4"]
