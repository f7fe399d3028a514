"""Load on the service: N concurrent clients for T seconds reading sites and site evidence, on 127.0.0.1.

    python benchmarks/service_load.py --db sqlite:///plumetrace-demo/plumetrace.db [--clients 200] [--seconds 60]

The store is copied (SQLite) or used as given (PostgreSQL URL); an analyst and a token are added; uvicorn serves
the app in this process's thread; httpx clients (asyncio) each loop: GET /api/v1/sites, then the evidence of one
of its sites. Prints requests, server errors (5xx), other failures, throughput and p50/p95 latency, and the time
of the page's first load (``/`` and ``/api/v1/map``). A benchmark, not a unit test.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path


def _serve(url: str):
    import uvicorn

    from plumetrace.api.app import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(url, run_jobs=False), host="127.0.0.1", port=port,
                                           log_level="error", backlog=4096))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


async def _client(base, headers, ids, stop, lat, errors):
    import httpx

    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as c:
        k = 0
        while time.monotonic() < stop:
            for path in ("/api/v1/sites", f"/api/v1/sites/{ids[k % len(ids)]}/evidence"):
                t0 = time.perf_counter()
                try:
                    r = await c.get(path)
                    if r.status_code >= 500:
                        errors["5xx"] += 1
                    elif r.status_code != 200:
                        errors["other"] += 1
                except httpx.HTTPError:
                    errors["transport"] += 1
                lat.append(time.perf_counter() - t0)
            k += 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True, help="store URL (SQLite: copied first)")
    ap.add_argument("--clients", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=60.0)
    a = ap.parse_args()
    import httpx

    from plumetrace.api.accounts import add_org, add_user, create_token
    from plumetrace.store import Store

    url = a.db
    if url.startswith("sqlite:///"):
        tmp = Path(tempfile.mkdtemp(prefix="plumetrace-load-"))
        shutil.copy(url.removeprefix("sqlite:///"), tmp / "store.db")
        url = f"sqlite:///{tmp / 'store.db'}"
    store = Store(url)
    name = f"load{int(time.time())}"
    add_org(store, name)
    add_user(store, name, name, "analyst", "load benchmark passphrase")
    headers = {"Authorization": "Bearer " + create_token(store, name, 1)}
    server, base = _serve(url)
    t0 = time.perf_counter()
    httpx.get(base + "/", timeout=30)
    httpx.get(base + "/api/v1/map", headers=headers, timeout=30)
    first = time.perf_counter() - t0
    ids = [s["id"] for s in httpx.get(base + "/api/v1/sites", headers=headers).json()["sites"]] or [1]
    lat, errors = [], {"5xx": 0, "other": 0, "transport": 0}
    stop = time.monotonic() + a.seconds

    async def run():
        await asyncio.gather(*(_client(base, headers, ids, stop, lat, errors) for _ in range(a.clients)))

    t1 = time.perf_counter()
    asyncio.run(run())
    wall = time.perf_counter() - t1
    server.should_exit = True
    q = statistics.quantiles(lat, n=20) if len(lat) > 20 else [float("nan")] * 19
    print(f"store {store.dialect}; {a.clients} clients × {a.seconds:.0f} s: {len(lat)} requests, "
          f"{len(lat) / wall:.0f} req/s; p50 {1000 * statistics.median(lat):.0f} ms, p95 {1000 * q[18]:.0f} ms; "
          f"server errors {errors['5xx']}, other {errors['other']}, transport {errors['transport']}; "
          f"first page load (/ + /api/v1/map) {first:.2f} s")


if __name__ == "__main__":
    main()
