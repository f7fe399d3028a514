"""``plumetrace orgs``, ``users``, ``tokens``: who may use the service (contract 8)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from plumetrace.cli._app import app
from plumetrace.cli._common import DB_HELP, handle_errors, out, print_json
from plumetrace.exceptions import InputError

orgs_app = typer.Typer(help="Organisations: the analysis organisation and partner authorities.", no_args_is_help=True)
users_app = typer.Typer(help="Users, each with one role in one organisation.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens (stored only as hashes; expiring, revocable).", no_args_is_help=True)
app.add_typer(orgs_app, name="orgs")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")


def _store(db):
    from plumetrace.store import Store

    return Store(db)


@orgs_app.command("add")
@handle_errors
def orgs_add_cmd(
    name: Annotated[str, typer.Argument(help="Organisation name (unique).")],
    partner: Annotated[bool, typer.Option("--partner", help="A partner authority (receives shared leads).")] = False,
    db: Annotated[str | None, typer.Option(help=DB_HELP)] = None,
) -> None:
    """Add an organisation."""
    from plumetrace.api.accounts import add_org

    oid = add_org(_store(db), name, partner)
    out.print(f"organisation {oid}: {name}{' (partner)' if partner else ''}")


@orgs_app.command("list")
@handle_errors
def orgs_list_cmd(
    db: Annotated[str | None, typer.Option(help=DB_HELP)] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """List the organisations."""
    from plumetrace.api.accounts import organisations

    orgs = organisations(_store(db))
    if json_output:
        print_json({"organisations": orgs})
        return
    table = Table(title="organisations", title_justify="left")
    for col in ("id", "name", "partner", "users"):
        table.add_column(col)
    for o in orgs:
        table.add_row(str(o["id"]), o["name"], "yes" if o["partner"] else "", str(o["users"]))
    out.print(table)


@users_app.command("add")
@handle_errors
def users_add_cmd(
    username: Annotated[str, typer.Argument(help="User name (unique).")],
    org: Annotated[str, typer.Option(help="Organisation name.")],
    role: Annotated[str, typer.Option(help="admin, analyst, reviewer or partner.")],
    db: Annotated[str | None, typer.Option(help=DB_HELP)] = None,
) -> None:
    """Add a user; the password is read from standard input (one line), never from the command line."""
    from plumetrace.api.accounts import add_user

    if sys.stdin is None or (sys.stdin.isatty() if hasattr(sys.stdin, "isatty") else False):
        import getpass

        password = getpass.getpass("password: ")
    else:
        password = (sys.stdin.readline() or "").rstrip("\r\n")
    if not password:
        raise InputError("no password on standard input (pipe it in: printf '%s\\n' \"$PW\" | plumetrace users add …)")
    uid = add_user(_store(db), username, org, role, password)
    out.print(f"user {uid}: {username} ({role}, {org})")


@tokens_app.command("create")
@handle_errors
def tokens_create_cmd(
    username: Annotated[str, typer.Argument(help="The user the token acts as.")],
    expires_days: Annotated[float, typer.Option(help="Lifetime [days].")] = 30.0,
    db: Annotated[str | None, typer.Option(help=DB_HELP)] = None,
) -> None:
    """Create an API token and print it once (only its hash is stored)."""
    from plumetrace.api.accounts import create_token

    sys.stdout.write(create_token(_store(db), username, expires_days) + "\n")


@tokens_app.command("revoke")
@handle_errors
def tokens_revoke_cmd(
    token: Annotated[str, typer.Argument(help="The token, or its first 10 characters.")],
    db: Annotated[str | None, typer.Option(help=DB_HELP)] = None,
) -> None:
    """Revoke a token."""
    from plumetrace.api.accounts import revoke_token

    n = revoke_token(_store(db), token)
    if n == 0:
        raise InputError("no active token matches")
    out.print(f"revoked {n} token(s)")
