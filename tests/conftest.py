"""Shared fixtures: the real field data beside the project (../shared/data) and a store URL per back end."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else "dev")

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("PLUMETRACE_SHARED_DATA", ROOT.parent / "shared" / "data"))


#: The modules that use the session's demo run (``demo_run``). Under pytest-xdist (``-n``, ``addopts``) they share one
#: worker, so the demo runs once; every other module runs whole on one worker, so its module fixtures run once.
DEMO_MODULES = frozenset({"tests/test_demo.py", "tests/api/test_matrix.py", "tests/leads/test_learning.py",
                          "tests/web/test_service_page.py"})


def pytest_xdist_make_scheduler(config, log):
    """pytest-xdist's per-module scheduling, with :data:`DEMO_MODULES` as one unit of work.

    (xdist's own ``loadgroup`` does not group under pytest 9, whose node ids cannot be renamed.)
    """
    from xdist.scheduler import LoadScopeScheduling

    class ModuleScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return "demo" if module in DEMO_MODULES else module

    return ModuleScheduling(config, log)


def pytest_collection_modifyitems(config, items):
    """A module that uses the demo run and is not in :data:`DEMO_MODULES` would run the demo again: refuse it."""
    stray = sorted({item.nodeid.split("::", 1)[0] for item in items
                    if "demo_run" in getattr(item, "fixturenames", ())} - DEMO_MODULES)
    if stray:
        raise pytest.UsageError(f"add {', '.join(stray)} to DEMO_MODULES in tests/conftest.py (they use demo_run)")


@pytest.fixture(scope="session")
def prairie_grass_dir() -> Path:
    """Project Prairie Grass as shipped in the package (a fresh clone validates itself; no ../shared needed)."""
    from plumetrace.io.field_experiment import bundled_experiment_dir

    return bundled_experiment_dir("prairie_grass")


PG_ENV = "PLUMETRACE_TEST_PG_URL"
_CREATED: list[str] = []


def _pg_url():
    return os.environ.get(PG_ENV)


def _fresh_pg_database(url: str) -> str:
    """A new empty database on the server of ``url`` (dropped at the end of the session by name prefix)."""
    import psycopg

    base = url.replace("postgresql+psycopg://", "postgresql://")
    name = f"plumetrace_t_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    _CREATED.append(name)
    return base.rsplit("/", 1)[0] + "/" + name


def pytest_sessionfinish(session, exitstatus):
    """Drop the PostgreSQL databases the tests created."""
    if not _CREATED or not _pg_url():
        return
    import psycopg

    base = _pg_url().replace("postgresql+psycopg://", "postgresql://")
    try:
        with psycopg.connect(base, autocommit=True) as conn:
            for name in _CREATED:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except psycopg.Error:
        pass


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    """A URL of an empty store on each back end.

    PostgreSQL runs when ``PLUMETRACE_TEST_PG_URL`` names a server (``.ci/run`` starts one and sets it); CI
    fails rather than skips when it is missing.
    """
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    url = _pg_url()
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"CI must test the store on PostgreSQL: set {PG_ENV} (.ci/run does)")
        pytest.skip(f"no PostgreSQL server configured ({PG_ENV} unset)")
    return _fresh_pg_database(url)


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """``plumetrace demo --json`` once per test session: (output folder, the CLI result)."""
    from typer.testing import CliRunner

    from plumetrace.cli import app

    out = tmp_path_factory.mktemp("demo") / "demo"
    return out, CliRunner().invoke(app, ["demo", "--out", str(out), "--json"])
