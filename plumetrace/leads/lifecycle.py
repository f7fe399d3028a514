"""A lead's life, every step checked, timed and on the record.

Made from a site, reviewed by a second person, shared with a partner under a TLP marking, acknowledged, acted on,
closed with an outcome.

States and the only transitions (``../shared/METHODS.md`` §4.12, after TheHive's case statuses and MISP's
distribution levels)::

    draft ──review──▶ reviewed ──share──▶ shared ──acknowledge──▶ acknowledged ──action──▶ actioned ──close──▶ closed
                                                                       └───────────────close──────────────────┘

Who may (:data:`RULES`): analysts and admins create and share; only a ``reviewer`` who is not the author reviews;
the recipient partner's users acknowledge, record actions and close (an admin of the analysis side may close too,
e.g. as a duplicate). A partner sees a lead only when it is shared with its organisation — or, for TLP:CLEAR and
TLP:GREEN, with any partner of the community — and a TLP:RED lead only if the user is a named recipient
(``recipients`` of :func:`share`); TLP:AMBER+STRICT and AMBER stay with the recipient organisation. Anything else
is a :class:`LeadError` (404 for a lead the caller may not see, 403 for a step the caller may not take, 409 for
a step the state does not allow); a refused step changes nothing but is appended to the audit log as refused.

Every change is one transaction with its :class:`~plumetrace.store.models.LeadEvent` and its audit entry. When the
site a shared lead was made from changes (a new survey moves it, changes its confidence, class or rate),
:func:`refresh_leads` takes a new snapshot, bumps the lead's ``version`` and records an ``updated`` event the
partner sees.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from sqlalchemy import select

from plumetrace.exceptions import LeadError
from plumetrace.leads.audit import append, append_in
from plumetrace.store.models import Lead, LeadEvent, LeadRecipient, Organisation, User, utc_iso

STATES = ("draft", "reviewed", "shared", "acknowledged", "actioned", "closed")
TLP_LEVELS = ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED")
ACTIONS = ("inspection", "dismantling", "other")
OUTCOMES = ("confirmed", "nothing_found", "relocated", "false_positive", "duplicate")
#: step → (states it may start from, state it leads to, roles that may take it)
RULES = {
    "review": (("draft",), "reviewed", ("reviewer",)),
    "share": (("reviewed",), "shared", ("admin", "analyst", "reviewer")),
    "acknowledge": (("shared",), "acknowledged", ("partner",)),
    "action": (("acknowledged", "actioned"), "actioned", ("partner",)),
    "close": (("acknowledged", "actioned"), "closed", ("partner", "admin")),
}
CREATE_ROLES = ("admin", "analyst")
#: A site change that makes a shared lead's update: moved [m], confidence, rate factor.
UPDATE_MOVE_M, UPDATE_CONFIDENCE, UPDATE_RATE_FACTOR = 5.0, 0.05, 1.5


def _now() -> datetime:
    return datetime.now(UTC)


def may_see(lead: Lead, p, recipients: set[int]) -> bool:
    """Whether principal ``p`` may see ``lead`` (analysis side: always; partners: see the module docstring)."""
    if not p.partner:
        return True
    if lead.partner_org_id is None or lead.state in ("draft", "reviewed"):
        return False
    if lead.tlp == "RED":
        return lead.partner_org_id == p.org_id and p.user_id in recipients
    if lead.tlp in ("CLEAR", "GREEN"):
        return True
    return lead.partner_org_id == p.org_id


def _recipients(s, lead_id: int) -> set[int]:
    return set(s.scalars(select(LeadRecipient.user_id).where(LeadRecipient.lead_id == lead_id)))


def _visible(s, lead_id: int, p) -> Lead:
    lead = s.get(Lead, lead_id)
    if lead is None or not may_see(lead, p, _recipients(s, lead_id)):
        raise LeadError(404, f"no lead {lead_id}")
    return lead


def snapshot(store, site: dict) -> dict:
    """What a lead freezes of its site: position, region, class, rate, building candidates, evidence ids."""
    from plumetrace.store.views import site_evidence

    ev = site_evidence(store, site)
    cands: dict[str, float] = {}
    for e in ev["estimates"]:
        if e["building_id"]:
            cands[e["building_id"]] = max(cands.get(e["building_id"], 0.0), float(e["building_probability"] or 0))
    if site.get("building_id") and site["building_id"] not in cands:
        cands[site["building_id"]] = float("nan")
    keep = ("id", "lat", "lon", "credible90_radius_m", "channels", "species", "log_bayes", "confidence", "status",
            "activity", "class", "building_id", "rate_g_s", "first_seen", "last_seen", "n_covering", "n_detected")
    return {"site": {k: site.get(k) for k in keep}, "rate_ci90_g_s": ev["rate_ci90_g_s"],
            "class_probabilities": ev["class_probabilities"],
            "buildings": [{"building_id": b, "probability": None if math.isnan(v) else v}
                          for b, v in sorted(cands.items(), key=lambda kv: -(0 if math.isnan(kv[1]) else kv[1]))],
            "surveys": [int(h["survey"]) for h in ev["surveys"] if h.get("detected")],
            "hits": [{"id": h["id"], "survey_id": h["survey_id"], "peak_sigma": h["peak_sigma"], "class": h["class"],
                      "lat": h["lat"], "lon": h["lon"]} for h in ev["hits"]]}


def _site(store, site_id: int) -> dict:
    site = store.site(site_id)
    if site is None:
        raise LeadError(404, f"no site {site_id}")
    return site


def create(store, p, site_id: int, title: str | None = None, tlp: str = "AMBER") -> int:
    """A draft lead from a site (analysts and admins); returns its id."""
    if p.role not in CREATE_ROLES:
        _refused(store, p, "create", f"site:{site_id}", f"the {p.role} role may not create leads")
        raise LeadError(403, f"the {p.role} role may not create leads")
    if tlp not in TLP_LEVELS:
        raise LeadError(422, f"--tlp {tlp!r} is not one of {', '.join(TLP_LEVELS)}")
    site = _site(store, site_id)
    snap = snapshot(store, site)
    title = (title or f"{site['class']} near {site['lat']:.5f}, {site['lon']:.5f}").strip()[:200]
    now = _now()
    with store.session.begin() as s:
        lead = Lead(site_id=site_id, title=title, state="draft", tlp=tlp, author_id=p.user_id, snapshot=snap,
                    version=1, created_at=now, updated_at=now)
        s.add(lead)
        s.flush()
        s.add(LeadEvent(lead_id=lead.id, kind="created", actor_id=p.user_id, at=now, detail={"site_id": site_id}))
        append_in(s, "lead.create", p.username, f"lead:{lead.id}", {"site_id": site_id, "tlp": tlp})
        return int(lead.id)


def _refused(store, p, step: str, subject: str, why: str) -> None:
    append(store, f"refused.{step}", p.username, subject, {"reason": why})


def transition(store, p, lead_id: int, step: str, comment: str | None = None, **kw) -> dict:
    """Take one step (:data:`RULES`) on a lead; returns the lead. Refused steps raise :class:`LeadError`."""
    allowed_from, to, roles = RULES[step]
    subject = f"lead:{lead_id}"
    comment = None if comment is None else str(comment)[:2000]
    with store.session() as s:
        try:
            lead = _visible(s, lead_id, p)
        except LeadError as exc:
            _refused(store, p, step, subject, exc.message)
            raise
        problem = _check(s, lead, p, step, allowed_from, roles, kw)
    if problem is not None:
        _refused(store, p, step, subject, problem[1])
        raise LeadError(*problem)
    now = _now()
    with store.session.begin() as s:
        lead = s.get(Lead, lead_id, with_for_update=True)
        if lead.state not in allowed_from:  # someone else moved it meanwhile
            raise LeadError(409, f"lead {lead_id} is {lead.state} now; {step} needs {' or '.join(allowed_from)}")
        detail = {"from": lead.state, "to": to}
        lead.state = to
        lead.updated_at = now
        if step == "review":
            lead.reviewer_id, lead.reviewed_at = p.user_id, now
        elif step == "share":
            org = s.scalar(select(Organisation).where(Organisation.name == kw["partner"]))
            lead.partner_org_id, lead.shared_at = org.id, now
            if kw.get("tlp") and kw["tlp"] != lead.tlp:
                detail["tlp"] = {"from": lead.tlp, "to": kw["tlp"]}
                lead.tlp = kw["tlp"]
            detail.update(partner=org.name, tlp_level=lead.tlp)
            for uid in kw.get("recipient_ids", []):
                s.add(LeadRecipient(lead_id=lead.id, user_id=uid))
        elif step == "acknowledge":
            lead.acknowledged_at = now
        elif step == "action":
            lead.action_kind = kw["kind"]
            lead.actioned_at = lead.actioned_at or now
            detail["kind"] = kw["kind"]
        elif step == "close":
            lead.outcome, lead.closed_at = kw["outcome"], now
            detail["outcome"] = kw["outcome"]
        s.add(LeadEvent(lead_id=lead.id, kind=step, actor_id=p.user_id, comment=comment, detail=detail, at=now))
        append_in(s, f"lead.{step}", p.username, subject, {**detail, "comment": comment})
    if step == "close":  # the outcome teaches the area's class prior and threshold (the next surveys use them)
        from plumetrace.leads.learning import learn_from_outcomes

        learned = learn_from_outcomes(store)
        append(store, "learning.update", p.username, subject, {"areas": len(learned)})
    return get(store, p, lead_id)


def _check(s, lead: Lead, p, step: str, allowed_from, roles, kw) -> tuple[int, str] | None:
    """Why ``p`` may not take ``step`` on ``lead`` now — (status, message) — or None."""
    if p.role not in roles:
        return 403, f"the {p.role} role may not {step} a lead"
    if p.partner and lead.partner_org_id != p.org_id:
        return 403, f"lead {lead.id} was shared with another organisation; only its recipient may {step} it"
    if step == "review" and lead.author_id == p.user_id:
        return 403, "the author of a lead may not review it: a second person reviews"
    if lead.state not in allowed_from:
        return 409, (f"lead {lead.id} is {lead.state}; {step} needs it {' or '.join(allowed_from)}"
                     + (" (review it first)" if step == "share" and lead.state == "draft" else ""))
    if step == "share":
        org = s.scalar(select(Organisation).where(Organisation.name == kw.get("partner")))
        if org is None or not org.partner:
            return 422, f"--partner {kw.get('partner')!r} is not a partner organisation"
        tlp = kw.get("tlp") or lead.tlp
        if tlp not in TLP_LEVELS:
            return 422, f"--tlp {tlp!r} is not one of {', '.join(TLP_LEVELS)}"
        ids = []
        for name in kw.get("recipients") or []:
            u = s.scalar(select(User).where(User.username == name))
            if u is None or u.org_id != org.id:
                return 422, f"recipient {name!r} is not a user of {org.name}"
            ids.append(u.id)
        if tlp == "RED" and not ids:
            return 422, "TLP:RED is for named people only: give the recipients"
        kw["recipient_ids"] = ids
    if step == "action" and kw.get("kind") not in ACTIONS:
        return 422, f"--kind {kw.get('kind')!r} is not one of {', '.join(ACTIONS)}"
    if step == "close" and kw.get("outcome") not in OUTCOMES:
        return 422, f"--outcome {kw.get('outcome')!r} is not one of {', '.join(OUTCOMES)}"
    return None


def lead_dict(s, lead: Lead, events: bool = True) -> dict:
    """A lead as the API and the CLI show it."""
    names = {u.id: u.username for u in s.scalars(select(User))}
    org = s.get(Organisation, lead.partner_org_id) if lead.partner_org_id else None
    out = {"id": lead.id, "site_id": lead.site_id, "title": lead.title, "state": lead.state, "tlp": lead.tlp,
           "author": names.get(lead.author_id), "reviewer": names.get(lead.reviewer_id),
           "partner": org.name if org else None, "version": lead.version, "action": lead.action_kind,
           "outcome": lead.outcome, "snapshot": lead.snapshot,
           "times": {k: utc_iso(getattr(lead, f"{k}_at")) for k in ("created", "reviewed", "shared", "acknowledged",
                                                                  "actioned", "closed", "updated")}}
    if events:
        out["events"] = [{"kind": e.kind, "actor": names.get(e.actor_id), "at": utc_iso(e.at), "comment": e.comment,
                          "detail": e.detail}
                         for e in s.scalars(select(LeadEvent).where(LeadEvent.lead_id == lead.id)
                                            .order_by(LeadEvent.id))]
    return out


def get(store, p, lead_id: int) -> dict:
    """One lead the caller may see (404 otherwise)."""
    with store.session() as s:
        return lead_dict(s, _visible(s, lead_id, p))


def list_leads(store, p) -> list[dict]:
    """The leads the caller may see, newest first (without their events)."""
    with store.session() as s:
        out = []
        for lead in s.scalars(select(Lead).order_by(Lead.id.desc())):
            if may_see(lead, p, _recipients(s, lead.id)):
                out.append(lead_dict(s, lead, events=False))
        return out


def _changed(old: dict, new: dict) -> dict:
    from plumetrace.geo.crs import geodesic_distance_m

    a, b = old["site"], new["site"]
    diff = {}
    moved = float(geodesic_distance_m(a["lat"], a["lon"], b["lat"], b["lon"]))
    if moved > UPDATE_MOVE_M:
        diff["moved_m"] = round(moved, 1)
    if abs((b["confidence"] or 0) - (a["confidence"] or 0)) > UPDATE_CONFIDENCE:
        diff["confidence"] = [a["confidence"], b["confidence"]]
    if a["class"] != b["class"]:
        diff["class"] = [a["class"], b["class"]]
    ra, rb = a.get("rate_g_s"), b.get("rate_g_s")
    if ra and rb and max(ra / rb, rb / ra) > UPDATE_RATE_FACTOR:
        diff["rate_g_s"] = [ra, rb]
    if a.get("building_id") != b.get("building_id"):
        diff["building_id"] = [a.get("building_id"), b.get("building_id")]
    return diff


def refresh_leads(store, actor: str = "system") -> list[int]:
    """New snapshots for open leads whose site changed (see the module docstring); the ids updated."""
    sites = {r["id"]: r for r in store.sites(include_retired=True)}
    with store.session() as s:
        open_leads = [(lead.id, lead.site_id, lead.snapshot) for lead in
                      s.scalars(select(Lead).where(Lead.state != "closed"))]
    updated = []
    for lead_id, site_id, old in open_leads:
        site = sites.get(site_id)
        if site is None:
            continue
        new = snapshot(store, site)
        diff = _changed(old, new)
        if site.get("retired") and not old["site"].get("retired"):
            diff["retired"] = True
        if not diff:
            continue
        now = _now()
        with store.session.begin() as s:
            lead = s.get(Lead, lead_id)
            lead.snapshot, lead.version, lead.updated_at = new, lead.version + 1, now
            s.add(LeadEvent(lead_id=lead_id, kind="updated", actor_id=None, at=now,
                            detail={"version": lead.version, "changes": diff}))
            append_in(s, "lead.update", actor, f"lead:{lead_id}", {"version": lead.version, "changes": diff})
        updated.append(lead_id)
    return updated
