"""Asynchronous uploads, owned by the engine: a marketplace says how to upload and how to ask.

Many marketplaces answer an upload (stock, prices, a product file) with an id and decide
about each record later.  Everything around those two calls is the same for every
marketplace, so it lives here: rows are built and checked per record, the upload's batch
request is opened and marked sent in one transaction with its items in flight (selection
leaves them out), the items are neither succeeded nor failed by the run, and the
``state.upload_results`` sink of a "check uploads" flow asks the sink that sent each open
batch for its status and records successes, penalties and expiry.

A plugin subclasses :class:`UploadSink` and writes :meth:`UploadSink.upload` and
:meth:`UploadSink.status`; nothing else.  An outage while uploading fails the run and leaves
its records eligible for the next one; only the marketplace refusing what was sent (or a
row that cannot be built) is the records' fault.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, ClassVar

from pazar.errors import PazarError
from pazar.flows.loader import load_flows
from pazar.hookspecs import hookimpl
from pazar.http_client import MarketplaceError
from pazar.pipeline import Item, RunHandle, StepContext
from pazar.polling import Poll, PollSink, poll_sink_type
from pazar.row_check import quick_check
from pazar.state.batches import mark_sent, open_batch


class UploadSink:
    """Base of a sink whose marketplace decides about uploaded records later.

    Subclasses implement :meth:`upload` (send rows, return the marketplace's id for the
    upload) and :meth:`status` (where an upload stands: :class:`Poll` ``pending``, ``done``
    with the rejected records, or ``failed`` as a whole).  They may refine :meth:`row`
    (the payload of one item; default ``item.data``), set ``row_schema`` (a JSON Schema
    every row must match before it is sent — a row that does not fails its record with
    reason ``mapping`` instead of reaching the marketplace), set ``kind`` (the name of
    this upload, handed back to :meth:`status`), and override :meth:`result_key` when the
    marketplace reports a record under another name than its key (e.g. a barcode).
    :meth:`after_upload` runs after a successful upload, e.g. to send a second upload of
    the same records with :meth:`upload_more`.

    An empty or unrecognised status answer must be reported as ``pending``: only the
    marketplace saying so makes an upload done.

    ``supersedes``: set it to True when each row carries an absolute value (a stock, a
    price) and the marketplace applies a record's uploads in the order it received them.
    A record changed again while an older upload of it is unconfirmed then goes out at
    once instead of waiting for that answer; the older upload's answer is recorded on its
    batch item only (it neither integrates nor penalises the record's newer value).  Leave
    it False (the default) when an older request must finish first: a product create, an
    update whose rows are not whole values.  A superseding sink's :meth:`upload` also runs
    on a worker thread while the runner prepares the next batch (see :meth:`send`).
    """

    kind: ClassVar[str] = "upload"
    supersedes: ClassVar[bool] = False
    asks_at_once: ClassVar[int] = PollSink.asks_at_once
    """Status questions a check may have in flight at once about this sink's uploads
    (1: the service must be asked one at a time)."""
    row_schema: ClassVar[Mapping[str, Any] | None] = None
    title: ClassVar[str] = ""

    def __init__(self, ctx: StepContext) -> None:
        from jsonschema import Draft202012Validator  # a run's cost, not every command's

        self.ctx = ctx
        self._validator = (
            Draft202012Validator(dict(self.row_schema)) if self.row_schema is not None else None
        )
        # Rows the schema certainly accepts skip the validator's walk (most of them).
        self._certain = quick_check(self.row_schema)
        self._screened: dict[int, Any] = {}  # id(item) -> its row, from screen() to send()
        # A superseding sink's upload on its way: sent on the worker thread, not tracked yet.
        self._on_its_way: tuple[list[Item], list[Any], Future[str]] | None = None
        self._sender: ThreadPoolExecutor | None = None

    # -- what a marketplace writes -----------------------------------------------------------
    def row(self, item: Item) -> Any:
        """The payload of one item (raise :class:`PazarError` when it cannot be built)."""
        return item.data

    def upload(self, rows: list[Any]) -> str:  # pragma: no cover - abstract
        """Send ``rows`` as one upload; return the marketplace's id for it."""
        raise NotImplementedError

    def status(self, remote_id: str, kind: str) -> Poll:  # pragma: no cover - abstract
        """Where the upload ``remote_id`` (of this sink's ``kind``) stands."""
        raise NotImplementedError

    def result_key(self, item: Item) -> str:
        """The name the marketplace reports this item's outcome under."""
        return item.key

    def after_upload(self, items: list[Item], run: RunHandle) -> None:
        """Called with the items of a successful upload (default: nothing)."""

    # -- what the engine does ----------------------------------------------------------------
    def screen(self, items: list[Item], run: RunHandle) -> list[Item]:
        """Fail (reason ``mapping``) the items whose row the marketplace could never take and
        return the rest.  The runner calls this before it counts what is sent, in dry runs
        too, so a row outside the request shape is a local failure, never a sent record."""
        sendable: list[Item] = []
        for item in items:
            try:
                row = self.row(item)
                problem = self._problem(row)
            except MarketplaceError:
                raise
            except PazarError as exc:
                problem = exc.message
            if problem is not None:
                run.fail(item, problem, "mapping")
                continue
            self._screened[id(item)] = row
            sendable.append(item)
        return sendable

    def _rows(self, items: list[Item], run: RunHandle) -> tuple[list[Item], list[Any]]:
        """The items to send and their rows (screened now unless the runner already did)."""
        if any(id(item) not in self._screened for item in items):
            items = self.screen(items, run)
        rows = [self._screened.pop(id(item)) for item in items]
        self._screened.clear()
        return items, rows

    def _problem(self, row: Any) -> str | None:
        if self._validator is None:
            return None
        if self._certain is not None and self._certain(row):
            return None
        error = next(iter(self._validator.iter_errors(row)), None)
        if error is None:
            return None
        where = "/".join(str(p) for p in error.absolute_path) or "the row"
        return f"{where}: {error.message} (the marketplace's request shape)"

    def render(self, items: list[Item]) -> list[Any]:
        """The rows a dry run shows (of items already screened)."""
        rows = [
            self._screened[id(item)] if id(item) in self._screened else self.row(item)
            for item in items
        ]
        self._screened.clear()
        return rows

    def send(self, items: list[Item], run: RunHandle) -> None:
        """Upload the batch and track it.

        A sink that ``supersedes`` hands the upload to a worker thread and returns: the
        runner selects and maps the next batch while the marketplace takes this one, so
        its answer time and the engine's work overlap instead of adding up.  One upload
        at a time and in order (what superseding needs: the marketplace applies a
        record's uploads in the order it received them); the previous one is waited for,
        tracked and logged before the next goes out, and the last one by :meth:`close`.
        Its records are in flight for the run from the moment they are handed over, so
        the run neither succeeds nor fails them unless the upload is refused.
        """
        sendable, rows = self._rows(items, run)
        if not rows:
            return
        defer = getattr(run, "defer", None)  # the engine's run handle; a bare one waits
        if not self.supersedes or defer is None:
            remote_id = self._upload(sendable, rows, run)
            if remote_id is not None:
                self._uploaded(sendable, rows, remote_id, run)
            return
        self._settle(run)
        if self._sender is None:
            self.ctx.client_before_threads()
            self._sender = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pazar-upload")
        for item in sendable:
            defer(item)
        self._on_its_way = (sendable, rows, self._sender.submit(self.upload, rows))

    def close(self, run: RunHandle) -> None:
        """The run's end: wait for the last upload on its way and track it."""
        try:
            self._settle(run)
        finally:
            self._stop_sender()

    def abandon(self, run: RunHandle) -> None:
        """The run ended early (an error elsewhere): an upload already on its way is still
        waited for and, if the marketplace took it, tracked, so its records are in flight
        rather than sent again unseen.  Its outage is not raised: the run has failed."""
        try:
            self._settle(run)
        except PazarError as exc:
            run.log(None, f"{self.title or self.kind}: {exc.message}", "warning")
        finally:
            self._stop_sender()

    def _settle(self, run: RunHandle) -> None:
        """Wait for the upload on its way; track it, or fail its records if refused."""
        if self._on_its_way is None:
            return
        items, rows, future = self._on_its_way
        self._on_its_way = None
        try:
            remote_id = future.result()
        except MarketplaceError as exc:
            if not exc.record_fault:
                raise  # an outage: the run fails and the records stay eligible
            self._refused(items, exc.remote_message or exc.message, run)
            return
        except PazarError as exc:
            self._refused(items, exc.message, run)
            return
        self._uploaded(items, rows, remote_id, run, defer=False)  # deferred when handed over

    def _stop_sender(self) -> None:
        if self._sender is not None:
            self._sender.shutdown(wait=True)
            self._sender = None

    def _uploaded(
        self,
        items: list[Item],
        rows: list[Any],
        remote_id: str,
        run: RunHandle,
        *,
        defer: bool = True,
    ) -> None:
        local_id = self.track(items, remote_id, run, kind=self.kind, defer=defer)
        name = self.title or self.kind
        run.log(None, f"{name}: uploaded {len(rows)} rows as {remote_id} (batch {local_id})")
        self.after_upload(items, run)

    def _upload(self, items: list[Item], rows: list[Any], run: RunHandle) -> str | None:
        """Upload; a refusal of the upload fails its records, anything else ends the run."""
        try:
            return self.upload(rows)
        except MarketplaceError as exc:
            if not exc.record_fault:
                raise
            self._refused(items, exc.remote_message or exc.message, run)
            return None

    @staticmethod
    def _refused(items: list[Item], message: str, run: RunHandle) -> None:
        for item in items:
            run.fail(item, message, "remote")

    def track(
        self,
        items: list[Item],
        remote_id: str,
        run: RunHandle,
        *,
        kind: str,
        content_type: str | None = None,
        defer: bool = True,
    ) -> str:
        """Open the batch request of an upload and mark it sent; its items wait for the
        marketplace's answer (in flight) and, with ``defer``, the run neither succeeds nor
        fails them.  Returns the local batch id."""
        ctx = self.ctx
        with ctx.db.session() as session:
            batch = open_batch(
                session,
                ctx.channel.id,
                str(content_type or ctx.flow.content_type or "DEFAULT"),
                ctx.flow,
                run.run_id,
                items,
                clock=ctx.clock,
                sink=ctx.step_type,
                kind=kind,
                result_key=self.result_key,
                content_type_of_items=content_type is None,
            )
            mark_sent(batch, remote_id, clock=ctx.clock)
            local_id = batch.local_batch_id
        deferring = getattr(run, "defer", None) if defer and content_type is None else None
        if deferring is not None:
            for item in items:
                deferring(item)
        return local_id

    def upload_more(
        self,
        items: list[Item],
        rows: list[Any],
        run: RunHandle,
        *,
        kind: str,
        content_type: str,
        send: Any,
    ) -> str | None:
        """A second upload of records already sent (e.g. their shipping info), tracked as its
        own batch under ``content_type``; ``send(rows)`` uploads and returns the remote id.
        Its failure is logged as a warning: the records' main upload went out."""
        try:
            remote_id = send(rows)
        except MarketplaceError as exc:
            run.log(None, f"{kind} upload failed: {exc.message}", "warning")
            return None
        local_id = self.track(items, remote_id, run, kind=kind, content_type=content_type)
        run.log(None, f"{kind}: {len(rows)} rows as {remote_id} (batch {local_id})")
        return local_id


class UploadResults(PollSink):
    """``state.upload_results``: polls every open upload through the sink that sent it."""

    def __init__(self, ctx: StepContext) -> None:
        super().__init__(ctx)
        self._sinks: dict[str, UploadSink] = {}
        self._building = threading.Lock()  # poll() runs on several askers at once

    def width(self, items: list[Item]) -> int:
        """The fewest questions at once that any sink of these batches allows (its sinks
        are built here, before the askers start)."""
        allowed = [super().width(items)]
        for item in items:
            with contextlib.suppress(PazarError):  # asking fails that batch, not the check
                allowed.append(max(1, int(self._sink(item.data).asks_at_once)))
        return min(allowed)

    def poll(self, batch: Mapping[str, Any]) -> Poll:
        sink = self._sink(batch)
        return sink.status(str(batch["remote_batch_id"]), str(batch.get("kind") or sink.kind))

    def _sink(self, batch: Mapping[str, Any]) -> UploadSink:
        with self._building:
            return self._sink_of(batch)

    def _sink_of(self, batch: Mapping[str, Any]) -> UploadSink:
        name = str(batch.get("sink") or self._flow_sink(str(batch.get("flow") or "")))
        sink = self._sinks.get(name)
        if sink is not None:
            return sink
        registry = self.ctx.registry
        step = registry.steps.get(name) if registry is not None else None
        if step is None:
            raise PazarError(f"batch {batch['local_batch_id']}: no registered sink {name!r}")
        ctx = self.ctx
        built = step.factory(
            StepContext(
                params={},
                flow=ctx.flow,
                channel=ctx.channel,
                config=ctx.config,
                templates=ctx.templates,
                clock=ctx.clock,
                client_factory=ctx.client,
                dry_run=ctx.dry_run,
                run=ctx.run,
                memo=ctx.memo,
                template_config=ctx.template_config,
                db=ctx.db,
                commerce=ctx.commerce,
                registry=registry,
                step_type=name,
            )
        )
        if not isinstance(built, UploadSink):
            raise PazarError(
                f"batch {batch['local_batch_id']} was sent by {name!r}, which is not an "
                "upload sink and cannot be polled"
            )
        self._sinks[name] = built
        return built

    def _flow_sink(self, ref: str) -> str:
        """The sink of the flow that sent a batch recorded before batches named their sink."""
        try:
            return load_flows(self.ctx.registry).get(ref).sink.type
        except PazarError:
            return ""


UPLOAD_RESULTS = poll_sink_type(
    "state.upload_results",
    UploadResults,
    "Poll every open upload of the channel through the upload sink that sent it; record "
    "accepted records, penalise rejected ones, fail batches past sent_to_remote.EXPIRATION_HOUR.",
)


@hookimpl
def pazar_register_steps(register: Callable[..., None]) -> None:
    register(UPLOAD_RESULTS)
