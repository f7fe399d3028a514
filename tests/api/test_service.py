"""The service's write paths: uploads analysed in the background on Dask, jobs that survive a restart, the page's
session cookie with CSRF, the login rate limit, request size limits — on SQLite and PostgreSQL."""

import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from plumetrace.api.app import create_app
from plumetrace.store import Store
from plumetrace.store.models import Job
from tests.api.test_accounts import PW, make_accounts
from tests.fuse.weak import weak_surveys


@pytest.fixture(scope="module")
def survey_file(tmp_path_factory):
    paths, _ = weak_surveys(tmp_path_factory.mktemp("upload"), rate_g_s=0.4, n=1, seed=300)  # toluene: 13 nats
    return paths[0]


def _accounts(url):
    store = Store(url)
    return store, make_accounts(store, [("ana", "analysis", "analyst"), ("rev", "analysis", "reviewer"),
                                        ("pat", "police-a", "partner")])


def test_upload_is_checked_queued_and_survives_a_restart(store_url, survey_file):
    store, h = _accounts(store_url)
    client = TestClient(create_app(store_url, run_jobs=False))  # a server that does not run jobs: they wait
    data = survey_file.read_bytes()
    r = client.post("/api/v1/surveys", files={"file": ("day1.csv", data, "text/csv")}, headers=h["ana"])
    assert r.status_code == 202, r.text
    job = r.json()["job"]
    assert job["status"] == "queued" and r.headers["location"] == f"/api/v1/jobs/{job['id']}"
    again = client.post("/api/v1/surveys", files={"file": ("copy.csv", data, "text/csv")}, headers=h["ana"])
    assert again.json()["status"] == "exists" and again.json()["job"]["id"] == job["id"]  # idempotent
    # roles: a reviewer may read jobs but not upload; a partner neither
    assert client.post("/api/v1/surveys", files={"file": ("x.csv", data)}, headers=h["rev"]).status_code == 403
    assert client.get(f"/api/v1/jobs/{job['id']}", headers=h["pat"]).status_code == 403
    # a bad file: 422 with the reader's message naming the uploaded file; nothing stored
    before = store.counts()
    bad = data.replace(b"\n", b"\nnot,a,row\n", 1)
    r = client.post("/api/v1/surveys", files={"file": ("broken.csv", bad)}, headers=h["ana"])
    assert r.status_code == 422 and r.json()["error"]["message"].startswith("broken.csv"), r.text
    assert "/tmp" not in r.json()["error"]["message"]
    assert store.counts() == before
    # the process that ran it died mid-run: the job is left 'running'
    with store.session.begin() as s:
        s.execute(update(Job).where(Job.id == job["id"]).values(status="running", stage="analysing", attempts=1))
    with TestClient(create_app(store_url, workers=1)) as served:  # a restart: the runner re-queues it, Dask runs it
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            j = served.get(f"/api/v1/jobs/{job['id']}", headers=h["ana"]).json()
            if j["status"] in ("done", "failed"):
                break
            time.sleep(0.5)
        assert j["status"] == "done", j
        assert j["progress"] == 1.0 and j["attempts"] == 2 and j["survey_id"] is not None
        surveys = served.get("/api/v1/surveys", headers=h["ana"]).json()["surveys"]
        assert [s["id"] for s in surveys] == [j["survey_id"]]
        assert served.get("/api/v1/sites", headers=h["ana"]).json()["total"] >= 1
        stored = served.post("/api/v1/surveys", files={"file": ("day1.csv", data)}, headers=h["ana"])
        assert stored.status_code == 200 and stored.json()["status"] == "stored"
        ev = served.get("/api/v1/sites/1/evidence", headers=h["ana"]).json()
        assert ev["surveys"] and all("series" in x for x in ev["hits"])
    assert store.counts()["surveys"] == 1  # run once, stored once


def test_session_cookie_csrf_and_login_rate_limit(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    _accounts(url)
    client = TestClient(create_app(url, run_jobs=False))
    r = client.post("/api/v1/session", json={"username": "ana", "password": PW})
    assert r.status_code == 200
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    csrf = r.json()["csrf_token"]
    me = client.get("/api/v1/me").json()
    assert me["username"] == "ana" and me["csrf_token"] == csrf
    # a state-changing request with the cookie needs the CSRF header
    no = client.post("/api/v1/leads", json={"site_id": 1})
    assert no.status_code == 403 and "X-CSRF-Token" in no.json()["error"]["message"]
    yes = client.post("/api/v1/leads", json={"site_id": 1}, headers={"X-CSRF-Token": csrf})
    assert yes.status_code == 404  # through authorisation; there is no site 1
    assert client.delete("/api/v1/session", headers={"X-CSRF-Token": csrf}).status_code == 200
    assert client.get("/api/v1/me").status_code == 401  # the cookie is revoked
    # five wrong passwords, then 429 even for the right one
    for _ in range(5):
        assert client.post("/api/v1/session", json={"username": "rev", "password": "wrong" * 3}).status_code == 401
    blocked = client.post("/api/v1/session", json={"username": "rev", "password": PW})
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0


def test_upload_size_limit(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    store, h = _accounts(url)
    client = TestClient(create_app(url, run_jobs=False, max_upload_bytes=2**20))
    r = client.post("/api/v1/surveys", files={"file": ("big.csv", b"x" * (3 * 2**20))}, headers=h["ana"])
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
    assert store.counts()["surveys"] == 0
