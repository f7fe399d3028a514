"""Bayesian source localisation and emission quantification (grid posterior), down to the building."""

from plumetrace.locate.locator import SourceLocator
from plumetrace.locate.posterior import ChannelPosterior, EvidenceMap
from plumetrace.locate.presets import PRESETS, locator_settings
from plumetrace.locate.result import SourceEstimate, SurveyResult, source_record

__all__ = ["PRESETS", "ChannelPosterior", "EvidenceMap", "SourceEstimate", "SourceLocator", "SurveyResult",
           "locator_settings", "source_record"]
