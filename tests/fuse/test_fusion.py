"""Fusion of survey evidence into sites: the math on hand-made maps, and weak seeded surveys that add up."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from plumetrace.fuse import SiteFuser, rank_sites
from plumetrace.locate import EvidenceMap, SurveyResult


def _map(channel, peak_xy, peak_log_bf, x0=-200.0, y0=-200.0, step=25.0, n=16, width=20.0):
    xs = x0 + (np.arange(n) + 0.5) * step
    gx, gy = np.meshgrid(xs, xs, indexing="ij")
    d2 = (gx - peak_xy[0]) ** 2 + (gy - peak_xy[1]) ** 2
    log_bf = peak_log_bf * np.exp(-0.5 * d2 / width ** 2) - 1.0
    return EvidenceMap(channel, channel.split("_")[0], x0, y0, step, log_bf.astype(np.float32))


def _survey(i, maps, estimates=(), channels=("acetone_ppb",)):
    t = 1e9 + i * 86400
    return SurveyResult(i, t, t, list(channels), (-150, 150, -150, 150), list(maps), list(estimates))


def test_weak_maps_add_up_and_single_ones_do_not():
    one = [_survey(0, [_map("acetone_ppb", (12.5, 12.5), 9.0)])]
    assert not [s for s in SiteFuser().fit(one).sites_ if s.status == "confirmed"]
    three = [_survey(i, [_map("acetone_ppb", (12.5, 12.5), 9.0)]) for i in range(3)]
    sites = SiteFuser().fit(three).sites_
    assert sites[0].status == "confirmed" and math.hypot(sites[0].east - 12.5, sites[0].north - 12.5) < 10
    assert sites[0].n_detected == 3 and sites[0].activity == "active"


def test_persistent_mode_adds_log_likelihoods_and_intermittent_is_bounded():
    surveys = [_survey(i, [_map("acetone_ppb", (12.5, 12.5), 9.0)]) for i in range(3)]
    persistent = SiteFuser(mode="persistent").fit(surveys).sites_[0].log_bayes
    intermittent = SiteFuser(mode="intermittent").fit(surveys).sites_[0].log_bayes
    assert persistent > intermittent  # each "on" survey pays log p = log 0.5 in the mixture
    assert persistent - intermittent == pytest.approx(3 * math.log(2.0), abs=0.5)


def test_a_site_that_stops_decays_instead_of_vanishing():
    on = [_survey(i, [_map("acetone_ppb", (12.5, 12.5), 12.0)]) for i in range(3)]
    off = [_survey(3 + i, []) for i in range(2)]  # measured acetone over the site, no event at all
    before = SiteFuser().fit(on).sites_[0]
    after = SiteFuser().fit(on + off).sites_[0]
    assert after.log_bayes < before.log_bayes
    assert after.status == "confirmed" and after.activity == "dormant"
    assert [h["detected"] for h in after.history] == [True, True, True, False, False]
    assert after.last_seen == on[-1].time


def test_estimates_of_different_gases_stay_two_sites_and_classes_follow_the_gases():
    lab = {"east": 0.0, "north": 0.0, "credible90_radius_m": 30.0, "channels": ["dichloromethane_ppb"],
           "log_bayes": 30.0,
           "class": "clandestine_lab", "class_probability": 0.9}
    bakery = {"east": 25.0, "north": 0.0, "credible90_radius_m": 30.0, "channels": ["ethanol_ppb"], "log_bayes": 40.0,
              "class": "clandestine_lab", "class_probability": 0.8}  # the lab's solvents reach it
    surveys = [_survey(i, [], [dict(lab), dict(bakery)], ["dichloromethane_ppb", "ethanol_ppb"]) for i in range(2)]
    species = {"clandestine_lab": {"acetone", "dichloromethane"}, "bakery": {"ethanol", "co2"}}
    sites = SiteFuser(class_species=species).fit(surveys).sites_
    assert len(sites) == 2
    by_gas = {s.channels[0]: s for s in sites}
    assert by_gas["dichloromethane_ppb"].source_class == "clandestine_lab"
    assert by_gas["ethanol_ppb"].source_class == "unknown"
    ranked = rank_sites([{"class": s.source_class, "confidence": s.confidence, "log_bayes": s.log_bayes,
                          "channels": s.channels} for s in sites], {"clandestine_lab"})
    assert ranked[0]["channels"] == ["dichloromethane_ppb"]  # target class first despite weaker evidence


def test_one_source_in_different_gases_on_different_days():
    surveys = [_survey(0, [_map("toluene_ppb", (12.5, 12.5), 8.0)], channels=("toluene_ppb", "acetone_ppb")),
               _survey(1, [_map("acetone_ppb", (12.5, 12.5), 8.0)], channels=("toluene_ppb", "acetone_ppb")),
               _survey(2, [_map("acetone_ppb", (12.5, 12.5), 8.0)], channels=("toluene_ppb", "acetone_ppb"))]
    top = SiteFuser().fit(surveys).sites_[0]
    assert top.status == "confirmed" and set(top.channels) >= {"acetone_ppb", "toluene_ppb"}


def test_bad_configuration_is_refused():
    with pytest.raises(ValueError, match="mode"):
        SiteFuser(mode="sometimes").fit([])
    with pytest.raises(ValueError, match="p_active"):
        SiteFuser(p_active=0.0).fit([])


def test_three_weak_surveys_of_a_lab_confirm_a_site_only_when_fused(tmp_path):
    """Issue #7: an intermittent lab (5 min on, 5 min off) seen by three seeded surveys, each too weak alone;
    fused, a confirmed site at the lab."""
    from plumetrace.geo.crs import LocalFrame
    from plumetrace.pipeline import analyze_survey
    from tests.fuse.weak import ORIGIN, weak_surveys

    paths, lab = weak_surveys(tmp_path, rate_g_s=0.09, n=3, seed=300,
                              schedule={"kind": "intermittent", "on": "5 min", "off": "5 min"})
    assert 0.3 < lab["fraction_on"] < 0.7
    results = [analyze_survey(p, ORIGIN) for p in paths]
    for r in results:
        assert r.estimates == []  # no survey alone accepts a source
        alone = SiteFuser().fit([replace(r, survey_id=0, estimates=[])]).sites_
        assert all(s.status != "confirmed" for s in alone)
    fused = SiteFuser().fit([replace(r, survey_id=i) for i, r in enumerate(results)]).sites_
    frame = LocalFrame(*ORIGIN)
    lx, ly = frame.to_local(lab["lat"], lab["lon"])
    top = fused[0]
    assert top.status == "confirmed"
    # three weak surveys at 30 m spacing: the fused lattice places it to within its own 90 % region, under 20 m
    err = math.hypot(top.east - float(lx), top.north - float(ly))
    assert err < min(top.credible90_radius_m, 20.0), (err, top.credible90_radius_m)
