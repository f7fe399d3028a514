"""Lead endpoints (contract 8/9): list, create, the lifecycle steps, the brief, partner metrics, the audit trail.

Authorisation is the one dependency (:func:`plumetrace.api.auth.allow`) for the role, and the lifecycle
(:mod:`plumetrace.leads.lifecycle`) for what the role may do to *this* lead: a lead the caller may not see is a
404, a step the caller may not take a 403, a step the state does not allow a 409 — each refused attempt is in the
audit log.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request
from fastapi.responses import Response

from plumetrace.api.accounts import Principal
from plumetrace.api.auth import MAX_ID, ObjectId, Offset, allow
from plumetrace.exceptions import LeadError
from plumetrace.leads import lifecycle, sla
from plumetrace.leads.audit import entries, verify

ALL = ("admin", "analyst", "reviewer", "partner")
ANALYSIS = ("admin", "analyst", "reviewer")
router = APIRouter(prefix="/api/v1", tags=["leads"])


def _run(fn, *args, **kw):
    try:
        return fn(*args, **kw)
    except LeadError as exc:
        raise HTTPException(exc.status, exc.message) from None


def _store(request: Request):
    return request.app.state.store


@router.get("/leads")
def leads(request: Request, p: Annotated[Principal, Depends(allow(*ALL))]) -> dict:
    """The leads the caller may see (partners: those shared with them, within their marking), with clocks."""
    rows = lifecycle.list_leads(_store(request), p)
    clocks = {m["partner"]: m for m in sla.partner_metrics(_store(request))} if not p.partner else {}
    for r in rows:
        r["overdue"] = any(r["id"] in m["overdue"] for m in clocks.values())
    return {"total": len(rows), "leads": rows}


@router.post("/leads", status_code=201)
def create_lead(request: Request, p: Annotated[Principal, Depends(allow("admin", "analyst"))],
                site_id: Annotated[int, Body(ge=1, le=MAX_ID)],
                title: Annotated[str | None, Body(max_length=200)] = None,
                tlp: Annotated[str, Body(max_length=16)] = "AMBER") -> dict:
    """A draft lead from a site."""
    lead_id = _run(lifecycle.create, _store(request), p, site_id, title, tlp)
    return lifecycle.get(_store(request), p, lead_id)


@router.get("/leads/{lead_id}")
def lead(request: Request, lead_id: ObjectId, p: Annotated[Principal, Depends(allow(*ALL))]) -> dict:
    """One lead with its history."""
    return _run(lifecycle.get, _store(request), p, lead_id)


@router.post("/leads/{lead_id}/review")
def review(request: Request, lead_id: ObjectId, p: Annotated[Principal, Depends(allow(*ALL))],
           comment: Annotated[str | None, Body(embed=True, max_length=2000)] = None) -> dict:
    """Review a draft (a reviewer who is not its author)."""
    return _run(lifecycle.transition, _store(request), p, lead_id, "review", comment)


@router.post("/leads/{lead_id}/share")
def share(request: Request, lead_id: ObjectId, p: Annotated[Principal, Depends(allow(*ALL))],
          partner: Annotated[str, Body(max_length=128)], tlp: Annotated[str, Body(max_length=16)],
          recipients: Annotated[list[str] | None, Body(max_length=50)] = None,
          comment: Annotated[str | None, Body(max_length=2000)] = None) -> dict:
    """Share a reviewed lead with a partner organisation under a TLP marking (RED: named recipients)."""
    return _run(lifecycle.transition, _store(request), p, lead_id, "share", comment, partner=partner, tlp=tlp,
                recipients=recipients or [])


@router.post("/leads/{lead_id}/acknowledge")
def acknowledge(request: Request, lead_id: ObjectId, p: Annotated[Principal, Depends(allow(*ALL))],
                comment: Annotated[str | None, Body(embed=True, max_length=2000)] = None) -> dict:
    """The recipient partner acknowledges the lead."""
    return _run(lifecycle.transition, _store(request), p, lead_id, "acknowledge", comment)


@router.post("/leads/{lead_id}/action")
def action(request: Request, lead_id: ObjectId, p: Annotated[Principal, Depends(allow(*ALL))],
           kind: Annotated[str, Body(max_length=32)],
           comment: Annotated[str | None, Body(max_length=2000)] = None) -> dict:
    """The recipient records an action: inspection, dismantling or other."""
    return _run(lifecycle.transition, _store(request), p, lead_id, "action", comment, kind=kind)


@router.post("/leads/{lead_id}/close")
def close(request: Request, lead_id: ObjectId, p: Annotated[Principal, Depends(allow(*ALL))],
          outcome: Annotated[str, Body(max_length=32)],
          comment: Annotated[str | None, Body(max_length=2000)] = None) -> dict:
    """Close with the outcome found on the ground."""
    return _run(lifecycle.transition, _store(request), p, lead_id, "close", comment, outcome=outcome)


@router.get("/leads/{lead_id}/brief/{name}", responses={200: {"content": {"application/pdf": {}, "text/html": {}}}})
def brief(request: Request, lead_id: ObjectId, name: str, p: Annotated[Principal, Depends(allow(*ALL))]) -> Response:
    """One file of the lead's brief: brief.html, brief.pdf, lead.kml, lead.geojson or lead.stix.json."""
    from plumetrace.leads.briefs import export_lead

    types = {"brief.html": "text/html", "brief.pdf": "application/pdf", "lead.kml":
             "application/vnd.google-earth.kml+xml", "lead.geojson": "application/geo+json",
             "lead.stix.json": "application/json"}
    if name not in types:
        raise HTTPException(404, f"no brief file {name!r}; one of {', '.join(types)}")
    with tempfile.TemporaryDirectory(prefix="plumetrace-brief-") as tmp:
        _run(export_lead, _store(request), p, lead_id, tmp)
        data = (Path(tmp) / name).read_bytes()
    return Response(data, media_type=types[name], headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/partners")
def partners(request: Request, _p: Annotated[Principal, Depends(allow(*ANALYSIS))]) -> dict:
    """The partner organisations a lead can be shared with (names only)."""
    from plumetrace.api.accounts import organisations

    return {"partners": [{"name": o["name"]} for o in organisations(_store(request)) if o["partner"]]}


@router.get("/metrics/partners")
def metrics(request: Request, _p: Annotated[Principal, Depends(allow(*ANALYSIS))],
            month: Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] = None) -> dict:
    """Per partner: leads shared, acknowledged, acted on, closed; time to acknowledge and act; overdue leads."""
    return {"partners": sla.partner_metrics(_store(request), month=month)}


@router.get("/audit")
def audit(request: Request, _p: Annotated[Principal, Depends(allow("admin", "reviewer"))],
          limit: Annotated[int, Query(ge=1, le=500)] = 100, offset: Offset = 0) -> dict:
    """The audit trail, newest first, and whether its chain is intact."""
    v = verify(_store(request))
    return {"intact": v.ok, "entries_total": v.entries, "head": v.head, "first_bad": v.bad_seq, "reason": v.reason,
            "entries": entries(_store(request), limit, offset)}
