"""The ``pazar`` command line.

Every module in this package that defines ``COMMANDS`` (a list of click commands
or groups) is added to the root group, so command areas live in their own files.
Expected errors become one line on stderr and an exit code (2 for bad input);
tracebacks appear only with ``--debug``.
"""

from __future__ import annotations

import importlib
import logging
import os
import pkgutil
import sys
from typing import Any

import click

import pazar
from pazar.cli.context import AppContext
from pazar.cli.output import OutputClosed
from pazar.errors import PazarError


class PazarGroup(click.Group):
    """Turns expected errors into one line and an exit code, inside click.

    Doing it here rather than only in ``main`` means click's test runner and any
    embedding code see the same messages and exit codes as the console script.
    """

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except (BrokenPipeError, OutputClosed):  # `pazar --help | head`
            _quiet_stdout()
            raise click.exceptions.Exit(0) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
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
    cls=PazarGroup,
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
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    ctx.obj = AppContext(debug=debug)


def _load_command_modules() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_") or info.name in {"context", "output"}:
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for command in getattr(module, "COMMANDS", []):
            cli.add_command(command)


_load_command_modules()


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
        if debug:
            raise
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
