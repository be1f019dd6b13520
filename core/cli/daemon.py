"""``pazar daemon``: run every enabled flow of every active channel on schedule."""

from __future__ import annotations

import signal
import sys
from datetime import timedelta
from typing import Any

import click

from pazar import logformat
from pazar.cli.choice import Choice
from pazar.cli.context import app
from pazar.cli.numbers import Integer, Number
from pazar.cli.output import print_json
from pazar.jobs.queue import DEFAULT_LEASE_SECONDS
from pazar.jobs.retention import DEFAULT_KEEP_JOBS, DEFAULT_KEEP_RUNS
from pazar.logformat import FORMATS, LEVELS


def _keep_days(what: str, rows: str) -> Any:
    default = DEFAULT_KEEP_JOBS if what == "jobs" else DEFAULT_KEEP_RUNS
    return click.option(
        f"--keep-{what}-days",
        type=Integer(1, 3650),
        default=default.days,
        show_default=True,
        help=f"Days {rows} are kept before pruning.",
    )


def _tls_options(command: Any) -> Any:
    """--tls-cert/--tls-key: serve HTTPS (both or neither; docs/daemon.md has a proxy recipe)."""
    command = click.option(
        "--tls-key", type=click.Path(exists=True, dir_okay=False), help="TLS private key (PEM)."
    )(command)
    return click.option(
        "--tls-cert",
        type=click.Path(exists=True, dir_okay=False),
        help="TLS certificate (PEM); with --tls-key the API is served over HTTPS.",
    )(command)


@click.command("daemon")
@click.option("--workers", type=Integer(1, 64), default=2, show_default=True)
@click.option("--once", is_flag=True, help="Enqueue what is due now, run the queue empty, exit.")
@click.option(
    "--poll",
    "poll_seconds",
    type=Number(0.1, 60),
    default=1.0,
    show_default=True,
    help="Seconds between scheduler passes (and idle worker polls).",
)
@click.option(
    "--lease-seconds",
    type=Integer(1, 3600),
    default=DEFAULT_LEASE_SECONDS,
    show_default=True,
    help="How long a job stays leased without a heartbeat: a killed daemon's jobs are "
    "taken over by another daemon after this long.",
)
@click.option(
    "--wake-window",
    type=Number(0, 3600),
    default=3.0,
    show_default=True,
    help="Seconds from a stock, price or product change to the run of the flows that send "
    "it (changes within them go out together); a flow may ask for longer (wake_window:).",
)
@click.option(
    "--http",
    "http",
    metavar="HOST:PORT",
    help="Also serve the flow-trigger API and the web dashboard (/ui/).",
)
@_tls_options
@_keep_days("jobs", "finished jobs and schedule ticks")
@_keep_days("runs", "finished runs and their logs, ended batch requests and their items")
@click.option("--no-prune", is_flag=True, help="Never prune (e.g. another daemon or cron does).")
@click.option(
    "--log-format",
    type=Choice(FORMATS),
    default="text",
    show_default=True,
    help="Log lines on stderr: text, or one JSON object per line with channel, flow, job, "
    "run and status fields.",
)
@click.option(
    "--log-level",
    type=Choice(LEVELS),
    default="info",
    show_default=True,
    help="Lowest level logged (info: one line per job; warning: failures only).",
)
@click.option("--json", "as_json", is_flag=True, help="With --once: print the counts as JSON.")
def daemon_command(
    workers: int,
    once: bool,
    poll_seconds: float,
    lease_seconds: int,
    wake_window: float,
    http: str | None,
    keep_jobs_days: int,
    keep_runs_days: int,
    no_prune: bool,
    log_format: str,
    log_level: str,
    as_json: bool,
    tls_cert: str | None,
    tls_key: str | None,
) -> None:
    """Run scheduled flows and queued jobs until SIGTERM / Ctrl-C (exit 0).

    With --once, exit codes as `pazar run`'s: 0 every job went well, 1 a job
    stopped (an outage, queued again; an error), 3 some records failed.

    Schedules come from the flow files (`schedule:`) or the channel config's
    `schedules.<flow>` override; a flow runs only for active channels with its
    feature flag on. Several daemons may share one PostgreSQL database; SQLite
    serves one daemon.
    """
    from pazar.daemon import Retention

    ctx = app()
    retention = (
        None
        if no_prune
        else Retention(jobs=timedelta(days=keep_jobs_days), runs=timedelta(days=keep_runs_days))
    )
    restore = logformat.configure(log_format, "debug" if ctx.debug else log_level)
    try:
        _run_daemon(
            ctx,
            workers,
            once,
            poll_seconds,
            lease_seconds,
            http,
            retention,
            as_json,
            tls=(tls_cert, tls_key),
            wake_window=wake_window,
        )
    finally:
        restore()


def _run_daemon(
    ctx: Any,
    workers: int,
    once: bool,
    poll_seconds: float,
    lease_seconds: int,
    http: str | None,
    retention: Any,
    as_json: bool = False,
    tls: tuple[str | None, str | None] = (None, None),
    wake_window: float | None = None,
) -> None:
    from pazar.daemon import Daemon
    from pazar.jobs.wake import DEFAULT_WINDOW

    daemon = Daemon(
        ctx.db,
        ctx.registry,
        clock=ctx.clock,
        hook=ctx.plugins.hook,
        workers=workers,
        poll_seconds=poll_seconds,
        lease_seconds=lease_seconds,
        retention=retention,
        wake_window=DEFAULT_WINDOW if wake_window is None else wake_window,
    )
    if once:
        stats = daemon.run_once()
        if as_json:
            print_json(
                {
                    "enqueued": stats.enqueued,
                    "runs": stats.runs,
                    "failed": stats.failed,
                    "partial": stats.partial,
                }
            )
        else:
            partial = f", {stats.partial} with failed records" if stats.partial else ""
            click.echo(
                f"daemon --once: {stats.enqueued} jobs enqueued, {stats.runs} run, "
                f"{stats.failed} failed{partial}"
            )
        sys.exit(once_exit_code(stats))

    def stop(_signum: int, _frame: Any) -> None:
        daemon.report("stopping: finishing the current runs")
        daemon.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server = _serve_http(http, daemon.report, *tls) if http else None
    daemon.report(
        f"pazar daemon {daemon.id}: {workers} workers, polling every {poll_seconds:g}s",
        daemon=daemon.id,
    )
    try:
        stats = daemon.run_forever()
    finally:
        if server is not None:
            server.stop()
    daemon.report(f"stopped after {stats.runs} runs ({stats.failed} failed)", daemon=daemon.id)


def once_exit_code(stats: Any) -> int:
    """``pazar run``'s codes over every job, so a cron job sees what went wrong: 1 when a
    job stopped (an outage, retried later, or an error), else 3 when some records failed."""
    from pazar.cli.run import EXIT_OK, EXIT_RECORDS_FAILED, EXIT_RUN_ERROR

    if stats.failed:
        return EXIT_RUN_ERROR
    return EXIT_RECORDS_FAILED if stats.partial else EXIT_OK


def _address(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise click.BadParameter(f"{value!r}: expected HOST:PORT, e.g. 127.0.0.1:8080")
    return host or "127.0.0.1", int(port)


def _check_tls(host: str, tls_cert: str | None, tls_key: str | None) -> None:
    from pazar.errors import ValidationError
    from pazar.http_guard import exposure_warning

    if bool(tls_cert) != bool(tls_key):
        raise ValidationError("--tls-cert and --tls-key go together: give both or neither")
    warning = exposure_warning(host, bool(tls_cert))
    if warning:
        click.echo(warning, err=True)


def _serve_http(
    address: str, say: Any, tls_cert: str | None = None, tls_key: str | None = None
) -> Any:
    from pazar.http_trigger import create_app
    from pazar.sandbox_server import serve_in_thread

    ctx = app()
    host, port = _address(address)
    _check_tls(host, tls_cert, tls_key)
    server = serve_in_thread(
        create_app(
            ctx.db, ctx.registry, clock=ctx.clock, hook=ctx.plugins.hook, https=bool(tls_cert)
        ),
        host=host,
        port=port,
        ssl_certfile=tls_cert,
        ssl_keyfile=tls_key,
    )
    say(f"flow-trigger API at {server.url}/flow-trigger/<channel>/<flow>")
    say(f"web dashboard at {server.url}/ui/ (users: pazar users add)")
    return server


@click.command("serve")
@click.option("--http", "http", metavar="HOST:PORT", required=True, help="Where to listen.")
@_tls_options
def serve_command(http: str, tls_cert: str | None, tls_key: str | None) -> None:
    """Serve only the flow-trigger API (jobs are run by a daemon)."""
    import uvicorn

    from pazar.http_trigger import create_app

    ctx = app()
    host, port = _address(http)
    _check_tls(host, tls_cert, tls_key)
    scheme = "https" if tls_cert else "http"
    click.echo(
        f"flow-trigger API at {scheme}://{host}:{port}/flow-trigger/<channel>/<flow>", err=True
    )
    uvicorn.run(
        create_app(
            ctx.db, ctx.registry, clock=ctx.clock, hook=ctx.plugins.hook, https=bool(tls_cert)
        ),
        host=host,
        port=port,
        log_level="warning",
        ssl_certfile=tls_cert,
        ssl_keyfile=tls_key,
    )


@click.command("prune")
@_keep_days("jobs", "finished jobs and schedule ticks")
@_keep_days("runs", "finished runs and their logs, ended batch requests and their items")
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
def prune_command(keep_jobs_days: int, keep_runs_days: int, dry_run: bool, as_json: bool) -> None:
    """Delete old finished jobs, schedule ticks, runs and batch requests (a running daemon
    does this hourly).

    Queued and running work and open batch requests are never touched, and each
    (channel, flow) keeps its latest cron tick, so no schedule runs twice because of a prune.
    """
    from pazar.jobs.retention import prune

    ctx = app()
    pruned = prune(
        ctx.db,
        now=ctx.clock.now(),
        keep_jobs=timedelta(days=keep_jobs_days),
        keep_runs=timedelta(days=keep_runs_days),
        dry_run=dry_run,
    )
    if as_json:
        print_json({"dry_run": dry_run, **vars(pruned)})
        return
    click.echo(f"{'would delete' if dry_run else 'deleted'} {pruned}")


COMMANDS = [daemon_command, serve_command, prune_command]
