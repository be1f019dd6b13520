"""``pazar demo``: a marketplace sandbox, a sample catalog, every flow, a summary."""

from __future__ import annotations

import time
from pathlib import Path

import click

from pazar.cli.context import app
from pazar.cli.output import emit
from pazar.db import Database

DEFAULT_DB_FILE = "pazar-demo.db"


@click.command()
@click.option(
    "--marketplace",
    default="hepsiburada",
    show_default=True,
    help="Which marketplace plugin's sandbox to sync with.",
)
@click.option(
    "--products",
    type=click.IntRange(10, 100_000),
    default=300,
    show_default=True,
    help="Size of the generated catalog.",
)
@click.option(
    "--database",
    "database_url",
    default=None,
    help=f"Database for the demo (default: a fresh SQLite file {DEFAULT_DB_FILE} here; "
    "your PAZAR_DATABASE_URL is never touched).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def demo(marketplace: str, products: int, database_url: str | None, as_json: bool) -> None:
    """Sync a generated catalog with a marketplace sandbox over real HTTP.

    Starts the marketplace's sandbox on loopback, imports a sample catalog,
    creates an active channel pointed at the sandbox, runs every enabled flow and
    the upload checks, changes some stocks and prices, runs again, and prints
    what was sent, accepted, rejected and penalised.
    """
    from pazar.commerce.importers import import_file
    from pazar.commerce.local import set_price, set_stock
    from pazar.demo import DEMO_SLUG, run_demo

    ctx = app()
    if database_url is None:
        path = Path(DEFAULT_DB_FILE)
        for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            leftover.unlink(missing_ok=True)
        database_url = f"sqlite:///{path.resolve()}"
    db = Database(database_url)
    db.ensure_ready()
    started = time.monotonic()
    say = (lambda _msg: None) if as_json else (lambda msg: click.echo(msg, err=True))
    report = run_demo(
        db,
        ctx.registry,
        clock=ctx.clock,
        marketplace=marketplace,
        products=products,
        hook=ctx.plugins.hook,
        say=say,
        import_file=lambda session, kind, file: import_file(session, kind, file),
        change_stock=set_stock,
        change_price=set_price,
    )
    seconds = time.monotonic() - started
    rows = [
        (
            ref,
            t.runs,
            t.read,
            t.sent,
            t.succeeded,
            t.failed,
            t.skipped,
            report.penalized.get(ref, 0),
        )
        for ref, t in report.flows.items()
    ]
    data = {
        "database": database_url,
        "sandbox": report.sandbox_url,
        "channel": report.channel,
        "products": report.products,
        "seconds": round(seconds, 2),
        "open_batches": report.open_batches,
        "orders": report.story,
        "held_back": report.why,
        "flows": [
            dict(
                zip(
                    ("flow", "runs", "read", "sent", "succeeded", "failed", "skipped", "penalized"),
                    row,
                    strict=True,
                )
            )
            for row in rows
        ],
    }
    emit(
        as_json,
        data,
        ("flow", "runs", "read", "sent", "succeeded", "failed", "skipped", "penalized"),
        rows,
        title=f"pazar demo: {report.products} products, {marketplace} sandbox, {seconds:.1f} s",
    )
    if as_json:
        return
    env = f"PAZAR_DATABASE_URL={database_url}"
    if report.why:
        click.echo("\nWhat did not go out, and why:")
        for line in report.why:
            click.echo(f"  {line}")
    if report.story:
        click.echo("\nThe order story:")
        for line in report.story:
            click.echo(f"  {line}")
    click.echo(
        "\nsucceeded/failed count what the marketplace accepted or rejected per record "
        "(uploads are checked asynchronously by the check flow).\n"
        "Where to look next:\n"
        f"  {env} pazar logs --channel {DEMO_SLUG}\n"
        f"  {env} pazar penalties list --channel {DEMO_SLUG}\n"
        f"  {env} pazar batches list --channel {DEMO_SLUG}\n"
        f"  {env} pazar orders list --channel {DEMO_SLUG}\n"
        f"  {env} pazar refunds list --channel {DEMO_SLUG}\n"
        f"  {env} pazar channel show {DEMO_SLUG}\n"
        f"  pazar sandbox {marketplace}    # serve the sandbox yourself and point a channel at it"
    )


COMMANDS = [demo]
