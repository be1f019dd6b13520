"""``pazar daemon``: run every enabled flow of every active channel on schedule."""

from __future__ import annotations

import signal
from typing import Any

import click

from core.cli.context import app


@click.command("daemon")
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True)
@click.option("--once", is_flag=True, help="Enqueue what is due now, run the queue empty, exit.")
@click.option(
    "--poll",
    "poll_seconds",
    type=click.FloatRange(0.1, 60),
    default=1.0,
    show_default=True,
    help="Seconds between scheduler passes (and idle worker polls).",
)
def daemon_command(workers: int, once: bool, poll_seconds: float) -> None:
    """Run scheduled flows and queued jobs until SIGTERM / Ctrl-C (exit 0).

    Schedules come from the flow files (`schedule:`) or the channel config's
    `schedules.<flow>` override; a flow runs only for active channels with its
    feature flag on. Several daemons may share one PostgreSQL database; SQLite
    serves one daemon.
    """
    from core.daemon import Daemon

    ctx = app()
    daemon = Daemon(
        ctx.db,
        ctx.registry,
        clock=ctx.clock,
        hook=ctx.plugins.hook,
        workers=workers,
        poll_seconds=poll_seconds,
        say=lambda msg: click.echo(msg, err=True),
    )
    if once:
        stats = daemon.run_once()
        click.echo(
            f"daemon --once: {stats.enqueued} jobs enqueued, {stats.runs} run, {stats.failed} failed"
        )
        return

    def stop(_signum: int, _frame: Any) -> None:
        click.echo("stopping: finishing the current runs", err=True)
        daemon.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    click.echo(
        f"pazar daemon {daemon.id}: {workers} workers, polling every {poll_seconds:g}s", err=True
    )
    stats = daemon.run_forever()
    click.echo(f"stopped after {stats.runs} runs ({stats.failed} failed)", err=True)


COMMANDS = [daemon_command]
