"""Simultaneous sources of one gas: found jointly where one at a time merges them into one far upwind."""

import math

import numpy as np
import pandas as pd

from plumetrace.geo.crs import LocalFrame
from plumetrace.io.survey import survey_from_dataframe
from plumetrace.locate import SourceLocator
from plumetrace.locate.multi import best_pair, score_sources
from plumetrace.physics.plume import gaussian_plume
from plumetrace.physics.species import SPECIES, mole_fraction
from tests.locate.test_locator import synthetic_survey
from tests.locate.tracks import crosswind_transects

FRAME = LocalFrame(52.0, 5.0)
SOURCES = [(40.0, -20.0, 5.0), (40.0, 40.0, 5.0)]
RATES = (0.5, 0.4)


def two_source_survey(seed: int, noise_ppm: float = 0.003, wind=(4.0, 270.0)):
    """Crosswind transects downwind of two steady sources 60 m apart across the wind (10 Hz CH4)."""
    rng = np.random.default_rng(seed)
    t, e, n = crosswind_transects()
    z = np.full(t.size, 15.0)
    c = sum(gaussian_plume(e, n, z, *s, q, wind[0], wind[1], "D", model="briggs_rural")
            for s, q in zip(SOURCES, RATES, strict=True))
    ppm = mole_fraction(c * 1e-3, SPECIES["ch4"].molar_mass) * 1e6
    lat, lon = FRAME.to_wgs84(e, n)
    df = pd.DataFrame({"time": t, "lat": lat, "lon": lon, "alt_m": z,
                       "ch4_ppm": 1.95 + ppm + noise_ppm * rng.standard_normal(t.size),
                       "wind_speed_mps": wind[0], "wind_dir_deg": wind[1]})
    return survey_from_dataframe(df, ["ch4_ppm"], "two.csv", FRAME)


def _fit(survey):
    return SourceLocator(stability="D", dispersion="briggs_rural", wind_offset_sd_deg=0.0).fit(survey)


def test_two_simultaneous_sources_are_recovered():
    for seed in (0, 1):
        loc = _fit(two_source_survey(seed))
        assert len(loc.sources_) == 2
        for (x, y, _), q in zip(SOURCES, RATES, strict=True):
            s = min(loc.sources_, key=lambda e: math.hypot(e.east - x, e.north - y))
            assert math.hypot(s.east - x, s.north - y) < 10.0
            assert q / 1.5 < s.rate_g_s < q * 1.5


def test_one_at_a_time_alone_merges_them_far_upwind():
    """Why the joint search exists: the best single source explains both plumes half-way from far upwind."""
    survey = two_source_survey(1)
    loc = _fit(survey)
    obs, search = loc.observations_["ch4_ppm"], loc.search_
    one = [score_sources(obs, [search.prediction(obs, x, y, 5.0, 0.0, 3.0)], search.beta)[0] for x, y, _ in SOURCES]
    both = score_sources(obs, [search.prediction(obs, x, y, 5.0, 0.0, 3.0) for x, y, _ in SOURCES], search.beta)[0]
    upwind = score_sources(obs, [search.prediction(obs, -62.5, 10.0, 1.8, 0.0, 3.0)], search.beta)[0]
    assert upwind > max(one)  # a single true source scores worse than the merged one …
    assert both > upwind + 8.0  # … and the pair beats both by far


def test_no_pair_on_a_single_source():
    loc = _fit(synthetic_survey(0.003, seed=2))
    assert len(loc.sources_) == 1


def test_pair_screen_finds_the_true_pair_on_a_lattice():
    survey = two_source_survey(0)
    loc = _fit(survey)
    obs, search = loc.observations_["ch4_ppm"], loc.search_
    xs, ys = np.meshgrid(np.arange(-100.0, 160.0, 20.0), np.arange(-100.0, 140.0, 20.0), indexing="ij")
    cells = np.column_stack((xs.ravel(), ys.ravel()))
    from plumetrace.locate.grid import unit_predictions

    pair = best_pair(obs, cells, lambda o, e, n: unit_predictions(o, e, n, 5.0, 0.0, 3.0, search.sigma_models[0]),
                     search.beta, 30.0)
    got = sorted(pair[0], key=lambda p: p[1])
    assert math.hypot(got[0][0] - 40, got[0][1] + 20) <= 15 and math.hypot(got[1][0] - 40, got[1][1] - 40) <= 15
