"""``pazar alarms``: rules that notify by e-mail and webhook (seed 7.3), and their history."""

from __future__ import annotations

import click

from pazar.cli.context import app
from pazar.cli.numbers import Integer, Number
from pazar.cli.output import emit, fmt, json_option, print_json, print_table


@click.group("alarms")
def alarms_group() -> None:
    """Alarm rules: error rate, average flow time, exhausted penalties, expired batch requests,
    overdue schedules, daemon heartbeat. Daemons evaluate them about once a minute."""


def _flows() -> object:
    from pazar.flows.loader import load_flows

    return load_flows(app().registry)


@alarms_group.command("add")
@click.argument("name")
@click.option(
    "--kind",
    required=True,
    help="error_rate, flow_time, penalties_exhausted, batches_expired, schedule_overdue, "
    "daemon_heartbeat.",
)
@click.option("--channel", default=None, help="Only this channel (default: every channel).")
@click.option("--flow", default=None, help="Only this flow, as plugin/flow (default: every flow).")
@click.option(
    "--threshold",
    type=Number(),
    default=None,
    help="Fires when the value is above this: errors (error_rate), seconds (flow_time, "
    "daemon_heartbeat, default 120), a count (the others, default 0).",
)
@click.option(
    "--interval",
    default=None,
    help="The time window (error_rate, flow_time, batches_expired; default 1h) or the grace "
    "before a schedule counts as overdue (default 10m): 30s, 5m, 1h, 1d.",
)
@click.option(
    "--repeat", default=None, help="Notify again this often while it holds (default: never)."
)
@click.option("--email", "emails", multiple=True, help="A recipient (repeatable).")
@click.option("--webhook", "webhooks", multiple=True, help="A URL to POST JSON to (repeatable).")
@click.option(
    "--webhook-token",
    default=None,
    help="env:NAME of a variable holding a token sent as 'Authorization: Bearer'.",
)
def add_cmd(
    name: str,
    kind: str,
    channel: str | None,
    flow: str | None,
    threshold: float | None,
    interval: str | None,
    repeat: str | None,
    emails: tuple[str, ...],
    webhooks: tuple[str, ...],
    webhook_token: str | None,
) -> None:
    """Add an alarm rule NAME."""
    from pazar.ops.alarms import RuleInput, add_rule, condition_text

    ctx = app()
    spec = RuleInput(
        name=name,
        kind=kind,
        channel=channel,
        flow=flow,
        threshold=threshold,
        interval=interval,
        repeat=repeat,
        emails=emails,
        webhooks=webhooks,
        webhook_token=webhook_token,
    )
    flows = _flows()
    with ctx.db.session() as session:
        rule = add_rule(session, spec, flows=flows, now=ctx.clock.now())
        text = condition_text(rule)
    click.echo(f"alarm {name}: {text}")


@alarms_group.command("list")
@json_option
def list_cmd(as_json: bool) -> None:
    """Every rule, its condition and whether it fires now."""
    from pazar.ops.alarms import channel_slugs, list_rules, rule_view

    ctx = app()
    with ctx.db.session() as session:
        slugs = channel_slugs(session)
        views = [rule_view(rule, slugs) for rule in list_rules(session)]
    emit(
        as_json,
        views,
        ("name", "kind", "channel", "flow", "condition", "state", "last value", "notify"),
        [
            (
                v["name"],
                v["kind"],
                v["channel"] or "*",
                v["flow"] or "*",
                v["condition"],
                v["state"] + (f" since {fmt(v['firing_since'])}" if v["firing_since"] else ""),
                v["last_value"],
                ", ".join([*v["emails"], *(h["url"] for h in v["webhooks"])]),
            )
            for v in views
        ],
        empty="no alarms; add one with `pazar alarms add NAME --kind ... --email ...`",
    )


@alarms_group.command("show")
@click.argument("name")
@click.option("--limit", type=Integer(1, 1000), default=20, show_default=True)
@json_option
def show_cmd(name: str, limit: int, as_json: bool) -> None:
    """A rule and its last notices (fire, repeat, resolve, test) with their deliveries."""
    from pazar.ops.alarms import channel_slugs, events, get_rule, rule_view

    ctx = app()
    with ctx.db.session() as session:
        rule = get_rule(session, name)
        view = rule_view(rule, channel_slugs(session))
        view["events"] = [
            {
                "event": e.event,
                "at": e.at,
                "value": e.value,
                "message": e.message,
                "deliveries": e.deliveries,
            }
            for e in events(session, rule.id, limit)
        ]
    if as_json:
        print_json(view)
        return
    from pazar.ops.alarms import human_duration

    for key in ("name", "kind", "channel", "flow", "condition"):
        click.echo(f"{key:15} {fmt(view[key]) or '-'}")
    click.echo(f"{'repeat':15} {human_duration(view['repeat_seconds'])}")
    since = f" since {fmt(view['firing_since'])} UTC" if view["firing_since"] else ""
    click.echo(f"{'state':15} {view['state']}{since}")
    click.echo(f"{'notify':15} {', '.join(view['emails'] + [h['url'] for h in view['webhooks']])}")
    print_table(
        ("at", "event", "value", "deliveries"),
        [
            (
                e["at"],
                e["event"],
                e["value"],
                "; ".join(f"{d['to']}: {'ok' if d['ok'] else d['error']}" for d in e["deliveries"]),
            )
            for e in view["events"]
        ],
        title="history",
        empty="no notices yet",
    )


@alarms_group.command("delete")
@click.argument("name")
def delete_cmd(name: str) -> None:
    """Delete a rule and its history."""
    from pazar.ops.alarms import delete_rule

    ctx = app()
    with ctx.db.session() as session:
        delete_rule(session, name)
    click.echo(f"alarm {name} deleted")


@alarms_group.command("test")
@click.argument("name")
def test_cmd(name: str) -> None:
    """Send a test notice of NAME to its recipients now (exit 1 if a delivery failed)."""
    from pazar.errors import PazarError
    from pazar.ops.alarms import send_test

    ctx = app()
    deliveries = send_test(ctx.db, name, now=ctx.clock.now(), flows=_flows())
    for d in deliveries:
        click.echo(f"{d['via']} {d['to']}: {'sent' if d['ok'] else 'FAILED: ' + d['error']}")
    if not all(d["ok"] for d in deliveries):
        raise PazarError(f"alarm {name}: some test notices were not delivered")


@alarms_group.command("evaluate")
@json_option
def evaluate_cmd(as_json: bool) -> None:
    """Evaluate every rule once now and send what is due (a running daemon does this
    about once a minute)."""
    from pazar.ops.alarms import evaluate_all

    ctx = app()
    outcomes = evaluate_all(ctx.db, now=ctx.clock.now(), flows=_flows())
    data = [vars(o) for o in outcomes]
    emit(
        as_json,
        data,
        ("alarm", "holds", "value", "notice", "deliveries"),
        [
            (
                o.rule,
                o.holds,
                o.value,
                o.event or "-",
                "; ".join(f"{d['to']}: {'ok' if d['ok'] else d['error']}" for d in o.deliveries),
            )
            for o in outcomes
        ],
        empty="no alarms",
    )


COMMANDS = [alarms_group]
