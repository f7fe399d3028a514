"""``plumetrace serve``: the REST API on a store (contract 8)."""

from __future__ import annotations

from typing import Annotated

import typer

from plumetrace.cli._app import app
from plumetrace.cli._common import DB_HELP, err, handle_errors
from plumetrace.exceptions import InputError


@app.command("serve")
@handle_errors
def serve_cmd(
    db: Annotated[str | None, typer.Option(help=DB_HELP)] = None,
    host: Annotated[str, typer.Option(help="Address to listen on (loopback unless told otherwise).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(help="Dask worker processes for uploaded surveys.", min=1)] = 1,
    scheduler: Annotated[str | None, typer.Option(help="An existing Dask scheduler (tcp://HOST:PORT) instead.")]
    = None,
    secure_cookies: Annotated[bool, typer.Option("--secure-cookies", help="Mark the session cookie Secure (behind "
                                                                          "HTTPS).")] = False,
) -> None:
    """Serve the REST API (OpenAPI at /openapi.json) and the web map at / on the store."""
    import uvicorn

    from plumetrace.api.app import create_app

    if not host.strip():
        raise InputError("--host must name an address (127.0.0.1 by default)")
    if scheduler:
        from plumetrace.pipeline import check_scheduler_address

        scheduler = check_scheduler_address(scheduler)
    application = create_app(db, workers=workers, scheduler=scheduler, secure_cookies=secure_cookies)
    err.print(f"plumetrace on http://{host}:{port}/ (web map; API under /api/v1; store "
              f"{application.state.store.url_safe}); Ctrl-C stops it")
    uvicorn.run(application, host=host, port=port, log_level="warning")


store_app = typer.Typer(help="The store itself: copy it onto another back end.", no_args_is_help=True)
app.add_typer(store_app, name="store")


@store_app.command("copy")
@handle_errors
def store_copy_cmd(
    source: Annotated[str, typer.Option("--from", help="The store to copy (e.g. sqlite:///plumetrace-demo/plumetrace.db).")],
    target: Annotated[str, typer.Option("--to", help="An empty store to copy it into (e.g. postgresql://USER@HOST/DB).")],
) -> None:
    """Copy every row of one store into an empty one: a field laptop's SQLite store onto the team's PostgreSQL."""
    from pathlib import Path

    from plumetrace.store import Store, resolve_url
    from plumetrace.store.transfer import copy_store

    url = resolve_url(source)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        raise InputError(f"--from {source!r}: no such store file")
    src, dst = Store(source, upgrade=False), Store(target)
    if src.revision() is None:
        raise InputError(f"--from {src.url_safe}: not a plumetrace store (no schema revision)")
    src.upgrade()
    counts = copy_store(src, dst)
    err.print(f"copied {sum(counts.values())} rows ({counts.get('surveys', 0)} surveys, {counts.get('sites', 0)} "
              f"sites, {counts.get('leads', 0)} leads, {counts.get('audit_log', 0)} audit entries) from "
              f"{src.url_safe} to {dst.url_safe}")
