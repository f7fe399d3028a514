"""Building attribution of a located source: the posterior mass in each footprint, the most probable buildings.

A cell of the position posterior (a square of the grid's side) shares its mass among the footprints it
overlaps in proportion to the overlapping area; the rest falls on streets and yards. The buildings are ranked
by their summed mass (the probability that the source is inside them).
"""

from __future__ import annotations

import numpy as np
from shapely.geometry import Point, box
from shapely.strtree import STRtree

from plumetrace.exceptions import InputError

#: Cells with less posterior mass than this are not intersected with footprints.
MIN_CELL_MASS = 1e-6
#: Buildings reported in ``buildings_top``.
TOP_BUILDINGS = 5
#: A buildings file whose footprints all lie farther than this from the survey is refused [m].
SURVEY_BUILDINGS_MARGIN_M = 500.0


def building_masses(cells: np.ndarray, mass: np.ndarray, resolution: float, buildings) -> dict[str, float]:
    """Building id → posterior mass inside its footprint.

    Parameters
    ----------
    cells : numpy.ndarray, shape (n, 2)
        Cell centres (east, north) [m] in the buildings' frame.
    mass : numpy.ndarray, shape (n,)
        Posterior mass per cell.
    resolution : float
        Cell side [m].
    buildings : list of Building
    """
    tree = STRtree([b.footprint for b in buildings])
    masses: dict[str, float] = {}
    half = resolution / 2
    for (x, y), m in zip(cells, mass, strict=True):
        if m < MIN_CELL_MASS:
            continue
        cell = box(x - half, y - half, x + half, y + half)
        for i in tree.query(cell, predicate="intersects"):
            b = buildings[int(i)]
            share = b.footprint.intersection(cell).area / cell.area
            if share <= 0.0:  # touching at an edge only
                continue
            masses[b.id] = masses.get(b.id, 0.0) + m * share
    return masses


def top_buildings(cells, mass, resolution, buildings, east: float, north: float, k: int = TOP_BUILDINGS):
    """(building id, probability of the first or None, [[id, probability], …] of the ``k`` most probable).

    When no cell overlaps a footprint, the building nearest to (``east``, ``north``) is listed with probability
    0 and no building is named.
    """
    masses = building_masses(cells, mass, resolution, buildings)
    if not masses:
        nearest = min(buildings, key=lambda b: b.footprint.distance(Point(east, north)))
        return None, 0.0, [[nearest.id, 0.0]]
    top = sorted(masses.items(), key=lambda kv: -kv[1])[:k]
    return top[0][0], float(top[0][1]), [[b, float(v)] for b, v in top]


def check_survey_inside_buildings(east: np.ndarray, north: np.ndarray, buildings) -> None:
    """Refuse a buildings file that lies nowhere near the survey's positions (a wrong file or a wrong frame).

    Raises
    ------
    InputError
        When the survey's extent and the footprints' are more than
        :data:`SURVEY_BUILDINGS_MARGIN_M` apart.
    """
    if not buildings:
        return
    bx = np.array([b.footprint.bounds for b in buildings])
    margin = SURVEY_BUILDINGS_MARGIN_M
    if (east.max() < bx[:, 0].min() - margin or east.min() > bx[:, 2].max() + margin or
            north.max() < bx[:, 1].min() - margin or north.min() > bx[:, 3].max() + margin):
        raise InputError(f"the survey lies outside the area of the buildings file (more than {margin:.0f} m away); "
                         "is it the right town?", column="--buildings")
