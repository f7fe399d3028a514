"""Synthetic towns: street grids of building footprints with roof heights, or a real footprint file."""

from __future__ import annotations

import numpy as np
from shapely.geometry import LineString, Polygon, box

from plumetrace.geo.buildings import Building, Town
from plumetrace.geo.crs import LocalFrame


def make_grid_town(
    rng: np.random.Generator,
    frame: LocalFrame,
    blocks: tuple[int, int] = (6, 5),
    block_size: float = 80.0,
    street_width: float = 14.0,
    house_width: float = 9.0,
    house_depth: float = 11.0,
    house_gap: float = 3.0,
    industrial_fraction: float = 0.15,
    commercial_fraction: float = 0.1,
) -> Town:
    """A street grid of blocks centred on the frame's origin.

    Residential blocks hold two back-to-back rows of houses (roofs 5.5–9.5 m); industrial blocks one or two
    large sheds (8–15 m); commercial blocks a row of shops (6–10 m). Streets run between the blocks.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness (seeded by the scenario).
    frame : LocalFrame
        The frame the town lives in.
    blocks : (int, int)
        Number of blocks east and north.
    block_size, street_width, house_width, house_depth, house_gap : float
        Geometry [m].
    industrial_fraction, commercial_fraction : float
        Share of blocks of each use.
    """
    nx, ny = blocks
    if nx < 1 or ny < 1:
        raise ValueError("a town needs at least one block each way")
    pitch = block_size + street_width
    x_start = -0.5 * (nx * pitch - street_width)
    y_start = -0.5 * (ny * pitch - street_width)
    buildings: list[Building] = []
    uses = rng.choice(["house", "industrial", "commercial"], size=(nx, ny),
                      p=[1 - industrial_fraction - commercial_fraction, industrial_fraction, commercial_fraction])

    def add(poly: Polygon, height: float, use: str) -> None:
        buildings.append(Building(f"b{len(buildings) + 1}", poly, round(float(height), 1), use))

    for i in range(nx):
        for j in range(ny):
            x0 = x_start + i * pitch
            y0 = y_start + j * pitch
            use = str(uses[i, j])
            if use == "industrial":
                if rng.random() < 0.5:
                    add(box(x0 + 5, y0 + 8, x0 + block_size - 5, y0 + block_size - 8), rng.uniform(8, 15), use)
                else:
                    mid = y0 + block_size / 2
                    add(box(x0 + 5, y0 + 5, x0 + block_size - 5, mid - 3), rng.uniform(8, 15), use)
                    add(box(x0 + 5, mid + 3, x0 + block_size - 5, y0 + block_size - 5), rng.uniform(8, 15), use)
                continue
            width = house_width if use == "house" else 1.6 * house_width
            depth = house_depth if use == "house" else 14.0
            n_row = int((block_size - house_gap) // (width + house_gap))
            span = n_row * width + (n_row - 1) * house_gap
            left = x0 + 0.5 * (block_size - span)
            rows = ((y0 + 3.0, y0 + 3.0 + depth), (y0 + block_size - 3.0 - depth, y0 + block_size - 3.0))
            if use == "commercial":
                rows = rows[:1]
            for ylo, yhi in rows:
                for k in range(n_row):
                    xl = left + k * (width + house_gap)
                    h = rng.uniform(5.5, 9.5) if use == "house" else rng.uniform(6, 10)
                    add(box(xl, ylo, xl + width, yhi), h, use)
    streets = []
    x_end = x_start + nx * pitch - street_width
    y_end = y_start + ny * pitch - street_width
    for i in range(nx + 1):
        x = x_start - street_width / 2 + i * pitch
        streets.append(LineString([(x, y_start - street_width), (x, y_end + street_width)]))
    for j in range(ny + 1):
        y = y_start - street_width / 2 + j * pitch
        streets.append(LineString([(x_start - street_width, y), (x_end + street_width, y)]))
    return Town(buildings, frame, streets)
