"""Shared fixtures: the real field data beside the project (../shared/data)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else "dev")

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("PLUMETRACE_SHARED_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def prairie_grass_dir() -> Path:
    path = SHARED_DATA / "prairie_grass"
    if not (path / "runs.csv").exists():
        if os.environ.get("CI"):
            pytest.fail(f"Project Prairie Grass data missing at {path}; CI must have ../shared/data")
        pytest.skip(f"Project Prairie Grass data not found at {path} (set PLUMETRACE_SHARED_DATA)")
    return path
