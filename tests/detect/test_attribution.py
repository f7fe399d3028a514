"""Attribution posteriors on hand-built enhancement sets."""

import numpy as np
import pytest

from plumetrace.detect.attribution import (
    attribute,
    class_patterns,
    equivalent_classes,
    indistinguishable,
    ratios_pattern,
)
from plumetrace.detect.signatures import load_source_classes

CHANNELS = ["ch4", "c2h6", "co2", "co"]


@pytest.fixture(scope="module")
def patterns():
    return class_patterns(load_source_classes(), CHANNELS)


def test_thermogenic_versus_biogenic_methane(patterns):
    """A strong CH4 event with 4 % ethane is natural gas; the same without ethane is not."""
    se = np.array([20.0, 0.8, 500.0, 5.0])
    gas = attribute(np.array([20_000.0, 800.0, 0.0, 0.0]), se, patterns)
    assert gas.label == "natural_gas" and gas.probability > 0.9
    bio = attribute(np.array([20_000.0, 0.0, 0.0, 0.0]), se, patterns)
    assert bio.label != "natural_gas"
    assert bio.probabilities["natural_gas"] < 0.01
    # the biogenic classes cannot be told apart with these channels: the posterior is split among them
    biogenic = sum(bio.probabilities[k] for k in ("biogenic_methane", "sewer", "livestock"))
    assert biogenic > 0.9


def test_weak_evidence_is_unknown(patterns):
    se = np.array([20.0, 0.8, 500.0, 5.0])
    weak = attribute(np.array([30.0, 1.0, 0.0, 0.0]), se, patterns)
    assert weak.label == "unknown"


def test_pattern_no_class_explains_is_unknown(patterns):
    """Ethane without methane fits no class."""
    se = np.array([20.0, 0.8, 500.0, 5.0])
    odd = attribute(np.array([0.0, 900.0, 0.0, 0.0]), se, patterns)
    assert odd.label == "unknown" and odd.probability > 0.9


def test_traffic_signature():
    pats = class_patterns(load_source_classes(), ["co2", "co"])
    # 50 ppm·s CO2 with 4.15 ppb/ppm CO (Popa et al. 2014)
    res = attribute(np.array([50_000.0, 207.5]), np.array([600.0, 10.0]), pats)
    assert res.label == "traffic" and res.probability > 0.8


def test_probabilities_sum_to_one(patterns):
    res = attribute(np.array([5000.0, 200.0, 1e5, 400.0]), np.array([20.0, 0.8, 500.0, 5.0]), patterns)
    assert sum(res.probabilities.values()) == pytest.approx(1.0)


def test_equivalence_and_indistinguishable():
    classes = load_source_classes()
    pats = class_patterns(classes, ["ch4", "c2h6"])
    groups = equivalent_classes(pats)
    assert "sewer" in groups["biogenic_methane"] and "natural_gas" not in groups["biogenic_methane"]
    by_key = {p.key: p for p in pats}
    # an emitter with 3 % ethane looks like natural gas, not like biogenic methane
    pattern = ratios_pattern("ch4", {"c2h6": 0.03}, ["ch4", "c2h6"])
    assert indistinguishable(pattern, by_key["natural_gas"])
    assert not indistinguishable(pattern, by_key["biogenic_methane"])
