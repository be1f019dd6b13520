"""``pazar demo``: a marketplace sandbox, a sample catalog, every flow, a summary."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from pazar.cli.context import app
from pazar.cli.dashboard import shown_number
from pazar.cli.numbers import Integer
from pazar.cli.output import emit, print_table
from pazar.db import Database, redact_url
from pazar.errors import ValidationError
from pazar.suggest import did_you_mean

DEFAULT_DB_FILE = "pazar-demo.db"


@click.command()
@click.option(
    "--marketplace",
    "marketplaces",
    multiple=True,
    help="Only this marketplace's sandbox (repeatable; default: every marketplace with a "
    "sandbox demo, side by side).",
)
@click.option(
    "--products",
    type=Integer(10, 100_000),
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
def demo(
    marketplaces: tuple[str, ...], products: int, database_url: str | None, as_json: bool
) -> None:
    """Sync a generated catalog with the marketplace sandboxes over real HTTP.

    Starts each marketplace's sandbox on loopback, imports one sample catalog, creates an
    active channel per marketplace pointed at its sandbox, runs every enabled flow with one
    daemon, plays an order story, changes some stocks and prices, runs again, and prints
    what was sent, accepted, rejected and penalised per marketplace and flow.
    """
    from pazar.commerce.importers import import_file
    from pazar.commerce.local import set_price, set_stock
    from pazar.demo import demo_marketplaces, run_demo
    from pazar.ops.dashboard import NUMBERS, TITLES, dashboards

    ctx = app()
    known = demo_marketplaces(ctx.registry)
    for name in marketplaces:
        if name not in known:
            raise ValidationError(
                f"--marketplace {name!r}: no sandbox demo{did_you_mean(name, known)} "
                f"(marketplaces with one: {', '.join(known) or 'none'})"
            )
    if database_url is None:
        path = Path(DEFAULT_DB_FILE)
        for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            leftover.unlink(missing_ok=True)
        database_url = f"sqlite:///{path.resolve()}"
    db = Database(database_url)
    db.ensure_ready()
    _refuse_used(db, database_url)
    started = time.monotonic()
    say = (lambda _msg: None) if as_json else (lambda msg: click.echo(msg, err=True))
    report = run_demo(
        db,
        ctx.registry,
        clock=ctx.clock,
        marketplaces=list(dict.fromkeys(marketplaces)) or None,
        products=products,
        hook=ctx.plugins.hook,
        say=say,
        import_file=lambda session, kind, file: import_file(session, kind, file),
        change_stock=set_stock,
        change_price=set_price,
    )
    seconds = time.monotonic() - started
    shown_url = redact_url(database_url)  # printed and in --json: never the password
    with db.session() as session:  # the listings flows ran: the seed's Dashboard numbers
        boards = [b for b in dashboards(session) if b.channel in report.channels.values()]
    columns = ("flow", "runs", "read", "sent", "succeeded", "failed", "skipped", "penalized")
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
        for ref, t in sorted(report.flows.items())
    ]
    data = {
        "database": shown_url,
        "sandboxes": report.sandboxes,
        "channels": report.channels,
        "products": report.products,
        "seconds": round(seconds, 2),
        "open_batches": report.open_batches,
        "orders": report.story,
        "held_back": report.why,
        "flows": [dict(zip(columns, row, strict=True)) for row in rows],
        "dashboard": [board.as_dict() for board in boards],
    }
    names = " and ".join(report.channels)
    emit(
        as_json,
        data,
        columns,
        rows,
        title=f"pazar demo: {report.products} products, {names} sandboxes, {seconds:.1f} s",
    )
    if as_json:
        return
    for name, story in report.story.items():
        if story:
            click.echo(f"\nThe order story on {name} ({report.channels[name]}):")
            for line in story:
                click.echo(f"  {line}")
    env = f"PAZAR_DATABASE_URL={shown_url}"
    for name, why in report.why.items():
        if why:
            click.echo(f"\nWhat did not go out on {name}, and why:")
            for line in why:
                click.echo(f"  {line}")
    if boards:
        click.echo("")
        print_table(
            ("channel", *(f"{n}" for n in range(1, len(NUMBERS) + 1))),
            [(board.channel, *(_cell(board, name) for name in NUMBERS)) for board in boards],
            title="Dashboard (pazar dashboard; the web's Dashboard screen)",
        )
        click.echo(
            "  " + "; ".join(f"{n} {TITLES[name]}" for n, name in enumerate(NUMBERS, start=1))
        )
        for board in boards:
            for why in dict.fromkeys(board.unavailable.values()):
                click.echo(f"  n/a on {board.channel}: {why}")
    first = next(iter(report.channels.values()))
    click.echo(
        "\nsucceeded/failed count what the marketplace accepted or rejected per record "
        "(uploads are checked asynchronously by the check flow).\n"
        "Where to look next (one channel per marketplace: "
        f"{', '.join(report.channels.values())}):\n"
        f"  {env} pazar logs --channel {first}\n"
        f"  {env} pazar penalties list --channel {first}\n"
        f"  {env} pazar batches list --channel {first}\n"
        f"  {env} pazar orders list\n"
        f"  {env} pazar refunds list\n"
        f"  {env} pazar channel show {first}\n"
        f"  {env} pazar dashboard --channel {first}\n"
        f"  {env} pazar reports not_listed --channel {first}\n"
        f"  {env} pazar users add admin --role admin && {env} pazar web    # the web screens\n"
        + "".join(
            f"  pazar sandbox {name}    # serve the sandbox yourself and point a channel at it\n"
            for name in report.channels
        ).rstrip("\n")
    )


def _refuse_used(db: Database, database_url: str) -> None:
    """The demo plays its story from a blank catalog: in a database that already holds one
    (an earlier demo's, or real data) it would fail halfway, on an order of the earlier
    run, after writing into it."""
    from sqlalchemy import func, select

    from pazar.models.channels import Channel
    from pazar.models.commerce import Product

    with db.session() as session:
        products = session.scalar(select(func.count()).select_from(Product)) or 0
        channels = session.scalar(select(func.count()).select_from(Channel)) or 0
    if products or channels:
        raise ValidationError(
            f"--database {redact_url(database_url)}: the demo needs an empty database, and this "
            f"one already holds data (products: {products}, channels: {channels}); give a new "
            f"one, or leave out --database for a fresh {DEFAULT_DB_FILE} here"
        )


def _cell(board: Any, name: str) -> str:
    """A dashboard number in the demo's one-line-per-channel table: ``n/a`` where the
    marketplace cannot show it (its reason follows the table)."""
    return "n/a" if name in board.unavailable else shown_number(board, name)


COMMANDS = [demo]
