"""Change-driven wake-ups: a commerce change, or an upload sent, makes its flows due in seconds.

A flow's cron schedule stays the safety net and the least it runs; a change to what
it sends wakes it sooner.

- :func:`mark_changes` runs in the transaction that changed stocks, prices or products
  (an import, ``pazar stock set``, the embedded commerce backend): it adds one to the
  kind's row of ``change_marks`` and, on PostgreSQL, sends a ``NOTIFY`` on its schema's
  channel, which PostgreSQL delivers only when that transaction commits.  One row per kind, so a burst
  of 100k changes updates a row, not 100k.
- :class:`WakeUps` (one per daemon) reads the marks — on SQLite every scheduler pass (a
  table of three rows), on PostgreSQL when :class:`ChangeListener` heard a notification
  (and every ``SAFETY_PROBE`` in case the listening connection missed one) — and makes
  each flow that sends a changed kind due ``window`` seconds after the change, for every
  active channel whose flow is on and scheduled.  The window coalesces: changes made
  while the job waits are sent by that same job.
- While a channel has uploads waiting on the marketplace, its check-uploads flow (source
  ``state.open_batches``) is due 3, 6, 12, 24 ... seconds after the newest was sent, up
  to the flow's own schedule interval, where the cron takes over.

Exactly-once across daemons: a wake-up is claimed as a (channel, flow, moment) row of
``schedule_ticks``, as cron ticks are, and its job reuses one already queued for the
pair.  At most one run per (channel, flow) holds as for every job (the queue's lease).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from pazar.models.jobs import ChangeMark
from pazar.models.state import WAITING_BATCH_STATUSES, BatchRequest
from pazar.sqlbulk import dialect_insert

if TYPE_CHECKING:  # the writers of changes import this module: keep what they load small
    from pazar.flows.model import FlowDef

log = logging.getLogger("pazar.wake")

# One channel per schema, so daemons of pazar databases in other schemas of the same
# PostgreSQL database are not woken by each other's changes. A channel name is an identifier
# (63 bytes at most), so the server hashes its schema into it, for senders and listeners alike.
NOTIFY_CHANNEL_SQL = "'pazar_changes_' || left(md5(current_schema()), 12)"
# Seconds between a change and the run that sends it (``pazar daemon --wake-window``);
# a flow may ask for longer (``wake_window:``), e.g. to keep a marketplace's upload pace.
DEFAULT_WINDOW = 3.0
# The first check of a sent upload, then doubling while it stays pending.
FOLLOW_FIRST = timedelta(seconds=3)
# How often a daemon reads the marks (or waiting uploads) without being told to.
SAFETY_PROBE = timedelta(seconds=30)

# The change streams (see pazar.state.triggers.SOURCE_OF_STEP) each kind of mark wakes.
WAKES: dict[str, frozenset[str]] = {
    "stocks": frozenset({"stocks"}),
    "prices": frozenset({"prices"}),
    "products": frozenset({"products", "new_products", "deleted_products"}),
}
# What an import of each kind marks: catalog items make records saleable on a channel.
IMPORT_MARKS: dict[str, tuple[str, ...]] = {
    "products": ("products",),
    "prices": ("prices",),
    "stocks": ("stocks",),
    "catalog_items": ("products", "prices", "stocks"),
}


def mark_changes(session: Session, kinds: Iterable[str], now: datetime) -> None:
    """Record, in the caller's transaction, that records of ``kinds`` changed at ``now``.

    Call it once per transaction (not per record): it is one statement whatever was
    written, and on PostgreSQL one ``pg_notify`` that leaves only on commit.
    """
    names = sorted(set(kinds))
    if not names:
        return
    table = ChangeMark.__table__
    insert = dialect_insert(session, table).values(
        [{"kind": name, "serial": 1, "changed_at": now} for name in names]
    )
    session.execute(
        insert.on_conflict_do_update(
            index_elements=["kind"],
            set_={"serial": table.c.serial + 1, "changed_at": insert.excluded.changed_at},
        )
    )
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text(f"SELECT pg_notify({NOTIFY_CHANNEL_SQL}, :kinds)"),
            {"kinds": ",".join(names)},
        )


@dataclass(frozen=True)
class Wake:
    """A flow to run for a channel from ``at`` on, and why (``change`` or ``upload``)."""

    channel_id: int
    flow: str
    at: datetime
    trigger: str


def _scheduled(channels: list[Any], flows: Iterable[FlowDef]) -> Iterator[tuple[Any, FlowDef]]:
    """(channel, flow) pairs the scheduler runs: active channel, flag on, a schedule."""
    from pazar.channels import feature_enabled

    flows = list(flows)
    for channel in channels:
        if channel.status != "active":
            continue
        overrides = (channel.config or {}).get("schedules") or {}
        for flow in flows:
            if flow.plugin != channel.plugin or not feature_enabled(channel, flow.feature_flag):
                continue
            if overrides.get(flow.flow) or flow.schedule:
                yield channel, flow


def _interval(channel: Any, flow: FlowDef, now: datetime) -> timedelta:
    from pazar.flows.schedule import parse_schedule

    text_ = ((channel.config or {}).get("schedules") or {}).get(flow.flow) or flow.schedule
    schedule = parse_schedule(str(text_))
    tick = schedule.previous_at_or_before(now)
    return schedule.next_after(tick) - tick


def follow_tick(sent: datetime, now: datetime, cap: timedelta) -> datetime | None:
    """The latest check moment of an upload sent at ``sent`` that is not after ``now``:
    ``sent`` + 3 s, 6 s, 12 s ... while shorter than ``cap`` (the cron's interval, which
    covers the rest); None before the first."""
    step, latest = FOLLOW_FIRST, None
    while step < cap and sent + step <= now:
        latest = sent + step
        step *= 2
    return latest


class WakeUps:
    """What one daemon learnt of the marks and uploads, and the wake-ups due from them.

    :meth:`ring` is called by the PostgreSQL listener on a notification and by the
    daemon when a run ended (it may have sent an upload); it sets ``bell``, which the
    scheduler loop waits on instead of sleeping out its poll.
    """

    def __init__(self, *, window: float = DEFAULT_WINDOW, listening: bool = False) -> None:
        self.window = timedelta(seconds=window)
        self.listening = listening
        self.bell = threading.Event()
        self.heard = False  # a notification came: read the marks on the next pass
        self.uploads_waiting = True  # read the waiting uploads on the next pass
        self.seen: dict[str, int] | None = None
        self._reading: dict[str, int] | None = None  # confirmed once the pass committed
        self._probed_at: datetime | None = None
        self._followed_at: datetime | None = None

    def ring(self, *, uploads: bool = False) -> None:
        if uploads:
            self.uploads_waiting = True
        else:
            self.heard = True
        self.bell.set()

    def confirm(self) -> None:
        """The pass's transaction committed: its wake-ups are queued, its marks seen."""
        if self._reading is not None:
            self.seen, self._reading = self._reading, None

    def forget(self) -> None:
        """The pass failed: read the marks again next time."""
        self._reading, self._probed_at = None, None

    def due(
        self, session: Session, channels: list[Any], flows: list[FlowDef], now: datetime
    ) -> list[Wake]:
        return self._changes(session, channels, flows, now) + self._uploads(
            session, channels, flows, now
        )

    def window_of(self, flow: FlowDef) -> timedelta:
        return max(self.window, timedelta(seconds=flow.wake_window or 0))

    def _changes(
        self, session: Session, channels: list[Any], flows: list[FlowDef], now: datetime
    ) -> list[Wake]:
        quiet = self.listening and not self.heard
        if quiet and self._probed_at is not None and now - self._probed_at < SAFETY_PROBE:
            return []
        self.heard = False
        self._probed_at = now
        marks = ChangeMark.__table__
        rows = session.execute(select(marks.c.kind, marks.c.serial, marks.c.changed_at)).all()
        self._reading = {row.kind: int(row.serial) for row in rows}
        if self.seen is None:
            # Changes from before this daemon started are the cron's: each flow's latest
            # tick is claimed on the first pass.
            return []
        changed: dict[str, datetime] = {
            row.kind: row.changed_at for row in rows if self.seen.get(row.kind) != row.serial
        }
        if not changed:
            return []
        from pazar.state.triggers import source_of

        woken: dict[tuple[int, str], Wake] = {}
        for channel, flow in _scheduled(channels, flows):
            stream = source_of(flow)
            moments = [at for kind, at in changed.items() if stream in WAKES.get(kind, ())]
            if not moments:
                continue
            wake = Wake(channel.id, flow.ref, min(moments) + self.window_of(flow), "change")
            woken[(channel.id, flow.ref)] = wake
        return list(woken.values())

    def _uploads(
        self, session: Session, channels: list[Any], flows: list[FlowDef], now: datetime
    ) -> list[Wake]:
        recent = self._followed_at is not None and now - self._followed_at < SAFETY_PROBE
        if not self.uploads_waiting and recent:
            return []
        self._followed_at = now
        checks = list(
            _scheduled(channels, (f for f in flows if f.source.type == "state.open_batches"))
        )
        if not checks:
            self.uploads_waiting = False
            return []
        b = BatchRequest.__table__
        rows = session.execute(
            select(b.c.channel_id, b.c.content_type, func.max(b.c.sent_at))
            .where(
                b.c.status.in_(WAITING_BATCH_STATUSES),
                b.c.channel_id.in_(sorted({channel.id for channel, _ in checks})),
            )
            .group_by(b.c.channel_id, b.c.content_type)
        ).all()
        self.uploads_waiting = bool(rows)  # follow every pass while something waits
        newest: dict[int, dict[str, datetime]] = {}
        for channel_id, content_type, sent in rows:
            if sent is not None:
                newest.setdefault(channel_id, {})[content_type] = sent
        wakes: list[Wake] = []
        for channel, flow in checks:
            wanted = flow.source.params.get("content_types")
            sent_at = [
                at
                for kind, at in newest.get(channel.id, {}).items()
                if not wanted or kind in wanted
            ]
            if not sent_at:
                continue
            tick = follow_tick(max(sent_at), now, _interval(channel, flow, now))
            if tick is not None:
                wakes.append(Wake(channel.id, flow.ref, tick, "upload"))
        return wakes


def enqueue_wakes(session: Session, wakes: list[Wake], now: datetime) -> list[int]:
    """Claim each wake-up once (across daemons) and queue its job; returns the job ids."""
    from pazar.jobs.scheduler import Due, claim_ticks, enqueue_claimed

    if not wakes:
        return []
    claimed = claim_ticks(session, [Due(w.channel_id, w.flow, w.at, w.trigger) for w in wakes], now)
    if not claimed:
        return []
    by_key = {(w.channel_id, w.flow): w for w in wakes}
    jobs: list[int] = []
    for trigger in sorted({w.trigger for w in wakes}):
        mine = {key: tick for key, tick in claimed.items() if by_key[key].trigger == trigger}
        if mine:
            jobs += enqueue_claimed(
                session,
                mine,
                now,
                trigger=trigger,
                not_before={key: by_key[key].at for key in mine},
            )
    return sorted(set(jobs))


def listen(conn: Any) -> None:
    """LISTEN, on a psycopg connection, to the change marks of the schema it uses."""
    (channel,) = conn.execute(f"SELECT {NOTIFY_CHANNEL_SQL}").fetchone()
    conn.execute(f'LISTEN "{channel}"')  # 'pazar_changes_' and hex digits: safe quoted


class ChangeListener:
    """A PostgreSQL connection that LISTENs for change marks and rings a daemon's bell.

    It reconnects after an error; it rings once after every (re)connect, since a
    notification sent while it was away is lost (the marks table is not).
    """

    def __init__(self, url: str, ring: Callable[[], None]) -> None:
        parsed = make_url(url).set(drivername="postgresql")
        self._conninfo = parsed.render_as_string(hide_password=False)
        self._ring = ring
        self._stop = threading.Event()
        self.listening = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="pazar-listen", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _loop(self) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True) as conn:
                    listen(conn)
                    self.listening.set()
                    self._ring()
                    while not self._stop.is_set():
                        for _note in conn.notifies(timeout=1.0):
                            self._ring()
            except psycopg.Error as exc:
                log.warning("listening for changes failed (%s); retrying", type(exc).__name__)
            finally:
                self.listening.clear()
            self._stop.wait(5)
