"""Model evaluation against field data (statistics of Chang & Hanna 2004)."""

from plumetrace.validation.dispersion import DispersionValidation, validate_dispersion
from plumetrace.validation.stats import EvaluationStatistics, evaluation_statistics

__all__ = ["DispersionValidation", "EvaluationStatistics", "evaluation_statistics", "validate_dispersion"]
