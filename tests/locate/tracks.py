"""The synthetic survey track of the locator tests: crosswind transects 30 m apart, flown at 10 Hz."""

import numpy as np


def crosswind_transects(t0: float = 1.78e9) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Times [s], east and north [m] of 15 lines x = −150 … 270 m across y = −200 … 200 m, 0.8 m per 0.1 s."""
    rows, t = [], t0
    for k, x in enumerate(np.arange(-150.0, 300.0, 30.0)):
        ys = np.arange(-200.0, 200.0, 0.8)
        for y in ys[::-1] if k % 2 else ys:
            rows.append((t, x, y))
            t += 0.1
    return tuple(np.array(v) for v in zip(*rows, strict=True))
