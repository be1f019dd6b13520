"""Checking asynchronous marketplace batches: one flow shape for every marketplace.

A marketplace that answers uploads asynchronously needs a flow that asks "is
upload X done, and which rows did you reject?" and turns the answer into
integration actions and penalties.  Only the asking is marketplace-specific, so
the engine owns the rest: the ``state.open_batches`` source yields the channel's
batches that wait on the marketplace, a poll sink asks (the engine's
``state.upload_results`` asks the upload sink that sent each batch, see
:mod:`pazar.uploads`), and :func:`apply_poll` records the answer.
Expiry (``sent_to_remote.EXPIRATION_HOUR``) runs first, so a batch that never
completes is failed and its objects penalised even if the marketplace keeps
saying "processing".
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pazar.errors import PazarError
from pazar.hookspecs import hookimpl
from pazar.http_client import MarketplaceError
from pazar.models.state import WAITING_BATCH_STATUSES, BatchRequest
from pazar.pipeline import Item, StepContext
from pazar.registry import StepType
from pazar.state.batches import (
    expire_batches,
    fail_batch,
    get_batch,
    mark_ongoing,
    open_batches,
    record_done,
)

PollState = Literal["pending", "done", "failed"]


@dataclass(frozen=True)
class Poll:
    """What the marketplace said about one batch.

    ``rejected`` maps the key the marketplace reports a record under (its key, the
    SKU, unless the sink named another) to the marketplace's message; with state
    ``done`` every other record of the batch succeeded.  ``message`` says why a whole
    batch ``failed``.  An answer that says nothing clear is ``pending``, never done.
    """

    state: PollState
    rejected: Mapping[str, str] = field(default_factory=dict)
    message: str | None = None


@dataclass(frozen=True)
class PollOutcome:
    """How a batch ended up after a poll, for the run log."""

    status: str
    succeeded: int
    rejected: dict[str, str]


def apply_poll(
    session: Any, batch_id: int, poll: Poll, *, clock: Any, config: Mapping[str, Any]
) -> PollOutcome:
    """Record one poll's answer: integration actions, penalties (reason remote), batch status."""
    batch = get_batch(session, batch_id)
    if poll.state == "pending":
        if batch.status != "ongoing":
            mark_ongoing(batch, clock=clock)
        return PollOutcome(batch.status, 0, {})
    if poll.state == "failed":
        message = poll.message or "the marketplace reported the upload as failed"
        fail_batch(session, batch, message, now=clock.now(), config=config)
        return PollOutcome("fail", 0, {})
    succeeded, rejected = record_done(session, batch.id, poll.rejected, clock=clock, config=config)
    return PollOutcome("done", succeeded, rejected)


class OpenBatches:
    """Source: this channel's batches that wait on the marketplace, oldest first.

    Expired batches are failed before anything is yielded (one transaction), so
    the poll sink only ever sees batches still worth asking about.
    """

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx
        self.content_types: list[str] = list(ctx.params.get("content_types") or [])

    def __iter__(self) -> Iterator[Item]:
        ctx = self.ctx
        with ctx.db.session() as session:
            batches = open_batches(session, ctx.channel.id)  # few: one per upload in flight
            if batches and not ctx.dry_run:
                expired = expire_batches(session, now=ctx.clock.now(), candidates=batches)
                if ctx.run is not None:
                    for batch in expired:
                        ctx.run.log(batch.local_batch_id, f"batch failed: {batch.error}", "warning")
            rows = [self._row(b) for b in batches if self._waiting(b)]
        for row in rows:
            if ctx.keys and row["local_batch_id"] not in ctx.keys:
                continue
            yield Item(key=row["local_batch_id"], data=row)

    def _waiting(self, batch: BatchRequest) -> bool:
        return batch.status in WAITING_BATCH_STATUSES and (
            not self.content_types or batch.content_type in self.content_types
        )

    @staticmethod
    def _row(batch: BatchRequest) -> dict[str, Any]:
        return {
            "id": batch.id,
            "local_batch_id": batch.local_batch_id,
            "remote_batch_id": batch.remote_batch_id,
            "content_type": batch.content_type,
            "flow": batch.flow,
            "sink": batch.sink,
            "kind": batch.kind,
            "item_count": batch.item_count,
        }


class PollSink:
    """Base for a marketplace's poll sink: subclasses implement :meth:`poll`.

    :meth:`poll` runs on worker threads, up to ``asks_at_once`` calls at a time, while the
    answers before them are recorded: it must only ask (no writes of its own).  Answers
    are recorded in batch order whatever order they arrive in.

    Each batch is applied in its own transaction, so the answers already recorded
    stay when a later poll fails.  The marketplace refusing to answer about one
    batch is logged and the others are asked; an outage ends the run (transient:
    the batches stay open and are asked again by the next run).
    """

    asks_at_once: ClassVar[int] = 4
    """Questions in flight at once: the marketplace's answer time, not the engine, bounds a
    check of many uploads.  Set 1 for a service that must be asked one question at a time."""

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx

    def poll(self, batch: Mapping[str, Any]) -> Poll:  # pragma: no cover - abstract
        raise NotImplementedError

    def width(self, items: list[Item]) -> int:
        """How many questions about ``items`` may be in flight at once."""
        return max(1, int(self.asks_at_once))

    def render(self, items: list[Item]) -> list[Any]:
        return [
            {"poll": item.data["remote_batch_id"], "content_type": item.data["content_type"]}
            for item in items
        ]

    def send(self, items: list[Item], run: Any) -> None:
        # The next batches' questions are asked while this batch's answer is recorded: the
        # marketplace's think time and the database's writes overlap instead of adding up.
        # An answer is recorded only after every earlier one; answers asked ahead and left
        # unread when an outage ends the run are dropped (asking changes nothing on the
        # marketplace), and questions not asked yet are not asked.
        width = self.width(items)
        if items:
            self.ctx.client_before_threads()
        waiting = iter(items)
        asked: deque[tuple[Item, Future[Poll]]] = deque()
        with ThreadPoolExecutor(max_workers=width, thread_name_prefix="pazar-poll") as asker:

            def ask_ahead() -> None:
                while len(asked) < width and (item := next(waiting, None)) is not None:
                    asked.append((item, asker.submit(self.poll, item.data)))

            try:
                ask_ahead()
                while asked:
                    item, question = asked.popleft()
                    ask_ahead()
                    try:
                        answer = question.result()
                    except MarketplaceError as exc:
                        if exc.transient:
                            raise
                        run.fail(item, exc.message, "remote")
                        continue
                    except PazarError as exc:
                        run.fail(item, exc.message, "remote")
                        continue
                    self._record(item, answer, run)
            finally:
                for _item, question in asked:
                    question.cancel()

    def _record(self, item: Item, answer: Poll, run: Any) -> None:
        with self.ctx.db.session() as session:
            outcome = apply_poll(
                session,
                item.data["id"],
                answer,
                clock=self.ctx.clock,
                config=self.ctx.config,
            )
        for sku, message in outcome.rejected.items():
            run.log(sku, f"rejected: {message}", "warning")
        if outcome.status == "fail":
            run.fail(item, answer.message or "upload failed", "remote")
            return
        if outcome.status != "done":
            run.skip(item, "still processing on the marketplace")
            return
        run.log(
            item.key,
            f"{outcome.succeeded} accepted, {len(outcome.rejected)} rejected",
            "info",
        )
        run.succeed(item, item.data["remote_batch_id"])


def poll_sink_type(
    name: str, factory: Callable[[StepContext], PollSink], description: str
) -> StepType:
    """The StepType of a marketplace poll sink (same params everywhere)."""
    return StepType(
        name=name,
        kind="sink",
        factory=factory,
        params_schema={
            "type": "object",
            "additionalProperties": False,
            "properties": {"batch_size": {"type": "integer", "minimum": 1, "default": 20}},
        },
        description=description,
    )


OPEN_BATCHES = StepType(
    name="state.open_batches",
    kind="source",
    factory=OpenBatches,
    params_schema={
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "content_types": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Only batches of these content types (default: all).",
            }
        },
    },
    description=(
        "This channel's batch requests that wait on the marketplace (sent_to_remote, ongoing), "
        "after failing those past sent_to_remote.EXPIRATION_HOUR."
    ),
)


@hookimpl
def pazar_register_steps(register: Callable[..., None]) -> None:
    register(OPEN_BATCHES)
