"""Load on the service: N concurrent clients for T seconds reading sites and site evidence, on 127.0.0.1.

    python benchmarks/service_load.py --db sqlite:///plumetrace-demo/plumetrace.db [--clients 200] [--seconds 60]
    python benchmarks/service_load.py --db sqlite:///plumetrace-demo/plumetrace.db --onto postgresql://…/empty_db

The store is copied first (SQLite: a file copy; ``--onto URL``: every row into that empty store, e.g. the demo's
store onto PostgreSQL, :func:`plumetrace.store.transfer.copy_store`); an analyst and a token are added. The server
is ``plumetrace serve`` in its own process, as a user runs it; httpx clients (asyncio, in this process) each loop:
GET /api/v1/sites, then the evidence of one of its sites. Prints requests, server errors (5xx), other failures,
throughput and p50/p95 latency, and the time of the page's first load (``/``, its script, style and Leaflet, and
``/api/v1/map``) on the idle server. A benchmark, not a unit test.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PAGE = ("/", "/static/app.js", "/static/app.css", "/static/leaflet/leaflet.js", "/api/v1/map")


def _serve(url: str):
    """``plumetrace serve`` on a free port; returns (process, base URL) once /healthz answers."""
    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "plumetrace.cli", "serve", "--db", url, "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"the server did not start: {proc.stderr.read().decode()[-2000:]}")


async def _client(base, headers, ids, stop, lat, errors):
    import httpx

    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as c:
        k = 0
        while time.monotonic() < stop:
            for path in ("/api/v1/sites", f"/api/v1/sites/{ids[k % len(ids)]}/evidence"):
                t0 = time.perf_counter()
                try:
                    r = await c.get(path)
                    if path.endswith("/evidence"):
                        errors["evidence_bytes"] += len(r.content)
                        errors["evidence_n"] += 1
                    if r.status_code >= 500:
                        errors["5xx"] += 1
                    elif r.status_code != 200:
                        errors["other"] += 1
                except httpx.HTTPError:
                    errors["transport"] += 1
                lat.append(time.perf_counter() - t0)
            k += 1


def _store_to_serve(url: str, onto: str | None) -> str:
    from plumetrace.store import Store
    from plumetrace.store.transfer import copy_store

    if onto:
        copy_store(Store(url), Store(onto))
        return onto
    if url.startswith("sqlite:///"):
        tmp = Path(tempfile.mkdtemp(prefix="plumetrace-load-"))
        shutil.copy(url.removeprefix("sqlite:///"), tmp / "store.db")
        return f"sqlite:///{tmp / 'store.db'}"
    return url


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True, help="store URL (copied first)")
    ap.add_argument("--onto", help="an empty store (e.g. PostgreSQL) to copy --db into and serve")
    ap.add_argument("--clients", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=60.0)
    a = ap.parse_args()
    import httpx

    from plumetrace.api.accounts import add_org, add_user, create_token, organisations
    from plumetrace.store import Store

    url = _store_to_serve(a.db, a.onto)
    store = Store(url)
    analysis = [o["name"] for o in organisations(store) if not o["partner"]]
    if not analysis:
        add_org(store, "analysis")
    org = analysis[0] if analysis else "analysis"
    name = f"load{int(time.time())}"
    add_user(store, name, org, "analyst", "load benchmark passphrase")
    headers = {"Authorization": "Bearer " + create_token(store, name, 1)}
    proc, base = _serve(url)
    try:
        t0 = time.perf_counter()
        for path in PAGE:
            httpx.get(base + path, headers=headers, timeout=30).raise_for_status()
        first = time.perf_counter() - t0
        ids = [s["id"] for s in httpx.get(base + "/api/v1/sites", headers=headers).json()["sites"]] or [1]
        lat, errors = [], {"5xx": 0, "other": 0, "transport": 0, "evidence_bytes": 0, "evidence_n": 0}
        stop = time.monotonic() + a.seconds

        async def run():
            await asyncio.gather(*(_client(base, headers, ids, stop, lat, errors) for _ in range(a.clients)))

        t1 = time.perf_counter()
        asyncio.run(run())
        wall = time.perf_counter() - t1
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    q = statistics.quantiles(lat, n=20) if len(lat) > 20 else [float("nan")] * 19
    print(f"store {store.dialect} ({len(ids)} sites); {a.clients} clients × {a.seconds:.0f} s: {len(lat)} requests, "
          f"{len(lat) / wall:.0f} req/s; p50 {1000 * statistics.median(lat):.0f} ms, p95 {1000 * q[18]:.0f} ms; "
          f"server errors {errors['5xx']}, other {errors['other']}, transport {errors['transport']}; "
          f"first page load ({', '.join(PAGE)}) {first:.2f} s; a site's evidence "
          f"{errors['evidence_bytes'] / max(errors['evidence_n'], 1) / 1e3:.0f} kB on average")


if __name__ == "__main__":
    main()
