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
) -> None:
    """Serve the REST API (OpenAPI at /openapi.json) on the store; tokens from `plumetrace tokens create`."""
    import uvicorn

    from plumetrace.api.app import create_app

    if not host.strip():
        raise InputError("--host must name an address (127.0.0.1 by default)")
    application = create_app(db)
    err.print(f"plumetrace API on http://{host}:{port} (store {application.state.store.url_safe}); Ctrl-C stops it")
    uvicorn.run(application, host=host, port=port, log_level="warning")
