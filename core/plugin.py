"""The plugin door: the one module of pazar a marketplace plugin imports.

Everything an integrator needs is named here, in ``__all__``; nothing deeper in the engine
is a promise.  ``docs/plugins.md`` is the guide; this module's docstrings are the reference.

Registration
    :func:`hookimpl` marks a plugin's hook implementations; the registration hooks receive a
    :class:`Register` callable.  A plugin registers a :class:`Marketplace` (config schema —
    :func:`channel_schema` adds the keys the engine reads —, client factory, sandbox, flows
    directory), :class:`StepType` s (sources, steps, sinks;
    :func:`params_schema` and :func:`batch_size_param` build their params schemas),
    :class:`TemplateFilter` s and :class:`CommerceBackendType` s.  :func:`flows_when_changed`
    is a ready reaction to a config key changing (e.g. category ids → the category flows).

Runtime
    A flow is source → steps → sink over :class:`Item` s.  Each is built by its factory from
    a :class:`StepContext` (params, the channel's resolved config, a read-only
    :class:`ChannelInfo`, the marketplace client, templates, the clock, and :class:`Reads`
    of local state) and reports outcomes through the :class:`RunHandle` (``succeed``,
    ``fail`` with a reason, ``skip``, ``log``).  :class:`Source`, :class:`Step` and
    :class:`Sink` are the protocols; :class:`RunResult` is what a run did.

Asynchronous marketplaces
    :class:`UploadSink`: write ``upload(rows) -> remote id`` and ``status(remote id, kind) ->
    Poll``; the engine opens and tracks the batch request, keeps the records in flight,
    polls through a flow whose sink is ``state.upload_results``, records successes and
    penalties and expires stale batches.  :class:`PollSink` is for marketplaces that poll in
    their own way.

HTTP
    :class:`MarketplaceClient` is the client base (retries, backoff, 429 and
    ``Retry-After``, rate windows, timeouts, the shared connection pool); it raises
    :class:`MarketplaceError`, whose ``kind`` says whose fault a failure is: only a
    rejection is a record's fault; an outage (``transient``) fails the run and leaves the
    records eligible.

Sandboxes
    :class:`SandboxKit` gives a marketplace sandbox the faults every service has (latency,
    timeouts, 5xx, 429, rate windows, malformed bodies), the request log and the generic
    control endpoints; :class:`SandboxReply` answers a request at once.

Config
    :func:`mapped` reads the seed's "marketplace code → local id" mappings (cargo companies,
    cancel and refund reasons) the same way for every marketplace: case-insensitively, with
    a fallback.  A plugin adds rules its config schema cannot express with the hook
    ``pazar_check_channel_config`` and declares how it words ``MAX_RETRY_COUNT`` with the
    schema marker ``x-retry-count`` (see ``docs/plugins.md``).

Errors
    :class:`PazarError` (one clear message), :class:`ValidationError` and
    :class:`ConfigError` (bad input or config: exit code 2).

Order side (1.1)
    ``Item.by_key`` (a record with no local id yet, penalised by its key), ``Item.state``
    (what the marketplace holds after a success), ``StepContext.payload`` (a trigger's
    data), the order questions of :class:`Reads` and ``Marketplace.demo_story``.

Order side (1.2)
    :func:`split_plan` reads an OMS's Split Packages body against the local order (the
    order it names, its live lines per requested package; :class:`SplitRefused` says why
    not), so a marketplace plugin only makes the split its own way.

Uploads (1.3)
    ``UploadSink.supersedes``: an upload sink of absolute values (stock, price) declares that
    a record's newer value may go out while an older upload of it is unconfirmed.

Clients (1.4)
    ``MarketplaceClient.BUSY_WORDS``: the words with which a service refuses with a 4xx
    because it is busy (too many uploads in progress, an allowance used up); such an answer
    is ``rate_limited``, so the job is retried and no record is penalised.

Catalog (1.5)
    :func:`no_categories_param` and ``Reads.leaf_categories_to_read``: a source that reads
    each stored leaf category's attributes fails, saying to run category_node first, or
    (``no_categories: skip``) reads nothing while none is stored.

Listings (1.6)
    :class:`ListingsSource`: the source of a ``listings`` flow; a plugin says how to read
    the listings and how one becomes a snapshot row, the engine does the rest.
    :func:`as_utc`: an instant in UTC, one without a zone taken as UTC (as
    :func:`parse_instant` reads text), for a marketplace's own date formats.

Uploads (1.7)
    A superseding ``UploadSink`` hands each ``upload(rows)`` to a worker thread and
    returns, so the next batch is prepared while the marketplace takes this one (one
    upload at a time, in order).  A sink may define ``abandon(run)``: the runner calls it
    instead of ``close`` when the run ends early, to finish what is already on its way.
    ``asks_at_once`` on ``UploadSink`` and ``PollSink`` (default 4): a check asks about that
    many uploads at once (``status``/``poll`` on worker threads), recording the answers in
    batch order; 1 for a service that must be asked one question at a time.
    ``StepContext.client_before_threads()`` builds the run's client before worker threads
    share it.

Compatibility
    ``PLUGIN_API_VERSION`` is ``MAJOR.MINOR``.  Within a major version, names in
    ``__all__`` keep their meaning and signatures; new names and new optional parameters
    or fields come with a minor version.  A removal or an incompatible change raises the
    major version and is announced one minor version ahead by a deprecation warning.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pazar.lazy_exports import lazy_getattr

if TYPE_CHECKING:
    from pazar.clock import Clock, as_utc, parse_instant
    from pazar.commerce.split_plans import SplitPlan, SplitRefused, split_plan
    from pazar.config_maps import mapped
    from pazar.errors import ConfigError, PazarError, ValidationError
    from pazar.hookspecs import Register, hookimpl
    from pazar.http_client import ErrorKind, MarketplaceClient, MarketplaceError, excerpt
    from pazar.listings_source import ListingsSource
    from pazar.pipeline import (
        ChannelInfo,
        Item,
        ReasonType,
        RunHandle,
        Sink,
        Source,
        Step,
        StepContext,
        chunked,
    )
    from pazar.polling import Poll, PollSink, poll_sink_type
    from pazar.reactions import flows_when_changed
    from pazar.reads import Reads
    from pazar.registry import (
        CommerceBackendType,
        Marketplace,
        StepType,
        TemplateFilter,
        batch_size_param,
        no_categories_param,
        params_schema,
    )
    from pazar.runner import RunResult
    from pazar.sandbox_kit import SandboxKit, SandboxReply
    from pazar.schema_kit import channel_schema, engine_properties
    from pazar.uploads import UploadSink

# Each name is imported from its module on first use (PEP 562), so loading a plugin that
# registers steps does not import the HTTP client, the runner or the sandbox server until
# a run needs them; ``pazar status`` and ``pazar --help`` stay quick.
_HOME: dict[str, str] = {
    "Clock": "pazar.clock",
    "parse_instant": "pazar.clock",
    "as_utc": "pazar.clock",
    "SplitPlan": "pazar.commerce.split_plans",
    "SplitRefused": "pazar.commerce.split_plans",
    "split_plan": "pazar.commerce.split_plans",
    "mapped": "pazar.config_maps",
    "ConfigError": "pazar.errors",
    "PazarError": "pazar.errors",
    "ValidationError": "pazar.errors",
    "Register": "pazar.hookspecs",
    "hookimpl": "pazar.hookspecs",
    "ErrorKind": "pazar.http_client",
    "MarketplaceClient": "pazar.http_client",
    "MarketplaceError": "pazar.http_client",
    "excerpt": "pazar.http_client",
    "ListingsSource": "pazar.listings_source",
    "ChannelInfo": "pazar.pipeline",
    "Item": "pazar.pipeline",
    "ReasonType": "pazar.pipeline",
    "RunHandle": "pazar.pipeline",
    "Sink": "pazar.pipeline",
    "Source": "pazar.pipeline",
    "Step": "pazar.pipeline",
    "StepContext": "pazar.pipeline",
    "chunked": "pazar.pipeline",
    "Poll": "pazar.polling",
    "PollSink": "pazar.polling",
    "poll_sink_type": "pazar.polling",
    "flows_when_changed": "pazar.reactions",
    "Reads": "pazar.reads",
    "CommerceBackendType": "pazar.registry",
    "Marketplace": "pazar.registry",
    "StepType": "pazar.registry",
    "TemplateFilter": "pazar.registry",
    "batch_size_param": "pazar.registry",
    "no_categories_param": "pazar.registry",
    "params_schema": "pazar.registry",
    "RunResult": "pazar.runner",
    "SandboxKit": "pazar.sandbox_kit",
    "SandboxReply": "pazar.sandbox_kit",
    "channel_schema": "pazar.schema_kit",
    "engine_properties": "pazar.schema_kit",
    "UploadSink": "pazar.uploads",
}


__getattr__ = lazy_getattr(globals(), _HOME)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


PLUGIN_API_VERSION = "1.7"

__all__ = [
    "PLUGIN_API_VERSION",
    "ChannelInfo",
    "Clock",
    "CommerceBackendType",
    "ConfigError",
    "ErrorKind",
    "Item",
    "ListingsSource",
    "MarketplaceClient",
    "MarketplaceError",
    "Marketplace",
    "PazarError",
    "Poll",
    "PollSink",
    "Reads",
    "ReasonType",
    "Register",
    "RunHandle",
    "RunResult",
    "SandboxKit",
    "SandboxReply",
    "Sink",
    "Source",
    "SplitPlan",
    "SplitRefused",
    "Step",
    "StepContext",
    "StepType",
    "TemplateFilter",
    "UploadSink",
    "ValidationError",
    "as_utc",
    "batch_size_param",
    "channel_schema",
    "chunked",
    "engine_properties",
    "excerpt",
    "flows_when_changed",
    "hookimpl",
    "mapped",
    "no_categories_param",
    "params_schema",
    "parse_instant",
    "poll_sink_type",
    "split_plan",
]
