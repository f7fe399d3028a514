"""Quantities with units at the edges (scenario files, CLI options), converted once to SI.

A quantity is a number (taken in the field's default unit) or a string ``"<number> <unit>"``.
:func:`parse_quantity` converts it to SI and raises :class:`UnitError` naming the expected units when the
unit is unknown or of the wrong dimension.
"""

from __future__ import annotations

import math
import re

# dimension -> {unit: factor to SI}
UNITS: dict[str, dict[str, float]] = {
    "length": {"m": 1.0, "km": 1000.0, "ft": 0.3048, "cm": 0.01},
    "speed": {"m/s": 1.0, "km/h": 1 / 3.6, "kn": 1852.0 / 3600.0, "mph": 0.44704},
    "time": {"s": 1.0, "min": 60.0, "h": 3600.0, "ms": 1e-3},
    "mass_rate": {"g/s": 1.0, "kg/s": 1000.0, "kg/h": 1000.0 / 3600.0, "g/h": 1 / 3600.0, "g/min": 1 / 60.0,
                  "t/yr": 1e6 / (365.25 * 86400.0), "mg/s": 1e-3},
    "angle": {"deg": 1.0},
    "temperature": {"degC": 1.0, "C": 1.0, "K": 1.0},
    "pressure": {"hPa": 100.0, "Pa": 1.0, "kPa": 1000.0},
    "fraction": {"": 1.0, "%": 0.01},
}

_QUANTITY = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([^\s\d].*?)?\s*$")


class UnitError(ValueError):
    """A quantity whose unit is unknown, of the wrong dimension, or whose number is malformed."""


def parse_quantity(value: object, dimension: str, default_unit: str) -> float:
    """Convert ``value`` to SI.

    Parameters
    ----------
    value : float, int or str
        A plain number (taken in ``default_unit``) or ``"<number> <unit>"``, e.g. ``"2 kg/h"``.
    dimension : str
        A key of :data:`UNITS`.
    default_unit : str
        Unit of plain numbers.

    Returns
    -------
    float
        The value in SI units (temperatures in °C are returned in K).

    Raises
    ------
    UnitError
        If the unit is not one of the dimension's units (listed in the message) or the text is not a number.

    Examples
    --------
    >>> parse_quantity("36 km/h", "speed", "m/s")
    10.0
    >>> parse_quantity(2, "mass_rate", "g/s")
    2.0
    """
    table = UNITS[dimension]
    if isinstance(value, bool):
        raise UnitError(f"expected a {dimension.replace('_', ' ')}, got {value!r}")
    if isinstance(value, (int, float)):
        number, unit = float(value), default_unit
    elif isinstance(value, str):
        match = _QUANTITY.match(value)
        if not match:
            raise UnitError(f"{value!r} is not a number with a unit (e.g. '5 {default_unit}')")
        number, unit = float(match.group(1)), (match.group(2) or default_unit).strip()
    else:
        raise UnitError(f"expected a number or '<number> <unit>', got {type(value).__name__}")
    if not math.isfinite(number):
        raise UnitError(f"{value!r} is not a finite number")
    if unit not in table:
        known = ", ".join(u for u in table if u)
        raise UnitError(f"unit {unit!r} is not a {dimension.replace('_', ' ')} unit; expected one of {known}")
    if dimension == "temperature":
        return number + 273.15 if unit in ("degC", "C") else number
    return number * table[unit]
