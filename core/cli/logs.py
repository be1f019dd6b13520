"""``pazar logs``: the seed's Monitoring/Logs screen — runs, then one run's records."""

from __future__ import annotations

import click

from pazar.cli.choice import Choice
from pazar.cli.context import app
from pazar.cli.numbers import Integer
from pazar.cli.output import emit, json_option, print_table
from pazar.ops.runs import (
    STATUSES,
    RunFilter,
    check_channel,
    check_flow,
    list_runs,
    parse_since,
    run_detail,
)

__all__ = ["STATUSES", "parse_since"]  # kept importable from here for older callers


@click.group("logs", invoke_without_command=True)
@click.option("--channel", "slug", help="Only this channel.")
@click.option("--flow", "flow", help="Only this flow (PLUGIN/FLOW or FLOW).")
@click.option("--status", type=Choice(STATUSES), help="Only runs with this status.")
@click.option("--since", help="Only runs started since: 30m, 2h, 1d or an ISO date.")
@click.option("--sku", help="Only runs with a log line about this record (SKU or key).")
@click.option("--limit", type=Integer(min=1), default=50, show_default=True)
@json_option
@click.pass_context
def logs(
    ctx: click.Context,
    slug: str | None,
    flow: str | None,
    status: str | None,
    since: str | None,
    sku: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Runs, newest first; `pazar logs show RUN_ID` for one run's record log."""
    if ctx.invoked_subcommand is not None:
        return
    a = app()
    filters = RunFilter(
        channel=slug,
        flow=flow,
        status=status,
        since=parse_since(since, a.clock.now()) if since else None,
        sku=sku,
    )
    with a.db.session() as session:
        if slug:
            check_channel(session, slug)
        if flow:
            check_flow(session, a.registry, flow)
        runs = list_runs(session, filters, limit=limit)
    emit(
        as_json,
        runs,
        (
            "run",
            "job",
            "flow",
            "channel",
            "trigger",
            "status",
            "started",
            "took",
            "read",
            "sent",
            "ok",
            "failed",
            "skipped",
        ),
        [
            (
                r["id"],
                r["job_id"],
                r["flow"],
                r["channel"],
                r["trigger"],
                r["status"],
                r["started_at"],
                f"{(r['duration_ms'] or 0) / 1000:.1f}s",
                r["read"],
                r["sent"],
                r["succeeded"],
                r["failed"],
                r["skipped"],
            )
            for r in runs
        ],
        empty="no runs yet",
    )


@logs.command("show")
@click.argument("run_id", type=Integer())
@click.option("--level", type=Choice(("debug", "info", "warning", "error")), help="Minimum level.")
@click.option("--limit", type=Integer(min=1), default=1000, show_default=True)
@json_option
def show(run_id: int, level: str | None, limit: int, as_json: bool) -> None:
    """One run: its counts and its per-record log."""
    a = app()
    with a.db.session() as session:
        run = run_detail(session, run_id, level=level, limit=limit)
    entries = run.pop("entries")
    if as_json:
        emit(True, {**run, "entries": entries})
        return
    print_table(
        ("field", "value"),
        [(k, v) for k, v in run.items()],
        title=f"run {run_id}",
    )
    print_table(
        ("object", "level", "message"),
        [(e["object_id"], e["level"], e["message"]) for e in entries],
        empty="no log entries",
    )


COMMANDS = [logs]
