"""The estimator contract (scikit-learn habits) for every estimator: PlumeDetector, SourceLocator, MassBalance,
SiteFuser — the constructor only stores its parameters, ``fit`` returns self, fitting twice gives the same
result, and what ``fit`` sets is public only with a trailing underscore."""

from __future__ import annotations

import inspect
import math
from pathlib import Path

import numpy as np
import pytest

from plumetrace.detect import PlumeDetector
from plumetrace.fuse import SiteFuser
from plumetrace.io.survey import read_survey
from plumetrace.locate import EvidenceMap, SourceLocator, SurveyResult
from plumetrace.locate.massbalance import MassBalance
from tests.locate.test_locator import synthetic_survey
from tests.locate.test_massbalance import _curtain_survey


def _fusion_input():
    xs = -200.0 + (np.arange(16) + 0.5) * 25.0
    gx, gy = np.meshgrid(xs, xs, indexing="ij")
    log_bf = (9.0 * np.exp(-0.5 * ((gx - 12.5) ** 2 + (gy - 12.5) ** 2) / 400.0) - 1.0).astype(np.float32)
    return [SurveyResult(i, 1e9 + i * 86400, 1e9 + i * 86400 + 1800, ["acetone_ppb"], (-150, 150, -150, 150),
                         [EvidenceMap("acetone_ppb", "acetone", -200.0, -200.0, 25.0, log_bf)]) for i in range(3)]


def _summary(est):
    """The fitted result of each estimator as plain numbers, to compare two fits."""
    if isinstance(est, PlumeDetector):
        return [(e.t_start, e.t_end, e.peak_sigma, e.label) for e in est.events_]
    if isinstance(est, SourceLocator):
        return [(s.east, s.north, s.rate_g_s, tuple(s.rate_ci90_g_s), s.log_bayes) for s in est.sources_]
    if isinstance(est, MassBalance):
        return [(e.channel, e.rate_g_s, tuple(e.rate_ci90_g_s)) for e in est.estimates_]
    return [(s.east, s.north, s.log_bayes, s.status) for s in est.sites_]


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    survey = synthetic_survey(0.003, seed=2)
    curtain_path, _ = _curtain_survey(Path(tmp_path_factory.mktemp("curtain")), 0.2)
    curtain = read_survey(curtain_path)
    return {
        "PlumeDetector": (PlumeDetector, {"false_alarms_per_hour": 0.3, "lags": {"ch4_ppm": 0.0}}, (survey,)),
        "SourceLocator": (SourceLocator, {"stability": "D", "dispersion": "briggs_rural", "max_sources": 1,
                                          "heights": (1.0, 5.0), "random_state": 3}, (survey,)),
        "MassBalance": (MassBalance, {"n_mc": 50, "random_state": 1}, (curtain, ["acetone_ppb"])),
        "SiteFuser": (SiteFuser, {"mode": "persistent", "merge_radius": 40.0}, (_fusion_input(),)),
    }


NAMES = ["PlumeDetector", "SourceLocator", "MassBalance", "SiteFuser"]


@pytest.mark.parametrize("name", NAMES)
def test_constructor_stores_its_parameters_unchanged(name, cases):
    cls, params, _ = cases[name]
    est = cls(**params)
    signature = inspect.signature(cls.__init__).parameters
    for key, p in signature.items():
        if key == "self":
            continue
        expected = params.get(key, p.default)
        assert getattr(est, key) is expected, f"{name}.{key} was changed by the constructor"
    assert not [k for k in vars(est) if k not in signature], f"{name}.__init__ sets more than its parameters"


@pytest.mark.parametrize("name", NAMES)
def test_fit_returns_self_is_repeatable_and_names_fitted_attributes_with_an_underscore(name, cases):
    cls, params, args = cases[name]
    est = cls(**params)
    before = set(vars(est))
    assert est.fit(*args) is est
    first = _summary(est)
    assert first, f"{name} fitted nothing on its test case"  # the comparison below must compare something
    fitted = [k for k in set(vars(est)) - before if not k.startswith("_")]
    assert fitted and all(k.endswith("_") for k in fitted), f"{name}: fitted attributes {sorted(fitted)}"
    est.fit(*args)
    second = _summary(est)
    assert len(first) == len(second)
    for a, b in zip(first, second, strict=True):
        for x, y in zip(a, b, strict=True):
            if isinstance(x, float) and math.isnan(x):
                assert math.isnan(y)
            else:
                assert x == y, f"{name}: a second fit differs ({a} vs {b})"


@pytest.mark.parametrize("name", NAMES)
def test_fit_does_not_change_the_parameters(name, cases):
    cls, params, args = cases[name]
    est = cls(**params).fit(*args)
    for key, value in params.items():
        assert getattr(est, key) is value, f"{name}.fit changed {key}"
