"""Geometry of the world plumetrace works in: the local metric frame (CRS) and building footprints.

Below :mod:`plumetrace.io` in the layer order: readers and writers import it, never the other way round.
"""

from plumetrace.geo.buildings import Building, Town
from plumetrace.geo.crs import LocalFrame, geodesic_distance_m

__all__ = ["Building", "LocalFrame", "Town", "geodesic_distance_m"]
