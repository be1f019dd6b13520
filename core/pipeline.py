"""The runtime contract of a flow: items, the context steps are built with, and
the handle through which they report outcomes.

A flow is ``source → steps → sink``.  The runner pulls items from the source in
batches of ``batch_size``, passes each batch through every step, hands the
surviving items to the sink, and writes counts and log lines once per batch.
Nothing here holds more than one batch, so memory does not grow with the catalog.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, TypeVar

ReasonType = Literal["mapping", "remote", "local"]
T = TypeVar("T")


@dataclass
class Item:
    """One record travelling through a flow.

    ``key`` identifies the object in logs, penalties and triggers (a SKU, an
    order number); ``data`` is what steps read and rewrite; ``meta`` carries what
    the source knows and the sink needs to record state (versions, row ids) and
    is never sent anywhere.
    """

    key: str
    data: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)


class RunHandle(Protocol):
    """What a step or sink uses to report per-item outcomes and log lines."""

    run_id: int | None
    dry_run: bool

    def skip(self, item: Item, message: str) -> None: ...

    def fail(self, item: Item, message: str, reason: ReasonType = "mapping") -> None: ...

    def succeed(self, item: Item, remote_id: str | None = None) -> None: ...

    def log(self, key: str | None, message: str, level: str = "info") -> None: ...


class Source(Protocol):
    """Yields items lazily; may be given explicit keys (manual triggers)."""

    def __iter__(self) -> Iterator[Item]: ...


class Step(Protocol):
    """Transforms one batch; returns the items that go on (may drop some)."""

    def process(self, items: list[Item], run: RunHandle) -> list[Item]: ...


class Sink(Protocol):
    """Sends items to their destination.

    ``render`` returns the payloads ``send`` would transmit, for ``--dry-run``;
    ``send`` must report every item it was given through ``run`` (succeed or
    fail); items it leaves unreported are counted as succeeded.
    ``close`` (optional) runs once at the end, e.g. to flush a last upload.
    """

    def render(self, items: list[Item]) -> list[Any]: ...

    def send(self, items: list[Item], run: RunHandle) -> None: ...


@dataclass
class StepContext:
    """Everything a step factory may use to build its runtime object.

    ``params`` are the step's keys from the flow file (validated, without
    ``type``); ``templates`` compiles Jinja with this flow's filters; ``config``
    is the channel config with ``env:`` secrets resolved; ``commerce`` is the
    seller-side backend; ``client()`` builds (once) the marketplace client.
    ``keys`` restricts a source to explicit records (``pazar trigger --sku``).
    ``template_config`` is what templates see as ``config``: the same config
    without its secret fields (the runner computes it once per run), so no
    template can render a credential into a payload, a log line or a file name.
    """

    params: dict[str, Any]
    flow: Any
    channel: Any
    config: Mapping[str, Any]
    templates: Any
    db: Any
    clock: Any
    commerce: Any = None
    client_factory: Callable[[], Any] | None = None
    dry_run: bool = False
    keys: list[str] | None = None
    limit: int | None = None
    run: RunHandle | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    template_config: Mapping[str, Any] | None = None

    _client: Any = None

    def client(self) -> Any:
        if self._client is None:
            if self.client_factory is None:
                from pazar.errors import PazarError

                raise PazarError(f"marketplace {self.flow.plugin!r} provides no HTTP client")
            self._client = self.client_factory()
        return self._client

    def template_context(self, **extra: Any) -> dict[str, Any]:
        """The variables every template of this step may use."""
        now: datetime = self.clock.now()
        ctx: dict[str, Any] = {
            "config": self.config if self.template_config is None else self.template_config,
            "channel": channel_view(self.channel),
            "now": now,
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
