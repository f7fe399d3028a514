"""Wind profiles: ISC3 power law and the Monin-Obukhov log law."""

import math

import numpy as np
import pytest

from plumetrace.physics.wind import (
    friction_velocity_from_wind,
    power_law_exponent,
    stability_correction_momentum,
    wind_speed_log_law,
    wind_speed_power_law,
)


def test_isc3_exponents():
    assert power_law_exponent(["A", "B", "C", "D", "E", "F"]).tolist() == [0.07, 0.07, 0.10, 0.15, 0.35, 0.55]
    assert power_law_exponent(["A", "D", "F"], "urban").tolist() == [0.15, 0.25, 0.30]
    assert power_law_exponent("C-D") == pytest.approx(0.125)
    with pytest.raises(ValueError, match="rural, urban"):
        power_law_exponent("D", "suburban")


def test_power_law():
    assert wind_speed_power_law(5.0, 10.0, 50.0, 0.15) == pytest.approx(5.0 * 5.0 ** 0.15)
    with pytest.raises(ValueError):
        wind_speed_power_law(5.0, 10.0, 0.0, 0.15)


def test_psi_values_by_hand():
    # z/L = -1: a = 16^(1/4) = 2
    expected = 2 * math.log(1.5) + math.log(2.5) - 2 * math.atan(2.0) + math.pi / 2
    assert stability_correction_momentum(10.0, -10.0) == pytest.approx(expected)
    assert stability_correction_momentum(10.0, 100.0) == pytest.approx(-0.47)
    assert stability_correction_momentum(10.0, np.inf) == 0.0


def test_log_law_neutral_and_inverse():
    u = wind_speed_log_law(0.35, 10.0, 0.1)
    assert u == pytest.approx(math.log(10.1 / 0.1))
    for length in (-20.0, np.inf, 50.0):
        ustar = friction_velocity_from_wind(6.0, 10.0, 0.05, length)
        assert wind_speed_log_law(ustar, 10.0, 0.05, length) == pytest.approx(6.0)


def test_stable_profile_is_steeper():
    ratio_stable = wind_speed_log_law(1, 50.0, 0.1, 50.0) / wind_speed_log_law(1, 10.0, 0.1, 50.0)
    ratio_neutral = wind_speed_log_law(1, 50.0, 0.1) / wind_speed_log_law(1, 10.0, 0.1)
    ratio_unstable = wind_speed_log_law(1, 50.0, 0.1, -20.0) / wind_speed_log_law(1, 10.0, 0.1, -20.0)
    assert ratio_stable > ratio_neutral > ratio_unstable > 1
