"""Time to action: each lead's clocks, service targets (SLA) per partner, overdue flags, signed webhooks, summaries.

Four clocks per lead, each from the step before it: **review** (created → reviewed) and **share** (reviewed →
shared) run on the analysis side; **acknowledge** (shared → acknowledged) and **action** (acknowledged → first
action recorded) run on the partner's. A lead is *overdue* when the clock of the step it waits for has run
longer than that partner's target (:data:`DEFAULT_SLA_HOURS` until ``plumetrace leads sla`` sets others).

Overdue leads are flagged in ``leads list``, on the page and in ``GET /api/v1/metrics/partners``; with a webhook
configured, :func:`notify_overdue` POSTs each newly overdue step once to the partner's endpoint as JSON signed
with HMAC-SHA256 (RFC 2104) over ``timestamp + "." + body`` — header ``X-Plumetrace-Signature: t=…,
sha256=…`` (the scheme of Stripe's and GitHub's webhooks: the receiver recomputes it with the shared secret and
rejects old timestamps) — and records the notification on the lead and in the audit log.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import secrets
import time
import urllib.request
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import select

from plumetrace.exceptions import InputError
from plumetrace.leads.audit import append_in
from plumetrace.store.models import Lead, LeadEvent, Organisation, PartnerSettings, utc

DEFAULT_SLA_HOURS = {"review": 24.0, "share": 24.0, "acknowledge": 48.0, "action": 168.0}
#: state a lead is in → (the clock running, the time it started from)
WAITING = {"draft": ("review", "created_at"), "reviewed": ("share", "reviewed_at"),
           "shared": ("acknowledge", "shared_at"), "acknowledged": ("action", "acknowledged_at")}
CLOCKS = (("review", "created_at", "reviewed_at"), ("share", "reviewed_at", "shared_at"),
          ("acknowledge", "shared_at", "acknowledged_at"), ("action", "acknowledged_at", "actioned_at"))


def _hours(a, b) -> float | None:
    a, b = utc(a), utc(b)
    return None if a is None or b is None else (b - a).total_seconds() / 3600.0


def sla_for(s, org_id: int | None) -> dict:
    """The targets [h] of a partner (defaults where none are set)."""
    row = s.get(PartnerSettings, org_id) if org_id is not None else None
    return {**DEFAULT_SLA_HOURS, **(row.sla_hours if row else {})}


def set_sla(store, partner: str, hours: dict | None = None, webhook_url: str | None = None,
            webhook_secret: str | None = None) -> dict:
    """Set a partner's targets and/or webhook; returns the settings (the secret is generated when not given)."""
    with store.session.begin() as s:
        org = s.scalar(select(Organisation).where(Organisation.name == partner))
        if org is None or not org.partner:
            raise InputError(f"--partner {partner!r} is not a partner organisation")
        row = s.get(PartnerSettings, org.id)
        if row is None:
            row = PartnerSettings(org_id=org.id, sla_hours={})
            s.add(row)
        for k, v in (hours or {}).items():
            if k not in DEFAULT_SLA_HOURS or not (v is not None and 0 < float(v) <= 24 * 365):
                raise InputError(f"SLA {k}={v!r}: give hours in (0, 8760] for one of {', '.join(DEFAULT_SLA_HOURS)}")
        row.sla_hours = {**(row.sla_hours or {}), **{k: float(v) for k, v in (hours or {}).items()}}
        if webhook_url is not None:
            if not webhook_url.startswith(("http://", "https://")):
                raise InputError(f"--webhook {webhook_url!r} must be an http(s) URL")
            row.webhook_url = webhook_url
            row.webhook_secret = webhook_secret or row.webhook_secret or secrets.token_urlsafe(32)
        append_in(s, "partner.sla", "admin", f"org:{org.name}", {"sla_hours": row.sla_hours,
                                                                  "webhook": row.webhook_url})
        return {"partner": org.name, "sla_hours": {**DEFAULT_SLA_HOURS, **row.sla_hours},
                "webhook_url": row.webhook_url, "webhook_secret": row.webhook_secret}


def lead_clocks(lead: Lead, sla: dict, now: datetime | None = None) -> dict:
    """A lead's clocks [h] (done or running), the step it waits for, and whether that step is overdue."""
    now = now or datetime.now(UTC)
    out = {k: _hours(getattr(lead, a), getattr(lead, b)) for k, a, b in CLOCKS}
    waiting = WAITING.get(lead.state)
    overdue, running = False, None
    if waiting is not None:
        step, since = waiting
        running = _hours(getattr(lead, since), now)
        overdue = running is not None and running > sla[step]
    return {"hours": out, "waiting_for": waiting[0] if waiting else None, "waiting_h": running,
            "overdue": bool(overdue), "sla_hours": sla}


def _stats(values: list[float]) -> dict:
    v = [x for x in values if x is not None]
    if not v:
        return {"n": 0, "median_h": None, "p90_h": None}
    return {"n": len(v), "median_h": round(float(np.median(v)), 3), "p90_h": round(float(np.percentile(v, 90)), 3)}


def partner_metrics(store, now: datetime | None = None, month: str | None = None) -> list[dict]:
    """Per partner: leads shared, acknowledged, acted on, closed, outcomes, clock statistics, overdue leads.

    ``month`` (``YYYY-MM``): only leads shared in that month.
    """
    now = now or datetime.now(UTC)
    with store.session() as s:
        partners = list(s.scalars(select(Organisation).where(Organisation.partner.is_(True)).order_by(Organisation.id)))
        leads = list(s.scalars(select(Lead).where(Lead.partner_org_id.is_not(None))))
        out = []
        for org in partners:
            sla = sla_for(s, org.id)
            mine = [lead for lead in leads if lead.partner_org_id == org.id
                    and (month is None or (lead.shared_at and utc(lead.shared_at).strftime("%Y-%m") == month))]
            clocks = [lead_clocks(lead, sla, now) for lead in mine]
            outcomes = {}
            for lead in mine:
                if lead.outcome:
                    outcomes[lead.outcome] = outcomes.get(lead.outcome, 0) + 1
            out.append({"partner": org.name, "sla_hours": sla, "shared": len(mine),
                        "acknowledged": sum(lead.acknowledged_at is not None for lead in mine),
                        "actioned": sum(lead.actioned_at is not None for lead in mine),
                        "closed": sum(lead.closed_at is not None for lead in mine), "outcomes": outcomes,
                        "overdue": [lead.id for lead, c in zip(mine, clocks, strict=True) if c["overdue"]],
                        **{f"time_to_{k}": _stats([c["hours"][k] for c in clocks]) for k in ("acknowledge",
                                                                                            "action")},
                        "time_to_share_h": _stats([_hours(lead.created_at, lead.shared_at) for lead in mine])})
        return out


def monthly_csv(store, month: str) -> str:
    """The monthly summary per partner as CSV text (one row per partner)."""
    if len(month) != 7 or month[4] != "-" or not (month[:4] + month[5:]).isdigit() or not 1 <= int(month[5:]) <= 12:
        raise InputError(f"--month {month!r} must be YYYY-MM")
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["partner", "month", "shared", "acknowledged", "actioned", "closed", "confirmed", "false_positive",
                "nothing_found", "median_h_to_acknowledge", "p90_h_to_acknowledge", "median_h_to_action",
                "overdue_now", "sla_acknowledge_h", "sla_action_h"])
    for m in partner_metrics(store, month=month):
        o = m["outcomes"]
        w.writerow([m["partner"], month, m["shared"], m["acknowledged"], m["actioned"], m["closed"],
                    o.get("confirmed", 0), o.get("false_positive", 0), o.get("nothing_found", 0),
                    m["time_to_acknowledge"]["median_h"], m["time_to_acknowledge"]["p90_h"],
                    m["time_to_action"]["median_h"], len(m["overdue"]), m["sla_hours"]["acknowledge"],
                    m["sla_hours"]["action"]])
    return buf.getvalue()


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header value of a webhook body."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},sha256={mac}"


def verify_signature(secret: str, body: bytes, header: str, tolerance_s: float = 300.0) -> bool:
    """Whether a webhook's signature header fits its body and is recent (for receivers and the tests)."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        ts = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs(time.time() - ts) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, body, ts), header)


def _post(url: str, body: bytes, signature: str, timeout: float) -> int:
    req = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "X-Plumetrace-Signature": signature, "User-Agent": "plumetrace"})
    with urllib.request.urlopen(req, timeout=timeout) as r:  # noqa: S310 - the partner's configured endpoint
        return int(r.status)


def notify_overdue(store, now: datetime | None = None, timeout: float = 10.0) -> list[dict]:
    """POST each newly overdue step of a lead to its partner's webhook once; what was sent (or why not)."""
    now = now or datetime.now(UTC)
    sent = []
    with store.session() as s:
        todo = []
        for lead in s.scalars(select(Lead).where(Lead.partner_org_id.is_not(None), Lead.state != "closed")):
            cfg = s.get(PartnerSettings, lead.partner_org_id)
            c = lead_clocks(lead, sla_for(s, lead.partner_org_id), now)
            if not c["overdue"] or cfg is None or not cfg.webhook_url:
                continue
            done = any(e.kind == "overdue_notified" and (e.detail or {}).get("step") == c["waiting_for"]
                       for e in s.scalars(select(LeadEvent).where(LeadEvent.lead_id == lead.id)))
            if not done:
                todo.append((lead.id, lead.title, lead.tlp, lead.state, c, cfg.webhook_url, cfg.webhook_secret))
    for lead_id, title, tlp, state, c, url, secret in todo:
        payload = {"event": "lead.overdue", "lead_id": lead_id, "title": title, "tlp": tlp, "state": state,
                   "waiting_for": c["waiting_for"], "waiting_h": round(c["waiting_h"], 2),
                   "target_h": c["sla_hours"][c["waiting_for"]], "at": now.isoformat()}
        body = json.dumps(payload, sort_keys=True).encode("utf-8")
        ts = int(time.time())
        try:
            status, error = _post(url, body, sign(secret, body, ts), timeout), None
        except OSError as exc:
            status, error = None, f"{type(exc).__name__}: {exc}"
        with store.session.begin() as s:
            if status is not None and 200 <= status < 300:
                s.add(LeadEvent(lead_id=lead_id, kind="overdue_notified", at=now,
                                detail={"step": c["waiting_for"], "status": status}))
            append_in(s, "lead.overdue_webhook", "system", f"lead:{lead_id}",
                      {"step": c["waiting_for"], "status": status, "error": error})
        sent.append({**payload, "status": status, "error": error})
    return sent
