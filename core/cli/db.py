"""``pazar db``: schema migrations."""

from __future__ import annotations

import click

from pazar.cli.context import app
from pazar.cli.output import emit, json_option, print_json
from pazar.db import current_revision, head_revision, redact_url


@click.group("db")
def db_group() -> None:
    """Database schema: show the revision, upgrade to the newest."""


@db_group.command("upgrade")
@json_option
def upgrade(as_json: bool) -> None:
    """Migrate the database to the newest schema revision (creates it if empty)."""
    before, after = app().db.upgrade()
    if as_json:
        print_json({"from": before, "to": after, "upgraded": before != after})
        return
    if before == after:
        click.echo(f"database already at revision {after}")
    else:
        click.echo(f"database upgraded from {before or 'empty'} to {after}")


@db_group.command("status")
@json_option
def status(as_json: bool) -> None:
    """Show the database URL (password hidden) and its revision."""
    database = app().db
    current = current_revision(database.engine)
    head = head_revision()
    data = {
        "url": redact_url(database.url),
        "revision": current,
        "head": head,
        "up_to_date": current == head,
    }
    emit(
        as_json,
        data,
        ["url", "revision", "newest", "up to date"],
        [[data["url"], current, head, current == head]],
    )


COMMANDS = [db_group]
