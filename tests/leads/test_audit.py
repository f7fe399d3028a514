"""The audit trail is tamper-evident: editing, deleting, inserting or reordering any row is detected by
``plumetrace audit verify`` (exit 3, naming the first bad entry), and the database refuses UPDATE and DELETE —
on SQLite and PostgreSQL."""

import json

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from plumetrace.cli import app
from plumetrace.leads import audit
from plumetrace.store import Store


@pytest.fixture
def chain(store_url):
    store = Store(store_url)
    for k in range(6):
        audit.append(store, "lead.review", f"user{k}", f"lead:{k}", {"comment": f"entry {k}"})
    assert audit.verify(store).ok
    return store, store_url


def _unguarded(store, sql, **params):
    """Run SQL with the append-only triggers out of the way (what someone with the database's files could do)."""
    with store.engine.begin() as conn:
        if store.dialect == "postgresql":
            conn.execute(text("SET session_replication_role = replica"))  # superuser: triggers do not fire
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_delete"))
        conn.execute(text(sql), params)


def _verify_cli(url):
    r = CliRunner().invoke(app, ["audit", "verify", "--db", url, "--json"])
    return r.exit_code, json.loads(r.stdout)


def test_the_database_refuses_updates_and_deletes(chain):
    store, _ = chain
    for sql in ("UPDATE audit_log SET actor = 'x' WHERE seq = 2", "DELETE FROM audit_log WHERE seq = 2"):
        with pytest.raises(DBAPIError, match="append-only"), store.engine.begin() as conn:
            conn.execute(text(sql))
    assert audit.verify(store).ok


@pytest.mark.parametrize("tamper, bad", [
    ("UPDATE audit_log SET detail = '{\"comment\":\"nothing to see\"}' WHERE seq = 3", 3),
    ("DELETE FROM audit_log WHERE seq = 3", 4),
    ("UPDATE audit_log SET seq = seq + 100 WHERE seq >= 4", None),
    ("DELETE FROM audit_log WHERE seq = 6", 6),
])
def test_edit_delete_and_truncation_are_detected(chain, tamper, bad):
    store, url = chain
    _unguarded(store, tamper)
    code, v = _verify_cli(url)
    assert code == 3 and not v["ok"], v
    if bad is not None:
        assert v["bad_seq"] == bad, v


def test_an_inserted_entry_is_detected(chain):
    store, url = chain
    row = audit.entries(store, 1)[0]
    _unguarded(store, "UPDATE audit_log SET seq = seq + 1000 WHERE seq >= 4")  # make room (unique seq)
    _unguarded(store, "UPDATE audit_log SET seq = seq - 999 WHERE seq >= 1000")
    _unguarded(store, "INSERT INTO audit_log (seq, at, actor, action, subject, detail, prev_hash, hash) VALUES "
                      "(4, :at, 'mallory', 'lead.close', 'lead:9', '{}', :h, :h)", at=row["at"], h=row["hash"])
    code, v = _verify_cli(url)
    assert code == 3 and v["bad_seq"] == 4


def test_reordered_entries_are_detected(chain):
    store, url = chain
    _unguarded(store, "UPDATE audit_log SET seq = -1 WHERE seq = 2")
    _unguarded(store, "UPDATE audit_log SET seq = 2 WHERE seq = 3")
    _unguarded(store, "UPDATE audit_log SET seq = 3 WHERE seq = -1")
    code, v = _verify_cli(url)
    assert code == 3 and v["bad_seq"] == 2


def test_intact_chain_exits_0(chain):
    _, url = chain
    code, v = _verify_cli(url)
    assert code == 0 and v["ok"] and v["entries"] == 6
