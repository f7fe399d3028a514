"""Survey CSV (contract 1): reading and clear errors."""

import numpy as np
import pytest

from plumetrace.exceptions import InputError
from plumetrace.io.survey import read_survey

GOOD = """time,lat,lon,alt_m,ch4_ppm,c2h6_ppb,wind_speed_mps,wind_dir_deg,extra
1781532000.0,52.0,5.0,20,1.95,1.2,4.0,250,a
1781532000.1,52.00001,5.0,20,1.96,1.3,4.1,251,b
1781532000.2,52.00002,5.0,20,1.97,1.1,4.2,249,c
"""


def test_reads_contract_columns(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text(GOOD)
    s = read_survey(p)
    assert s.channels == ["ch4_ppm", "c2h6_ppb"]
    assert s.n_samples == 3 and s.duration_s == pytest.approx(0.2)
    assert s.has_wind and "extra" in s.data.columns
    assert s.data["north"].iloc[2] - s.data["north"].iloc[0] == pytest.approx(2.22, abs=0.01)
    assert (s.data["temp_c"] == 15.0).all()


def test_iso_times(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("time,lat,lon,alt_m,co_ppm\n2026-06-15T10:00:00Z,52,5,10,0.1\n2026-06-15T12:00:01+02:00,52,5,10,0.2\n")
    s = read_survey(p)
    assert np.diff(s.data["time"]).tolist() == [1.0]


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        ("time,lat,lon,ch4_ppm\n1,52,5,1.9\n", 1, "alt_m", "missing required column"),
        ("time,lat,lon,alt_m,speed\n1,52,5,10,3\n", 1, None, "no gas channel"),
        ("time,lat,lon,alt_m,ch4_ppt\n1,52,5,10,3\n", 1, "ch4_ppt", "unknown unit 'ppt'"),
        ("time,lat,lon,alt_m,ch4_ppm\n1,52,5,10,1.9\n2,52,5,10,x\n", 3, "ch4_ppm", "is not a number"),
        ("time,lat,lon,alt_m,ch4_ppm\n1,52,5,10,1.9\n0.5,52,5,10,1.9\n", 3, "time", "backwards"),
        ("time,lat,lon,alt_m,ch4_ppm\n1,95,5,10,1.9\n", 2, "lat", "outside -90..90"),
        ("time,lat,lon,alt_m,ch4_ppm\n1,52,5,10,1.9\n2,,5,10,1.9\n", 3, "lat", "is empty"),
        ("time,lat,lon,alt_m,ch4_ppm\n2026-06-15T10:00:00,52,5,10,1.9\n", 2, "time", "no UTC offset"),
        ("time,lat,lon,alt_m,ch4_ppm\n", 2, None, "no samples"),
    ],
)
def test_bad_surveys(tmp_path, text, line, column, words):
    p = tmp_path / "bad.csv"
    p.write_text(text)
    with pytest.raises(InputError) as info:
        read_survey(p)
    assert words in str(info.value) and "bad.csv" in str(info.value)
    assert info.value.row == line and info.value.column == column


def test_ppb_factor():
    from plumetrace.io.survey import ppb_factor

    assert ppb_factor("ppm", "ch4") == 1e3 and ppb_factor("ppb", "nh3") == 1.0
    # 656 µg/m³ of methane at 25 °C and 1 atm is about 1 ppm
    assert 656 * ppb_factor("ug_m3", "ch4", 298.15, 101325.0) == pytest.approx(1000.0, rel=2e-3)
    with pytest.raises(InputError, match="unknown species"):
        ppb_factor("ug_m3", "unobtainium")
