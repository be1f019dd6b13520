"""``GET /metrics``: Prometheus text, read from the database at scrape time.

A custom collector asks the database a handful of aggregate questions per scrape
(nothing is counted in process memory, so every daemon and every API process shows
the same numbers, and a restart loses none).  Counts over runs cover the runs the
database keeps (see ``pazar prune``), which is why they are gauges, not counters.
The dashboard numbers are those recorded by each channel's last listings read:
recomputing them per scrape would cost a catalog scan every 15 seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry
from prometheus_client.utils import floatToGoString
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from pazar.models.channels import Channel
from pazar.models.jobs import Daemon, Job
from pazar.models.ops import AlarmRule, DashboardHistory
from pazar.models.runs import Run
from pazar.models.state import OPEN_BATCH_STATUSES, BatchRequest, FailedIntegration
from pazar.ops.dashboard import NUMBERS
from pazar.state.penalties import sql_is_exhausted

DURATION_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0)


def _epoch(moment: datetime | None) -> float | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        from pazar.models.base import UTCDateTime

        moment = UTCDateTime().process_result_value(moment, None)
    assert moment is not None
    return moment.timestamp()


class PazarCollector(Collector):
    """Reads the state of every channel, flow, queue and daemon at each scrape."""

    def __init__(self, db: Any, clock: Any) -> None:
        self.db = db
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        with self.db.session() as session:
            yield from self._collect(session, self.clock.now())

    def _collect(self, session: Session, now: datetime) -> Iterator[Metric]:
        slugs = dict(session.execute(select(Channel.id, Channel.slug)).all())

        def slug(channel_id: int) -> str:
            return slugs.get(channel_id, str(channel_id))

        yield from self._runs(session, slug)
        yield from self._state(session, slug, now)
        yield from self._queue(session, now)
        yield from self._dashboard(session, slug)
        alarms = GaugeMetricFamily("pazar_alarm_firing", "1 while an alarm fires", labels=["alarm"])
        for name, since in session.execute(select(AlarmRule.name, AlarmRule.firing_since)):
            alarms.add_metric([name], 1.0 if since is not None else 0.0)
        yield alarms

    def _runs(self, session: Session, slug: Any) -> Iterator[Metric]:
        flow = Run.plugin + "/" + Run.flow
        runs = GaugeMetricFamily(
            "pazar_runs", "Runs kept in the database", labels=["channel", "flow", "status"]
        )
        sent = GaugeMetricFamily(
            "pazar_records_sent", "Records sent by the runs kept", labels=["channel", "flow"]
        )
        failed = GaugeMetricFamily(
            "pazar_records_failed", "Records failed in the runs kept", labels=["channel", "flow"]
        )
        rows = session.execute(
            select(
                Run.channel_id,
                flow.label("flow"),
                Run.status,
                func.count(),
                func.coalesce(func.sum(Run.sent), 0),
                func.coalesce(func.sum(Run.failed), 0),
            ).group_by(Run.channel_id, flow, Run.status)
        ).all()
        totals: dict[tuple[str, str], list[int]] = {}
        for channel_id, name, status, count, n_sent, n_failed in rows:
            runs.add_metric([slug(channel_id), name, status], float(count))
            pair = totals.setdefault((slug(channel_id), name), [0, 0])
            pair[0] += int(n_sent)
            pair[1] += int(n_failed)
        for (channel, name), (n_sent, n_failed) in sorted(totals.items()):
            sent.add_metric([channel, name], float(n_sent))
            failed.add_metric([channel, name], float(n_failed))
        yield runs
        yield sent
        yield failed

        durations = HistogramMetricFamily(
            "pazar_run_duration_seconds",
            "Duration of the finished runs kept",
            labels=["channel", "flow"],
        )
        bucket_columns = [
            func.sum(case((Run.duration_ms <= int(b * 1000), 1), else_=0)) for b in DURATION_BUCKETS
        ]
        for row in session.execute(
            select(
                Run.channel_id,
                flow.label("flow"),
                func.count(),
                func.coalesce(func.sum(Run.duration_ms), 0),
                *bucket_columns,
            )
            .where(Run.duration_ms.is_not(None))
            .group_by(Run.channel_id, flow)
        ):
            channel_id, name, count, total_ms, *cumulative = row
            buckets = [
                (floatToGoString(b), float(c or 0))
                for b, c in zip(DURATION_BUCKETS, cumulative, strict=True)
            ]
            buckets.append(("+Inf", float(count)))
            durations.add_metric([slug(channel_id), name], buckets, float(total_ms) / 1000)
        yield durations

        last_ok = GaugeMetricFamily(
            "pazar_last_success_timestamp_seconds",
            "When the last successful run of a flow for a channel finished (Unix time)",
            labels=["channel", "flow"],
        )
        for channel_id, name, finished in session.execute(
            select(Run.channel_id, flow.label("flow"), func.max(Run.finished_at))
            .where(Run.status == "success")
            .group_by(Run.channel_id, flow)
        ):
            stamp = _epoch(finished)
            if stamp is not None:
                last_ok.add_metric([slug(channel_id), name], stamp)
        yield last_ok

    def _state(self, session: Session, slug: Any, now: datetime) -> Iterator[Metric]:
        f = FailedIntegration.__table__
        penalties = GaugeMetricFamily(
            "pazar_penalties",
            "Penalised records (failed integrations), exhausted ones separately",
            labels=["channel", "content_type", "state"],
        )
        exhausted = and_(sql_is_exhausted(f, now), f.c.released_at.is_(None))
        for channel_id, ct, total, parked in session.execute(
            select(
                f.c.channel_id,
                f.c.content_type,
                func.count(),
                func.sum(case((exhausted, 1), else_=0)),
            ).group_by(f.c.channel_id, f.c.content_type)
        ):
            penalties.add_metric([slug(channel_id), ct, "waiting"], float(total - (parked or 0)))
            penalties.add_metric([slug(channel_id), ct, "exhausted"], float(parked or 0))
        yield penalties
        batches = GaugeMetricFamily(
            "pazar_open_batches",
            "Batch requests not done or failed yet",
            labels=["channel", "content_type"],
        )
        for channel_id, ct, count in session.execute(
            select(BatchRequest.channel_id, BatchRequest.content_type, func.count())
            .where(BatchRequest.status.in_(OPEN_BATCH_STATUSES))
            .group_by(BatchRequest.channel_id, BatchRequest.content_type)
        ):
            batches.add_metric([slug(channel_id), ct], float(count))
        yield batches

    def _queue(self, session: Session, now: datetime) -> Iterator[Metric]:
        depth = GaugeMetricFamily("pazar_queue_depth", "Queued jobs", labels=["flow"])
        for name, count in session.execute(
            select(Job.flow, func.count()).where(Job.status == "queued").group_by(Job.flow)
        ):
            depth.add_metric([name], float(count))
        yield depth
        running = session.scalar(select(func.count()).where(Job.status == "running")) or 0
        yield GaugeMetricFamily("pazar_jobs_running", "Jobs being run", value=float(running))
        oldest = session.scalar(
            select(func.min(Job.not_before)).where(Job.status == "queued", Job.not_before <= now)
        )
        stamp = _epoch(oldest)
        yield GaugeMetricFamily(
            "pazar_job_lag_seconds",
            "How long the oldest runnable queued job has waited",
            value=max(0.0, now.timestamp() - stamp) if stamp is not None else 0.0,
        )
        beat = _epoch(
            session.scalar(select(func.max(Daemon.heartbeat_at)).where(Daemon.stopped_at.is_(None)))
        )
        if beat is not None:
            yield GaugeMetricFamily(
                "pazar_daemon_heartbeat_age_seconds",
                "Seconds since the freshest heartbeat of a running daemon",
                value=max(0.0, now.timestamp() - beat),
            )

    def _dashboard(self, session: Session, slug: Any) -> Iterator[Metric]:
        board = GaugeMetricFamily(
            "pazar_dashboard",
            "The dashboard's eight numbers as the channel's last listings read recorded them",
            labels=["channel", "number"],
        )
        latest = (
            select(DashboardHistory.channel_id, func.max(DashboardHistory.id).label("id"))
            .group_by(DashboardHistory.channel_id)
            .subquery()
        )
        for row in session.scalars(
            select(DashboardHistory).join(latest, latest.c.id == DashboardHistory.id)
        ):
            for name in NUMBERS:
                value = getattr(row, name)
                if value is not None:
                    board.add_metric([slug(row.channel_id), name], float(value))
        yield board


def registry_for(db: Any, clock: Any) -> CollectorRegistry:
    """A registry of its own (never the process-global one) with pazar's collector."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PazarCollector(db, clock))
    return registry
