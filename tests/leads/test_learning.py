"""Learning from outcomes in the store: a closed lead teaches its area's class prior and threshold, the next
survey of that area is analysed with them, and ``plumetrace leads priors`` / ``bench learning`` report it."""

import json
import shutil

import pandas as pd
import pytest
from typer.testing import CliRunner

from plumetrace.api.accounts import principal_of
from plumetrace.cli import app
from plumetrace.detect.learning import area_key
from plumetrace.leads import lifecycle
from plumetrace.leads.audit import entries
from plumetrace.pipeline import analyze_survey, ranked_sites
from plumetrace.store import Store
from tests.api.test_accounts import make_accounts
from tests.api.test_matrix import make_lead

runner = CliRunner()


@pytest.fixture
def taught(demo_run, tmp_path):
    out, result = demo_run
    assert result.exit_code == 0, result.output
    shutil.copy(out / "plumetrace.db", tmp_path / "store.db")
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    make_accounts(store, [("ana", "analysis", "analyst"), ("rev", "analysis", "reviewer"),
                          ("pa", "police-a", "partner")])
    return store, out


def test_a_closed_lead_teaches_its_area_and_the_next_survey_uses_it(taught):
    store, out = taught
    assert store.learned_priors() == {}
    site = ranked_sites(store)[0]
    lead = make_lead(store, site["id"], "actioned")
    snap = lifecycle.get(store, principal_of(store, "ana"), lead)["snapshot"]
    claimed = snap["site"]["class"]
    named = {h["id"] for h in snap["hits"] if h["class"] == claimed}
    areas = {h["details"]["area"] for h in store.hits() if h["id"] in named}
    assert named and len(areas) >= 1
    lifecycle.transition(store, principal_of(store, "pa"), lead, "close", outcome="confirmed")
    learned = store.learned_priors()
    assert set(learned) >= areas and all(learned[a]["leads"] == 1 for a in areas)
    k = len(learned[next(iter(areas))]["class_prior"])
    for a in areas:  # the confirmed class gained; the floor fell a little (a real emitter was there)
        assert learned[a]["class_prior"][claimed] > 1 / k
        assert learned[a]["k_min"] < 4.0
    assert any(e["action"] == "learning.update" for e in entries(store, 50, 0))
    # the next survey of that area is attributed under the area's prior
    flown = [p for p in sorted((out / "flights").rglob("*.csv"))
             if area_key(*pd.read_csv(p, usecols=["lat", "lon"]).median()) in learned][0]
    res = analyze_survey(flown, store.campaign_origin(), store.get_setting("campaign_locator"), learned=learned)
    assert res.hits
    for h in res.hits:
        assert h["details"]["class_prior"] == learned[h["details"]["area"]]["class_prior"]
    plain = analyze_survey(flown, store.campaign_origin(), store.get_setting("campaign_locator"))
    assert all(h["details"]["class_prior"] is None for h in plain.hits)
    # the command shows it
    r = runner.invoke(app, ["leads", "priors", "--db", str(store.url), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["areas"].keys() == learned.keys()


def test_priors_before_any_outcome_and_bench_learning(tmp_path):
    r = runner.invoke(app, ["leads", "priors", "--db", f"sqlite:///{tmp_path / 'e.db'}"])
    assert r.exit_code == 0 and "no closed lead" in r.output
    r = runner.invoke(app, ["bench", "learning", "--seeds", "3", "--campaigns", "8", "--warmup", "3", "--json"])
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)
    lean = rep["payloads"]["lean"]
    assert lean["equal_recall"]["learning"] < lean["equal_recall"]["fixed"]  # fewer false leads per lab found
    assert runner.invoke(app, ["bench", "learning", "--campaigns", "3", "--warmup", "3"]).exit_code == 2
