"""The authorisation matrix of contract 8 over every endpoint of the OpenAPI schema: each role (and no token) × each
endpoint × an object of the caller's own organisation or of another — on a copy of the demo's store, on SQLite and
on PostgreSQL (:func:`plumetrace.store.transfer.copy_store`).

A write is tried on a fresh lead in the state that step needs, so that every cell is independent of the others.
A new endpoint without a row here fails :func:`test_every_endpoint_is_in_the_matrix`.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from plumetrace.api.accounts import principal_of
from plumetrace.api.app import create_app
from plumetrace.exceptions import InputError
from plumetrace.leads import lifecycle
from plumetrace.store import Store
from plumetrace.store.models import SourceEstimate
from plumetrace.store.transfer import copy_store
from tests.api.test_accounts import PW, make_accounts

WHO = ("anon", "adm", "ana", "rev", "pa", "pb")  # no token; admin, analyst, reviewer; partners of police-a / -b
USERS = (("adm", "analysis", "admin"), ("ana", "analysis", "analyst"), ("rev", "analysis", "reviewer"),
         ("pa", "police-a", "partner"), ("pa2", "police-a", "partner"), ("pb", "police-b", "partner"))
READ = (200, 200, 200, 403, 403)  # analysis side only
ALL = (200,) * 5

#: (method, path template, the objects it is tried on, expected for adm, ana, rev, pa, pb); no token is always 401
GETS = [
    ("GET", "/api/v1/me", {}, ALL),
    ("GET", "/api/v1/sites", {}, READ),
    ("GET", "/api/v1/sites/{site_id}", {"site_id": "site"}, READ),
    ("GET", "/api/v1/sites/{site_id}", {"site_id": "missing"}, (404, 404, 404, 403, 403)),
    ("GET", "/api/v1/sites/{site_id}/evidence", {"site_id": "site"}, READ),
    ("GET", "/api/v1/map", {}, READ),
    ("GET", "/api/v1/hits", {}, READ),
    ("GET", "/api/v1/estimates", {}, READ),
    ("GET", "/api/v1/estimates/{estimate_id}/region", {"estimate_id": "estimate"}, READ),
    ("GET", "/api/v1/estimates/{estimate_id}/posterior.png", {"estimate_id": "estimate"}, READ),
    ("GET", "/api/v1/estimates/{estimate_id}/region", {"estimate_id": "missing"}, (404, 404, 404, 403, 403)),
    ("GET", "/api/v1/surveys", {}, READ),
    ("GET", "/api/v1/jobs", {}, READ),
    ("GET", "/api/v1/jobs/{job_id}", {"job_id": "job"}, READ),
    ("GET", "/api/v1/jobs/{job_id}", {"job_id": "missing"}, (404, 404, 404, 403, 403)),
    ("GET", "/api/v1/plans", {}, READ),
    ("GET", "/api/v1/plans/{plan_id}", {"plan_id": "plan"}, READ),
    ("GET", "/api/v1/leads", {}, ALL),
    ("GET", "/api/v1/leads/{lead_id}", {"lead_id": "shared_a"}, (200, 200, 200, 200, 404)),
    ("GET", "/api/v1/leads/{lead_id}", {"lead_id": "shared_b"}, (200, 200, 200, 404, 200)),
    ("GET", "/api/v1/leads/{lead_id}", {"lead_id": "green_a"}, ALL),  # TLP:GREEN: the partner community
    ("GET", "/api/v1/leads/{lead_id}", {"lead_id": "red_a"}, (200, 200, 200, 404, 404)),  # RED: named people
    ("GET", "/api/v1/leads/{lead_id}", {"lead_id": "draft"}, (200, 200, 200, 404, 404)),
    ("GET", "/api/v1/leads/{lead_id}", {"lead_id": "missing"}, (404,) * 5),
    ("GET", "/api/v1/leads/{lead_id}/brief/{name}", {"lead_id": "shared_a", "name": "lead.geojson"},
     (200, 200, 200, 200, 404)),
    ("GET", "/api/v1/leads/{lead_id}/brief/{name}", {"lead_id": "draft", "name": "lead.geojson"},
     (200, 200, 200, 404, 404)),
    ("GET", "/api/v1/metrics/partners", {}, READ),
    ("GET", "/api/v1/partners", {}, READ),
    ("GET", "/api/v1/audit", {}, (200, 403, 200, 403, 403)),
    ("DELETE", "/api/v1/session", {}, ALL),
]
#: a write, the state of the fresh lead it is tried on (None: no lead), its body, expected for adm, ana, rev, pa, pb
WRITES = [
    ("POST", "/api/v1/leads", None, {"site_id": "site"}, (201, 201, 403, 403, 403)),
    ("POST", "/api/v1/leads/{lead_id}/review", "draft", {}, (403, 403, 200, 404, 404)),  # ana is the author
    ("POST", "/api/v1/leads/{lead_id}/share", "reviewed", {"partner": "police-a", "tlp": "AMBER"},
     (200, 200, 200, 404, 404)),
    ("POST", "/api/v1/leads/{lead_id}/acknowledge", "shared", {}, (403, 403, 403, 200, 404)),
    ("POST", "/api/v1/leads/{lead_id}/acknowledge", "shared_green", {}, (403, 403, 403, 200, 403)),
    ("POST", "/api/v1/leads/{lead_id}/action", "acknowledged", {"kind": "inspection"}, (403, 403, 403, 200, 404)),
    ("POST", "/api/v1/leads/{lead_id}/close", "actioned", {"outcome": "confirmed"}, (200, 403, 403, 200, 404)),
    ("POST", "/api/v1/surveys", None, "upload", (202, 202, 403, 403, 403)),
]
#: how a fresh lead reaches each state after ``create`` by ana: (user, step); shared with police-a unless told
PATH = [("rev", "review"), ("ana", "share"), ("pa", "acknowledge"), ("pa", "action")]
STATE_STEPS = {"draft": 0, "reviewed": 1, "shared": 2, "acknowledged": 3, "actioned": 4}


def make_lead(store, site_id: int, state: str, partner: str = "police-a", tlp: str = "AMBER",
              recipients: tuple[str, ...] = ()) -> int:
    """A lead of the site brought to ``state`` by the people whose step it is."""
    lead = lifecycle.create(store, principal_of(store, "ana"), site_id)
    for user, step in PATH[:STATE_STEPS[state]]:
        kw = {"partner": partner, "tlp": tlp, "recipients": list(recipients)} if step == "share" else {}
        if step == "action":
            kw = {"kind": "inspection"}
        lifecycle.transition(store, principal_of(store, user), lead, step, **kw)
    return lead


@pytest.fixture
def world(demo_run, store_url):
    out, result = demo_run
    assert result.exit_code == 0, result.output
    demo = Store(f"sqlite:///{out / 'plumetrace.db'}")
    store = Store(store_url)
    copied = copy_store(demo, store)  # the demo's SQLite store onto PostgreSQL, too
    assert copied["sites"] >= 1 and store.counts() == demo.counts()
    with pytest.raises(InputError, match="not empty"):
        copy_store(demo, store)
    h = make_accounts(store, USERS)
    h["anon"] = {}
    client = TestClient(create_app(store_url, run_jobs=False))  # uploads wait as queued jobs
    flown = sorted((out / "flights").rglob("*.csv"))[0]  # stored already: a shorter copy is a new survey
    survey = flown.parent.parent / "upload" / flown.name
    survey.parent.mkdir(exist_ok=True)
    survey.write_bytes(b"\n".join(flown.read_bytes().rstrip(b"\n").split(b"\n")[:-100]) + b"\n")
    job = client.post("/api/v1/surveys", files={"file": (survey.name, survey.read_bytes())}, headers=h["ana"])
    assert job.status_code == 202, job.text
    site = store.sites()[0]["id"]
    with store.session() as s:
        estimate = s.scalar(select(SourceEstimate.id).order_by(SourceEstimate.id))
    ids = {"site": site, "estimate": estimate, "job": job.json()["job"]["id"], "plan": store.plans()[0]["id"],
           "missing": 999999, "draft": make_lead(store, site, "draft"), "shared_a": make_lead(store, site, "shared"),
           "shared_b": make_lead(store, site, "shared", partner="police-b"),
           "green_a": make_lead(store, site, "shared", tlp="GREEN"),
           "red_a": make_lead(store, site, "shared", tlp="RED", recipients=("pa2",))}
    return store, client, h, ids, survey


def _fill(path: str, objects: dict, ids: dict) -> str:
    return path.format(**{k: ids[v] if v in ids else v for k, v in objects.items()})


def test_every_endpoint_is_in_the_matrix(world):
    _, client, _, _, _ = world
    schema = client.get("/openapi.json").json()
    endpoints = {(m.upper(), path) for path, ops in schema["paths"].items() for m in ops if path.startswith("/api/")}
    covered = {(m, p) for m, p, *_ in GETS + WRITES} | {("POST", "/api/v1/session")}
    assert endpoints <= covered, sorted(endpoints - covered)


def test_reads_per_role_and_organisation(world):
    store, client, h, ids, _ = world
    for method, path, objects, want in GETS:
        url = _fill(path, objects, ids)
        r = client.request(method, url, headers=h["anon"])
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorised", (url, r.text)
        for who, status in zip(WHO[1:], want, strict=True):
            r = client.request(method, url, headers=h[who])
            assert r.status_code == status, (who, method, url, r.status_code, r.text[:300])
            if status >= 400:
                assert set(r.json()) == {"error"} and set(r.json()["error"]) == {"code", "message"}
    # a lead the partner may not see reads exactly like one that does not exist: its existence is not revealed
    hidden = client.get(f"/api/v1/leads/{ids['shared_b']}", headers=h["pa"]).json()["error"]
    absent = client.get("/api/v1/leads/999999", headers=h["pa"]).json()["error"]
    assert hidden["code"] == absent["code"] and hidden["message"].replace(str(ids["shared_b"]), "N") == \
        absent["message"].replace("999999", "N")
    # the named recipient of the RED lead sees it; the lists hold exactly what each may see
    assert client.get(f"/api/v1/leads/{ids['red_a']}", headers=h["pa2"]).status_code == 200
    seen = {who: {x["id"] for x in client.get("/api/v1/leads", headers=h[who]).json()["leads"]} for who in WHO[1:]}
    assert seen["pa"] == {ids["shared_a"], ids["green_a"]}
    assert seen["pb"] == {ids["shared_b"], ids["green_a"]}
    assert seen["ana"] == {ids[k] for k in ("draft", "shared_a", "shared_b", "green_a", "red_a")}


def test_writes_per_role_and_organisation(world):
    store, client, h, ids, survey = world
    for method, path, state, body, want in WRITES:
        for who, status in zip(("anon", *WHO[1:]), (401, *want), strict=True):
            if path == "/api/v1/surveys":
                r = client.post(path, files={"file": (survey.name, survey.read_bytes())}, headers=h[who])
            else:
                lead = make_lead(store, ids["site"], state.removesuffix("_green"),
                                 tlp="GREEN" if state.endswith("_green") else "AMBER") if state else None
                before = client.get(f"/api/v1/leads/{lead}", headers=h["adm"]).json() if lead else None
                payload = {k: ids[v] if v in ids else v for k, v in body.items()}
                r = client.request(method, path.format(lead_id=lead), json=payload, headers=h[who])
                if lead and status >= 400:  # a refused step leaves the lead as it was
                    assert client.get(f"/api/v1/leads/{lead}", headers=h["adm"]).json() == before
            assert r.status_code == status, (who, method, path, state, r.status_code, r.text[:300])
    refused = client.get("/api/v1/audit", params={"limit": 500}, headers=h["adm"]).json()
    assert refused["intact"] and any(e["action"].startswith("refused.") for e in refused["entries"])


def test_login(world):
    _, client, _, _, _ = world
    assert client.post("/api/v1/session", json={"username": "pa", "password": PW}).status_code == 200
    r = client.post("/api/v1/session", json={"username": "pa", "password": PW + "x"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorised"
