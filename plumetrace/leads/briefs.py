"""A lead's brief and exports: HTML and PDF (TLP banner on every page), KML, GeoJSON and a STIX 2.1 bundle.

The brief says what a team entering the building needs: where (the site with its 90 % region, the building
candidates with their probabilities, an offline map image — buildings, region, hits; no tiles fetched), what
(the chemical class with its probability, the species and their hazards from ``data/hazards.yaml`` — NIOSH
IDLH and flammability), how much (the emission rate with its 90 % interval) and who else breathes it (the
neighbours' exposure: the steady Gaussian plume of :func:`plumetrace.physics.plume.gaussian_plume` at 1.5 m,
20/50/100 m downwind, for a light wind in neutral and stable air — an order of magnitude, not a forecast).

Markings follow FIRST's TLP 2.0 (banner colours of its standard: RED #FF2B2B, AMBER #FFC000, GREEN #33FF00,
CLEAR white, on black). The STIX bundle (``stix2``, spec 2.1) holds an ``identity`` (the analysis organisation),
a ``location`` (latitude, longitude, precision = the 90 % radius in metres), a ``note`` with the findings and a
``report`` referring to them, every object marked with the OASIS TLP 2.0 marking definition of the lead's level
(the extension ``extension-definition--60a3c5c5-…`` of cti-stix-common-objects, whose fixed ids are below).
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np

TLP_COLOURS = {"RED": "#FF2B2B", "AMBER": "#FFC000", "AMBER+STRICT": "#FFC000", "GREEN": "#33FF00",
               "CLEAR": "#FFFFFF"}
TLP_MEANING = {
    "RED": "For the eyes and ears of individual recipients only, no further disclosure.",
    "AMBER+STRICT": "Limited disclosure: the recipient organisation only.",
    "AMBER": "Limited disclosure: the recipient organisation and its clients, on a need-to-know basis.",
    "GREEN": "Limited disclosure: the recipient's community, not via publicly accessible channels.",
    "CLEAR": "Disclosure is not limited.",
}
TLP2_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP2_IDS = {"CLEAR": "94868c89-83c2-464b-929b-a1a8aa3c8487", "GREEN": "bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
            "AMBER": "55d920b0-5e8b-4f79-9ee9-91f868d9b421", "AMBER+STRICT": "939a9414-2ddd-4d32-a0cd-375ea402b003",
            "RED": "e828b379-4e03-4974-9ac4-e53a884c97c1"}
EXPOSURE_DISTANCES_M = (20.0, 50.0, 100.0)


@cache
def hazards() -> dict:
    """Hazard notes per species (``plumetrace/data/hazards.yaml``)."""
    import yaml

    return yaml.safe_load(resources.files("plumetrace.data").joinpath("hazards.yaml").read_text())


def exposure_ppb(rate_g_s: float, species: str) -> list[dict]:
    """Neighbours' exposure [ppb] at 1.5 m, 20/50/100 m downwind of a 3 m release, 2 m/s, classes D and F."""
    from plumetrace.physics.plume import gaussian_plume
    from plumetrace.physics.species import get_species, mole_fraction

    try:
        molar = get_species(species).molar_mass
    except (KeyError, ValueError):
        return []
    out = []
    for stab in ("D", "F"):
        d = np.array(EXPOSURE_DISTANCES_M)
        c = gaussian_plume(np.zeros_like(d), -d, np.full_like(d, 1.5), 0.0, 0.0, 3.0, float(rate_g_s), 2.0, 0.0, stab)
        ppb = mole_fraction(c * 1e-3, molar) * 1e9
        out.append({"stability": stab, "wind_mps": 2.0,
                    "ppb": {f"{int(x)} m": float(f"{v:.3g}") for x, v in zip(d, ppb, strict=True)}})
    return out


def context(lead: dict) -> dict:
    """Everything the brief shows, from a lead dict (:func:`plumetrace.leads.lifecycle.lead_dict`)."""
    snap = lead["snapshot"]
    site = snap["site"]
    species = list(site.get("species") or [])
    haz = [{"species": sp, **hazards().get(sp, {"idlh_ppm": None, "flammable": None, "note": "no hazard note"})}
           for sp in species]
    rate = site.get("rate_g_s")
    return {"lead": lead, "site": site, "buildings": snap.get("buildings") or [], "hazards": haz,
            "rate_ci90_g_s": snap.get("rate_ci90_g_s"), "class_probabilities": snap.get("class_probabilities") or {},
            "exposure": exposure_ppb(rate, species[0]) if rate and species else [], "hits": snap.get("hits") or [],
            "generated": datetime.now(UTC).isoformat(timespec="seconds")}


def map_png(ctx: dict, buildings_geojson: dict | None, size_in: float = 6.0) -> bytes:
    """The brief's map: buildings, the 90 % region, the site and its hits (matplotlib, no tiles)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from plumetrace.geo.crs import LocalFrame

    site = ctx["site"]
    frame = LocalFrame(site["lat"], site["lon"])
    r90 = float(site.get("credible90_radius_m") or 20.0)
    half = max(120.0, 3.0 * r90)
    fig, ax = plt.subplots(figsize=(size_in, size_in), dpi=110)
    cands = {b["building_id"] for b in ctx["buildings"]}
    for f in (buildings_geojson or {}).get("features", []):
        geom = f.get("geometry") or {}
        rings = geom.get("coordinates", []) if geom.get("type") == "Polygon" else \
            [p[0] for p in geom.get("coordinates", [])] if geom.get("type") == "MultiPolygon" else []
        for ring in rings[:1] if geom.get("type") == "Polygon" else rings:
            xy = np.asarray(ring, float)
            if xy.ndim != 2 or len(xy) < 3:
                continue
            e, n = frame.to_local(xy[:, 1], xy[:, 0])
            if np.min(np.abs(e)) > half * 1.5 or np.min(np.abs(n)) > half * 1.5:
                continue
            bid = str((f.get("properties") or {}).get("id", ""))
            ax.fill(e, n, facecolor="#d9534f" if bid in cands else "#cfc8bb", edgecolor="#6b655c", lw=0.6)
            if bid in cands:
                ax.annotate(bid, (float(np.mean(e)), float(np.mean(n))), fontsize=7, ha="center")
    for h in ctx["hits"]:
        he, hn = frame.to_local(h["lat"], h["lon"])
        ax.plot(he, hn, "^", color="#1f77b4", ms=5)
    a = np.linspace(0, 2 * math.pi, 100)
    ax.plot(r90 * np.sin(a), r90 * np.cos(a), color="#c00", lw=1.5, label=f"90 % region (r {r90:.0f} m)")
    ax.plot(0, 0, "x", color="#c00", ms=10, mew=2, label="most probable position")
    ax.set_xlim(-half, half)
    ax.set_ylim(-half, half)
    ax.set_aspect("equal")
    ax.set_xlabel("east [m]")
    ax.set_ylabel("north [m]")
    ax.legend(loc="lower left", fontsize=7)
    ax.set_title(f"{site['lat']:.6f}, {site['lon']:.6f}", fontsize=9)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _fmt(v, digits=3) -> str:
    return "–" if v is None else f"{v:.{digits}g}" if isinstance(v, float) else html.escape(str(v))


def brief_html(ctx: dict, png: bytes) -> str:
    """A self-contained HTML brief (the map embedded; TLP banner at top and bottom)."""
    lead, site, tlp = ctx["lead"], ctx["site"], ctx["lead"]["tlp"]
    banner = (f'<div class="tlp" style="background:#000;color:{TLP_COLOURS[tlp]}">TLP:{tlp} — '
              f'{html.escape(TLP_MEANING[tlp])}</div>')
    rows_b = "".join(f"<tr><td>{_fmt(b['building_id'])}</td><td>{_fmt(b['probability'], 2)}</td></tr>"
                     for b in ctx["buildings"]) or "<tr><td colspan=2>no building candidate</td></tr>"
    rows_h = "".join(f"<tr><td>{_fmt(h['species'])}</td><td>{_fmt(h.get('idlh_ppm'))}</td>"
                     f"<td>{'yes' if h.get('flammable') else 'no' if h.get('flammable') is False else '–'}</td>"
                     f"<td>{_fmt(h.get('note'))}</td></tr>" for h in ctx["hazards"])
    rows_x = "".join(f"<tr><td>{e['stability']}</td>" + "".join(f"<td>{v:.3g}</td>" for v in e["ppb"].values())
                     + "</tr>" for e in ctx["exposure"])
    ci = ctx["rate_ci90_g_s"]
    probs = ", ".join(f"{html.escape(k)} {v:.2f}" for k, v in sorted(ctx["class_probabilities"].items(),
                                                                     key=lambda kv: -(kv[1] or 0))[:4] if v)
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Lead {lead['id']}</title>
<style>body{{font:13px system-ui,sans-serif;margin:1.5em;max-width:60em}}.tlp{{font-weight:bold;padding:6px 10px;
margin:0 0 1em}}table{{border-collapse:collapse;margin:.5em 0}}td,th{{border:1px solid #bbb;padding:3px 8px}}
</style></head><body>{banner}
<h1>Lead {lead['id']}: {html.escape(lead['title'])}</h1>
<p>State <b>{html.escape(lead['state'])}</b>, version {lead['version']}; partner {_fmt(lead.get('partner'))};
author {_fmt(lead.get('author'))}, reviewed by {_fmt(lead.get('reviewer'))}. Generated {ctx['generated']}.</p>
<h2>Where</h2><p>{site['lat']:.6f}, {site['lon']:.6f} (WGS 84); 90 % credible radius
{site['credible90_radius_m']:.0f} m; confidence {site['confidence']:.2f}; seen on {site['n_detected']} of
{site['n_covering']} surveys.</p>
<img alt="map of the site" src="data:image/png;base64,{base64.b64encode(png).decode()}" width="520">
<table><tr><th>building</th><th>probability</th></tr>{rows_b}</table>
<h2>What</h2><p>Class <b>{_fmt(site['class'])}</b>{' (' + probs + ')' if probs else ''}; species
{html.escape(', '.join(site.get('species') or []))}.</p>
<table><tr><th>species</th><th>IDLH (ppm)</th><th>flammable</th><th>hazard</th></tr>{rows_h}</table>
<h2>How much</h2><p>Emission rate {_fmt(site.get('rate_g_s'))} g/s
{'(90 % interval ' + f'{ci[0]:.3g}–{ci[1]:.3g}' + ' g/s)' if ci else ''}.</p>
<h3>Neighbours' exposure (ppb at 1.5 m, 2 m/s wind; an order of magnitude)</h3>
<table><tr><th>stability</th>{''.join(f'<th>{int(d)} m</th>' for d in EXPOSURE_DISTANCES_M)}</tr>{rows_x}</table>
<p>Hazard data: NIOSH Pocket Guide to Chemical Hazards. plumetrace gives evidence; the receiving authority decides
and acts under its own procedures.</p>{banner}</body></html>"""


def brief_pdf(ctx: dict, png: bytes) -> bytes:
    """The PDF brief (reportlab), with the TLP banner drawn on every page."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    lead, site, tlp = ctx["lead"], ctx["site"], ctx["lead"]["tlp"]
    styles = getSampleStyleSheet()

    def banner(canvas, doc):
        canvas.saveState()
        w, h = A4
        for y in (h - 14 * mm, 6 * mm):
            canvas.setFillColor(colors.black)
            canvas.rect(0, y, w, 8 * mm, fill=1, stroke=0)
            canvas.setFillColor(colors.HexColor(TLP_COLOURS[tlp]))
            canvas.setFont("Helvetica-Bold", 10)
            canvas.drawString(12 * mm, y + 2.5 * mm, f"TLP:{tlp}  {TLP_MEANING[tlp]}")
        canvas.setFillColor(colors.black)
        canvas.setFont("Helvetica", 8)
        canvas.drawRightString(w - 12 * mm, 16 * mm, f"lead {lead['id']} v{lead['version']} — page {doc.page}")
        canvas.restoreState()

    def p(text, style="BodyText"):
        return Paragraph(html.escape(text), styles[style])

    def table(rows):
        t = Table(rows, hAlign="LEFT")
        t.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
                               ("FONTSIZE", (0, 0), (-1, -1), 8)]))
        return t

    ci = ctx["rate_ci90_g_s"]
    story = [p(f"Lead {lead['id']}: {lead['title']}", "Title"),
             p(f"State {lead['state']}, version {lead['version']}; partner {lead.get('partner') or '–'}; "
               f"generated {ctx['generated']}."),
             p("Where", "Heading2"),
             p(f"{site['lat']:.6f}, {site['lon']:.6f} (WGS 84); 90 % credible radius "
               f"{site['credible90_radius_m']:.0f} m; confidence {site['confidence']:.2f}."),
             Image(io.BytesIO(png), width=120 * mm, height=120 * mm),
             table([["building", "probability"]] + [[str(b["building_id"]), _fmt(b["probability"], 2)]
                                                    for b in ctx["buildings"]]),
             p("What", "Heading2"),
             p(f"Class {site['class']}; species {', '.join(site.get('species') or [])}."),
             table([["species", "IDLH (ppm)", "flammable", "hazard"]]
                   + [[h["species"], _fmt(h.get("idlh_ppm")), "yes" if h.get("flammable") else "no",
                       h.get("note") or ""] for h in ctx["hazards"]]),
             p("How much", "Heading2"),
             p(f"Emission rate {_fmt(site.get('rate_g_s'))} g/s"
               + (f" (90 % interval {ci[0]:.3g}–{ci[1]:.3g} g/s)." if ci else ".")),
             p("Neighbours' exposure (ppb at 1.5 m, 2 m/s; an order of magnitude)", "Heading3"),
             table([["stability"] + [f"{int(d)} m" for d in EXPOSURE_DISTANCES_M]]
                   + [[e["stability"]] + [f"{v:.3g}" for v in e["ppb"].values()] for e in ctx["exposure"]]),
             Spacer(1, 4 * mm),
             p("Hazard data: NIOSH Pocket Guide to Chemical Hazards. plumetrace gives evidence; the receiving "
               "authority decides and acts under its own procedures.")]
    buf = io.BytesIO()
    SimpleDocTemplate(buf, pagesize=A4, topMargin=22 * mm, bottomMargin=24 * mm,
                      title=f"Lead {lead['id']} TLP:{tlp}").build(story, onFirstPage=banner, onLaterPages=banner)
    return buf.getvalue()


def lead_geojson(ctx: dict) -> dict:
    """The lead as GeoJSON: the site point and its 90 % circle, with the marking in the properties."""
    from plumetrace.io.export import circle_ring

    site, lead = ctx["site"], ctx["lead"]
    props = {"lead_id": lead["id"], "title": lead["title"], "tlp": f"TLP:{lead['tlp']}", "state": lead["state"],
             "class": site["class"], "confidence": site["confidence"], "rate_g_s": site.get("rate_g_s"),
             "credible90_radius_m": site["credible90_radius_m"], "buildings": ctx["buildings"]}
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [site["lon"], site["lat"]]},
         "properties": {**props, "kind": "site"}},
        {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [
            circle_ring(site["lat"], site["lon"], site["credible90_radius_m"])]},
         "properties": {"lead_id": lead["id"], "kind": "credible90", "tlp": f"TLP:{lead['tlp']}"}}]}


def lead_kml(ctx: dict) -> str:
    """The lead as KML (simplekml): a placemark and its 90 % region, the marking in the name."""
    import simplekml

    from plumetrace.io.export import circle_ring
    from plumetrace.io.textsafe import kml_text

    site, lead = ctx["site"], ctx["lead"]
    kml = simplekml.Kml(name=kml_text(f"TLP:{lead['tlp']} lead {lead['id']}"))
    pt = kml.newpoint(name=kml_text(f"TLP:{lead['tlp']} {lead['title']}"), coords=[(site["lon"], site["lat"])])
    pt.description = kml_text(f"class {site['class']}, confidence {site['confidence']:.2f}, rate "
                              f"{_fmt(site.get('rate_g_s'))} g/s; buildings "
                              + ", ".join(str(b["building_id"]) for b in ctx["buildings"]))
    poly = kml.newpolygon(name="90 % region", outerboundaryis=[tuple(c) for c in circle_ring(
        site["lat"], site["lon"], site["credible90_radius_m"])])
    poly.style.polystyle.color = "400000ff"
    return kml.kml()


def tlp_marking(level: str):
    """The OASIS TLP 2.0 marking definition of ``level`` (a ``stix2`` MarkingDefinition)."""
    import stix2

    return stix2.MarkingDefinition(
        id=f"marking-definition--{TLP2_IDS[level]}", created="2022-10-01T00:00:00.000Z", name=f"TLP:{level}",
        extensions={TLP2_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": level.lower()}})


def lead_stix(ctx: dict, organisation: str = "plumetrace analysis") -> str:
    """The lead as a STIX 2.1 bundle (JSON text)."""
    import stix2

    site, lead = ctx["site"], ctx["lead"]
    marking = tlp_marking(lead["tlp"])
    marks = [marking.id]
    ident = stix2.Identity(name=organisation, identity_class="organization", object_marking_refs=marks)
    loc = stix2.Location(latitude=float(site["lat"]), longitude=float(site["lon"]),
                         precision=float(site["credible90_radius_m"]), created_by_ref=ident.id,
                         object_marking_refs=marks, description="most probable source position; precision: 90 % "
                                                                "credible radius [m]")
    findings = (f"Source class {site['class']} (confidence {site['confidence']:.2f}); species "
                f"{', '.join(site.get('species') or [])}; emission rate {_fmt(site.get('rate_g_s'))} g/s; "
                f"building candidates " + ", ".join(f"{b['building_id']} ({_fmt(b['probability'], 2)})"
                                                   for b in ctx["buildings"]))
    note = stix2.Note(abstract=lead["title"][:200], content=findings, object_refs=[loc.id], created_by_ref=ident.id,
                      object_marking_refs=marks)
    report = stix2.Report(name=f"plumetrace lead {lead['id']}: {lead['title']}"[:250], published=datetime.now(UTC),
                          report_types=["observed-data"], object_refs=[loc.id, note.id], created_by_ref=ident.id,
                          object_marking_refs=marks, description=findings)
    return stix2.Bundle(objects=[marking, ident, loc, note, report], allow_custom=False).serialize(pretty=True)


def write_brief(ctx: dict, buildings_geojson: dict | None, out: str | Path) -> dict[str, Path]:
    """brief.html, brief.pdf, lead.kml, lead.geojson and lead.stix.json in folder ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    png = map_png(ctx, buildings_geojson)
    files = {"html": out / "brief.html", "pdf": out / "brief.pdf", "kml": out / "lead.kml",
             "geojson": out / "lead.geojson", "stix": out / "lead.stix.json"}
    files["html"].write_text(brief_html(ctx, png), encoding="utf-8")
    files["pdf"].write_bytes(brief_pdf(ctx, png))
    files["kml"].write_text(lead_kml(ctx), encoding="utf-8")
    files["geojson"].write_text(json.dumps(lead_geojson(ctx)), encoding="utf-8")
    files["stix"].write_text(lead_stix(ctx), encoding="utf-8")
    return files


def export_lead(store, p, lead_id: int, out: str | Path) -> dict[str, Path]:
    """Write a lead's brief and exports for a caller who may see it (404 otherwise); the export is audited."""
    from plumetrace.leads.audit import append
    from plumetrace.leads.lifecycle import get

    lead = get(store, p, lead_id)
    files = write_brief(context(lead), store.buildings(), out)
    append(store, "lead.export", p.username, f"lead:{lead_id}", {"tlp": lead["tlp"], "version": lead["version"],
                                                               "files": sorted(k for k in files)})
    return files
