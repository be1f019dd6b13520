"""A click group whose subcommands are imported only when they run.

Importing every command module up front pulled in SQLAlchemy, the models, Jinja, httpx,
jsonschema and the web stack before ``pazar --help`` could answer; a command's module is
now imported when that command is resolved (to run it, show its ``--help`` or complete its
arguments).  The root group lists commands from a table of names, import paths and one-line
helps, so ``pazar --help`` and completing ``pazar <TAB>`` import nothing.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any, NamedTuple

import click


class LazyCommand(NamedTuple):
    """Where a top-level command lives, and its one-line help as ``pazar --help`` shows it."""

    target: str  # "package.module:attribute"
    short_help: str


class LazyGroup(click.Group):
    """Resolves ``lazy_commands`` on demand; commands added with ``add_command`` win."""

    def __init__(
        self, *args: Any, lazy_commands: Mapping[str, LazyCommand] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands: dict[str, LazyCommand] = dict(lazy_commands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = self.commands.get(cmd_name)
        if command is None and cmd_name in self.lazy_commands:
            command = self._load(cmd_name)
        return command

    def _load(self, cmd_name: str) -> click.Command:
        module_name, _, attribute = self.lazy_commands[cmd_name].target.partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command) or command.name != cmd_name:
            raise RuntimeError(
                f"the command table names {self.lazy_commands[cmd_name].target} for "
                f"{cmd_name!r}, which is not the click command {cmd_name!r}"
            )
        self.commands[cmd_name] = command
        return command

    def load_all(self) -> None:
        """Import every command (tests; suggestions for a mistyped name)."""
        for name in self.lazy_commands:
            if name not in self.commands:
                self._load(name)

    def command_help(self, cmd_name: str, limit: int = 45) -> str:
        """The command's one-line help, from the table until the command is imported."""
        loaded = self.commands.get(cmd_name)
        if loaded is not None:
            return loaded.get_short_help_str(limit)
        # A throwaway command shortens the table's text exactly as click would the real help.
        return click.Command(
            cmd_name, help=self.lazy_commands[cmd_name].short_help
        ).get_short_help_str(limit)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = [n for n in self.list_commands(ctx) if not self._hidden(n)]
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        with formatter.section("Commands"):
            formatter.write_dl([(name, self.command_help(name, limit)) for name in names])

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[Any]:
        from click.shell_completion import CompletionItem

        results: list[Any] = [
            CompletionItem(name, help=self.command_help(name))
            for name in self.list_commands(ctx)
            if name.startswith(incomplete) and not self._hidden(name)
        ]
        # Options of the group itself, as click.Group.shell_complete adds them.
        results.extend(click.Command.shell_complete(self, ctx, incomplete))
        return results

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] not in self.commands and args[0] not in self.lazy_commands:
            # click suggests close names from self.commands: give it every name.
            self.load_all()
        return super().resolve_command(ctx, args)

    def _hidden(self, cmd_name: str) -> bool:
        loaded = self.commands.get(cmd_name)
        return loaded is not None and loaded.hidden
