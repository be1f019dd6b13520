"""The runtime contract of a flow: items, the context steps are built with, and
the handle through which they report outcomes.

A flow is ``source → steps → sink``.  The runner pulls items from the source in
batches of ``batch_size``, passes each batch through every step, hands the
surviving items to the sink, and writes counts and log lines once per batch.
Nothing here holds more than one batch, so memory does not grow with the catalog.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

if TYPE_CHECKING:
    from pazar.clock import Clock
    from pazar.flows.model import FlowDef
    from pazar.reads import Reads
    from pazar.templating import TemplateEnv

ReasonType = Literal["mapping", "remote", "local"]
T = TypeVar("T")


@dataclass
class Item:
    """One record travelling through a flow.

    ``key`` identifies the record in logs, penalties and triggers (a SKU, an order
    number); ``data`` is what steps read and rewrite and what the sink sends.  The
    other fields tell the engine which local object the record integrates, so a
    success becomes an integration action and a failure a penalty; a record without
    an ``object_id`` is not tracked (e.g. an order read from the marketplace).
    ``meta`` is the plugin's own scratch space: the engine never reads it.
    """

    key: str
    data: dict[str, Any]
    object_id: int | None = None
    """The local object this record integrates (a product id); None: not tracked."""
    version: int | None = None
    """The object's version as read; a success records it as integrated."""
    content_type: str | None = None
    """The state this record belongs to, when not the flow's (e.g. ``productshipping``)."""
    record: Mapping[str, Any] | None = None
    """The record as the source read it, kept when a step rewrote ``data`` (mapping)."""
    remote_id: str | None = None
    """The marketplace's id of the object, when an earlier integration learnt it."""
    deleted: bool = False
    """The object was removed locally: a success marks its integration ``deleted``."""
    by_key: bool = False
    """A record with no local object yet (a package read from a marketplace, before it
    became an order): a failure is a penalty on ``key`` (keeping ``record``, else
    ``data``, so a released penalty can be retried once the marketplace no longer
    lists it) and a success clears it.  Sources leave out the keys a penalty holds
    back (:meth:`Reads.held_back`) and read the released ones (:meth:`Reads.due_records`)."""
    state: str | None = None
    """What the marketplace holds of the object after a success (an order's status sent),
    kept on its integration action so a later run never sends it backwards."""
    meta: dict[str, Any] = field(default_factory=dict)
    # What the engine's change sources and state steps keep between them:
    payload_hash: str | None = None  # hash of ``data`` as sent (set by state.skip_unchanged)
    last_payload_hash: str | None = None  # hash of the payload last integrated
    state_read: bool = False  # the source read last_payload_hash/remote_id
    cursor: str | None = None  # the change stream the record came from


@dataclass(frozen=True)
class ChannelInfo:
    """A read-only view of a channel: what steps, clients and hooks may know of it.

    ``config`` is the channel's stored config (``env:`` references unresolved, read
    only); a step's resolved config, with secrets, is :attr:`StepContext.config`.
    """

    id: int
    slug: str
    name: str
    plugin: str
    status: str = "active"
    config: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    updated_at: datetime | None = None

    @classmethod
    def of(cls, channel: Any) -> ChannelInfo:
        """The view of a stored channel (or a view already)."""
        if isinstance(channel, ChannelInfo):
            return channel
        return cls(
            id=channel.id,
            slug=channel.slug,
            name=channel.name,
            plugin=channel.plugin,
            status=channel.status,
            config=MappingProxyType(dict(channel.config or {})),
            updated_at=getattr(channel, "updated_at", None),
        )


class RunHandle(Protocol):
    """What a step or sink uses to report per-item outcomes and log lines.

    Every item a step drops or a sink handles is reported once: ``succeed`` (the
    marketplace has it), ``fail`` with the reason that is the record's own fault
    (``mapping``: the record cannot be expressed for the marketplace; ``remote``:
    the marketplace refused this record; ``local``: the seller's data is wrong) —
    a failure becomes a penalty — or ``skip`` (nothing to do).  An outage is
    nobody's record's fault: raise the marketplace client's transient error and
    the run fails without penalising anything.
    """

    run_id: int | None
    dry_run: bool

    def skip(self, item: Item, message: str) -> None: ...

    def fail(self, item: Item, message: str, reason: ReasonType = "mapping") -> None: ...

    def succeed(self, item: Item, remote_id: str | None = None) -> None: ...

    def log(self, key: str | None, message: str, level: str = "info") -> None: ...


class Source(Protocol):
    """Yields items lazily; honours ``ctx.keys`` (manual triggers) and ``ctx.limit``."""

    def __iter__(self) -> Iterator[Item]: ...


class Step(Protocol):
    """Transforms one batch; returns the items that go on (report the ones it drops)."""

    def process(self, items: list[Item], run: RunHandle) -> list[Item]: ...


class Sink(Protocol):
    """Sends items to their destination.

    ``render`` returns the payloads ``send`` would transmit, for ``--dry-run``;
    ``send`` reports every item it was given through ``run`` (succeed or fail);
    items it leaves unreported are counted as succeeded.
    ``close(run)`` (optional) runs once at the end, e.g. to flush a last upload;
    ``abandon(run)`` (optional) runs instead when the run ends early (an error, an outage),
    to finish what is already on its way without starting anything new.
    ``screen(items, run)`` (optional) fails the items the destination could never take
    (reason ``mapping``) and returns the rest; the runner calls it before ``render`` or
    ``send`` so such items count as failed, not sent (``UploadSink`` screens against its
    ``row_schema``).
    """

    def render(self, items: list[Item]) -> list[Any]: ...

    def send(self, items: list[Item], run: RunHandle) -> None: ...


@dataclass
class StepContext:
    """Everything a step factory may use to build its runtime object.

    ``params``: the step's keys from the flow file (validated, defaults filled,
    without ``type``).  ``config``: the channel config with ``env:`` secrets
    resolved — for code that needs credentials; never hand it to a template
    (``template_context()`` has the secret-free view).  ``templates`` compiles
    Jinja with this flow's filters.  ``client()`` builds the marketplace client
    once per run.  ``reads`` answers the few questions about local state a
    marketplace flow asks (stored orders, leaf categories, ...).  ``keys``
    restricts a source to explicit records (``pazar trigger --sku``), ``limit``
    caps how many it reads.  ``pointer`` and ``step_type`` say where the step sits
    in its flow and under which name it was registered.  ``memo`` keeps values
    between runs of the same (channel, flow) in one daemon (lookups that never change, e.g. an id); it is
    emptied when the channel changes.  ``resend``: the run was forced to send its
    records whether they changed or not (``pazar trigger --force``).  ``payload``: the
    data a trigger gave this run (the ``payload`` object of an HTTP trigger's body or of
    ``pazar trigger --payload FILE``, validated by ``schemas/triggers``), else None.

    ``db``, ``commerce`` and ``registry`` are for the engine's own steps; a
    marketplace plugin uses ``reads`` instead.
    ``template_config`` is what templates see as ``config``: the same config without
    its secret fields (the runner computes it once per run), so no template can render
    a credential into a payload, a log line or a file name.
    """

    params: dict[str, Any]
    flow: FlowDef
    channel: ChannelInfo
    config: Mapping[str, Any]
    templates: TemplateEnv
    clock: Clock
    client_factory: Callable[[], Any] | None = None
    dry_run: bool = False
    keys: list[str] | None = None
    limit: int | None = None
    run: RunHandle | None = None
    pointer: str = ""
    step_type: str = ""
    memo: dict[Any, Any] = field(default_factory=dict)
    template_config: Mapping[str, Any] | None = None
    resend: bool = False
    payload: Mapping[str, Any] | None = None
    db: Any = None
    commerce: Any = None
    registry: Any = None

    _client: Any = None
    _reads: Reads | None = None

    @property
    def reads(self) -> Reads:
        """Questions about this channel's local state (stored orders, categories, ...)."""
        if self._reads is None:
            from pazar.reads import Reads  # the engine's reads need the models; few steps ask

            self._reads = Reads(self.db, self.channel.id, self.clock)
        return self._reads

    @property
    def where(self) -> str:
        """Where this step sits, for messages: ``plugin/flow /steps/0``."""
        return f"{self.flow.ref} {self.pointer}".strip()

    def client(self) -> Any:
        """The marketplace client of this run (built on first use, shared by its steps)."""
        if self._client is None:
            if self.client_factory is None:
                from pazar.errors import PazarError

                raise PazarError(f"marketplace {self.flow.plugin!r} provides no HTTP client")
            self._client = self.client_factory()
        return self._client

    def client_before_threads(self) -> None:
        """Build this run's client now, on the calling thread, when worker threads are about
        to share it (the engine's uploads and status questions): they must not race to build
        it.  A marketplace without a client is left to fail where a worker uses one."""
        if self._client is None:
            from pazar.errors import PazarError

            with contextlib.suppress(PazarError):
                self.client()

    def template_context(self, **extra: Any) -> dict[str, Any]:
        """The variables every template of this step may use: ``config`` (without
        secrets), ``channel`` and ``now``, plus ``extra`` (e.g. ``record``)."""
        ctx: dict[str, Any] = {
            "config": self.template_config if self.template_config is not None else self.config,
            "channel": channel_view(self.channel),
            "now": self.clock.now(),
        }
        ctx.update(extra)
        return ctx


def channel_view(channel: Any) -> dict[str, Any]:
    """What templates see as ``channel`` (never the config: that is ``config``)."""
    if channel is None:
        return {}
    return {"id": channel.id, "slug": channel.slug, "name": channel.name, "plugin": channel.plugin}


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Batches of at most ``size`` items, lazily."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
