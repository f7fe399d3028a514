"""Debian's Chromium for the browser tests: CI fails without it, a workstation skips."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"


def need_chromium() -> None:
    """Fail in CI (``.ci/run`` installs Debian's chromium), skip elsewhere, when it is missing."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("CI must test the web pages in Chromium: .ci/run installs Debian's chromium")
        pytest.skip("Debian chromium is not installed (/usr/bin/chromium)")


def launch(p):
    """Headless Debian Chromium through Playwright (never a downloaded browser)."""
    return p.chromium.launch(executable_path=CHROMIUM, headless=True,
                             args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
