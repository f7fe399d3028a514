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
