"""``pazar status``: daemons, the queue, running jobs, last runs, overdue schedules."""

from __future__ import annotations

import click

from pazar.cli.context import app
from pazar.cli.output import json_option, print_json, print_table


@click.command("status")
@json_option
def status_command(as_json: bool) -> None:
    """What the daemons are doing and what waits."""
    from pazar.flows.loader import load_flows
    from pazar.ops.status import daemon_status

    ctx = app()
    now = ctx.clock.now()
    with ctx.db.session() as session:
        data = daemon_status(session, load_flows(ctx.registry).all(), now)
    daemons, queue, running = data["daemons"], data["queue"], data["running"]
    last_runs, late, waiting = data["last_runs"], data["overdue"], data["waiting"]
    if as_json:
        print_json(data)
        return
    print_table(
        ("daemon", "host", "pid", "workers", "heartbeat"),
        [(d["id"], d["host"], d["pid"], d["workers"], d["heartbeat_at"]) for d in daemons],
        title="daemons",
        empty="no daemon running",
    )
    print_table(
        ("flow", "queued"),
        [(q["flow"], q["queued"]) for q in queue],
        title="queue",
        empty="queue empty",
    )
    print_table(
        ("job", "flow", "channel", "owner", "started"),
        [(r["job"], r["flow"], r["channel"], r["owner"], r["started_at"]) for r in running],
        title="running",
        empty="nothing running",
    )
    print_table(
        ("channel", "flow", "last run", "started", "last checked"),
        [
            (r["channel"], r["flow"], r["status"] or "-", r["started_at"] or "-", r["checked_at"])
            for r in last_runs
        ],
        title="last runs",
        empty="no runs yet",
    )
    print_table(
        ("channel", "flow", "due tick"),
        [(o["channel"], o["flow"], o["tick"]) for o in late],
        title="overdue schedules",
        empty="no overdue schedules",
    )
    print_table(
        ("channel", "content type", "waits for", "records"),
        [(w["channel"], w["content_type"], w["needs"], w["records"]) for w in waiting],
        title="waiting for another content type or for data (not penalised)",
        empty="nothing waits",
    )


COMMANDS = [status_command]
