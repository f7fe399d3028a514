"""Organisations, users and API tokens (contract 8): who may use the service, in one place.

- **Organisations**: one analysis organisation (it sees every site) and partner authorities (``partner``); names
  are unique.
- **Users**: one role each — ``admin``, ``analyst``, ``reviewer`` (organisations that analyse) or ``partner``
  (partner organisations only, and only that role there). Passwords are hashed with argon2id (RFC 9106; the
  ``argon2-cffi`` defaults: 64 MiB, 3 passes, 4 lanes), never stored; at least 12 characters.
- **Tokens**: 256 random bits (``secrets.token_urlsafe(32)``) prefixed ``pt_``, shown once; the store keeps only
  their SHA-256 (a fast hash suffices for high-entropy secrets), a prefix to tell them apart, the expiry and the
  revocation time. :func:`authenticate` resolves a token to a :class:`Principal` or None (unknown, expired,
  revoked, or its user deactivated) in constant-time comparison of the hashes.

Every write is one transaction; a refused request changes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from plumetrace.exceptions import InputError
from plumetrace.store.models import ApiToken, Organisation, User, utc

ROLES = ("admin", "analyst", "reviewer", "partner")
MIN_PASSWORD_LENGTH = 12
TOKEN_PREFIX = "pt_"
#: Longest token lifetime [days].
MAX_TOKEN_DAYS = 366


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: the user, their role and organisation."""

    user_id: int
    username: str
    role: str
    org_id: int
    org_name: str
    partner: bool


def _now() -> datetime:
    return datetime.now(UTC)


def _hasher():
    from argon2 import PasswordHasher

    return PasswordHasher()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _check_name(kind: str, name: str, limit: int) -> str:
    name = (name or "").strip()
    if not name or len(name) > limit or any(ord(c) < 32 for c in name):
        raise InputError(f"{kind} {name!r} must be 1–{limit} printable characters")
    return name


def add_org(store, name: str, partner: bool = False) -> int:
    """Add an organisation; returns its id (InputError if the name is taken)."""
    name = _check_name("organisation name", name, 128)
    with store.session.begin() as s:
        if s.scalar(select(Organisation).where(Organisation.name == name)) is not None:
            raise InputError(f"organisation {name!r} exists already")
        if not partner:
            other = s.scalar(select(Organisation).where(Organisation.partner.is_(False)))
            if other is not None:  # the analysis side sees every site: two of them would see each other's work
                raise InputError(f"the analysis organisation is {other.name!r}; a store has one (add partner "
                                 f"organisations with --partner)")
        org = Organisation(name=name, partner=bool(partner), created_at=_now())
        s.add(org)
        s.flush()
        return int(org.id)


def add_user(store, username: str, org: str, role: str, password: str) -> int:
    """Add a user with a role in an organisation; returns its id."""
    username = _check_name("username", username, 64)
    if role not in ROLES:
        raise InputError(f"--role {role!r} is not one of {', '.join(ROLES)}")
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise InputError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    digest = _hasher().hash(password)
    with store.session.begin() as s:
        o = s.scalar(select(Organisation).where(Organisation.name == org))
        if o is None:
            raise InputError(f"--org {org!r}: no such organisation (plumetrace orgs add NAME)")
        if (role == "partner") != bool(o.partner):
            raise InputError(f"role {role!r} does not fit organisation {org!r}: partner organisations have partner "
                             "users only, and partner users belong to partner organisations")
        if s.scalar(select(User).where(User.username == username)) is not None:
            raise InputError(f"user {username!r} exists already")
        u = User(username=username, org_id=o.id, role=role, password_hash=digest, active=True, created_at=_now())
        s.add(u)
        s.flush()
        return int(u.id)


def verify_password(store, username: str, password: str) -> Principal | None:
    """The user if the password is theirs (argon2 verification), else None."""
    from argon2.exceptions import InvalidHashError, VerificationError

    with store.session() as s:
        u = s.scalar(select(User).where(User.username == username))
        if u is None or not u.active:
            _hasher().hash("timing-equaliser")  # the same work whether or not the user exists
            return None
        try:
            _hasher().verify(u.password_hash, password)
        except (VerificationError, InvalidHashError):
            return None
        o = s.get(Organisation, u.org_id)
        return Principal(u.id, u.username, u.role, o.id, o.name, bool(o.partner))


def create_token(store, username: str, expires_days: float = 30.0) -> str:
    """A new token for a user (returned once; only its hash is kept)."""
    if not 0 < expires_days <= MAX_TOKEN_DAYS:
        raise InputError(f"--expires-days {expires_days!r} must be in (0, {MAX_TOKEN_DAYS}]")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with store.session.begin() as s:
        u = s.scalar(select(User).where(User.username == username))
        if u is None:
            raise InputError(f"no user {username!r} (plumetrace users add)")
        now = _now()
        s.add(ApiToken(user_id=u.id, token_hash=_token_hash(token), prefix=token[:10], created_at=now,
                       expires_at=now + timedelta(days=float(expires_days))))
    return token


def revoke_token(store, token_or_prefix: str) -> int:
    """Revoke a token (the token itself, or its 10-character prefix); returns how many were revoked."""
    with store.session.begin() as s:
        q = select(ApiToken).where(ApiToken.revoked_at.is_(None))
        if token_or_prefix.startswith(TOKEN_PREFIX) and len(token_or_prefix) > 10:
            q = q.where(ApiToken.token_hash == _token_hash(token_or_prefix))
        else:
            q = q.where(ApiToken.prefix == token_or_prefix)
        rows = list(s.scalars(q))
        for t in rows:
            t.revoked_at = _now()
        return len(rows)


def authenticate(store, token: str | None) -> Principal | None:
    """The principal of a bearer token, or None (unknown, expired, revoked, or user deactivated)."""
    if not token or not token.startswith(TOKEN_PREFIX):
        return None
    digest = _token_hash(token)
    with store.session() as s:  # one round trip: the token with its user and organisation
        row = s.execute(select(ApiToken, User, Organisation).join(User, User.id == ApiToken.user_id)
                        .join(Organisation, Organisation.id == User.org_id)
                        .where(ApiToken.token_hash == digest)).first()
        if row is None:
            return None
        t, u, o = row
        if not hmac.compare_digest(t.token_hash, digest) or t.revoked_at is not None or utc(t.expires_at) <= _now():
            return None
        if not u.active:
            return None
        return Principal(u.id, u.username, u.role, o.id, o.name, bool(o.partner))


def organisations(store) -> list[dict]:
    """Every organisation with its users' count."""
    with store.session() as s:
        orgs = list(s.scalars(select(Organisation).order_by(Organisation.id)))
        users = list(s.scalars(select(User)))
        return [{"id": o.id, "name": o.name, "partner": bool(o.partner),
                 "users": sum(1 for u in users if u.org_id == o.id)} for o in orgs]


def principal_of(store, username: str) -> Principal:
    """The principal of a registered, active user (the command line's ``--as USER``)."""
    with store.session() as s:
        u = s.scalar(select(User).where(User.username == username))
        if u is None or not u.active:
            raise InputError(f"--as {username!r}: no such active user (plumetrace users add)")
        o = s.get(Organisation, u.org_id)
        return Principal(u.id, u.username, u.role, o.id, o.name, bool(o.partner))
