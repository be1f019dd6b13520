"""``pazar tokens``: API tokens for the HTTP trigger endpoint."""

from __future__ import annotations

import click

from pazar.cli.context import app
from pazar.cli.output import emit, json_option, print_json


@click.group("tokens")
def tokens() -> None:
    """Tokens for POST /flow-trigger/{channel}/{flow} (stored hashed)."""


@tokens.command("create")
@click.argument("name")
@json_option
def create(name: str, as_json: bool) -> None:
    """Create a token; it is printed once and cannot be shown again."""
    from pazar.tokens import create_token

    ctx = app()
    with ctx.db.session() as session:
        token = create_token(session, name, ctx.clock.now())
    if as_json:
        print_json({"name": name, "token": token})
        return
    click.echo(token)
    click.echo(f"token {name!r} created; store it now, pazar keeps only its hash", err=True)


@tokens.command("list")
@json_option
def list_command(as_json: bool) -> None:
    """Token names, when they were created and last used (never the tokens)."""
    from pazar.tokens import list_tokens

    with app().db.session() as session:
        rows = [
            {"name": t.name, "created_at": t.created_at, "last_used_at": t.last_used_at}
            for t in list_tokens(session)
        ]
    emit(
        as_json,
        rows,
        ("name", "created", "last used"),
        [(r["name"], r["created_at"], r["last_used_at"]) for r in rows],
        empty="no tokens",
    )


@tokens.command("revoke")
@click.argument("name")
@json_option
def revoke(name: str, as_json: bool) -> None:
    """Revoke a token: requests with it get 401 from now on."""
    from pazar.tokens import revoke_token

    with app().db.session() as session:
        revoke_token(session, name)
    if as_json:
        print_json({"revoked": name})
        return
    click.echo(f"token {name!r} revoked")


COMMANDS = [tokens]
