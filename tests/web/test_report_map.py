"""The report's HTML map in a real headless Chromium (Debian's browser driven by Playwright), offline."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

import pytest

from plumetrace.io.export import write_html_map
from tests.fuse.weak import weak_surveys
from tests.web.browser import launch, need_chromium


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    d = tmp_path_factory.mktemp("report")
    paths, lab = weak_surveys(d / "flights", rate_g_s=0.2, n=1, seed=300)
    site = {"id": 7, "lat": lab["lat"], "lon": lab["lon"], "credible90_radius_m": 15.0, "channels": ["acetone_ppb"],
            "species": ["acetone"], "log_bayes": 25.0, "confidence": 0.99, "status": "confirmed",
            "activity": "active", "class": "clandestine_lab", "building_id": "b1", "rate_g_s": 0.2,
            "first_seen": 1.0, "last_seen": 1.0, "n_covering": 1, "n_detected": 1, "history": [], "retired": False}
    buildings = paths[0].parent / "buildings.geojson"
    truth = {"sources": [{**lab, "target": True}]}
    write_html_map(d / "report", [site], paths, str(buildings), truth)
    return d / "report"


def _serve(folder: Path):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_map_renders_offline_in_chromium(report, tmp_path):
    need_chromium()
    from playwright.sync_api import sync_playwright

    server = _serve(report)
    url = f"http://127.0.0.1:{server.server_address[1]}/index.html"
    errors, requests = [], []
    try:
        with sync_playwright() as p:
            browser = launch(p)
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("request", lambda r: requests.append(r.url))
            page.goto(url)
            page.wait_for_function("window.plumetraceReady === true", timeout=15_000)
            shapes = page.locator("path.leaflet-interactive").count()
            assert shapes > 50  # buildings, track pieces, the credible circle, the site marker
            assert page.locator(".leaflet-control-layers").count() == 1
            assert page.locator("#sites tbody tr").count() == 1
            page.evaluate("""() => { for (const l of Object.values(map._layers))
                if (l.feature && l.feature.properties.kind === 'site') { l.openPopup(); return; } }""")
            assert "clandestine_lab" in page.locator(".leaflet-popup-content").inner_text()
            page.screenshot(path=str(tmp_path / "map.png"))
            browser.close()
    finally:
        server.shutdown()
    assert not errors, errors
    assert all(u.startswith("http://127.0.0.1") for u in requests), "the map fetched something from outside"
    assert (tmp_path / "map.png").stat().st_size > 10_000


HOSTILE_ID = '<img src=x onerror="window.pwned=1">'
HOSTILE_CLASS = "</script><script>window.pwned=2</script>"
HOSTILE_CHANNEL = "[/][link=http://evil]x[/link]<![CDATA[<b>y</b>]]>"


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile")
    paths, lab = weak_surveys(d / "flights", rate_g_s=0.2, n=1, seed=300)
    site = {"id": 1, "lat": lab["lat"], "lon": lab["lon"], "credible90_radius_m": 15.0, "channels": [HOSTILE_CHANNEL],
            "species": ["acetone"], "log_bayes": 25.0, "confidence": 0.99, "status": "confirmed",
            "activity": "active", "class": HOSTILE_CLASS, "building_id": HOSTILE_ID, "rate_g_s": 0.2,
            "first_seen": 1.0, "last_seen": 1.0, "n_covering": 1, "n_detected": 1, "history": [], "retired": False}
    write_html_map(d / "report", [site], paths, None, {"sources": [{**lab, "id": HOSTILE_ID, "target": True}]})
    return d / "report", site


def test_user_strings_are_text_in_the_html(hostile_report):
    import html
    import json
    import re

    folder, _ = hostile_report
    page = (folder / "index.html").read_text()
    assert HOSTILE_ID not in page and "<script>window.pwned" not in page
    assert html.escape(HOSTILE_ID, quote=True) in page  # the table cell shows it as text
    data = re.search(r"const data = (.*);\n", page).group(1)
    assert "</" not in data  # nothing in the embedded JSON can close the script
    layers = json.loads(data)
    site = next(f for f in layers["sites"]["features"] if f["properties"]["kind"] == "site")
    assert site["properties"]["building_id"] == HOSTILE_ID and site["properties"]["class"] == HOSTILE_CLASS


def test_user_strings_are_text_in_the_kml(hostile_report, tmp_path):
    import xml.etree.ElementTree as ET

    from plumetrace.io.export import write_sites_kml

    _, site = hostile_report
    path = write_sites_kml(tmp_path / "s.kml", [site])
    text = path.read_text()
    assert "<![CDATA[" not in text  # a user's CDATA section cannot carry live markup into the balloon
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    desc = ET.parse(path).getroot().find(".//k:Placemark/k:description", ns).text
    # the balloon renders the description as HTML: after XML decoding it must still be escaped text
    assert "<img" not in desc and "&lt;img src=x onerror=" in desc and "&lt;![CDATA[" in desc


def test_user_strings_are_text_in_the_terminal(tmp_path):
    """`[/]` or `[link=…]` in a building id must neither crash the error handler nor become markup."""
    from typer.testing import CliRunner

    from plumetrace.cli import app
    from plumetrace.cli._common import out
    from plumetrace.cli.campaign import _sites_table

    site = {"id": 1, "status": "confirmed", "activity": "active", "confidence": 0.9, "lat": 52.0, "lon": 5.0,
            "credible90_radius_m": 12.0, "class": "[bold]x[/]", "channels": [HOSTILE_CHANNEL], "n_detected": 1,
            "n_covering": 1, "building_id": "[link=http://evil]b7[/link]"}
    width = out.width
    out.width = 400
    try:
        with out.capture() as cap:
            out.print(_sites_table([site]))
    finally:
        out.width = width
    shown = cap.get()
    assert "[link=http://evil]b7[/link]" in shown and "[bold]x[/]" in shown and HOSTILE_CHANNEL in shown
    assert "\x1b]8;" not in shown  # no OSC-8 hyperlink
    (tmp_path / "[red]bad[").mkdir()
    bad = tmp_path / "[red]bad[" / "]x.csv"  # the path holds "[red]bad[/]x.csv"
    bad.write_text("time,lat,lon,alt_m,ch4_ppm\n1,52.09,5.12,20,abc\n")
    r = CliRunner().invoke(app, ["locate", str(bad), "--lag", "[/]=3"])
    assert r.exit_code == 2 and "[red]bad[/]x.csv" in r.stderr and "Traceback" not in r.output


def test_hostile_strings_stay_text_in_chromium(hostile_report):
    need_chromium()
    from playwright.sync_api import sync_playwright

    folder, _ = hostile_report
    server = _serve(folder)
    try:
        with sync_playwright() as p:
            browser = launch(p)
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/index.html")
            page.wait_for_function("window.plumetraceReady === true", timeout=15_000)
            assert page.evaluate("() => window.pwned") is None  # no injected script or handler ran
            assert page.locator("#sites tbody td").nth(6).inner_text() == HOSTILE_ID
            assert page.locator("#sites img").count() == 0
            page.evaluate("""() => { for (const l of Object.values(map._layers))
                if (l.feature && l.feature.properties.kind === 'site') { l.openPopup(); return; } }""")
            popup = page.locator(".leaflet-popup-content")
            assert HOSTILE_CLASS in popup.inner_text() and HOSTILE_ID in popup.inner_text()
            assert popup.locator("img, script").count() == 0
            browser.close()
    finally:
        server.shutdown()
