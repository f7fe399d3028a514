"""Pure atmospheric-dispersion physics: arrays in, arrays out, SI units, no I/O.

Public API (stable):

- stability classes: :func:`stability_code`, :func:`stability_label`, :func:`pasquill_class`,
  :func:`stability_class_turner`, :func:`stability_class_from_sigma_theta`,
  :func:`stability_class_from_obukhov`
- dispersion coefficients: :func:`dispersion_coefficients`, :func:`averaging_time_factor`
- wind profiles: :func:`wind_speed_power_law`, :func:`power_law_exponent`, :func:`wind_speed_log_law`
- plumes and puffs: :func:`gaussian_plume`, :func:`plume_coupling`, :func:`gaussian_puff`,
  :func:`release_puffs`
- species: :data:`SPECIES`, :func:`mass_concentration`, :func:`mole_fraction`
"""

from plumetrace.physics.plume import MIN_WIND_SPEED, gaussian_plume, is_calm, plume_coupling
from plumetrace.physics.puff import gaussian_puff, release_puffs, wind_displacement
from plumetrace.physics.sigmas import SIGMA_MODELS, averaging_time_factor, dispersion_coefficients, sigma_model
from plumetrace.physics.species import SPECIES, get_species, mass_concentration, mole_fraction
from plumetrace.physics.stability import (
    CLASSES,
    day_period,
    insolation_category,
    inverse_obukhov_length_golder,
    pasquill_class,
    stability_class_from_obukhov,
    stability_class_from_sigma_theta,
    stability_class_turner,
    stability_code,
    stability_label,
)
from plumetrace.physics.wind import (
    friction_velocity_from_wind,
    power_law_exponent,
    wind_speed_log_law,
    wind_speed_power_law,
)

__all__ = [
    "CLASSES", "MIN_WIND_SPEED", "SIGMA_MODELS", "SPECIES", "averaging_time_factor", "day_period",
    "dispersion_coefficients", "friction_velocity_from_wind", "gaussian_plume", "gaussian_puff", "get_species",
    "insolation_category", "inverse_obukhov_length_golder", "is_calm", "mass_concentration", "mole_fraction",
    "pasquill_class", "plume_coupling", "power_law_exponent", "release_puffs", "sigma_model",
    "stability_class_from_obukhov", "stability_class_from_sigma_theta", "stability_class_turner",
    "stability_code", "stability_label", "wind_displacement", "wind_speed_log_law", "wind_speed_power_law",
]
