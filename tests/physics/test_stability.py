"""Stability classification against the Pasquill table (METHODS.md §4.2) and the Golder lines."""

import numpy as np
import pandas as pd
import pytest

from plumetrace.physics.stability import (
    insolation_category,
    inverse_obukhov_length_golder,
    pasquill_class,
    stability_class_from_obukhov,
    stability_class_from_sigma_theta,
    stability_class_turner,
    stability_code,
    stability_label,
)

# METHODS.md §4.2, one row per wind-speed bin: strong, moderate, slight, night cloudy, night clear
TABLE = {
    1.5: ("A", "A-B", "B", "E", "F"),
    2.5: ("A-B", "B", "C", "E", "F"),
    4.0: ("B", "B-C", "C", "D", "E"),
    5.5: ("C", "C-D", "D", "D", "D"),
    7.0: ("C", "D", "D", "D", "D"),
}


@pytest.mark.parametrize("speed", sorted(TABLE))
def test_every_cell_of_the_pasquill_table(speed):
    expected = TABLE[speed]
    day = [pasquill_class(speed, "day", ins) for ins in ("strong", "moderate", "slight")]
    night = [pasquill_class(speed, "night", cloud_cover_octas=c) for c in (6, 2)]
    got = [str(stability_label(c)) for c in day + night]
    assert tuple(got) == expected


def test_bin_edges():
    """Bins are <2, 2-3, 3-5, 5-6, >6 m/s: 2.0 belongs to the 2-3 column."""
    assert stability_label(pasquill_class([1.99, 2.0, 3.0, 5.0, 6.0], "day", "strong")).tolist() == [
        "A", "A-B", "B", "C", "C"]


def test_overcast_and_transition_are_neutral():
    assert stability_label(pasquill_class(1.0, "day", "strong", cloud_cover_octas=8)) == "D"
    assert stability_label(pasquill_class(1.0, "night", cloud_cover_octas=8)) == "D"
    assert stability_label(pasquill_class(1.0, "transition")) == "D"


def test_bad_period_is_rejected():
    with pytest.raises(ValueError, match="day, night or transition"):
        pasquill_class(3.0, "noon")


def test_insolation_from_elevation_and_cloud():
    got = insolation_category([70, 45, 20, 70, 45], [0, 0, 0, 6, 6]).tolist()
    assert got == ["strong", "moderate", "slight", "moderate", "slight"]


def test_turner_class_midsummer_noon_and_midnight_greenwich():
    times = pd.to_datetime(["2026-06-21 12:00", "2026-06-21 00:30", "2026-12-21 12:00"], utc=True)
    codes = stability_class_turner(times, 51.48, 0.0, wind_speed=[2.5, 2.5, 2.5], cloud_cover_octas=0)
    # June noon: sun at ~62° -> strong -> A-B; night, clear -> F; December noon: sun ~15° -> slight -> C
    assert stability_label(codes).tolist() == ["A-B", "F", "C"]


def test_transition_hour_after_night():
    # sunrise in Greenwich on 21 June is about 03:43 UTC; night lasts to ~04:43, transition to ~05:43
    times = pd.to_datetime(["2026-06-21 04:00", "2026-06-21 05:10", "2026-06-21 06:30"], utc=True)
    codes = stability_class_turner(times, 51.48, 0.0, wind_speed=1.5, cloud_cover_octas=0)
    assert stability_label(codes).tolist()[:2] == ["F", "D"]
    assert stability_label(codes).tolist()[2] in ("A-B", "B")


def test_sigma_theta_classes():
    """NOAA class centres A 25, B 20, C 15, D 10, E 5, F 2.5 degrees."""
    got = stability_label(stability_class_from_sigma_theta([30, 25, 20, 15, 12, 10, 5, 3.9, 3.7, 1])).tolist()
    assert got == ["A", "A", "B", "C", "D", "D", "E", "E", "F", "F"]


def test_golder_lines_seinfeld_pandis():
    """1/L = a + b log10(z0): class C at z0 = 0.1 m is -0.002 + 0.018·(-1) = -0.020."""
    assert inverse_obukhov_length_golder("C", 0.1) == pytest.approx(-0.020)
    assert inverse_obukhov_length_golder("D", 0.1) == 0.0
    codes = stability_class_from_obukhov([-5.0, 1e9, 10.0, -1e9], 0.1)
    assert stability_label(codes).tolist() == ["A", "D", "F", "D"]


def test_golder_reproduces_prairie_grass_classes(prairie_grass_dir):
    """SOURCE.txt: classes in runs.csv were derived from L with z0 = 0.006 m by the nearest Golder line."""
    runs = pd.read_csv(prairie_grass_dir / "runs.csv")
    codes = stability_class_from_obukhov(runs["L_m"].to_numpy(), runs["z0_m"].to_numpy())
    assert stability_label(codes).tolist() == runs["stability"].tolist()


def test_codes_round_trip():
    labels = ["A", "A-B", "B", "B-C", "C", "C-D", "D", "E", "F"]
    assert stability_label(stability_code(labels)).tolist() == labels
    assert stability_code(["ab", "c/d", "C–D", 3]).tolist() == [0.5, 2.5, 2.5, 3.0]
    with pytest.raises(ValueError):
        stability_code(7)
    assert np.isnan(stability_class_from_sigma_theta(np.nan))


@pytest.mark.parametrize("speed", sorted(TABLE))
def test_admissible_classes_are_the_table_row_and_d(speed):
    """Every class of the row's day (or night) cells, both halves of an intermediate cell, and D (overcast)."""
    from plumetrace.physics.stability import admissible_classes

    for period, cells in (("day", TABLE[speed][:3]), ("night", TABLE[speed][3:])):
        expected = {"D"} | {part for cell in cells for part in cell.split("-")}
        got = {"ABCDEF"[k] for k in np.flatnonzero(admissible_classes(speed, period))}
        assert got == expected, (speed, period)
    assert {"ABCDEF"[k] for k in np.flatnonzero(admissible_classes(speed, "transition"))} == {"D"}
    assert admissible_classes(speed, "unknown").sum() >= admissible_classes(speed, "day").sum()
    with pytest.raises(ValueError, match="period"):
        admissible_classes(speed, "dusk")


def test_the_wind_and_the_sun_bound_a_class_read_from_sigma_theta():
    """σθ read E at 4.4 m/s measured at 20 m by day (Pasquill allows B, C or D): D becomes the most probable."""
    from plumetrace.physics.stability import neighbour_class_weights
    from plumetrace.physics.wind import bounded_class_weights

    prior = neighbour_class_weights(4.0, 0.5)
    day = dict(bounded_class_weights(prior, 4.4, 20.0, "day"))
    assert max(day, key=day.get) == 3.0 and day[3.0] == pytest.approx(0.25 / (0.25 + 0.05 + 0.025))
    assert sum(day.values()) == pytest.approx(1.0)
    night = dict(bounded_class_weights(prior, 4.4, 20.0, "night"))  # D and E allowed: only F loses
    assert night[4.0] == pytest.approx(0.5 / 0.775) and night[5.0] == pytest.approx(0.025 / 0.775)
    # time unknown: any column of the row, and F is in none of them at this speed
    assert dict(bounded_class_weights(prior, 4.4, 20.0, "unknown")) == pytest.approx(night)
    # a calm night allows F: the prior unchanged
    assert dict(bounded_class_weights(prior, 1.0, 20.0, "night")) == pytest.approx(dict(prior))
