"""Hook specifications: the whole contract between the engine and a plugin.

Registry-style hooks hand the plugin a ``register`` callable instead of asking it
to return values, so one plugin can register any number of things and the engine
can reject duplicates with a message naming both plugins.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pluggy

PROJECT = "pazar"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def pazar_register_marketplaces(register: Callable[..., None]) -> None:
    """Register marketplaces: ``register(Marketplace(...))``."""


@hookspec
def pazar_register_steps(register: Callable[..., None]) -> None:
    """Register flow sources, steps and sinks: ``register(StepType(...))``."""


@hookspec
def pazar_register_template_filters(register: Callable[..., None]) -> None:
    """Register Jinja filters for flows and config formats: ``register(TemplateFilter(...))``."""


@hookspec
def pazar_register_commerce_backends(register: Callable[..., None]) -> None:
    """Register seller-side backends: ``register(CommerceBackendType(...))``."""


@hookspec
def pazar_channel_config_changed(
    channel: Any,
    old_config: Mapping[str, Any],
    new_config: Mapping[str, Any],
    changed_keys: frozenset[str],
) -> list[str] | None:
    """A channel's config was saved with ``changed_keys`` different.

    Return the names of this channel's flows to enqueue, in the order they must
    run (e.g. category ids changed → ``["category_node", "category_attributes"]``),
    or None when the change concerns this plugin not at all.
    """


@hookspec
def pazar_run_finished(run: Any) -> None:
    """A flow run ended (any status). For alarms, metrics and notifications."""
