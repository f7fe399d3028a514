"""Scoring code on hand-made predictions with known scores."""

import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, mapping

from plumetrace.bench.scoring import (
    SourcePrediction,
    encountered_sources,
    observable_sources,
    scenario_matches,
    score_detection,
    score_sources,
    true_encounters,
)


def truth(sources, area=0.25):
    return {"town": {"area_km2": area}, "sources": sources}


def src(i, e, n, target=True, cls="clandestine_lab", building="b1", rate=0.1):
    return {"id": i, "class": cls, "target": target, "east_m": e, "north_m": n, "building_id": building,
            "primary": "acetone", "mean_rates_g_s": {"acetone": rate}}


def test_localisation_scores_by_hand():
    truths = [
        truth([src("lab", 0, 0), src("d1", 100, 0, target=False, cls="bakery", building="b9")]),
        truth([src("lab", 0, 0, building="b5", rate=0.2), src("lab2", 300, 300, building="b6")]),
    ]
    preds = [
        [SourcePrediction(3, 4, 0.2, "acetone", 10.0, None, "clandestine_lab", "b1", ["b1", "b2"]),  # 5 m, ×2
         SourcePrediction(100, 10, None, None, None, None, "bakery"),  # a decoy found and called bakery
         SourcePrediction(-400, -400)],  # a false site
        [SourcePrediction(0, 30, 0.1, "acetone", None, mapping(Point(0, 30).buffer(20)), "paint_shop", "b7",
                          ["b7", "b8", "b5"])],  # 30 m, ×2, outside its credible region; lab2 missed
    ]
    s = score_sources(preds, truths, match_radius=50)
    assert s["targets"] == 3 and s["targets_found"] == 2
    assert s["detection_probability"] == pytest.approx(2 / 3)
    assert s["false_sites"] == 1 and s["false_sites_per_km2"] == pytest.approx(2.0)
    assert s["localisation_error_median_m"] == pytest.approx(17.5)
    assert s["building_top1"] == pytest.approx(0.5) and s["building_top3"] == pytest.approx(1.0)
    assert s["rate_error_factor_median"] == pytest.approx(2.0)
    assert s["credible90_coverage"] == pytest.approx(0.5)
    assert s["confusion"] == {"clandestine_lab": {"clandestine_lab": 1, "paint_shop": 1}, "bakery": {"bakery": 1}}


def test_scenario_matches_name_what_the_totals_count():
    t = truth([src("lab", 0, 0), src("lab2", 300, 300), src("d1", 100, 0, target=False, cls="bakery")])
    preds = [SourcePrediction(3, 4), SourcePrediction(100, 10), SourcePrediction(-400, -400)]
    m = scenario_matches(preds, t, match_radius=50)
    assert m["found"] == {"lab": 5.0}  # the decoy's match is not a target found
    assert m["missed"] == ["lab2"]
    assert m["false_sites"] == [{"east_m": -400.0, "north_m": -400.0, "nearest_emitter": "lab",
                                 "distance_m": round(float(np.hypot(400, 400)), 1)}]
    assert scenario_matches([], truth([])) == {"found": {}, "missed": [], "false_sites": []}


def test_targets_never_encountered_are_counted_apart():
    """A target the survey never crossed clearly is a miss of the flight plan, reported separately."""
    truths = [truth([src("lab", 0, 0)]), truth([src("lab", 0, 0), src("lab2", 300, 300)])]
    preds = [[SourcePrediction(5, 0)], [SourcePrediction(0, 10)]]
    s = score_sources(preds, truths, encountered=[{"lab"}, {"lab", "d1"}])
    assert s["targets"] == 3 and s["targets_found"] == 2
    assert s["targets_encountered"] == 2 and s["found_encountered"] == 2
    assert s["detection_probability_encountered"] == pytest.approx(1.0)
    s = score_sources(preds, truths, encountered=[set(), {"lab2"}])
    assert s["targets_encountered"] == 1 and s["found_encountered"] == 0
    assert "targets_encountered" not in score_sources(preds, truths)


def test_encountered_sources_from_true_encounters():
    enc = true_encounters(enhancement(), {"x_ppb": 1.0}, k_sigma=5.0)
    assert encountered_sources(enc) == {"lab"}
    assert encountered_sources(true_encounters(enhancement(), {"x_ppb": 1.0}, k_sigma=9.0)) == set()


def test_targets_without_a_trace_bound_the_found_share():
    """A target that left no trace (off while the platforms were downwind) caps what any locator can find."""
    truths = [truth([src("lab", 0, 0)]), truth([src("lab", 0, 0), src("lab2", 300, 300)])]
    preds = [[SourcePrediction(5, 0)], [SourcePrediction(0, 10)]]
    s = score_sources(preds, truths, observable=[{"lab"}, {"lab"}])
    assert s["targets_observable"] == 2 and s["found_observable"] == 2
    assert s["detection_probability_observable"] == pytest.approx(1.0)
    assert s["found_ceiling"] == pytest.approx(2 / 3) and s["detection_probability"] == pytest.approx(2 / 3)
    assert "found_ceiling" not in score_sources(preds, truths)


def test_observable_sources_need_a_sample_they_dominate_above_noise():
    enh = enhancement()
    assert observable_sources(enh, {"x_ppb": 1.0}) == {"lab"}
    assert observable_sources(enh, {"x_ppb": 1.0}, k_sigma=9.0) == set()  # its strongest sample reads 8 σ
    weak = enh.assign(enh_x_ppb=enh["enh_x_ppb"] * 0.1)  # 0.8 σ at most: no sample shows it
    assert observable_sources(weak, {"x_ppb": 1.0}) == set()
    shadowed = enh.assign(source=np.where(enh["enh_x_ppb"] > 0, "bakery", ""))  # always under a stronger plume
    assert observable_sources(shadowed, {"x_ppb": 1.0}) == {"bakery"}


def test_nothing_predicted():
    s = score_sources([[]], [truth([src("lab", 0, 0)])])
    assert s["targets_found"] == 0 and s["detection_probability"] == 0 and s["false_sites"] == 0
    assert s["localisation_error_median_m"] is None


class Ev:
    def __init__(self, t0, t1, label="clandestine_lab", platform="p"):
        self.t_start, self.t_end, self.t_peak, self.platform, self.label = t0, t1, (t0 + t1) / 2, platform, label


def enhancement():
    t = np.arange(0, 100.0, 1.0)
    enh = np.zeros_like(t)
    enh[10:14] = [2, 8, 6, 2]  # peak 8σ: must be recalled
    enh[50:53] = [2, 3, 2]  # peak 3σ: not required
    source = np.where(enh > 0, "lab", "")
    return pd.DataFrame({"time": t, "platform": "p", "enh_x_ppb": enh, "source": source, "source_share": 1.0})


def test_encounters_and_detection_scores():
    enh = enhancement()
    enc = true_encounters(enh, {"x_ppb": 1.0}, 5.0)
    assert len(enc) == 1 and enc["t_peak"].iloc[0] == 11.0
    from plumetrace.detect.attribution import class_patterns
    from plumetrace.detect.signatures import load_source_classes

    pats = {p.key: p for p in class_patterns(load_source_classes(), ["acetone"])}
    emitters = {"lab": ("clandestine_lab", np.array([1.0]))}
    events = [Ev(9, 14), Ev(80, 82)]  # one real and one false event
    s = score_detection(events, enh, {"x_ppb": 1.0}, emitters, pats, flight_hours=0.5)
    assert s["encounters"] == 1 and s["recalled"] == 1
    assert s["false_events"] == 1
    assert s["labelled"] == 1 and s["correct"] == 1 and s["exact"] == 1
    missed = score_detection([Ev(80, 82)], enh, {"x_ppb": 1.0}, emitters, pats, flight_hours=0.5)
    assert missed["recalled"] == 0
