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
from pazar.config_schema import schema_for
from pazar.errors import PazarError
from pazar.flows.model import FlowDef, StepDef
from pazar.models.runs import Run, RunLog
from pazar.pipeline import Item, StepContext, chunked
from pazar.runlog import RunRecorder, log_rows
from pazar.secret_policy import config_redactor, template_view
from pazar.state.outcomes import record_batch_outcomes
from pazar.templating import build_template_env

log = logging.getLogger("pazar.runner")

MAX_FAILURES_KEPT = 10


@dataclass
class RunResult:
    """What a run did; also what ``pazar_run_finished`` receives."""

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

    def counts(self) -> dict[str, int]:
        return {
            "read": self.read,
            "sent": self.sent,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "skipped": self.skipped,
        }


def check_runnable(flow: FlowDef, channel: Any) -> None:
    """A flow runs only for an active channel with the flow's flag on."""
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
        channel: Any,
        *,
        clock: Any,
        recorder: RunRecorder,
        dry_run: bool,
        keys: list[str] | None,
        limit: int | None,
        config: Mapping[str, Any] | None = None,
        memo: dict[Any, Any] | None = None,
    ) -> None:
        self.client: Any = None
        market = registry.marketplaces.get(flow.plugin)
        factory = market.client_factory if market is not None else None
        templates = build_template_env(registry)
        if config is None:
            config = resolved_config(channel, registry)
        resolved = config
        schema = schema_for(registry, channel.plugin)
        template_config = template_view(schema, config)
        recorder.redact = config_redactor(schema, config)

        def client_factory() -> Any:
            if self.client is None:
                if factory is None:
                    raise PazarError(f"marketplace {flow.plugin!r} provides no HTTP client")
                self.client = factory(channel, resolved)
            return self.client

        def build(step: StepDef) -> Any:
            ctx = StepContext(
                params=dict(step.params),
                flow=flow,
                channel=channel,
                config=config,
                template_config=template_config,
                templates=templates,
                db=db,
                clock=clock,
                client_factory=client_factory,
                dry_run=dry_run,
                keys=keys,
                limit=limit,
                run=recorder,
                extras={
                    "pointer": step.pointer,
                    "registry": registry,
                    "memo": memo if memo is not None else {},
                },
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
    trigger: str = "manual",
    dry_run: bool = False,
    limit: int | None = None,
    keys: list[str] | None = None,
    on_progress: Callable[[RunResult], None] | None = None,
    hook: Any = None,
    echo: Callable[[Any], None] | None = None,
    force: bool = False,
    on_final: Callable[[Any, RunResult], None] | None = None,
    record_empty: bool = True,
    config: Mapping[str, Any] | None = None,
    memo: dict[Any, Any] | None = None,
) -> RunResult:
    """Run ``flow`` for ``channel`` and return what happened.

    ``dry_run`` renders what the sink would send (through ``echo``) and writes
    nothing at all, not even a run row.  Errors in a batch of the sink that the
    marketplace client raises fail that batch's records (reason ``remote``) and
    the run goes on; anything else ends the run with status ``error``.
    ``on_final(session, result)`` runs inside the transaction that closes the run
    (the daemon finishes its job there, so run and job end together or not at all);
    a run that leaves no row (below) has no such transaction and does not call it.
    Without ``record_empty`` (the daemon's scheduled runs) a run that read nothing,
    logged nothing and ended well leaves no run row: a daemon checks every flow of
    every channel every few minutes, and a row per empty check would bury the runs
    that did something (its job row still says when the check happened).
    ``config``: the channel's resolved config when the caller keeps one (the daemon
    resolves it once per channel version); steps read it and never change it.
    ``memo``: a dict the caller keeps between runs of this (channel, flow), for values
    steps look up once (``StepContext.extras["memo"]``, e.g. the catalog id).  The daemon
    keeps one per (channel, flow) until the channel changes; one run of a pair at a
    time, so a memo is never shared by two runs.
    """
    if not force:
        check_runnable(flow, channel)
    started = time.monotonic()
    result = RunResult(
        run_id=None, flow=flow.ref, channel=channel.slug, trigger=trigger, dry_run=dry_run
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
                channel_id=channel.id,
                trigger=trigger,
                status="running",
                started_at=started_at,
            )
            session.add(run)
            session.flush()
            result.run_id = recorder.run_id = run.id

    if record_empty:
        open_run()
    pipeline: _Pipeline | None = None
    try:
        pipeline = _Pipeline(
            db,
            registry,
            flow,
            channel,
            clock=clock,
            recorder=recorder,
            dry_run=dry_run,
            keys=keys,
            limit=limit,
            config=config,
            memo=memo,
        )
        for batch in pipeline.batches(limit):
            open_run()
            _run_batch(pipeline, batch, recorder, result, echo)
            if not dry_run:
                _write_batch(db, flow, channel, clock, recorder, result)
            else:
                _count_dry(recorder.take(), result)
            if on_progress is not None:
                on_progress(result)
        pipeline.finish(recorder)  # its outcomes are written with the run's end below
        result.status = "success"  # "partial" once the final write has counted failures
    except PazarError as exc:
        result.status, result.error = "error", exc.message
    except Exception as exc:  # noqa: BLE001 - a broken step ends its run, not the process
        log.debug("run of %s for %s failed", flow.ref, channel.slug, exc_info=True)
        result.status, result.error = "error", f"{type(exc).__name__}: {exc}"
    finally:
        if pipeline is not None:
            pipeline.release()
    if result.error:
        result.error = recorder.redact(result.error)
        recorder.log(None, result.error, "error")
    result.duration_ms = int((time.monotonic() - started) * 1000)
    if not dry_run:
        pending = recorder.batch
        if result.status != "success" or pending.logs or pending.failed or pending.succeeded:
            open_run()
        _write_batch(db, flow, channel, clock, recorder, result, final=True, on_final=on_final)
        if hook is not None:
            hook.pazar_run_finished(run=result)
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
    except PazarError as exc:
        for item in items:
            recorder.fail(item, exc.message, "remote")
    for item in items:
        if not recorder.settled(item) and not item.meta.get("deferred"):
            recorder.succeed(item)


def _count_dry(outcome: Any, result: RunResult) -> None:
    """A dry run writes nothing but still says which records would fail, and why."""
    result.failed += len(outcome.failed)
    result.skipped += outcome.skipped
    for item, message, _reason in outcome.failed:
        if len(result.failures) < MAX_FAILURES_KEPT:
            result.failures.append((item.key, message))


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
        and not (outcome.logs or outcome.succeeded or outcome.failed)
    ):
        return  # a run that leaves no row has nothing to close (and on_final is not called)
    result.succeeded += len(outcome.succeeded)
    result.failed += len(outcome.failed)
    result.skipped += outcome.skipped
    for item, message, _reason in outcome.failed:
        if len(result.failures) < MAX_FAILURES_KEPT:
            result.failures.append((item.key, message))
    now = clock.now()
    with db.session() as session:
        if outcome.succeeded or outcome.failed:
            record_batch_outcomes(
                session,
                channel_id=channel.id,
                flow=flow,
                run_id=result.run_id,
                clock=clock,
                config=channel.config,
                succeeded=outcome.succeeded,
                failed=outcome.failed,
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
