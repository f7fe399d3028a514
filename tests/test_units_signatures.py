"""Units at the edges and the source-class library."""

import pytest

from plumetrace.detect.signatures import load_source_classes
from plumetrace.exceptions import InputError
from plumetrace.units import UnitError, parse_quantity


@pytest.mark.parametrize(
    ("value", "dim", "unit", "si"),
    [("36 km/h", "speed", "m/s", 10.0), (5, "speed", "m/s", 5.0), ("2 kg/h", "mass_rate", "g/s", 2000 / 3600),
     ("30 min", "time", "s", 1800.0), ("15 degC", "temperature", "degC", 288.15), ("1000 hPa", "pressure", "hPa", 1e5),
     ("1.5e2 m", "length", "m", 150.0), ("10 kn", "speed", "m/s", 10 * 1852 / 3600)],
)
def test_parse_quantity(value, dim, unit, si):
    assert parse_quantity(value, dim, unit) == pytest.approx(si)


@pytest.mark.parametrize(("value", "words"), [("4 km", "not a speed unit"), ("fast", "not a number"),
                                               (True, "expected a speed"), ("nan m/s", "not a number")])
def test_bad_quantities(value, words):
    with pytest.raises(UnitError, match=words):
        parse_quantity(value, "speed", "m/s")


def test_library_has_the_contract_classes():
    classes = load_source_classes()
    for key in ("natural_gas", "biogenic_methane", "traffic", "clandestine_lab"):
        assert key in classes
    assert classes["clandestine_lab"].illustrative and classes["clandestine_lab"].target
    assert classes["natural_gas"].ratios["c2h6"].median > 0
    assert classes["biogenic_methane"].ratios["c2h6"].median == 0
    assert all(c.sources for c in classes.values())


def test_user_classes_extend_and_errors_name_the_key(tmp_path):
    extra = tmp_path / "mine.yaml"
    extra.write_text("asphalt_plant:\n  primary: toluene\n  ratios: {benzene: {median: 0.1, log_sd: 0.5}}\n")
    classes = load_source_classes(extra)
    assert classes["asphalt_plant"].species == ("toluene", "benzene")
    extra.write_text("bad:\n  primary: kryptonite\n")
    with pytest.raises(InputError, match="bad.primary"):
        load_source_classes(extra)
