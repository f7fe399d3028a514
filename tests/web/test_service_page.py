"""The analyst web map served by ``plumetrace serve`` on the demo's store, in Debian's Chromium (Playwright), offline:
log in, the demo's sites on the map, a site's evidence, an upload whose job finishes and whose site appears; a lead
made, reviewed and shared in the page by two people and acknowledged and closed by the partner in theirs."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from tests.api.test_accounts import PW, make_accounts
from tests.fuse.weak import weak_surveys
from tests.web.browser import launch, need_chromium

SHOTS = Path(os.environ.get("PLUMETRACE_SCREENSHOTS", "test-artifacts"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(demo_run, tmp_path_factory):
    import uvicorn

    from plumetrace.api.app import create_app
    from plumetrace.store import Store

    out, result = demo_run
    assert result.exit_code == 0, result.output
    folder = tmp_path_factory.mktemp("served")
    shutil.copy(out / "plumetrace.db", folder / "plumetrace.db")
    url = f"sqlite:///{folder / 'plumetrace.db'}"
    store = Store(url)
    make_accounts(store, [("ana", "analysis", "analyst"), ("rev", "analysis", "reviewer"),
                          ("pa", "police-a", "partner")])
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(url, workers=1), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}", folder
    server.should_exit = True
    thread.join(30)


def test_page_logs_in_shows_sites_evidence_and_an_upload(served, tmp_path):
    need_chromium()
    from playwright.sync_api import sync_playwright

    base, folder = served
    upload = weak_surveys(tmp_path / "new", rate_g_s=0.3, n=1, seed=520)[0][0]
    SHOTS.mkdir(parents=True, exist_ok=True)
    errors, requests = [], []
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "401" not in m.text else None)
        page.on("request", lambda r: requests.append(r.url))
        t0 = time.perf_counter()
        page.goto(base + "/")
        page.fill("#username", "ana")
        page.fill("#password", PW)
        page.click("#login button[type=submit]")
        page.wait_for_selector("body[data-ready='1']", timeout=30_000)
        first_load_s = time.perf_counter() - t0
        n_sites = page.locator("#sites tbody tr").count()
        assert n_sites >= 3
        assert page.locator("path.leaflet-interactive").count() > 100  # buildings, tracks, regions, sites
        assert page.locator(".leaflet-control-layers-overlays label").count() >= 7
        assert page.locator(".legend").count() == 1
        page.screenshot(path=str(SHOTS / "service-map.png"))
        # the sites list sorts and filters
        page.click("#sites th[data-key=confidence]")
        page.fill("#site-filter", "clandestine")
        assert 1 <= page.locator("#sites tbody tr").count() < n_sites
        page.fill("#site-filter", "")
        # open the top site: evidence with time series around its hits
        page.locator("#sites tbody tr").first.click()
        page.wait_for_selector("#site-panel:not([hidden])")
        assert page.locator("#site-surveys li").count() >= 1
        assert page.locator("#site-hits svg.series polyline").count() >= 1
        assert "rate" in page.locator("#site-summary").inner_text()
        page.screenshot(path=str(SHOTS / "service-site.png"))
        # upload a survey and watch its job finish and its site appear
        page.set_input_files("#upload-file", str(upload))
        page.click("#upload button[type=submit]")
        page.wait_for_selector("#upload-status[data-loaded='1']", timeout=180_000)
        assert "done" in page.locator("#upload-status").inner_text()
        page.screenshot(path=str(SHOTS / "service-upload.png"))
        browser.close()
    assert not errors, errors
    assert all(u.startswith(base) or u.startswith(("blob:", "data:")) for u in requests), \
        [u for u in requests if not u.startswith(base)]
    assert first_load_s < 10.0


def _login(browser, base, user, errors):
    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "401" not in m.text else None)
    page.goto(base + "/")
    page.fill("#username", user)
    page.fill("#password", PW)
    page.click("#login button[type=submit]")
    page.wait_for_selector("body[data-ready='1']", timeout=30_000)
    return page


def _lead_row(page, state):
    row = page.locator("#leads tbody tr", has_text=state).first
    row.wait_for(timeout=15_000)
    return row


def test_a_lead_is_made_reviewed_shared_and_closed_in_the_page(served):
    need_chromium()
    from playwright.sync_api import sync_playwright

    base, _ = served
    errors = []
    with sync_playwright() as p:
        browser = launch(p)
        ana = _login(browser, base, "ana", errors)  # the analyst makes a lead of the top site
        ana.locator("#sites tbody tr").first.click()
        ana.wait_for_selector("#make-lead:not([hidden])")
        ana.fill("#lead-title", "Lab at the top site")
        ana.select_option("#lead-tlp", "AMBER")
        ana.click("#make-lead button[type=submit]")
        ana.wait_for_selector("#lead-panel[data-state='draft']")
        assert ana.locator("#lead-review").is_hidden()  # the author may not review
        assert ana.locator("#lead-brief a").count() == 5
        rev = _login(browser, base, "rev", errors)  # a second person reviews and shares
        _lead_row(rev, "draft").click()
        rev.wait_for_selector("#lead-review:not([hidden])")
        rev.fill("#review-comment", "checked the evidence")
        rev.click("#lead-review button[type=submit]")
        rev.wait_for_selector("#lead-panel[data-state='reviewed']")
        rev.select_option("#share-partner", "police-a")
        rev.select_option("#share-tlp", "AMBER")
        rev.click("#lead-share button[type=submit]")
        rev.wait_for_selector("#lead-panel[data-state='shared']")
        rev.screenshot(path=str(SHOTS / "service-lead-shared.png"))
        pa = _login(browser, base, "pa", errors)  # the partner sees it (and no site), acknowledges, acts, closes
        assert pa.locator("#sites tbody tr").count() == 0 and pa.locator("#sites-block").is_hidden()
        _lead_row(pa, "shared").click()
        pa.wait_for_selector("#lead-ack:not([hidden])")
        pa.click("#lead-ack button[type=submit]")
        pa.wait_for_selector("#lead-panel[data-state='acknowledged']")
        pa.select_option("#action-kind", "inspection")
        pa.click("#lead-action button[type=submit]")
        pa.wait_for_selector("#lead-panel[data-state='actioned']")
        pa.select_option("#close-outcome", "confirmed")
        pa.click("#lead-close button[type=submit]")
        pa.wait_for_selector("#lead-panel[data-state='closed']")
        assert pa.locator("path.leaflet-interactive").count() == 1  # the lead's 90 % region, nothing else
        history = pa.locator("#lead-events li").all_inner_texts()
        assert [h.split(" ")[2] for h in history] == ["created", "review", "share", "acknowledge", "action",
                                                      "close"], history
        pa.screenshot(path=str(SHOTS / "service-lead-closed.png"))
        browser.close()
    assert not errors, errors
