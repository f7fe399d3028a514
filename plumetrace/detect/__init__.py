"""Plume-hit detection over a moving background and chemical attribution of the events."""

from plumetrace.detect.attribution import Attribution, attribute, class_patterns
from plumetrace.detect.background import moving_background, noise_sigma
from plumetrace.detect.detector import Event, PlumeDetector
from plumetrace.detect.york import YorkFit, york_fit

__all__ = ["Attribution", "Event", "PlumeDetector", "YorkFit", "attribute", "class_patterns", "moving_background",
           "noise_sigma", "york_fit"]
