"""What every command shares: the database, the plugins, the clock, output."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import click

from pazar.clock import Clock, SystemClock


@dataclass
class AppContext:
    debug: bool = False
    clock: Clock = field(default_factory=SystemClock)
    _db: Any = None
    _plugins: Any = None

    @property
    def db(self) -> Any:
        if self._db is None:
            from pazar.db import Database

            self._db = Database()
        return self._db

    @property
    def plugins(self) -> Any:
        if self._plugins is None:
            from pazar.plugins import plugin_system

            self._plugins = plugin_system()
            for warning in self._plugins.warnings:
                click.echo(warning, err=True)
        return self._plugins

    @property
    def registry(self) -> Any:
        return self.plugins.registry


def app() -> AppContext:
    """The AppContext of the running command."""
    ctx = click.get_current_context()
    obj = ctx.find_object(AppContext)
    if obj is None:  # invoked outside the root group (tests calling a subcommand)
        obj = AppContext()
        ctx.obj = obj
    return obj
