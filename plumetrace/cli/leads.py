"""``plumetrace leads …`` and ``plumetrace audit verify`` (contract 9): leads on the record.

``--as USER`` acts as that registered user with exactly the rights the API gives them (the same lifecycle
functions decide); refused steps exit 2 with the reason and are in the audit log.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from plumetrace.cli._app import app
from plumetrace.cli._common import DB_HELP, handle_errors, out, print_json

leads_app = typer.Typer(help="Leads: review, share with a partner (TLP), acknowledgement, action, outcome.",
                        no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit trail.", no_args_is_help=True)
app.add_typer(leads_app, name="leads")
app.add_typer(audit_app, name="audit")

AS_HELP = "Act as this registered user (their role and organisation decide what is allowed)."


def _ctx(db, user):
    """The store and who acts.

    The registered ``user``, or without one the store's operator (every lead visible; only the read commands
    list, show and brief allow that).
    """
    from plumetrace.api.accounts import Principal, principal_of
    from plumetrace.store import Store

    store = Store(db)
    if user is None:
        return store, Principal(0, "operator", "admin", 0, "", False)
    return store, principal_of(store, user)


def _show(lead: dict, json_output: bool) -> None:
    if json_output:
        print_json(lead)
        return
    out.print(f"lead {lead['id']} [{lead['state']}] TLP:{lead['tlp']} v{lead['version']} — {lead['title']}"
              f"{'; partner ' + lead['partner'] if lead.get('partner') else ''}")


@leads_app.command("create")
@handle_errors
def create_cmd(site: Annotated[int, typer.Option("--site", help="Site id (plumetrace sites).")],
               as_user: Annotated[str, typer.Option("--as", help=AS_HELP)],
               title: Annotated[str | None, typer.Option(help="Title (default: class and position).")] = None,
               tlp: Annotated[str, typer.Option(help="Marking: CLEAR, GREEN, AMBER, AMBER+STRICT, RED.")] = "AMBER",
               db: Annotated[str | None, typer.Option(help=DB_HELP)] = None) -> None:
    """Make a draft lead from a site; prints the lead id."""
    from plumetrace.leads.lifecycle import create

    store, p = _ctx(db, as_user)
    typer.echo(create(store, p, site, title, tlp))


def _step(step: str, lead_id: int, as_user: str, db, comment=None, json_output=False, **kw) -> None:
    from plumetrace.leads.lifecycle import transition

    store, p = _ctx(db, as_user)
    _show(transition(store, p, lead_id, step, comment, **kw), json_output)


@leads_app.command("review")
@handle_errors
def review_cmd(lead_id: Annotated[int, typer.Argument(metavar="ID")],
               as_user: Annotated[str, typer.Option("--as", help=AS_HELP)],
               comment: Annotated[str | None, typer.Option(help="Comment on the record.")] = None,
               db: Annotated[str | None, typer.Option(help=DB_HELP)] = None) -> None:
    """Review a draft lead (a reviewer who is not its author)."""
    _step("review", lead_id, as_user, db, comment)


@leads_app.command("share")
@handle_errors
def share_cmd(lead_id: Annotated[int, typer.Argument(metavar="ID")],
              partner: Annotated[str, typer.Option("--partner", help="Partner organisation.")],
              tlp: Annotated[str, typer.Option("--tlp", help="CLEAR, GREEN, AMBER, AMBER+STRICT or RED.")],
              as_user: Annotated[str, typer.Option("--as", help=AS_HELP)],
              recipient: Annotated[list[str] | None, typer.Option(help="A named recipient (TLP:RED); repeatable.")]
              = None,
              comment: Annotated[str | None, typer.Option(help="Comment on the record.")] = None,
              db: Annotated[str | None, typer.Option(help=DB_HELP)] = None) -> None:
    """Share a reviewed lead with a partner organisation under a TLP marking."""
    _step("share", lead_id, as_user, db, comment, partner=partner, tlp=tlp, recipients=recipient or [])


@leads_app.command("ack")
@handle_errors
def ack_cmd(lead_id: Annotated[int, typer.Argument(metavar="ID")],
            as_user: Annotated[str, typer.Option("--as", help=AS_HELP)],
            comment: Annotated[str | None, typer.Option(help="Comment on the record.")] = None,
            db: Annotated[str | None, typer.Option(help=DB_HELP)] = None) -> None:
    """Acknowledge a lead shared with your organisation."""
    _step("acknowledge", lead_id, as_user, db, comment)


@leads_app.command("action")
@handle_errors
def action_cmd(lead_id: Annotated[int, typer.Argument(metavar="ID")],
               kind: Annotated[str, typer.Option("--kind", help="inspection, dismantling or other.")],
               as_user: Annotated[str, typer.Option("--as", help=AS_HELP)],
               comment: Annotated[str | None, typer.Option(help="Comment on the record.")] = None,
               db: Annotated[str | None, typer.Option(help=DB_HELP)] = None) -> None:
    """Record an action taken on a lead."""
    _step("action", lead_id, as_user, db, comment, kind=kind)


@leads_app.command("close")
@handle_errors
def close_cmd(lead_id: Annotated[int, typer.Argument(metavar="ID")],
              outcome: Annotated[str, typer.Option("--outcome", help="confirmed, nothing_found, relocated, "
                                                                     "false_positive or duplicate.")],
              as_user: Annotated[str, typer.Option("--as", help=AS_HELP)],
              comment: Annotated[str | None, typer.Option(help="Comment on the record.")] = None,
              db: Annotated[str | None, typer.Option(help=DB_HELP)] = None) -> None:
    """Close a lead with the outcome found on the ground."""
    _step("close", lead_id, as_user, db, comment, outcome=outcome)


@leads_app.command("list")
@handle_errors
def list_cmd(as_user: Annotated[str | None, typer.Option("--as", help=AS_HELP + " Default: every lead.")] = None,
             db: Annotated[str | None, typer.Option(help=DB_HELP)] = None,
             json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False) -> None:
    """List leads with their clocks; overdue ones are flagged."""
    from plumetrace.leads.lifecycle import list_leads
    from plumetrace.leads.sla import partner_metrics

    store, p = _ctx(db, as_user)
    rows = list_leads(store, p)
    overdue = {i for m in partner_metrics(store) for i in m["overdue"]}
    for r in rows:
        r["overdue"] = r["id"] in overdue
    if json_output:
        print_json({"leads": [{k: v for k, v in r.items() if k != "snapshot"} for r in rows]})
        return
    table = Table(title="leads, newest first", title_justify="left")
    for col in ("id", "state", "TLP", "partner", "title", "overdue"):
        table.add_column(col)
    for r in rows:
        table.add_row(str(r["id"]), r["state"], r["tlp"], r["partner"] or "–", r["title"],
                      "[bold red]OVERDUE[/]" if r["overdue"] else "")
    out.print(table)


@leads_app.command("show")
@handle_errors
def show_cmd(lead_id: Annotated[int, typer.Argument(metavar="ID")],
             as_user: Annotated[str | None, typer.Option("--as", help=AS_HELP)] = None,
             db: Annotated[str | None, typer.Option(help=DB_HELP)] = None,
             json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False) -> None:
    """Show one lead with its history."""
    from plumetrace.leads.lifecycle import get

    store, p = _ctx(db, as_user)
    lead = get(store, p, lead_id)
    if json_output:
        print_json(lead)
        return
    _show(lead, False)
    for e in lead["events"]:
        out.print(f"  {e['at']}  {e['kind']:<16} {e['actor'] or 'system':<12} {e['comment'] or ''}")


@leads_app.command("brief")
@handle_errors
def brief_cmd(lead_id: Annotated[int, typer.Argument(metavar="ID")],
              out_dir: Annotated[Path, typer.Option("--out", metavar="DIR", help="Folder for the files.")],
              as_user: Annotated[str | None, typer.Option("--as", help=AS_HELP)] = None,
              db: Annotated[str | None, typer.Option(help=DB_HELP)] = None) -> None:
    """brief.html, brief.pdf, lead.kml, lead.geojson, lead.stix.json of a lead (the export is audited)."""
    from plumetrace.leads.briefs import export_lead

    store, p = _ctx(db, as_user)
    for kind, path in export_lead(store, p, lead_id, out_dir).items():
        out.print(f"{kind:8} {path}")


@leads_app.command("sla")
@handle_errors
def sla_cmd(partner: Annotated[str, typer.Argument(help="Partner organisation.")],
            acknowledge_h: Annotated[float | None, typer.Option("--acknowledge-h", help="Target hours.")] = None,
            action_h: Annotated[float | None, typer.Option("--action-h", help="Target hours.")] = None,
            review_h: Annotated[float | None, typer.Option("--review-h", help="Target hours.")] = None,
            share_h: Annotated[float | None, typer.Option("--share-h", help="Target hours.")] = None,
            webhook: Annotated[str | None, typer.Option(help="The partner's endpoint for overdue notices.")] = None,
            secret: Annotated[str | None, typer.Option(help="HMAC secret (generated when left out).")] = None,
            db: Annotated[str | None, typer.Option(help=DB_HELP)] = None) -> None:
    """Set a partner's service targets and webhook (the secret is printed once)."""
    from plumetrace.leads.sla import set_sla
    from plumetrace.store import Store

    hours = {k: v for k, v in (("acknowledge", acknowledge_h), ("action", action_h), ("review", review_h),
                               ("share", share_h)) if v is not None}
    r = set_sla(Store(db), partner, hours, webhook, secret)
    out.print(f"{r['partner']}: targets {r['sla_hours']}; webhook {r['webhook_url'] or '–'}")
    if webhook:
        out.print(f"webhook secret (give it to the partner): {r['webhook_secret']}")


@leads_app.command("overdue")
@handle_errors
def overdue_cmd(notify: Annotated[bool, typer.Option("--notify", help="POST signed notices to the partners' "
                                                                      "webhooks.")] = False,
                db: Annotated[str | None, typer.Option(help=DB_HELP)] = None,
                json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False) -> None:
    """Overdue leads per partner (and, with --notify, signed webhook notices, each step once)."""
    from plumetrace.leads.sla import notify_overdue, partner_metrics
    from plumetrace.store import Store

    store = Store(db)
    metrics = partner_metrics(store)
    sent = notify_overdue(store) if notify else []
    if json_output:
        print_json({"partners": metrics, "notified": sent})
        return
    for m in metrics:
        out.print(f"{m['partner']}: {len(m['overdue'])} overdue {m['overdue'] or ''}; median time to acknowledge "
                  f"{m['time_to_acknowledge']['median_h']} h (target {m['sla_hours']['acknowledge']} h)")
    for s in sent:
        out.print(f"notified lead {s['lead_id']} ({s['waiting_for']}): {s['status'] or s['error']}")


@leads_app.command("summary")
@handle_errors
def summary_cmd(month: Annotated[str, typer.Option("--month", help="YYYY-MM (leads shared that month).")],
                out_path: Annotated[Path, typer.Option("--out", metavar="FILE.csv", help="CSV to write.")],
                db: Annotated[str | None, typer.Option(help=DB_HELP)] = None) -> None:
    """The monthly summary per partner as CSV."""
    from plumetrace.leads.sla import monthly_csv
    from plumetrace.store import Store

    out_path.write_text(monthly_csv(Store(db), month), encoding="utf-8")
    out.print(f"summary: {out_path}")


@leads_app.command("priors")
@handle_errors
def priors_cmd(db: Annotated[str | None, typer.Option(help=DB_HELP)] = None,
               json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False) -> None:
    """What outcomes taught, per area: the class prior and the detection floor the next surveys there use."""
    from plumetrace.leads.learning import BASE_K_MIN, learn_from_outcomes
    from plumetrace.store import Store

    areas = learn_from_outcomes(Store(db))
    if json_output:
        print_json({"areas": areas, "base_k_min": BASE_K_MIN})
        return
    if not areas:
        out.print("no closed lead with an outcome yet: every area uses the library's uniform prior and "
                  f"the {BASE_K_MIN:.1f} σ floor")
        return
    table = Table(title="learnt from outcomes, per area (tile row:column of 0.01°)", title_justify="left")
    for col in ("area", "leads", "events", "outcomes", "most probable classes", "floor σ"):
        table.add_column(col, justify="right" if col in ("leads", "events", "floor σ") else "left")
    for area, a in areas.items():
        top = sorted(a["class_prior"].items(), key=lambda kv: -kv[1])[:3]
        table.add_row(area, str(a["leads"]), str(a["events"]),
                      ", ".join(f"{k} {v}" for k, v in a["belief"]["outcomes"].items()),
                      ", ".join(f"{k} {100 * v:.0f} %" for k, v in top), f"{a['k_min']:.2f}")
    out.print(table)


@audit_app.command("verify")
@handle_errors
def verify_cmd(db: Annotated[str | None, typer.Option(help=DB_HELP)] = None,
               json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False) -> None:
    """Recompute the audit chain: exit 0 intact, 3 tampered (naming the first bad entry)."""
    from dataclasses import asdict

    from plumetrace.leads.audit import verify
    from plumetrace.store import Store

    v = verify(Store(db))
    if json_output:
        print_json(asdict(v))
    elif v.ok:
        out.print(f"audit trail intact: {v.entries} entries, head {v.head[:16]}…")
    else:
        out.print(f"[bold red]audit trail TAMPERED[/]: first bad entry seq {v.bad_seq} (row id {v.bad_id}): "
                  f"{v.reason}")
    if not v.ok:
        raise typer.Exit(3)
