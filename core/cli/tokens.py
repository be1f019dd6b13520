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
@click.option(
    "--channel",
    "channels",
    multiple=True,
    metavar="SLUG",
    help="Only for this channel (repeatable; default: any channel).",
)
@click.option(
    "--flow",
    "flows",
    multiple=True,
    metavar="FLOW",
    help="Only this flow, by name or plugin/flow (repeatable; default: any flow).",
)
@json_option
def create(name: str, channels: tuple[str, ...], flows: tuple[str, ...], as_json: bool) -> None:
    """Create a token; it is printed once and cannot be shown again."""
    from pazar.tokens import create_token

    ctx = app()
    with ctx.db.session() as session:
        _check_scope(session, channels, flows)
        token = create_token(session, name, ctx.clock.now(), channels=channels, flows=flows)
    if as_json:
        print_json({"name": name, "token": token, "channels": list(channels), "flows": list(flows)})
        return
    click.echo(token)
    scope = ""
    if channels or flows:
        scope = (
            f", limited to channels {', '.join(channels) or 'any'}"
            f" and flows {', '.join(flows) or 'any'}"
        )
    click.echo(f"token {name!r} created{scope}; store it now, pazar keeps only its hash", err=True)


def _check_scope(session: object, channels: tuple[str, ...], flows: tuple[str, ...]) -> None:
    """A scope naming a channel or flow that does not exist is a typo: refuse it."""
    from sqlalchemy import select

    from pazar.errors import ValidationError
    from pazar.flows.loader import load_flows
    from pazar.models.channels import Channel
    from pazar.suggest import did_you_mean

    problems = []
    plugin_of: dict[str, str] = dict(
        session.execute(select(Channel.slug, Channel.plugin)).all()  # type: ignore[attr-defined]
    )
    if channels:
        problems += [
            f"--channel {c!r}: no such channel{did_you_mean(c, list(plugin_of))}"
            for c in channels
            if c not in plugin_of
        ]
    if flows:
        refs = [f.ref for f in load_flows(app().registry).all()]
        names = sorted({r.split("/", 1)[1] for r in refs} | set(refs))
        problems += [
            f"--flow {f!r}: no such flow{did_you_mean(f, names)}" for f in flows if f not in names
        ]
        # A flow of one marketplace never runs on another's channel: such a scope opens
        # nothing, which its holder would find out only when every call is refused.
        plugins = {plugin_of[c] for c in channels if c in plugin_of}
        for f in flows:
            if not plugins or f not in names:
                continue
            runs_on = {r.split("/", 1)[0] for r in refs if f in (r, r.split("/", 1)[1])}
            if not runs_on & plugins:
                scoped = ", ".join(f"{c} ({plugin_of[c]})" for c in channels if c in plugin_of)
                problems.append(f"--flow {f!r} runs on no channel of the scope: {scoped}")
    if problems:
        raise ValidationError("token not created", details=problems)


@tokens.command("list")
@json_option
def list_command(as_json: bool) -> None:
    """Token names, scopes, when they were created and last used (never the tokens)."""
    from pazar.tokens import list_tokens

    with app().db.session() as session:
        rows = [
            {
                "name": t.name,
                "channels": t.channels,
                "flows": t.flows,
                "created_at": t.created_at,
                "last_used_at": t.last_used_at,
            }
            for t in list_tokens(session)
        ]
    emit(
        as_json,
        rows,
        ("name", "channels", "flows", "created", "last used"),
        [
            (
                r["name"],
                ", ".join(r["channels"]) if r["channels"] else "any",
                ", ".join(r["flows"]) if r["flows"] else "any",
                r["created_at"],
                r["last_used_at"],
            )
            for r in rows
        ],
        empty="no tokens",
    )


@tokens.command("revoke")
@click.argument("name")
@json_option
def revoke(name: str, as_json: bool) -> None:
    """Revoke a token: requests with it get 401 from now on (the audit trail keeps it)."""
    from pazar.tokens import revoke_token

    ctx = app()
    with ctx.db.session() as session:
        revoke_token(session, name, ctx.clock.now())
    if as_json:
        print_json({"revoked": name})
        return
    click.echo(f"token {name!r} revoked")


@tokens.command("history")
@click.argument("name", required=False)
@json_option
def history(name: str | None, as_json: bool) -> None:
    """When tokens were created and revoked, with their scopes (kept after revocation)."""
    from pazar.tokens import token_events

    with app().db.session() as session:
        rows = [
            {"token": e.token_name, "event": e.event, "at": e.created_at, "detail": e.detail}
            for e in token_events(session, name)
        ]
    emit(
        as_json,
        rows,
        ("token", "event", "at", "channels", "flows"),
        [
            (
                r["token"],
                r["event"],
                r["at"],
                ", ".join(r["detail"].get("channels") or []) or "any",
                ", ".join(r["detail"].get("flows") or []) or "any",
            )
            for r in rows
        ],
        empty="no token events",
    )


COMMANDS = [tokens]
