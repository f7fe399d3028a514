"""Who is calling: bearer tokens, the page's session cookie with CSRF protection, and the login rate limit.

One dependency, :func:`allow`, resolves every request under ``/api/v1`` to a
:class:`~plumetrace.api.accounts.Principal` and checks its role — no handler checks roles itself:

- ``Authorization: Bearer pt_…`` (contract 8) for programs; no CSRF check (a browser never sends it on its own);
- the ``pt_session`` cookie for the web page: ``HttpOnly``, ``SameSite=Strict``, ``Path=/``, ``Secure`` when
  served over HTTPS; only its SHA-256 is stored (:class:`~plumetrace.store.models.WebSession`), 12 hours by
  default, revoked on logout. A state-changing request (POST, PUT, PATCH, DELETE) with the cookie must echo the
  session's CSRF token in ``X-CSRF-Token`` (the synchroniser-token pattern of the OWASP CSRF Prevention Cheat
  Sheet); without it: 403.

Logins (``POST /api/v1/session``) are rate-limited in the store, so that every worker process shares the count:
after :data:`MAX_FAILURES` failed attempts for one username or from one client address within
:data:`FAILURE_WINDOW_S`, further attempts get 429 with ``Retry-After`` until the window has passed — a correct
password included. Every attempt is recorded (``login_attempts``) and appended to the audit trail.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request
from fastapi import Path as FastAPIPath
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import func, select

from plumetrace.api.accounts import Principal, authenticate, verify_password
from plumetrace.store.models import LoginAttempt, Organisation, User, WebSession, utc

COOKIE = "pt_session"
CSRF_HEADER = "X-CSRF-Token"
SESSION_HOURS = 12.0
#: Failed logins for one username or one client within the window before 429.
MAX_FAILURES = 5
FAILURE_WINDOW_S = 900.0
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}

_bearer = HTTPBearer(auto_error=False)


def _now() -> datetime:
    return datetime.now(UTC)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def client_address(request: Request) -> str:
    """The caller's address as the server sees it (no proxy headers are trusted)."""
    return (request.client.host if request.client else "unknown")[:64]


def session_principal(store, cookie: str | None) -> tuple[Principal, str] | None:
    """The principal and CSRF token of a live session cookie, or None."""
    if not cookie:
        return None
    digest = _digest(cookie)
    with store.session() as s:
        w = s.scalar(select(WebSession).where(WebSession.session_hash == digest))
        if w is None or not hmac.compare_digest(w.session_hash, digest) or w.revoked_at is not None \
                or utc(w.expires_at) <= _now():
            return None
        u = s.get(User, w.user_id)
        if u is None or not u.active:
            return None
        o = s.get(Organisation, u.org_id)
        return Principal(u.id, u.username, u.role, o.id, o.name, bool(o.partner)), w.csrf_token


def resolve(request: Request, creds: HTTPAuthorizationCredentials | None) -> Principal:
    """The caller of a request (bearer token, else session cookie with CSRF on writes), or 401 / 403."""
    store = request.app.state.store
    if creds is not None:
        p = authenticate(store, creds.credentials)
        if p is None:
            raise HTTPException(401, "the bearer token is unknown, expired or revoked (plumetrace tokens create USER)",
                                headers={"WWW-Authenticate": "Bearer"})
        return p
    found = session_principal(store, request.cookies.get(COOKIE))
    if found is None:
        raise HTTPException(401, "log in, or send a bearer token (plumetrace tokens create USER)",
                            headers={"WWW-Authenticate": "Bearer"})
    p, csrf = found
    request.state.csrf_token = csrf
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent or not hmac.compare_digest(sent, csrf):
            raise HTTPException(403, f"a state-changing request with the session cookie needs the {CSRF_HEADER} "
                                     "header of the session")
    return p


#: The largest object id a request may name: the store's keys are 32-bit INTEGER on PostgreSQL.
MAX_ID = 2**31 - 1
#: An object id in a path: 1 … MAX_ID (a larger number is a 422, never an overflow in the database driver).
ObjectId = Annotated[int, FastAPIPath(ge=1, le=MAX_ID)]
#: A page offset: 0 … MAX_ID.
Offset = Annotated[int, Query(ge=0, le=MAX_ID)]


def allow(*roles: str):
    """The dependency of an endpoint that ``roles`` may call: the caller's :class:`Principal`, or 401 / 403."""

    def dependency(request: Request,
                   creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Principal:
        p = resolve(request, creds)
        if p.role not in roles:
            raise HTTPException(403, f"the {p.role} role may not do this")
        request.state.principal = p
        return p

    return dependency


def failures(store, username: str, client: str) -> tuple[int, float]:
    """Failed attempts within the window for this username or client, and seconds until the oldest expires."""
    since = _now() - timedelta(seconds=FAILURE_WINDOW_S)
    with store.session() as s:
        q = select(func.count(), func.min(LoginAttempt.at)).where(
            LoginAttempt.at >= since, LoginAttempt.ok.is_(False),
            (LoginAttempt.username == username) | (LoginAttempt.client == client))
        n, oldest = s.execute(q).one()
    wait = 0.0 if oldest is None else FAILURE_WINDOW_S - (_now() - utc(oldest)).total_seconds()
    return int(n), max(1.0, wait)


def login(store, username: str, password: str, client: str) -> tuple[Principal, str, str]:
    """Check a password login; returns (principal, session cookie, CSRF token) or raises 401 / 429.

    Every attempt is recorded; a refused one changes nothing else.
    """
    username = (username or "")[:64]
    n, wait = failures(store, username, client)
    if n >= MAX_FAILURES:
        raise HTTPException(429, f"too many failed logins for this user or address; try again in {wait:.0f} s",
                            headers={"Retry-After": str(int(wait))})
    p = verify_password(store, username, password or "")
    with store.session.begin() as s:
        s.add(LoginAttempt(username=username, client=client, ok=p is not None, at=_now()))
    _audit(store, "login" if p is not None else "login_refused", username, client)
    if p is None:
        raise HTTPException(401, "unknown user or wrong password")
    cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    with store.session.begin() as s:
        now = _now()
        s.add(WebSession(session_hash=_digest(cookie), csrf_token=csrf, user_id=p.user_id, created_at=now,
                         expires_at=now + timedelta(hours=SESSION_HOURS)))
    return p, cookie, csrf


def logout(store, cookie: str | None) -> bool:
    """Revoke a session cookie; whether one was live."""
    if not cookie:
        return False
    with store.session.begin() as s:
        w = s.scalar(select(WebSession).where(WebSession.session_hash == _digest(cookie)))
        if w is None or w.revoked_at is not None:
            return False
        w.revoked_at = _now()
        return True


def _audit(store, action: str, actor: str, client: str) -> None:
    """Append a login (or a refused one) to the audit trail."""
    from plumetrace.leads.audit import append

    append(store, action, actor=actor or "-", subject=f"user:{actor}", detail={"client": client})
