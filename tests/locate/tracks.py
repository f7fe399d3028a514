"""The synthetic survey track of the locator tests: crosswind transects 30 m apart, flown at 10 Hz."""

import numpy as np
import pandas as pd

from plumetrace.geo.crs import LocalFrame
from plumetrace.io.survey import survey_from_dataframe
from plumetrace.physics.plume import gaussian_plume
from plumetrace.physics.species import SPECIES, mole_fraction

FRAME = LocalFrame(52.0, 5.0)


def crosswind_transects(t0: float = 1.78e9) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Times [s], east and north [m] of 15 lines x = −150 … 270 m across y = −200 … 200 m, 0.8 m per 0.1 s."""
    rows, t = [], t0
    for k, x in enumerate(np.arange(-150.0, 300.0, 30.0)):
        ys = np.arange(-200.0, 200.0, 0.8)
        for y in ys[::-1] if k % 2 else ys:
            rows.append((t, x, y))
            t += 0.1
    return tuple(np.array(v) for v in zip(*rows, strict=True))


def gas_survey(seed: int, sources: dict, noise_ppb: float = 1.0, wind=(4.0, 270.0), stability: str = "D",
               name: str = "synthetic.csv"):
    """The transects at 15 m through steady rural plumes; ``sources``: gas → list of ((east, north, height) [m],
    rate [g/s]). Each gas channel reads 5 ppb of background, the plumes and white noise of ``noise_ppb``."""
    rng = np.random.default_rng(seed)
    t, e, n = crosswind_transects()
    z = np.full(t.size, 15.0)
    lat, lon = FRAME.to_wgs84(e, n)
    df = pd.DataFrame({"time": t, "lat": lat, "lon": lon, "alt_m": z, "wind_speed_mps": wind[0],
                       "wind_dir_deg": wind[1]})
    for gas, emitters in sources.items():
        c = sum((gaussian_plume(e, n, z, *xyz, q, *wind, stability, model="briggs_rural") for xyz, q in emitters),
                np.zeros(t.size))
        ppb = mole_fraction(c * 1e-3, SPECIES[gas].molar_mass) * 1e9
        df[f"{gas}_ppb"] = 5.0 + ppb + noise_ppb * rng.standard_normal(t.size)
    return survey_from_dataframe(df, [f"{g}_ppb" for g in sources], name, FRAME)
