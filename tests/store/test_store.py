"""The store on SQLite and on a real PostgreSQL/PostGIS: migrations, idempotent and atomic ingest, sites."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from plumetrace.exceptions import InputError
from plumetrace.fuse import FusedSite
from plumetrace.geo.crs import LocalFrame
from plumetrace.pipeline import analyze_survey, run_campaign
from plumetrace.store import Store, resolve_url
from tests.fuse.weak import ORIGIN, weak_surveys


@pytest.fixture(scope="module")
def surveys(tmp_path_factory):
    """Two analysed surveys of the weak-lab town (analysis is the slow part: done once)."""
    paths, _ = weak_surveys(tmp_path_factory.mktemp("store"), rate_g_s=0.2, n=2, seed=300)
    return paths, [analyze_survey(p, ORIGIN) for p in paths]


#: The newest migration (0003: organisations, users, API tokens).
HEAD = "0005"


def test_migrations_up_down_up(store_url):
    store = Store(store_url)
    assert store.revision() == HEAD
    assert store.counts()["surveys"] == 0
    store.downgrade("base")
    assert store.revision() is None
    store.upgrade()
    assert store.revision() == HEAD
    if store.dialect == "postgresql":
        from sqlalchemy import text

        with store.engine.connect() as conn:
            cols = {r[0] for r in conn.execute(text("SELECT column_name FROM information_schema.columns "
                                                    "WHERE table_name = 'sites'"))}
        assert "geom" in cols  # PostGIS point generated from lat/lon


def test_nomenclature_migration_keeps_the_data(store_url):
    """0001 → 0002 renames columns to the contract's names (docs/nomenclature.md) and keeps every value."""
    from sqlalchemy import text

    store = Store(store_url)
    store.downgrade("0001")
    with store.engine.begin() as conn:
        conn.execute(text("INSERT INTO sites (lat, lon, east, north, radius90_m, channels, species, log_bayes, "
                          "confidence, status, activity, source_class, n_covering, n_detected, history, retired, "
                          "updated_at) VALUES (52.1, 5.1, 1.0, 2.0, 17.5, '[]', '[]', 12.0, 0.9, 'confirmed', "
                          "'active', 'unknown', 1, 1, '[]', false, '2026-12-01 00:00:00+00:00')"))
    store.upgrade("0002")
    assert store.revision() == "0002"
    [site] = store.sites()
    assert site["credible90_radius_m"] == 17.5 and site["lat"] == 52.1
    store.downgrade("0001")
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT radius90_m FROM sites")).scalar() == 17.5
    store.upgrade()


def test_ingest_is_idempotent_and_complete(store_url, surveys):
    _, results = surveys
    store = Store(store_url)
    store.set_campaign_origin(*ORIGIN)
    ids = [store.ingest(r) for r in results]
    assert [new for _, new in ids] == [True, True]
    counts = store.counts()
    assert counts["surveys"] == 2
    assert counts["hits"] == sum(len(r.hits) for r in results) > 0
    assert counts["source_estimates"] == sum(len(r.estimates) for r in results)
    assert counts["evidence_maps"] == sum(len(r.maps) for r in results)
    again = [store.ingest(r) for r in results]
    assert again == [(i, False) for i, _ in ids]
    assert store.counts() == counts
    # maps come back bit for bit
    ev = store.evidence()
    back = {m.channel: m.log_bf for m in ev[0].maps}
    for m in results[0].maps:
        assert np.array_equal(back[m.channel], m.log_bf)


def test_campaign_reingest_is_a_noop(store_url, surveys):
    paths, _ = surveys
    store = Store(store_url)
    first = run_campaign(paths, store, progress=False)
    assert first.ingested == 2 and not first.failed
    counts = store.counts()
    sites = store.sites()
    second = run_campaign(paths + paths, store, progress=False)
    assert second.ingested == 0 and second.skipped == 4
    assert store.counts() == counts
    assert [s["id"] for s in store.sites()] == [s["id"] for s in sites]


def test_sites_keep_their_ids_and_retire(store_url):
    store = Store(store_url)
    frame = LocalFrame(*ORIGIN)

    def site(east, north, log_b=20.0):
        return FusedSite(east, north, 10.0, ["acetone_ppb"], ["acetone"], log_b, 0.99, "confirmed", "active",
                         "unknown", None, None, None, None, 0, 0, [])

    first = store.replace_sites([site(0, 0), site(200, 0)], frame)
    assert first == {"new": 2, "updated": 0, "retired": 0}
    west = min(store.sites(), key=lambda s: s["lon"])["id"]  # the site at (0, 0)
    second = store.replace_sites([site(5, 3, 30.0)], frame)
    assert second == {"new": 0, "updated": 1, "retired": 1}
    now = store.sites()
    assert len(now) == 1 and now[0]["id"] == west and now[0]["log_bayes"] == 30.0
    assert len(store.sites(include_retired=True)) == 2
    lat, lon = frame.to_wgs84(np.array([5.0]), np.array([3.0]))
    assert [s["id"] for s in store.sites_near(float(lat[0]), float(lon[0]), 50.0)] == [now[0]["id"]]
    assert store.sites_near(float(lat[0]), float(lon[0]) + 0.01, 50.0) == []


_KILLED_INGEST = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from plumetrace.store import db
    from plumetrace.pipeline import run_campaign

    original = db.Store._add_children

    def stall(self, session, survey, result):
        original(self, session, survey, result)  # hits, estimates and maps flushed, not committed
        Path(sys.argv[3]).write_text("mid-ingest")
        time.sleep(120)

    db.Store._add_children = stall
    run_campaign([sys.argv[2]], db.Store(sys.argv[1]), progress=False)
""")


def test_sigkill_mid_ingest_leaves_the_store_consistent(store_url, surveys, tmp_path):
    paths, results = surveys
    marker = tmp_path / "marker"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_INGEST, store_url, str(paths[0]), str(marker)], env=env)
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert proc.poll() is None, "the ingest process ended before reaching the write"
        assert time.monotonic() < deadline, "the ingest process never reached the write"
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    store = Store(store_url)
    counts = store.counts()
    assert counts["surveys"] == counts["hits"] == counts["evidence_maps"] == counts["source_estimates"] == 0
    summary = run_campaign([paths[0]], store, progress=False)
    assert summary.ingested == 1
    counts = store.counts()
    assert counts["surveys"] == 1 and counts["hits"] == len(results[0].hits)
    assert counts["evidence_maps"] == len(results[0].maps)
    assert run_campaign([paths[0]], store, progress=False).ingested == 0
    assert store.counts() == counts


def test_bad_urls_are_refused():
    with pytest.raises(InputError, match="neither"):
        resolve_url("mysql://x@y/z")
    assert resolve_url("postgresql://u@h/d").startswith("postgresql+psycopg://")
    with pytest.raises(InputError, match="cannot open the store"):
        Store("postgresql://nobody@127.0.0.1:1/nothing")
