"""The ``pazar`` command line.

Command areas live in their own modules, each listing its top-level commands in
``COMMANDS``; the root group names them in ``COMMAND_TABLE`` (module, attribute and
one-line help) and imports a module only when its command runs, so ``pazar --help``
answers without loading the database, flow or web stack.  A new top-level command
goes into both; tests/engine/test_cli_startup.py checks they agree.
Expected errors become one line on stderr and an exit code (2 for bad input);
tracebacks appear only with ``--debug``.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

import pazar
from pazar.cli.context import AppContext
from pazar.cli.lazy_group import LazyCommand, LazyGroup
from pazar.cli.output import OutputClosed
from pazar.errors import PazarError

# name -> where the command lives, and the first sentence of its help (for `pazar --help`).
COMMAND_TABLE: dict[str, LazyCommand] = {
    name: LazyCommand(f"pazar.cli.{target}", short_help)
    for name, target, short_help in [
        ("alarms", "alarms:alarms_group", "Alarm rules: error rate, average flow time, exhausted penalties, expired batch requests, overdue schedules, daemon heartbeat."),
        ("batches", "batches:batches_group", "Batch requests: uploads waiting on a marketplace, per-object outcomes."),
        ("catalog", "catalog:catalog", "The seller's catalog in the local commerce backend."),
        ("channel", "channel:channel_group", "Channels: one seller account on one marketplace, with its config."),
        ("daemon", "daemon:daemon_command", "Run scheduled flows and queued jobs until SIGTERM / Ctrl-C (exit 0)."),
        ("dashboard", "dashboard:dashboard_command", "The eight numbers: SKUs in the catalog and on sale, saleable SKUs not on sale, price and stock differences, stock in the catalog and on sale (see docs/operations.md)."),
        ("db", "db:db_group", "Database schema: show the revision, upgrade to the newest."),
        ("demo", "demo:demo", "Sync a generated catalog with the marketplace sandboxes over real HTTP."),
        ("flows", "flows:flows_group", "Flow definitions (flows.d/<plugin>/<flow>.yaml and PAZAR_FLOWS_PATH)."),
        ("logs", "logs:logs", "Runs, newest first; `pazar logs show RUN_ID` for one run's record log."),
        ("mapping", "mapping:mapping_group", "Map products to marketplace categories and attributes, and check before go-live."),
        ("orders", "orders:orders", "Orders imported from marketplaces."),
        ("penalties", "penalties:penalties_group", "Failed integrations: records held back after a failure, and releasing them."),
        ("plugins", "plugins:plugins_group", "Loaded plugins."),
        ("price", "catalog:price", "Prices in the local commerce backend."),
        ("prune", "daemon:prune_command", "Delete old finished jobs, schedule ticks, runs and batch requests (a running daemon does this hourly)."),
        ("refunds", "orders:refunds", "Refund requests (the seed's Reject Refund screen)."),
        ("reports", "reports:reports_command", "Write report NAME for a channel: not_listed (saleable, not on sale, and why), price_differences or stock_differences (with each difference's correction state)."),
        ("run", "run:run_command", "Run a flow for one channel now, in the foreground."),
        ("sandbox", "sandbox:sandbox_command", "Serve the sandbox of marketplace NAME (hepsiburada, fashfed, or a plugin's) until Ctrl-C or SIGTERM."),
        ("serve", "daemon:serve_command", "Serve only the flow-trigger API (jobs are run by a daemon)."),
        ("status", "status:status_command", "What the daemons are doing and what waits."),
        ("stock", "catalog:stock", "Stock levels in the local commerce backend."),
        ("tokens", "tokens:tokens", "Tokens for POST /flow-trigger/{channel}/{flow} (stored hashed)."),
        ("trigger", "trigger:trigger_cmd", "Run PLUGIN/FLOW on CHANNEL for just the given records, changed or not, or with the data an OMS would send (--payload FILE.json: Update Warehouse, Split Packages)."),
        ("users", "users:users_group", "Web dashboard users: viewer (reads), operator (changes but users and secrets), admin."),
        ("web", "web:web_command", "Serve the web dashboard at /ui/ (with the flow-trigger and operations API)."),
    ]
}  # fmt: skip


# Click 8.2+ shows a group's help this way when it is called with no arguments.
_HELP_INSTEAD: tuple[type[Exception], ...] = tuple(
    filter(None, [getattr(click.exceptions, "NoArgsIsHelpError", None)])
)


class OneLineUsageError(click.UsageError):
    """A usage error (a missing option, an unknown command, a bad value) as pazar's one
    ``error:`` line naming the command, instead of click's usage block; exit code 2."""

    def show(self, file: Any = None) -> None:
        path = self.ctx.command_path if self.ctx is not None else "pazar"
        click.echo(f"error: {path}: {self.format_message()} See '{path} --help'.", err=True)


def _one_line(exc: click.UsageError) -> click.UsageError:
    if isinstance(exc, (OneLineUsageError, *_HELP_INSTEAD)):
        return exc
    message = exc.format_message()
    return OneLineUsageError(
        message if message.endswith((".", "?", "!")) else message + ".", exc.ctx
    )


def _as_bytes(arg: str) -> str:
    """An argument that is not UTF-8 text as the bytes the shell passed (``\\xed\\xa0``)."""
    try:
        raw = arg.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate, not a stray byte
        return arg.encode("ascii", "backslashreplace").decode("ascii")
    return raw.decode("ascii", "backslashreplace")


class PazarGroup(LazyGroup):
    """Turns expected errors into one line and an exit code, inside click.

    Doing it here rather than only in ``main`` means click's test runner and any
    embedding code see the same messages and exit codes as the console script.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        for arg in args:  # every command's arguments pass here first
            try:
                arg.encode("utf-8")
            except UnicodeEncodeError:
                raise click.UsageError(
                    f"argument '{_as_bytes(arg)}' is not UTF-8 text; nothing was done.", ctx
                ) from None
        return super().parse_args(ctx, args)

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except (BrokenPipeError, OutputClosed):  # `pazar --help | head`
            _quiet_stdout()
            raise click.exceptions.Exit(0) from None
        except click.UsageError as exc:
            raise _one_line(exc) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:  # a subcommand's, however deep
            raise _one_line(exc) from None
        except PazarError as exc:
            obj = ctx.find_object(AppContext)
            if obj is not None and obj.debug:
                raise
            click.echo(f"error: {exc.message}", err=True)
            for line in exc.details:
                click.echo(f"  {line}", err=True)
            ctx.exit(exc.exit_code)
        except (BrokenPipeError, OutputClosed):
            # Inside click: its own EPIPE handling would turn this into exit 1.
            _quiet_stdout()
            ctx.exit(0)


@click.group(
    "pazar",  # the program's name in messages, also where click's test runner invokes it
    cls=PazarGroup,
    lazy_commands=COMMAND_TABLE,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logging.")
@click.version_option(pazar.__version__, prog_name="pazar")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """pazar keeps a seller's back office in sync with online marketplaces.

    Database: PAZAR_DATABASE_URL (default: pazar.db in the working directory).
    Extra flow directories: PAZAR_FLOWS_PATH. Extra plugin modules: PAZAR_PLUGINS.
    """
    import logging

    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    given = ctx.obj  # an embedder's (pazar.testing.Cli's) context, with its clock
    if isinstance(given, AppContext):
        given.debug = debug
    else:
        ctx.obj = AppContext(debug=debug)


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        return cli.main(args=args, prog_name="pazar", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except PazarError as exc:
        if debug:  # the traceback too, but the same message and exit code
            import traceback

            traceback.print_exc()
        click.echo(f"error: {exc.message}", err=True)
        for line in exc.details:
            click.echo(f"  {line}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except (BrokenPipeError, OutputClosed):
        _quiet_stdout()
        sys.exit(0)


def _quiet_stdout() -> None:
    """The reader went away (``pazar … | head``): that is how the user ends the output,
    not an error.  Point stdout at /dev/null so the interpreter's final flush does not
    complain about the closed pipe either."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no real stdout (embedded): nothing left to flush
        pass
