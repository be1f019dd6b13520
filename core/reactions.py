"""Ready-made hook implementations for what most marketplaces react to the same way."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pazar.hookspecs import hookimpl


def flows_when_changed(plugin: str, key: str, flows: Sequence[str]) -> Callable[..., Any]:
    """A ``pazar_channel_config_changed`` implementation for one watched key.

    When ``key`` of a ``plugin`` channel changes to a non-empty value, the flows
    are asked for in order (the seed: new category ids → Category Node, then
    Category Attributes).  Use as ``pazar_channel_config_changed = flows_when_changed(...)``.
    """
    wanted = list(flows)

    @hookimpl
    def pazar_channel_config_changed(
        channel: Any,
        old_config: Mapping[str, Any],
        new_config: Mapping[str, Any],
        changed_keys: frozenset[str],
    ) -> list[str] | None:
        if channel.plugin != plugin or key not in changed_keys or not new_config.get(key):
            return None
        return list(wanted)

    return pazar_channel_config_changed
