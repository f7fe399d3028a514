"""A lead's brief and exports: the PDF renders (page 1 is not blank), STIX 2.1 parses with stix2 and carries the
OASIS TLP 2.0 marking, KML and GeoJSON parse; the command line makes the same files and the export is audited."""

import json
import xml.etree.ElementTree as ET

import numpy as np
import pypdfium2
import stix2
from typer.testing import CliRunner

from plumetrace.cli import app
from plumetrace.leads import audit
from plumetrace.leads.briefs import TLP2_IDS
from plumetrace.store import Store
from tests.api.test_accounts import make_accounts
from tests.leads.test_leads import insert_site


def test_cli_lead_to_brief(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    store = Store(url)
    make_accounts(store, [("ana", "analysis", "analyst"), ("rev", "analysis", "reviewer"),
                          ("pa", "police-a", "partner")])
    insert_site(store)
    run = CliRunner()

    def cli(*args):
        r = run.invoke(app, [*args, "--db", url])
        return r.exit_code, r.stdout + (r.stderr or "")

    code, lid = cli("leads", "create", "--site", "1", "--as", "ana", "--tlp", "AMBER+STRICT")
    assert code == 0, lid
    lid = lid.strip()
    code, text = cli("leads", "share", lid, "--partner", "police-a", "--tlp", "AMBER", "--as", "ana")
    assert code == 2 and "review it first" in text
    code, text = cli("leads", "review", lid, "--as", "ana")
    assert code == 2 and "may not review" in text
    assert cli("leads", "review", lid, "--as", "rev")[0] == 0
    assert cli("leads", "share", lid, "--partner", "police-a", "--tlp", "AMBER+STRICT", "--as", "ana")[0] == 0
    assert cli("leads", "ack", lid, "--as", "pa")[0] == 0
    code, text = cli("leads", "list", "--as", "pa", "--json")
    assert code == 0 and [x["id"] for x in json.loads(text)["leads"]] == [int(lid)]
    out = tmp_path / "brief"
    code, text = cli("leads", "brief", lid, "--out", str(out), "--as", "pa")
    assert code == 0, text
    # the PDF: page 1 rendered is not blank, and carries the marking
    pdf = pypdfium2.PdfDocument(str(out / "brief.pdf"))
    img = np.asarray(pdf[0].render(scale=1.0).to_pil().convert("L"))
    assert img.std() > 10 and (img < 128).mean() > 0.01
    assert "TLP:AMBER+STRICT" in pdf[0].get_textpage().get_text_range()
    bundle = stix2.parse((out / "lead.stix.json").read_text(), allow_custom=False)
    types = {o.type for o in bundle.objects}
    assert {"marking-definition", "identity", "location", "note", "report"} <= types
    loc = next(o for o in bundle.objects if o.type == "location")
    assert loc.object_marking_refs == [f"marking-definition--{TLP2_IDS['AMBER+STRICT']}"]
    ET.fromstring((out / "lead.kml").read_bytes())
    gj = json.loads((out / "lead.geojson").read_text())
    assert gj["features"][0]["properties"]["tlp"] == "TLP:AMBER+STRICT"
    html = (out / "brief.html").read_text()
    assert html.count("TLP:AMBER+STRICT") >= 2 and "IDLH" in html
    assert any(e["action"] == "lead.export" for e in audit.entries(store))
    code, text = cli("audit", "verify")
    assert code == 0 and "intact" in text
