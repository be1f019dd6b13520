"""Running one flow for one channel: source → steps → sink, batch by batch.

The runner is the only place that turns a flow definition into work, for the
CLI, triggers, the daemon and the demo alike.  It streams: the source is an
iterator, batches are cut lazily, and each batch's counts, log lines and
integration state are written in one transaction before the next batch is
read, so memory does not grow with the catalog and a crash loses at most the
batch in hand.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pazar.channels import feature_enabled, resolved_config
from pazar.commerce.saleability import MISSING_DATA
from pazar.config_schema import schema_for
from pazar.errors import PazarError, ValidationError
from pazar.flows.model import FlowDef, StepDef
from pazar.flows.validate import CORE_PLUGIN
from pazar.http_client import MarketplaceError
from pazar.models.runs import Run, RunLog
from pazar.pipeline import ChannelInfo, Item, StepContext, chunked
from pazar.runlog import RunRecorder, log_rows
from pazar.secret_policy import config_redactor, redactor, secret_values, template_view
from pazar.state.outcomes import record_batch_outcomes
from pazar.templating import build_template_env

log = logging.getLogger("pazar.runner")

MAX_FAILURES_KEPT = 10


@dataclass
class RunResult:
    """What a run did; also what ``pazar_run_finished`` receives.

    ``status``: ``success``; ``partial`` (some records failed, each penalised);
    ``failed`` (the marketplace could not be reached, answered out of contract or
    refused the channel's credentials: nothing was penalised, the records stay
    eligible; ``retryable`` when it was an outage, which the daemon retries with
    backoff); ``error`` (the run could not do its work: a config or data problem,
    or a bug).
    """

    run_id: int | None
    flow: str
    channel: str
    trigger: str
    status: str = "running"
    read: int = 0
    sent: int = 0
    succeeded: int = 0
    failed: int = 0
    skipped: int = 0
    duration_ms: int = 0
    error: str | None = None
    dry_run: bool = False
    failures: list[tuple[str, str]] = field(default_factory=list)
    retryable: bool = False  # stopped on an outage: the same run may succeed later
    waiting: int = 0  # records left waiting for their object's other content type

    def counts(self) -> dict[str, int]:
        return {
            "read": self.read,
            "sent": self.sent,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "skipped": self.skipped,
        }


@dataclass
class RunOptions:
    """How to run a flow once.

    ``trigger``: why it runs (schedule, manual, http, config_change), for the log.
    ``dry_run`` renders what the sink would send (through ``echo``) and writes
    nothing at all, not even a run row.  ``limit`` caps the records read; ``keys``
    restricts the source to these records.  ``force`` runs it even for an inactive
    channel or with its feature flag off (a one-off run by hand).
    ``on_progress(result)`` after each batch; ``hook`` receives ``pazar_run_finished``.
    ``on_final(session, result)`` runs inside the transaction that closes the run
    (the daemon finishes its job there, so run and job end together or not at all);
    a run that leaves no row has no such transaction and does not call it.
    Without ``record_empty`` (the daemon's scheduled runs) a run that read nothing,
    logged nothing and ended well leaves no run row: a daemon checks every flow of
    every channel every few minutes, and a row per empty check would bury the runs
    that did something (its job row still says when the check happened).
    ``config``: the channel's resolved config when the caller keeps one (the daemon
    resolves it once per channel version); steps read it and never change it.
    ``memo``: a dict the caller keeps between runs of this (channel, flow), for values
    steps look up once (``StepContext.memo``, e.g. the catalog id).  The daemon keeps
    one per (channel, flow) until the channel changes; one run of a pair at a time,
    so a memo is never shared by two runs.
    ``resend`` (``pazar trigger --force``): steps that drop unchanged records
    (``state.skip_unchanged``) keep them; the trigger's records go out changed or not.
    ``payload``: the data the trigger gave (an OMS's warehouse update), for the steps.
    """

    trigger: str = "manual"
    dry_run: bool = False
    limit: int | None = None
    keys: list[str] | None = None
    force: bool = False
    record_empty: bool = True
    config: Mapping[str, Any] | None = None
    memo: dict[Any, Any] | None = None
    resend: bool = False
    payload: Mapping[str, Any] | None = None
    echo: Callable[[Any], None] | None = None
    on_progress: Callable[[RunResult], None] | None = None
    on_final: Callable[[Any, RunResult], None] | None = None
    hook: Any = None


def check_marketplace(flow: FlowDef, channel: Any) -> None:
    """A flow runs only on a channel of its own marketplace (the engine's own ``core``
    flows run on any channel): ``pazar run stock --channel ff`` must never push
    Hepsiburada payloads for a Fashfed channel."""
    if flow.plugin not in (channel.plugin, CORE_PLUGIN):
        raise ValidationError(
            f"flow {flow.ref} belongs to {flow.plugin}; channel {channel.slug!r} is a "
            f"{channel.plugin} channel: run one of its own flows ({channel.plugin}/...; "
            f"see: pazar flows list --plugin {channel.plugin})"
        )


def check_runnable(flow: FlowDef, channel: Any, *, force: bool = False) -> None:
    """A flow runs only on a channel of its own marketplace (always; the engine's own
    ``core`` flows run on any channel), and only for an active channel with the flow's
    flag on (unless forced)."""
    check_marketplace(flow, channel)
    if force:
        return
    if channel.status != "active":
        raise PazarError(
            f"channel {channel.slug!r} is inactive; activate it with "
            f"`pazar channel activate {channel.slug}` (or pass --force for a one-off run)"
        )
    if not feature_enabled(channel, flow.feature_flag):
        raise PazarError(
            f"flow {flow.ref} is off for channel {channel.slug!r}; turn it on with "
            f"`pazar channel set {channel.slug} feature_flags.{flow.feature_flag}=true` "
            "(or pass --force for a one-off run)"
        )


class _Pipeline:
    """The built source, steps and sink of one run, sharing one marketplace client."""

    def __init__(
        self,
        db: Any,
        registry: Any,
        flow: FlowDef,
        channel: ChannelInfo,
        options: RunOptions,
        *,
        clock: Any,
        recorder: RunRecorder,
    ) -> None:
        self.client: Any = None
        market = registry.marketplaces.get(flow.plugin)
        factory = market.client_factory if market is not None else None
        templates = build_template_env(registry)
        config = options.config
        if config is None:
            config = resolved_config(channel, registry)
        resolved = config
        memo = options.memo if options.memo is not None else {}
        schema = schema_for(registry, channel.plugin)
        template_config = template_view(schema, config)
        recorder.redact = config_redactor(schema, config)

        def client_factory() -> Any:
            if self.client is None:
                if factory is None:
                    raise PazarError(f"marketplace {flow.plugin!r} provides no HTTP client")
                self.client = factory(channel, resolved)
                sent = getattr(self.client, "credentials", None)
                if callable(sent):  # what the client derives from secrets (a Basic header)
                    recorder.redact = redactor([*secret_values(schema, config), *sent()])
            return self.client

        def build(step: StepDef) -> Any:
            ctx = StepContext(
                params=dict(step.params),
                flow=flow,
                channel=channel,
                config=config,
                template_config=template_config,
                templates=templates,
                clock=clock,
                client_factory=client_factory,
                dry_run=options.dry_run,
                keys=options.keys,
                limit=options.limit,
                run=recorder,
                pointer=step.pointer,
                step_type=step.type,
                memo=memo,
                resend=options.resend,
                payload=options.payload,
                db=db,
                registry=registry,
            )
            return registry.steps[step.type].factory(ctx)

        self.source = build(flow.source)
        self.steps = [build(step) for step in flow.steps]
        self.sink = build(flow.sink)
        self.batch_size = int(flow.sink.params.get("batch_size") or flow.batch_size)

    def batches(self, limit: int | None) -> Iterator[list[Item]]:
        return chunked(_until(iter(self.source), limit), self.batch_size)

    def finish(self, recorder: RunRecorder) -> None:
        """Let the sink flush what it buffered (e.g. a last upload)."""
        closer = getattr(self.sink, "close", None)
        if callable(closer):
            closer(recorder)

    def abandon(self, recorder: RunRecorder) -> None:
        """The run ended early: let the sink finish what is already on its way (an upload
        on its worker thread is still tracked), never start anything new."""
        abandon = getattr(self.sink, "abandon", None)
        if not callable(abandon):
            return
        try:
            abandon(recorder)
        except Exception:  # noqa: BLE001 - the run's own error is the one to report
            log.debug(
                "%s could not finish what it had sent", type(self.sink).__name__, exc_info=True
            )

    def release(self) -> None:
        if self.client is not None and hasattr(self.client, "close"):
            self.client.close()


def _until(items: Iterator[Item], limit: int | None) -> Iterator[Item]:
    """Stop pulling from the source once ``limit`` items were read."""
    if limit is None:
        yield from items
        return
    for n, item in enumerate(items, start=1):
        yield item
        if n >= limit:
            return


def run_flow(
    db: Any,
    registry: Any,
    flow: FlowDef,
    channel: Any,
    *,
    clock: Any,
    options: RunOptions | None = None,
) -> RunResult:
    """Run ``flow`` for ``channel`` and return what happened (see :class:`RunOptions`).

    A record's own fault (the marketplace refused it, it cannot be mapped) fails that
    record and the run goes on.  An outage (the marketplace client's transient error:
    5xx, 429 after the waits, timeouts, connection errors, a malformed answer) ends the
    run ``failed`` with nothing penalised: its records stay eligible for the next run.
    Any other error ends the run ``error``.
    """
    options = options or RunOptions()
    check_runnable(flow, channel, force=options.force)
    view = ChannelInfo.of(channel)
    dry_run = options.dry_run
    started = time.monotonic()
    result = RunResult(
        run_id=None, flow=flow.ref, channel=view.slug, trigger=options.trigger, dry_run=dry_run
    )
    started_at = clock.now()
    recorder = RunRecorder(None, dry_run)

    def open_run() -> None:
        if dry_run or result.run_id is not None:
            return
        with db.session() as session:
            run = Run(
                plugin=flow.plugin,
                flow=flow.flow,
                channel_id=view.id,
                trigger=options.trigger,
                status="running",
                started_at=started_at,
            )
            session.add(run)
            session.flush()
            result.run_id = recorder.run_id = run.id

    if options.record_empty:
        open_run()
    pipeline: _Pipeline | None = None
    try:
        pipeline = _Pipeline(db, registry, flow, view, options, clock=clock, recorder=recorder)
        for batch in pipeline.batches(options.limit):
            open_run()
            _run_batch(pipeline, batch, recorder, result, options.echo)
            if not dry_run:
                _write_batch(db, flow, view, clock, recorder, result)
            else:
                _count_dry(recorder.take(), result)
            if options.on_progress is not None:
                options.on_progress(result)
        pipeline.finish(recorder)  # its outcomes are written with the run's end below
        result.status = "success"  # "partial" once the final write has counted failures
    except MarketplaceError as exc:
        # An outage, or credentials the marketplace refuses: no record is at fault.
        result.status = "error" if exc.record_fault else "failed"
        result.error, result.retryable = exc.message, exc.transient
    except PazarError as exc:
        result.status, result.error = "error", exc.message
    except Exception as exc:  # noqa: BLE001 - a broken step ends its run, not the process
        log.debug("run of %s for %s failed", flow.ref, view.slug, exc_info=True)
        result.status, result.error = "error", f"{type(exc).__name__}: {exc}"
    finally:
        if pipeline is not None:
            if result.status != "success":
                pipeline.abandon(recorder)
            pipeline.release()
    if result.error:
        result.error = recorder.redact(result.error)
        recorder.log(None, result.error, "error")
    result.duration_ms = int((time.monotonic() - started) * 1000)
    if not dry_run:
        pending = recorder.batch
        if (
            result.status != "success"
            or pending.logs
            or pending.failed
            or pending.succeeded
            or pending.waits
        ):
            open_run()
        _write_batch(db, flow, view, clock, recorder, result, final=True, on_final=options.on_final)
        if options.hook is not None:
            options.hook.pazar_run_finished(run=result)
    return result


def _run_batch(
    pipeline: _Pipeline,
    batch: list[Item],
    recorder: RunRecorder,
    result: RunResult,
    echo: Callable[[Any], None] | None,
) -> None:
    result.read += len(batch)
    items = batch
    for step in pipeline.steps:
        items = step.process(items, recorder)
        if not items:
            break
    screen = getattr(pipeline.sink, "screen", None)
    if items and screen is not None:
        items = screen(items, recorder)
    if recorder.dry_run:
        for payload in pipeline.sink.render(items) if items else []:
            if echo is not None:
                echo(payload)
        result.sent += len(items)
        return
    if not items:
        return
    result.sent += len(items)
    try:
        pipeline.sink.send(items, recorder)
    except MarketplaceError as exc:
        if not exc.record_fault:
            raise  # an outage ends the run; nobody's record is at fault
        for item in items:
            recorder.fail(item, exc.remote_message or exc.message, "remote")
    except PazarError as exc:
        for item in items:
            recorder.fail(item, exc.message, "remote")
    for item in items:
        if not recorder.settled(item):
            recorder.succeed(item)


def _count_dry(outcome: Any, result: RunResult) -> None:
    """A dry run writes nothing but still says which records would fail, and why."""
    result.failed += len(outcome.failed)
    result.skipped += outcome.skipped
    for item, message, _reason in outcome.failed:
        if len(result.failures) < MAX_FAILURES_KEPT:
            result.failures.append((item.key, message))


def _waits_line(needs: str, keys: list[str]) -> str:
    """The run log's summary of records that wait for ``needs`` (a content type, or data
    the commerce backend lacks)."""
    shown = ", ".join(keys[:10]) + (f" and {len(keys) - 10} more" if len(keys) > 10 else "")
    if needs in MISSING_DATA:
        return (
            f"{len(keys)} records wait for their {needs} in the commerce backend (not "
            f"penalised; they go out in the first run after it arrives): {shown}"
        )
    return (
        f"{len(keys)} records wait for their {needs} to be integrated first "
        f"(not penalised; they go out in the first run after it): {shown}"
    )


def _write_batch(
    db: Any,
    flow: FlowDef,
    channel: Any,
    clock: Any,
    recorder: RunRecorder,
    result: RunResult,
    *,
    final: bool = False,
    on_final: Callable[[Any, RunResult], None] | None = None,
) -> None:
    """One transaction: outcomes into the integration state, log lines, run counters."""
    outcome = recorder.take()
    if (
        final
        and result.run_id is None
        and not (outcome.logs or outcome.succeeded or outcome.failed or outcome.waits)
    ):
        return  # a run that leaves no row has nothing to close (and on_final is not called)
    if outcome.waits:
        result.waiting += len(outcome.waits)
        by_needs: dict[str, list[str]] = {}
        for item, needs in outcome.waits:
            by_needs.setdefault(needs, []).append(item.key)
        for needs, keys in by_needs.items():
            outcome.logs.append((None, "info", _waits_line(needs, keys)))
    result.succeeded += len(outcome.succeeded)
    result.failed += len(outcome.failed)
    result.skipped += outcome.skipped
    for item, message, _reason in outcome.failed:
        if len(result.failures) < MAX_FAILURES_KEPT:
            result.failures.append((item.key, message))
    now = clock.now()
    with db.session() as session:
        if outcome.succeeded or outcome.failed or outcome.waits or outcome.unwaits:
            record_batch_outcomes(
                session,
                channel_id=channel.id,
                flow=flow,
                run_id=result.run_id,
                clock=clock,
                config=channel.config,
                succeeded=outcome.succeeded,
                failed=outcome.failed,
                waits=outcome.waits,
                unwaits=outcome.unwaits,
            )
        if outcome.logs:
            session.execute(
                RunLog.__table__.insert(), log_rows(result.run_id or 0, outcome.logs, now)
            )
        if final and result.status == "success" and result.failed:
            result.status = "partial"
        values: dict[str, Any] = result.counts()
        if final:
            values.update(
                status=result.status,
                finished_at=now,
                duration_ms=result.duration_ms,
                error=result.error,
            )
        if result.run_id is not None:
            runs = Run.__table__
            session.execute(runs.update().where(runs.c.id == result.run_id).values(**values))
        if final and on_final is not None:
            on_final(session, result)
