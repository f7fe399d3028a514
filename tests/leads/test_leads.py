"""Leads end to end through the API (contract 8/9), markings, refused steps on the record, updates after sharing,
the clocks and the signed webhook — on SQLite and PostgreSQL."""

import http.server
import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text, update

from plumetrace.api.app import create_app
from plumetrace.leads import audit, lifecycle, sla
from plumetrace.store import Store
from plumetrace.store.models import Lead
from tests.api.test_accounts import make_accounts

USERS = (("ana", "analysis", "analyst"), ("rev", "analysis", "reviewer"), ("adm", "analysis", "admin"),
         ("pa", "police-a", "partner"), ("pa2", "police-a", "partner"), ("pb", "police-b", "partner"))


def insert_site(store, site_id=1, lat=52.1, lon=5.1):
    with store.engine.begin() as conn:  # one site, as fusion would write it
        conn.execute(text(
            "INSERT INTO sites (id, lat, lon, east, north, credible90_radius_m, channels, species, log_bayes, "
            "confidence, status, activity, source_class, building_id, rate_g_s, n_covering, n_detected, history, "
            "retired, updated_at) VALUES (:id, :lat, :lon, 1.0, 2.0, 17.5, '[\"acetone_ppb\"]', '[\"acetone\"]', "
            "12.0, 0.9, 'confirmed', 'active', 'clandestine_lab', 'b7', 0.08, 2, 2, '[]', false, "
            "'2026-12-01 00:00:00+00:00')"), {"id": site_id, "lat": lat, "lon": lon})


@pytest.fixture
def world(store_url):
    store = Store(store_url)
    h = make_accounts(store, USERS)
    insert_site(store)
    return store, TestClient(create_app(store_url, run_jobs=False)), h


def test_demo_lead_review_share_ack_outcome_and_metrics(world):
    store, c, h = world
    r = c.post("/api/v1/leads", json={"site_id": 1, "title": "solvent plume, house b7"}, headers=h["ana"])
    assert r.status_code == 201, r.text
    lid = r.json()["id"]
    assert r.json()["snapshot"]["site"]["building_id"] == "b7" and r.json()["state"] == "draft"
    # refused: sharing an unreviewed lead, the author reviewing it, a partner reviewing it
    bad = c.post(f"/api/v1/leads/{lid}/share", json={"partner": "police-a", "tlp": "AMBER"}, headers=h["ana"])
    assert bad.status_code == 409 and "review it first" in bad.json()["error"]["message"]
    assert c.post(f"/api/v1/leads/{lid}/review", json={}, headers=h["ana"]).status_code == 403
    assert c.get(f"/api/v1/leads/{lid}", headers=h["ana"]).json()["state"] == "draft"  # unchanged
    assert c.post(f"/api/v1/leads/{lid}/review", json={"comment": "checked the ratios"},
                  headers=h["rev"]).json()["state"] == "reviewed"
    assert c.post(f"/api/v1/leads/{lid}/share", json={"partner": "police-a", "tlp": "AMBER"},
                  headers=h["ana"]).json()["state"] == "shared"
    # partner A sees it and acts; partner B sees nothing and cannot touch it
    assert c.get("/api/v1/leads", headers=h["pa"]).json()["total"] == 1
    assert c.get("/api/v1/leads", headers=h["pb"]).json()["total"] == 0
    assert c.get(f"/api/v1/leads/{lid}", headers=h["pb"]).status_code == 404
    assert c.post(f"/api/v1/leads/{lid}/acknowledge", json={}, headers=h["pb"]).status_code == 404
    for path in ("/api/v1/sites", "/api/v1/sites/1", "/api/v1/surveys", "/api/v1/hits", "/api/v1/plans",
                 "/api/v1/map", "/api/v1/metrics/partners"):
        assert c.get(path, headers=h["pb"]).status_code == 403, path
    assert c.post(f"/api/v1/leads/{lid}/acknowledge", json={}, headers=h["pa"]).json()["state"] == "acknowledged"
    assert c.post(f"/api/v1/leads/{lid}/action", json={"kind": "inspection"},
                  headers=h["pa"]).json()["state"] == "actioned"
    assert c.post(f"/api/v1/leads/{lid}/close", json={"outcome": "chaos"}, headers=h["pa"]).status_code == 422
    closed = c.post(f"/api/v1/leads/{lid}/close", json={"outcome": "confirmed", "comment": "lab found"},
                    headers=h["pa"]).json()
    assert closed["state"] == "closed" and closed["outcome"] == "confirmed"
    assert [e["kind"] for e in closed["events"]] == ["created", "review", "share", "acknowledge", "action", "close"]
    m = {p["partner"]: p for p in c.get("/api/v1/metrics/partners", headers=h["rev"]).json()["partners"]}
    assert m["police-a"]["shared"] == 1 and m["police-a"]["time_to_acknowledge"]["n"] == 1
    assert m["police-a"]["outcomes"] == {"confirmed": 1} and m["police-b"]["shared"] == 0
    # every step and every refused attempt is on the record, and the chain holds
    trail = audit.entries(store, 100)
    actions = [e["action"] for e in trail]
    assert {"refused.share", "refused.review", "refused.acknowledge", "refused.close"} <= set(actions)
    assert actions.count("lead.close") == 1
    assert audit.verify(store).ok


def test_markings_decide_who_sees(world):
    store, c, h = world
    ids = {}
    for tlp in ("GREEN", "AMBER+STRICT", "RED"):
        lid = c.post("/api/v1/leads", json={"site_id": 1, "tlp": tlp}, headers=h["ana"]).json()["id"]
        c.post(f"/api/v1/leads/{lid}/review", json={}, headers=h["rev"])
        body = {"partner": "police-a", "tlp": tlp, **({"recipients": ["pa"]} if tlp == "RED" else {})}
        assert c.post(f"/api/v1/leads/{lid}/share", json=body, headers=h["ana"]).status_code == 200
        ids[tlp] = lid
    seen = {u: {x["id"] for x in c.get("/api/v1/leads", headers=h[u]).json()["leads"]} for u in ("pa", "pa2", "pb")}
    assert seen["pa"] == set(ids.values())
    assert seen["pa2"] == {ids["GREEN"], ids["AMBER+STRICT"]}  # RED: named people only
    assert seen["pb"] == {ids["GREEN"]}  # GREEN: the community; but only the recipient acts on it
    assert c.post(f"/api/v1/leads/{ids['GREEN']}/acknowledge", json={}, headers=h["pb"]).status_code == 403
    # RED without recipients is refused
    lid = c.post("/api/v1/leads", json={"site_id": 1}, headers=h["ana"]).json()["id"]
    c.post(f"/api/v1/leads/{lid}/review", json={}, headers=h["rev"])
    r = c.post(f"/api/v1/leads/{lid}/share", json={"partner": "police-a", "tlp": "RED"}, headers=h["ana"])
    assert r.status_code == 422 and "named" in r.json()["error"]["message"]


def test_a_shared_lead_is_updated_when_its_site_moves(world):
    store, c, h = world
    lid = c.post("/api/v1/leads", json={"site_id": 1}, headers=h["ana"]).json()["id"]
    c.post(f"/api/v1/leads/{lid}/review", json={}, headers=h["rev"])
    c.post(f"/api/v1/leads/{lid}/share", json={"partner": "police-a", "tlp": "AMBER"}, headers=h["ana"])
    assert lifecycle.refresh_leads(store) == []  # nothing changed
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE sites SET lat = lat + 0.0003, confidence = 0.99 WHERE id = 1"))
    assert lifecycle.refresh_leads(store) == [lid]
    lead = c.get(f"/api/v1/leads/{lid}", headers=h["pa"]).json()
    assert lead["version"] == 2 and lead["events"][-1]["kind"] == "updated"
    assert lead["events"][-1]["detail"]["changes"]["moved_m"] > 30


class _Hook(http.server.BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802 - the http.server API
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append((self.headers["X-Plumetrace-Signature"], body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_overdue_leads_are_flagged_and_notified_once_signed(world, tmp_path):
    store, c, h = world
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        cfg = sla.set_sla(store, "police-a", {"acknowledge": 2.0}, f"http://127.0.0.1:{server.server_port}/hook")
        lid = c.post("/api/v1/leads", json={"site_id": 1}, headers=h["ana"]).json()["id"]
        c.post(f"/api/v1/leads/{lid}/review", json={}, headers=h["rev"])
        c.post(f"/api/v1/leads/{lid}/share", json={"partner": "police-a", "tlp": "AMBER"}, headers=h["ana"])
        assert sla.notify_overdue(store) == []  # not overdue yet
        with store.session.begin() as s:  # shared three hours ago
            s.execute(update(Lead).where(Lead.id == lid).values(shared_at=datetime.now(UTC) - timedelta(hours=3)))
        listed = c.get("/api/v1/leads", headers=h["ana"]).json()["leads"]
        assert listed[0]["overdue"] is True
        sent = sla.notify_overdue(store)
        assert [s["status"] for s in sent] == [204] and sla.notify_overdue(store) == []  # once per step
        sig, body = _Hook.received[-1]
        assert sla.verify_signature(cfg["webhook_secret"], body, sig)
        assert not sla.verify_signature("another secret", body, sig)
        assert json.loads(body)["lead_id"] == lid and json.loads(body)["waiting_for"] == "acknowledge"
        month = datetime.now(UTC).strftime("%Y-%m")
        rows = sla.monthly_csv(store, month).splitlines()
        assert rows[0].startswith("partner,month,shared") and rows[1].startswith(f"police-a,{month},1,0")
    finally:
        server.shutdown()
