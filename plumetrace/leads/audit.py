"""The tamper-evident audit trail: an append-only, hash-chained ``audit_log`` (contract 9).

Each entry ``k`` stores ``hash_k = H(hash_{k-1} ‖ canonical(k))`` where ``canonical`` is the JSON (sorted keys, no
spaces, UTF-8) of its sequence number, time (ISO 8601 text, stored as text so that the bytes hashed are the bytes
kept), actor, action, subject and detail, and ``hash_0`` is 64 zeros — the construction of a hash chain
(Haber & Stornetta 1991, "How to time-stamp a digital document"; RFC 6962's log is the tree form of it). ``H`` is
SHA-256, or HMAC-SHA-256 (RFC 2104) with the key in ``PLUMETRACE_AUDIT_KEY`` when it is set, so that whoever can
write the database but not read the key cannot rebuild a consistent chain after tampering.

:func:`verify` recomputes the chain: an edited row breaks its own hash, a deleted or inserted row breaks the
next row's link (and the numbering), a reordering breaks both; the head (last sequence number and hash) is also
kept in ``settings`` in the same transaction as each append, so that cutting entries off the end is seen too. The
database refuses UPDATE and DELETE on ``audit_log`` by trigger (migration 0005), on SQLite and PostgreSQL.

Appends are serialised: on PostgreSQL by a transaction-scoped advisory lock, on SQLite by its single writer; a
clash on the unique sequence number is retried.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from plumetrace.store.models import AuditEntry, Setting

GENESIS = "0" * 64
HEAD_KEY = "audit_head"
KEY_ENV = "PLUMETRACE_AUDIT_KEY"
_LOCK_ID = 0x706C756D  # "plum": the advisory lock of the audit chain on PostgreSQL


def canonical(seq: int, at: str, actor: str, action: str, subject: str, detail: str) -> bytes:
    """The bytes an entry's hash covers."""
    return json.dumps({"seq": seq, "at": at, "actor": actor, "action": action, "subject": subject,
                       "detail": detail}, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(prev: str, body: bytes, key: bytes | None = None) -> str:
    """``H(prev ‖ body)``: SHA-256, or HMAC-SHA-256 under ``key``."""
    data = prev.encode("ascii") + body
    if key:
        return hmac.new(key, data, hashlib.sha256).hexdigest()
    return hashlib.sha256(data).hexdigest()


def _key() -> bytes | None:
    k = os.environ.get(KEY_ENV)
    return k.encode("utf-8") if k else None


def _detail_text(detail) -> str:
    return json.dumps(detail if detail is not None else {}, sort_keys=True, separators=(",", ":"), default=str,
                      ensure_ascii=False)


def append_in(s, action: str, actor: str, subject: str, detail=None) -> AuditEntry:
    """Append an entry inside the open session ``s`` (committed with the change it records)."""
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_ID})
    last = s.scalar(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1))
    seq = 1 if last is None else last.seq + 1
    prev = GENESIS if last is None else last.hash
    at = datetime.now(UTC).isoformat(timespec="microseconds")
    actor, action, subject = str(actor)[:64], str(action)[:64], str(subject)[:128]
    body = _detail_text(detail)
    h = chain_hash(prev, canonical(seq, at, actor, action, subject, body), _key())
    row = AuditEntry(seq=seq, at=at, actor=actor, action=action, subject=subject, detail=body, prev_hash=prev,
                     hash=h)
    s.add(row)
    head = s.get(Setting, HEAD_KEY)
    value = json.dumps({"seq": seq, "hash": h})
    if head is None:
        s.add(Setting(key=HEAD_KEY, value=value))
    else:
        head.value = value
    s.flush()
    return row


def append(store, action: str, actor: str, subject: str, detail=None, attempts: int = 5) -> int:
    """Append an entry in its own transaction; returns its sequence number."""
    for k in range(attempts):
        try:
            with store.session.begin() as s:
                return append_in(s, action, actor, subject, detail).seq
        except (IntegrityError, OperationalError):
            if k == attempts - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass(frozen=True)
class Verification:
    """What :func:`verify` found: ``ok``, the entries checked, the head hash, and the first bad entry."""

    ok: bool
    entries: int
    head: str
    bad_seq: int | None = None
    bad_id: int | None = None
    reason: str = ""


def verify(store) -> Verification:
    """Recompute the chain in sequence order; the first entry that does not fit, and why."""
    key = _key()
    with store.session() as s:
        rows = list(s.scalars(select(AuditEntry).order_by(AuditEntry.seq, AuditEntry.id)))
        head = s.get(Setting, HEAD_KEY)
        n_ids = s.scalar(select(func.count()).select_from(AuditEntry))
    prev, expect = GENESIS, 1
    by_id = sorted(r.id for r in rows)
    for r in rows:
        if r.seq != expect:
            return Verification(False, len(rows), prev, r.seq, r.id,
                                f"sequence number {r.seq} where {expect} was expected (an entry was deleted or "
                                "inserted)")
        if r.prev_hash != prev:
            return Verification(False, len(rows), prev, r.seq, r.id,
                                "its link to the previous entry is broken (an entry before it was changed, "
                                "deleted, inserted or moved)")
        want = chain_hash(prev, canonical(r.seq, r.at, r.actor, r.action, r.subject, r.detail), key)
        if not hmac.compare_digest(want, r.hash):
            return Verification(False, len(rows), prev, r.seq, r.id, "its content does not match its hash (it was "
                                "edited)" + ("" if key else "; or PLUMETRACE_AUDIT_KEY differs from the one it "
                                             "was written with"))
        prev, expect = r.hash, expect + 1
    # rows are appended in id order too: ids out of sequence order mean rows were renumbered (reordered)
    ordered = [r.id for r in rows]
    if ordered != by_id:
        first = next(r for r, i in zip(rows, by_id, strict=True) if r.id != i)
        return Verification(False, len(rows), prev, first.seq, first.id,
                            "entries were reordered (row ids out of sequence order)")
    if head is not None:
        h = json.loads(head.value)
        if int(h["seq"]) != len(rows) or h["hash"] != prev:
            return Verification(False, len(rows), prev, int(h["seq"]), None,
                                f"the chain ends at entry {len(rows)} but its recorded head is entry {h['seq']} "
                                "(entries were cut off the end, or the head was edited)")
    elif n_ids:
        return Verification(False, len(rows), prev, None, None, "the chain's head record is missing")
    return Verification(True, len(rows), prev)


def entries(store, limit: int = 100, offset: int = 0) -> list[dict]:
    """Audit entries, newest first."""
    with store.session() as s:
        rows = s.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).offset(offset).limit(limit)).all()
        return [{"seq": r.seq, "at": r.at, "actor": r.actor, "action": r.action, "subject": r.subject,
                 "detail": json.loads(r.detail), "hash": r.hash} for r in rows]
