"""Who may use the service: organisations, users, tokens (contract 8), on SQLite and PostgreSQL."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text, update
from typer.testing import CliRunner

from plumetrace.api.accounts import add_org, add_user, authenticate, create_token, revoke_token, verify_password
from plumetrace.cli import app
from plumetrace.exceptions import InputError
from plumetrace.store import Store
from plumetrace.store.models import ApiToken, User

PW = "correct horse battery"


def make_accounts(store, users) -> dict:
    """Users ``(username, organisation, role)`` with the password PW; returns each one's bearer header.

    Their organisations are made as needed (one with a partner user is a partner organisation).
    """
    orgs = {o: any(r == "partner" for _, oo, r in users if oo == o) for _, o, _ in users}
    for org, partner in orgs.items():
        add_org(store, org, partner=partner)
    for username, org, role in users:
        add_user(store, username, org, role, PW)
    return {u: {"Authorization": "Bearer " + create_token(store, u, 1)} for u, _, _ in users}


@pytest.fixture
def store(store_url):
    s = Store(store_url)
    add_org(s, "analysis")
    add_org(s, "police-a", partner=True)
    add_user(s, "ana", "analysis", "analyst", PW)
    add_user(s, "pat", "police-a", "partner", PW)
    return s


def test_tokens_authenticate_and_are_stored_only_as_hashes(store):
    token = create_token(store, "ana", 7)
    p = authenticate(store, token)
    assert p.username == "ana" and p.role == "analyst" and p.org_name == "analysis" and not p.partner
    with store.session() as s:
        row = s.scalar(select(ApiToken))
        dump = " ".join(str(v) for v in s.execute(text("SELECT * FROM api_tokens")).one())
    assert token not in dump and row.token_hash != token and len(row.token_hash) == 64
    assert authenticate(store, token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert authenticate(store, None) is None and authenticate(store, "Bearer x") is None
    assert authenticate(store, create_token(store, "pat", 1)).partner


def test_expired_revoked_and_deactivated_tokens_are_refused(store):
    a, b, c = (create_token(store, "ana", 7) for _ in range(3))
    with store.session.begin() as s:
        s.execute(update(ApiToken).where(ApiToken.prefix == a[:10])
                  .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert authenticate(store, a) is None
    assert revoke_token(store, b) == 1 and authenticate(store, b) is None
    assert authenticate(store, c) is not None
    with store.session.begin() as s:
        s.execute(update(User).where(User.username == "ana").values(active=False))
    assert authenticate(store, c) is None


def test_passwords_are_argon2id_and_verified(store):
    with store.session() as s:
        h = s.scalar(select(User.password_hash).where(User.username == "ana"))
    assert h.startswith("$argon2id$") and PW not in h
    assert verify_password(store, "ana", PW).role == "analyst"
    assert verify_password(store, "ana", PW + "x") is None
    assert verify_password(store, "nobody", PW) is None


@pytest.mark.parametrize(("args", "message"), [
    (("ana", "analysis", "analyst", PW), "exists already"),
    (("bob", "nowhere", "analyst", PW), "no such organisation"),
    (("bob", "analysis", "partner", PW), "does not fit"),
    (("bob", "police-a", "analyst", PW), "does not fit"),
    (("bob", "analysis", "boss", PW), "is not one of"),
    (("bob", "analysis", "analyst", "short"), "at least 12"),
])
def test_bad_accounts_are_refused_and_change_nothing(store, args, message):
    with store.session() as s:
        before = s.execute(text("SELECT count(*) FROM users")).scalar()
    with pytest.raises(InputError, match=message):
        add_user(store, *args)
    with store.session() as s:
        assert s.execute(text("SELECT count(*) FROM users")).scalar() == before
    with pytest.raises(InputError, match="exists already"):
        add_org(store, "analysis")
    with pytest.raises(InputError, match="a store has one"):
        add_org(store, "analysis-2")


def test_cli_orgs_users_tokens(tmp_path):
    db = f"sqlite:///{tmp_path / 'a.db'}"
    r = CliRunner()
    assert r.invoke(app, ["orgs", "add", "analysis", "--db", db]).exit_code == 0
    assert r.invoke(app, ["orgs", "add", "police-b", "--partner", "--db", db]).exit_code == 0
    res = r.invoke(app, ["users", "add", "ana", "--org", "analysis", "--role", "analyst", "--db", db], input=PW + "\n")
    assert res.exit_code == 0, res.output
    bad = r.invoke(app, ["users", "add", "eve", "--org", "analysis", "--role", "partner", "--db", db], input=PW + "\n")
    assert bad.exit_code == 2 and "does not fit" in bad.stderr
    tok = r.invoke(app, ["tokens", "create", "ana", "--expires-days", "3", "--db", db])
    assert tok.exit_code == 0
    token = tok.stdout.strip()
    assert token.startswith("pt_") and authenticate(Store(db), token).username == "ana"
    assert r.invoke(app, ["tokens", "revoke", token[:10], "--db", db]).exit_code == 0
    assert authenticate(Store(db), token) is None
    assert r.invoke(app, ["tokens", "create", "nobody", "--db", db]).exit_code == 2
