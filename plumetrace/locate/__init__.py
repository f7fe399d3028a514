"""Bayesian source localisation and emission quantification (grid posterior), down to the building."""

from plumetrace.locate.locator import ChannelPosterior, SourceEstimate, SourceLocator

__all__ = ["ChannelPosterior", "SourceEstimate", "SourceLocator"]
