"""schemathesis against the OpenAPI schema (bounded): no input the schema admits — or violates — makes a 5xx, every
refusal is the one error format, and responses match what the schema documents."""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from plumetrace.api.app import create_app
from plumetrace.store import Store
from tests.api.test_accounts import make_accounts
from tests.leads.test_leads import insert_site

#: bounded for CI: examples per operation and mode (PLUMETRACE_FUZZ_EXAMPLES=200 for a longer hunt)
EXAMPLES = int(os.environ.get("PLUMETRACE_FUZZ_EXAMPLES", "15"))


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'store.db'}"
    store = Store(url)
    headers = make_accounts(store, [("adm", "analysis", "admin"), ("pa", "police-a", "partner")])
    insert_site(store)
    tokens = {u: h["Authorization"].removeprefix("Bearer ") for u, h in headers.items()}
    return create_app(url, run_jobs=False), store, tokens


def _fuzz(op, mode, store, tokens):
    @given(case=op.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(case):
        before = store.counts()
        for who in ("adm", "pa"):
            response = case.call(headers={"Authorization": f"Bearer {tokens[who]}"})
            where = (who, mode.value, case.method, case.formatted_path, response.status_code, response.text[:300])
            assert response.status_code < 500, where
            if response.status_code >= 400:
                body = response.json()
                assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, where
            case.validate_response(response, checks=[status_code_conformance, content_type_conformance,
                                                     response_schema_conformance])
        if case.method == "POST" and case.path == "/api/v1/surveys":
            assert store.counts()["surveys"] == before["surveys"]  # random bytes are never a survey

    run()


@pytest.mark.parametrize("mode", list(GenerationMode), ids=lambda m: m.value)
def test_no_server_error_and_one_error_format(served, mode):
    """Every operation of the schema, valid and invalid inputs (schemathesis' positive and negative modes)."""
    app, store, tokens = served
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) >= 25
    for op in operations:
        if op.path == "/api/v1/session" and op.method.upper() == "DELETE":
            continue  # logging out revokes nothing a bearer token needs, but keep the tokens' sessions simple
        if mode is GenerationMode.NEGATIVE and not list(op.iter_parameters()) and not len(op.body):
            continue  # nothing to get wrong
        _fuzz(op, mode, store, tokens)
