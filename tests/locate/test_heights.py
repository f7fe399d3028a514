"""Release heights spaced to what the legs resolve (``SourceLocator(heights="auto")``, the default)."""

import numpy as np
import pandas as pd
import pytest

from plumetrace.geo.crs import LocalFrame
from plumetrace.io.survey import survey_from_dataframe
from plumetrace.locate import SourceLocator
from plumetrace.locate.levels import DEFAULT_HEIGHTS, MIN_LEVEL_SPACING_M, RELEASE_RANGE_M, release_heights
from plumetrace.physics.plume import gaussian_plume
from plumetrace.physics.species import SPECIES, mole_fraction

FRAME = LocalFrame(52.0, 5.0)


def low_leg_survey(height: float, alt: float, seed: int = 0, rate: float = 0.3):
    """Crosswind legs 15–99 m downwind of a steady CH4 release at (0, 0, ``height``), flown at ``alt`` [m], 10 Hz."""
    rng = np.random.default_rng(seed)
    rows, t = [], 1.78e9
    for k, x in enumerate(np.arange(15.0, 100.0, 12.0)):
        ys = np.arange(-80.0, 80.0, 0.8)
        for y in ys[::-1] if k % 2 else ys:
            rows.append((t, x, y))
            t += 0.1
    t, e, n = (np.array(v) for v in zip(*rows, strict=True))
    z = np.full(t.size, alt)
    c = gaussian_plume(e, n, z, 0.0, 0.0, height, rate, 3.0, 270.0, "D", model="briggs_rural")
    ppm = mole_fraction(c * 1e-3, SPECIES["ch4"].molar_mass) * 1e6
    lat, lon = FRAME.to_wgs84(e, n)
    df = pd.DataFrame({"time": t, "lat": lat, "lon": lon, "alt_m": z,
                       "ch4_ppm": 1.95 + ppm + 0.003 * rng.standard_normal(t.size),
                       "wind_speed_mps": 3.0, "wind_dir_deg": 270.0})
    return survey_from_dataframe(df, ["ch4_ppm"], "low-legs.csv", FRAME)


@pytest.mark.parametrize("z_min", [18.0, 19.6, 25.0, 60.0])
def test_legs_well_above_every_level_keep_the_default(z_min):
    assert release_heights([z_min, z_min + 3.0]) == DEFAULT_HEIGHTS
    assert release_heights([]) == DEFAULT_HEIGHTS
    assert release_heights([np.nan]) == DEFAULT_HEIGHTS


def test_lower_legs_get_finer_levels_over_the_whole_range_and_never_more_than_the_floor_allows():
    previous = len(DEFAULT_HEIGHTS)
    for z_min in np.arange(17.5, -0.1, -0.5):
        h = np.asarray(release_heights([z_min, 20.0]))
        assert h[0] == RELEASE_RANGE_M[0] and h[-1] == RELEASE_RANGE_M[1]
        assert np.all(np.diff(h) > 0)
        spacing = float(np.max(np.diff(h)))
        assert spacing <= max((z_min - RELEASE_RANGE_M[1]) / 2.0, MIN_LEVEL_SPACING_M) + 1e-9
        assert len(h) >= previous  # lower legs never get fewer levels
        previous = len(h)
    assert previous == 8


def test_the_survey_altitude_picks_the_levels():
    loc = SourceLocator(stability="D", dispersion="briggs_rural").fit(low_leg_survey(3.8, 20.0, rate=3.0))
    assert loc.heights_ == DEFAULT_HEIGHTS
    fixed = SourceLocator(stability="D", dispersion="briggs_rural", heights=(2.0, 4.0)).fit(low_leg_survey(3.8, 12.0))
    assert fixed.heights_ == (2.0, 4.0)


@pytest.mark.parametrize("height", [3.8, 7.0])
def test_low_legs_place_a_release_between_the_default_levels_better(height):
    """Legs at 12 m over a release at 3.8 or 7 m: with levels 1, 5, 10 m the height error is paid along the wind
    (σz, and so the distance, is fitted to the wrong vertical offset); the levels ``auto`` picks halve it."""
    survey = low_leg_survey(height, 12.0)
    err = {}
    for name, heights in (("auto", "auto"), ("default", DEFAULT_HEIGHTS)):
        loc = SourceLocator(stability="D", dispersion="briggs_rural", wind_offset_sd_deg=0.0, heights=heights)
        loc.fit(survey)
        assert len(loc.sources_) == 1
        err[name] = float(np.hypot(loc.sources_[0].east, loc.sources_[0].north))
    assert len(release_heights([12.0])) == 8
    assert err["auto"] <= 0.65 * err["default"], err
