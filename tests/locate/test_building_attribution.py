"""Building attribution: the posterior mass inside each footprint, the most probable buildings."""

import numpy as np
import pytest
from shapely.geometry import box

from plumetrace.geo.buildings import Building
from plumetrace.locate.attribution import building_masses, top_buildings

# Two 9 m × 11 m houses 3 m apart (east of each other), a street to the south.
HOUSES = [Building("a", box(0, 0, 9, 11), 7.0), Building("b", box(12, 0, 21, 11), 7.0)]


def test_footprint_mass_is_the_covered_share_of_each_cell():
    # inside a; straddling a's east wall; in the gap, touching b's west wall at an edge
    cells = np.array([[4.5, 5.5], [9.0, 5.5], [11.0, 5.5]])
    masses = building_masses(cells, np.array([0.5, 0.3, 0.2]), 2.0, HOUSES)
    assert masses == pytest.approx({"a": 0.5 + 0.3 / 2})  # b, touched at an edge only, is not listed


def test_top_buildings_ranks_by_mass_and_names_none_off_every_footprint():
    cells = np.array([[4.5, 5.5], [16.5, 5.5], [16.5, 3.5]])
    name, p, top = top_buildings(cells, np.array([0.3, 0.4, 0.3]), 1.0, HOUSES, 16.5, 5.5)
    assert name == "b" and p == pytest.approx(0.7) and [b for b, _ in top] == ["b", "a"]
    street = np.array([[4.5, -8.0], [16.5, -9.0]])
    assert top_buildings(street, np.array([0.5, 0.5]), 1.0, HOUSES, 16.5, -9.0) == (None, 0.0, [["b", 0.0]])
