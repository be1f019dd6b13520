"""``pazar status``: daemons, the queue, running jobs, last runs, overdue schedules.

The command answers in a fraction of a second (issue 19): when the flow summary on disk
(:mod:`pazar.flows.summary`) is current and the database is at the newest revision, it
reads with the database driver alone (:mod:`pazar.status_reads`), importing neither
SQLAlchemy, the models nor any plugin.  Otherwise it goes the ordinary way (the database
through :class:`pazar.db.Database`, which migrates an empty one and words every refusal;
the flows loaded and checked) and leaves the summary for the next time.  Both ways run
the same queries and print the same.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from pazar.cli.context import AppContext, app
from pazar.cli.output import json_option, print_json, print_table


def quick_status(ctx: AppContext, now: datetime) -> dict[str, Any] | None:
    """The status read with the driver alone, or None when that cannot be trusted to say
    what the ordinary way would (no current flow summary, a database that is not plainly
    at the newest revision, a URL or an error only SQLAlchemy words)."""
    if ctx._db is not None or ctx._plugins is not None:
        return None  # a caller supplied its own database or plugins: use them
    from pazar.flows.summary import recall

    flows = recall()
    if flows is None:
        return None
    from pazar.db_driver import (
        REVISION_QUERY,
        PlainConnectError,
        database_url,
        is_newest_revision,
        open_plain,
    )
    from pazar.status_reads import STATUS_STATEMENTS, status_from_rows

    url = database_url()
    try:
        conn = open_plain(url)
    except PlainConnectError as exc:
        from pazar.db import redact_url
        from pazar.errors import DatabaseError

        raise DatabaseError(f"cannot open the database {redact_url(url)}: {exc}") from None
    if conn is None:
        return None
    try:
        # The revision check goes out with the reads (one round trip on PostgreSQL); the
        # reads count only when the revision is the newest, and a read that fails on an
        # older or newer schema sends the status the ordinary way, as a wrong one does.
        found, *rows = conn.batch([(REVISION_QUERY, ()), *STATUS_STATEMENTS])
        if not is_newest_revision(found):
            return None
        return status_from_rows(conn, rows, flows, now)
    except conn.error:
        return None  # the ordinary way fails with its own message, or succeeds
    finally:
        conn.dbapi.close()


def full_status(ctx: AppContext, now: datetime) -> dict[str, Any]:
    """The status through the database session and the loaded flows; keeps the flow
    summary for :func:`quick_status` when the load went without warnings."""
    from pazar.cachedir import cache_dir
    from pazar.flows import summary
    from pazar.flows.loader import load_flows
    from pazar.ops.status import daemon_status

    with ctx.db.session() as session:
        plugins = ctx.plugins
        inputs: dict[str, Any] | None = None
        if not plugins.warnings and cache_dir() is not None:
            try:
                inputs = summary.describe(plugins)
                state = summary.observe(inputs)
            except Exception:  # noqa: BLE001 - a plugin we cannot describe: no summary
                inputs = None
        flows = load_flows(ctx.registry).all()
        data = daemon_status(session, flows, now)
    if inputs is not None:
        summary.remember(inputs, state, flows)
    return data


@click.command("status")
@json_option
def status_command(as_json: bool) -> None:
    """What the daemons are doing and what waits."""
    ctx = app()
    now = ctx.clock.now()
    data = quick_status(ctx, now)
    if data is None:
        data = full_status(ctx, now)
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
