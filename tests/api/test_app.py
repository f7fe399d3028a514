"""The REST API (contract 8): the authorisation matrix, one error format, filters — on SQLite and PostgreSQL."""

import pytest
from fastapi.testclient import TestClient

from plumetrace.api.accounts import add_org, add_user, create_token
from plumetrace.api.app import create_app
from plumetrace.store import Store
from tests.api.test_accounts import PW

ROLES = ("admin", "analyst", "reviewer", "partner")
ENDPOINTS = ("/api/v1/me", "/api/v1/sites", "/api/v1/sites/1", "/api/v1/surveys", "/api/v1/hits",
             "/api/v1/estimates")
#: expected status per role (with a site 1 in the store); partners see no site, survey, hit or estimate
EXPECTED = {"admin": (200,) * 6, "analyst": (200,) * 6, "reviewer": (200,) * 6,
            "partner": (200, 403, 403, 403, 403, 403)}


@pytest.fixture
def api(store_url):
    store = Store(store_url)
    add_org(store, "analysis")
    add_org(store, "police-a", partner=True)
    tokens = {}
    for role in ROLES:
        add_user(store, role, "police-a" if role == "partner" else "analysis", role, PW)
        tokens[role] = create_token(store, role, 1)
    from sqlalchemy import text

    with store.engine.begin() as conn:  # one site, as fusion would write it
        conn.execute(text(
            "INSERT INTO sites (id, lat, lon, east, north, credible90_radius_m, channels, species, log_bayes, "
            "confidence, status, activity, source_class, n_covering, n_detected, history, retired, updated_at) "
            "VALUES (1, 52.1, 5.1, 1.0, 2.0, 17.5, '[]', '[]', 12.0, 0.9, 'confirmed', 'active', 'clandestine_lab', "
            "1, 1, '[]', false, '2026-12-01 00:00:00+00:00')"))
    return TestClient(create_app(store_url)), tokens


def test_authorisation_matrix(api):
    client, tokens = api
    for role in ROLES:
        for path, want in zip(ENDPOINTS, EXPECTED[role], strict=True):
            r = client.get(path, headers={"Authorization": f"Bearer {tokens[role]}"})
            assert r.status_code == want, (role, path, r.status_code, r.text)
            if want != 200:
                assert set(r.json()) == {"error"} and r.json()["error"]["code"] == "forbidden"
    for path in ENDPOINTS:  # no token, a bad token
        for headers in ({}, {"Authorization": "Bearer pt_not-a-token"}):
            r = client.get(path, headers=headers)
            assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorised"
            assert r.headers["www-authenticate"] == "Bearer"


def test_health_and_openapi_need_no_token(api):
    client, _ = api
    assert client.get("/healthz").json()["status"] == "ok"
    schema = client.get("/openapi.json").json()
    assert {"/api/v1/sites", "/api/v1/sites/{site_id}", "/api/v1/surveys"} <= set(schema["paths"])


def test_sites_filters_pages_and_errors(api):
    client, tokens = api
    h = {"Authorization": f"Bearer {tokens['analyst']}"}
    assert client.get("/api/v1/sites", headers=h).json()["total"] == 1
    assert client.get("/api/v1/sites?class=traffic", headers=h).json()["total"] == 0
    assert client.get("/api/v1/sites?min_confidence=0.95", headers=h).json()["total"] == 0
    assert client.get("/api/v1/sites?bbox=5,52,5.2,52.2", headers=h).json()["total"] == 1
    assert client.get("/api/v1/sites?bbox=6,52,6.2,52.2", headers=h).json()["total"] == 0
    bad = client.get("/api/v1/sites?bbox=nonsense", headers=h)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_request"
    assert client.get("/api/v1/sites?limit=0", headers=h).status_code == 422
    missing = client.get("/api/v1/sites/999", headers=h)
    assert missing.status_code == 404 and missing.json() == {"error": {"code": "not_found", "message": "no site 999"}}
