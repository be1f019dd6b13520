"""The plugin door: the one module of pazar a marketplace plugin imports.

Everything an integrator needs is here, in ``__all__``; nothing deeper in the engine is a
promise.  The engine may reorganise its modules freely as long as these names keep their
meaning (see ``PLUGIN_API_VERSION`` and the compatibility promise in ``docs/plugins.md``).
"""

from __future__ import annotations

from pazar.clock import parse_instant
from pazar.errors import ConfigError, PazarError, ValidationError
from pazar.hookspecs import hookimpl
from pazar.pipeline import Item, RunHandle, Sink, Source, Step, StepContext, chunked
from pazar.polling import Poll, PollSink, poll_sink_type
from pazar.reactions import flows_when_changed
from pazar.registry import (
    CommerceBackendType,
    Marketplace,
    StepType,
    TemplateFilter,
    batch_size_param,
    params_schema,
)

PLUGIN_API_VERSION = "1.0"

__all__ = [
    "PLUGIN_API_VERSION",
    "CommerceBackendType",
    "ConfigError",
    "Item",
    "Marketplace",
    "PazarError",
    "Poll",
    "PollSink",
    "RunHandle",
    "Sink",
    "Source",
    "Step",
    "StepContext",
    "StepType",
    "TemplateFilter",
    "ValidationError",
    "batch_size_param",
    "chunked",
    "flows_when_changed",
    "hookimpl",
    "params_schema",
    "parse_instant",
    "poll_sink_type",
]
