"""``pazar users``: who may log in to the web dashboard, and with which role.

Passwords are read from a prompt (twice, not echoed) or, for scripts, from standard
input with ``--password-stdin``; never from an option, where they would end up in the
shell history and the process list.  Changes are kept in the web's audit log.
"""

from __future__ import annotations

import sys

import click

from pazar.cli.choice import Choice
from pazar.cli.context import app
from pazar.cli.output import emit, json_option
from pazar.errors import ValidationError
from pazar.models.web import ROLES


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():  # a prompt would read the password from a pipe, echoed
        raise ValidationError(
            "no terminal to ask for the password: pass it on standard input with --password-stdin"
        )
    return str(click.prompt("password", hide_input=True, confirmation_prompt=True))


def _who() -> str:
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@click.group("users")
def users_group() -> None:
    """Web dashboard users: viewer (reads), operator (changes but users and secrets), admin."""


@users_group.command("add")
@click.argument("username")
@click.option("--role", type=Choice(ROLES), default="viewer", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def add_cmd(username: str, role: str, password_stdin: bool) -> None:
    """Add a user (the password is asked for, at least 10 characters)."""
    from pazar.web.audit import record
    from pazar.web.auth import add_user

    password = _password(password_stdin)
    a = app()
    with a.db.session() as session:
        add_user(session, username, password, role, now=a.clock.now())
        record(
            session,
            who=_who(),
            action="user.add",
            target=username,
            changes=[{"key": "role", "new": role}],
            now=a.clock.now(),
        )
    click.echo(f"user {username} added ({role})")


@users_group.command("passwd")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def passwd_cmd(username: str, password_stdin: bool) -> None:
    """Set a user's password; the user's open sessions end."""
    from pazar.web.audit import record
    from pazar.web.auth import get_user, set_password

    a = app()
    with a.db.session() as session:
        get_user(session, username)  # an unknown name fails before the prompt
    password = _password(password_stdin)
    with a.db.session() as session:
        set_password(session, username, password, now=a.clock.now())
        record(session, who=_who(), action="user.passwd", target=username, now=a.clock.now())
    click.echo(f"password of {username} changed; their sessions have ended")


@users_group.command("role")
@click.argument("username")
@click.argument("role", type=Choice(ROLES))
def role_cmd(username: str, role: str) -> None:
    """Give a user another role; the user's open sessions end."""
    from pazar.web.audit import record
    from pazar.web.auth import set_role

    a = app()
    with a.db.session() as session:
        old, new = set_role(session, username, role, now=a.clock.now())
        record(
            session,
            who=_who(),
            action="user.role",
            target=username,
            changes=[{"key": "role", "old": old, "new": new}],
            now=a.clock.now(),
        )
    click.echo(f"{username}: {old} → {new}")


@users_group.command("delete")
@click.argument("username")
def delete_cmd(username: str) -> None:
    """Delete a user (their sessions end at once)."""
    from pazar.web.audit import record
    from pazar.web.auth import delete_user

    a = app()
    with a.db.session() as session:
        delete_user(session, username)
        record(session, who=_who(), action="user.delete", target=username, now=a.clock.now())
    click.echo(f"user {username} deleted")


@users_group.command("list")
@json_option
def list_cmd(as_json: bool) -> None:
    """Users with their role and last log-in (never a password)."""
    from pazar.web.auth import list_users, user_view

    a = app()
    with a.db.session() as session:
        users = [user_view(u) for u in list_users(session)]
    emit(
        as_json,
        users,
        ("user", "role", "created", "last log-in"),
        [(u["username"], u["role"], u["created_at"], u["last_login_at"]) for u in users],
        empty="no web users yet: pazar users add NAME --role admin",
    )


COMMANDS = [users_group]
