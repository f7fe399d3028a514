"""The report's HTML map in a real headless Chromium (Debian's browser driven by Playwright), offline."""

from __future__ import annotations

import functools
import http.server
import os
import threading
from pathlib import Path

import pytest

from plumetrace.io.export import write_html_map
from tests.fuse.weak import weak_surveys

CHROMIUM = "/usr/bin/chromium"


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
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("CI must test the map in Chromium: .ci/run installs Debian's chromium")
        pytest.skip("Debian chromium is not installed (/usr/bin/chromium)")
    from playwright.sync_api import sync_playwright

    server = _serve(report)
    url = f"http://127.0.0.1:{server.server_address[1]}/index.html"
    errors, requests = [], []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
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
