"""``pazar plugins``: what is loaded and which hooks each plugin implements."""

from __future__ import annotations

import click

from pazar.cli.context import app
from pazar.cli.output import emit, json_option


@click.group("plugins")
def plugins_group() -> None:
    """Loaded plugins."""


@plugins_group.command("list")
@json_option
def list_plugins(as_json: bool) -> None:
    """Each plugin, its version, where it came from and the hooks it implements."""
    system = app().plugins
    reg = system.registry
    data = []
    for info in system.infos:
        data.append(
            {
                "name": info.name,
                "version": info.version,
                "source": info.source,
                "hooks": info.hooks,
                "marketplaces": sorted(
                    m.name for m in reg.marketplaces.values() if m.plugin == info.name
                ),
                "steps": sorted(s.name for s in reg.steps.values() if s.plugin == info.name),
            }
        )
    emit(
        as_json,
        data,
        ["plugin", "version", "source", "hooks", "provides"],
        [
            [
                d["name"],
                d["version"],
                d["source"],
                ", ".join(d["hooks"]),
                ", ".join(d["marketplaces"] + d["steps"]),
            ]
            for d in data
        ],
    )


COMMANDS = [plugins_group]
