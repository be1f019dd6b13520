"""Hook specifications: the whole contract between the engine and a plugin.

Registry-style hooks hand the plugin a ``register`` callable instead of asking it
to return values, so one plugin can register any number of things and the engine
can reject duplicates with a message naming both plugins.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

import pluggy

if TYPE_CHECKING:
    from pazar.pipeline import ChannelInfo
    from pazar.registry import CommerceBackendType, Marketplace, StepType, TemplateFilter
    from pazar.runner import RunResult

PROJECT = "pazar"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class Register(Protocol):
    """The ``register`` callable a registration hook receives: any number of objects
    (or lists of them) of the kind the hook registers."""

    def __call__(
        self,
        *objs: Marketplace
        | StepType
        | TemplateFilter
        | CommerceBackendType
        | list[StepType]
        | list[TemplateFilter],
    ) -> None: ...


@hookspec
def pazar_register_marketplaces(register: Register) -> None:
    """Register marketplaces: ``register(Marketplace(...))``."""


@hookspec
def pazar_register_steps(register: Register) -> None:
    """Register flow sources, steps and sinks: ``register(StepType(...), ...)``."""


@hookspec
def pazar_register_template_filters(register: Register) -> None:
    """Register Jinja filters for flows and config formats: ``register(TemplateFilter(...))``."""


@hookspec
def pazar_register_commerce_backends(register: Register) -> None:
    """Register seller-side backends: ``register(CommerceBackendType(...))``."""


@hookspec
def pazar_channel_config_changed(
    channel: ChannelInfo,
    old_config: Mapping[str, object],
    new_config: Mapping[str, object],
    changed_keys: frozenset[str],
) -> list[str] | None:
    """A channel's config was saved with ``changed_keys`` different.

    Return the names of this channel's flows to enqueue, in the order they must
    run (e.g. category ids changed → ``["category_node", "category_attributes"]``),
    or None when the change concerns this plugin not at all.  ``channel`` is a
    read-only view; the configs are the stored ones (``env:`` references unresolved).
    """


@hookspec
def pazar_check_channel_config(
    channel_plugin: str, config: Mapping[str, object]
) -> list[str] | None:
    """Problems with a channel config that its JSON Schema cannot express.

    Called with the marketplace name of the channel (answer None for other
    marketplaces) and the config about to be saved, activated or validated (stored
    form: ``env:`` references unresolved; it passed the schema's type checks, but
    required fields may still be empty).  Return one message per problem, naming
    the key: ``"send_cancel_reason_id: 4 is also cancellation_reason_id ..."``.  A
    problem refuses the save like a schema error: exit code 2, nothing changed.
    """


@hookspec
def pazar_run_finished(run: RunResult) -> None:
    """A flow run ended (any status). For alarms, metrics and notifications."""
