"""Alarms (seed 7.3): rules over runs, penalties, batches, schedules and daemons, and
the notices they send when a condition starts, while it holds and when it clears.

A rule is evaluated by every daemon about once a minute (``AlarmTicker``) or by
``pazar alarms evaluate``; time comes from the injected clock.  The transitions:

- the condition starts → ``fire`` (one notice);
- it still holds ``repeat_seconds`` after the last notice → ``repeat`` (none without
  ``repeat_seconds``);
- it no longer holds → ``resolve``.

The rule row carries its state; each transition is a compare-and-set on
``state_version``, so of several daemons evaluating at once exactly one sends the
notice.  Every notice is kept (``alarm_events``) with how each delivery went.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from pazar.errors import NotFoundError, PazarError, ValidationError
from pazar.models.channels import Channel
from pazar.models.jobs import Daemon, Job, ScheduleTick
from pazar.models.ops import AlarmEvent, AlarmRule
from pazar.models.runs import Run
from pazar.models.state import OPEN_BATCH_STATUSES, BatchRequest, FailedIntegration
from pazar.ops.notify import ENV_PREFIX, Notice, deliver
from pazar.ops.webhook_urls import masked_url, url_secrets
from pazar.secret_policy import env_name_allowed, env_not_allowed_message
from pazar.suggest import did_you_mean

log = logging.getLogger("pazar.ops.alarms")

EXPIRED_BATCH_PREFIX = "no answer from the marketplace within"


@dataclass(frozen=True)
class KindSpec:
    """What an alarm kind measures and which of a rule's settings it uses."""

    title: str
    unit: str
    needs_threshold: bool
    default_threshold: float
    default_interval: int
    uses_channel: bool = True
    uses_flow: bool = True
    uses_interval: bool = True


KINDS: dict[str, KindSpec] = {
    # The seed's names for its two conditions (section 7.3): Error Rate, Average Flow Time.
    "error_rate": KindSpec("Error Rate", "errors", True, 0, 3600),
    "flow_time": KindSpec("Average Flow Time", "s", True, 0, 3600),
    "penalties_exhausted": KindSpec(
        "exhausted penalties", "records", False, 0, 0, uses_flow=False, uses_interval=False
    ),
    "batches_expired": KindSpec(
        "expired batch requests", "batches", False, 0, 3600, uses_flow=False
    ),
    "schedule_overdue": KindSpec("overdue schedules", "flows", False, 0, 600),
    "daemon_heartbeat": KindSpec(
        "seconds since the last daemon heartbeat",
        "s",
        False,
        120,
        0,
        uses_channel=False,
        uses_flow=False,
        uses_interval=False,
    ),
}

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")


MAX_DURATION = 366 * 86400
"""The longest interval or quiet time a rule takes: a year (and a day)."""


def parse_duration(text: str | int | None, what: str) -> int | None:
    """``90``, ``30s``, ``5m``, ``1h``, ``1d`` → seconds (None for None or empty)."""
    if text is None or text == "":
        return None
    if isinstance(text, int) and not isinstance(text, bool):
        seconds = text
    else:
        match = _DURATION.match(str(text))
        if not match or isinstance(text, bool):
            raise ValidationError(
                f"{what} {text!r}: expected seconds or a duration like 30s, 5m, 1h, 1d"
            )
        digits = match.group(1).lstrip("0") or "0"
        if len(digits) > 12:  # past any bound below, and int() of thousands of digits fails
            raise ValidationError(f"{what} {text!r}: at most {human_duration(MAX_DURATION)}")
        seconds = int(digits) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
    if seconds < 0:
        raise ValidationError(f"{what} {text!r}: a duration cannot be negative")
    if seconds > MAX_DURATION:  # a window past a year reads runs nobody keeps, and overflows
        raise ValidationError(f"{what} {text!r}: at most {human_duration(MAX_DURATION)}")
    return seconds


def _window(rule: Any) -> timedelta:
    """A rule's interval, within :data:`MAX_DURATION` whatever an older pazar stored (an
    interval of a billion days stopped every evaluation with an OverflowError)."""
    return timedelta(seconds=min(rule.interval_seconds or 0, MAX_DURATION))


def human_duration(seconds: int | None) -> str:
    if not seconds:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


# ---- rules ---------------------------------------------------------------------------------


@dataclass
class RuleInput:
    """A rule as an operator gives it (CLI or API); validated by :func:`add_rule`."""

    name: str
    kind: str
    channel: str | None = None
    flow: str | None = None
    threshold: float | None = None
    interval: str | int | None = None
    repeat: str | int | None = None
    emails: Sequence[str] = ()
    webhooks: Sequence[str] = ()
    webhook_token: str | None = None


def add_rule(session: Session, spec: RuleInput, *, flows: Any, now: datetime) -> AlarmRule:
    """Validate and store a rule; ValidationError lists every problem, nothing is stored."""
    problems: list[str] = []
    if not _NAME.match(spec.name or ""):
        problems.append(f"name {spec.name!r}: use letters, digits, '.', '_' or '-' (at most 64)")
    elif session.scalar(select(AlarmRule.id).where(AlarmRule.name == spec.name)) is not None:
        problems.append(f"an alarm named {spec.name!r} exists; delete it first")
    kind = KINDS.get(spec.kind)
    if kind is None:
        problems.append(
            f"kind {spec.kind!r}{did_you_mean(spec.kind, KINDS)}: one of {', '.join(KINDS)}"
        )
    channel_id = None
    if spec.channel:
        channel_id = session.scalar(select(Channel.id).where(Channel.slug == spec.channel))
        if channel_id is None:
            known = list(session.scalars(select(Channel.slug)))
            problems.append(f"no channel {spec.channel!r}{did_you_mean(spec.channel, known)}")
    if spec.flow:
        refs = [f.ref for f in flows.all()]
        if spec.flow not in refs:
            problems.append(
                f"no flow {spec.flow!r}{did_you_mean(spec.flow, refs)} (write it plugin/flow)"
            )
    if kind is not None:
        if spec.channel and not kind.uses_channel:
            problems.append(f"kind {spec.kind} is about every daemon; it takes no --channel")
        if spec.flow and not kind.uses_flow:
            problems.append(f"kind {spec.kind} takes no --flow")
        if kind.needs_threshold and spec.threshold is None:
            problems.append(f"kind {spec.kind} needs --threshold ({kind.unit})")
        if spec.interval not in (None, "") and not kind.uses_interval:
            problems.append(f"kind {spec.kind} takes no --interval")
    if spec.threshold is not None and spec.threshold < 0:
        problems.append(f"threshold {spec.threshold:g} must be 0 or more")
    interval = repeat = None
    try:
        interval = parse_duration(spec.interval, "interval")
        if interval is not None and interval <= 0:
            problems.append("interval must be more than 0 seconds")
    except ValidationError as exc:
        problems.append(exc.message)
    try:
        repeat = parse_duration(spec.repeat, "repeat")
        if repeat is not None and repeat <= 0:
            problems.append("repeat must be more than 0 seconds (leave it out for no repeats)")
    except ValidationError as exc:
        problems.append(exc.message)
    bad = [e for e in spec.emails if not _EMAIL.match(e)]
    problems += [f"e-mail address {e!r} is not valid" for e in bad]
    for url in spec.webhooks:
        if not re.match(r"^https?://[^\s/]+", url):
            problems.append(f"webhook {masked_url(url)!r}: an http:// or https:// URL")
        elif url_secrets(url):
            problems.append(
                f"webhook {masked_url(url)!r}: {' and '.join(url_secrets(url))} in the URL "
                "would be stored and shown; give the token with --webhook-token env:NAME"
            )
    if spec.webhook_token and not spec.webhook_token.startswith(ENV_PREFIX):
        problems.append(
            "webhook token: give it as env:NAME (the variable holding the token); "
            "pazar stores no webhook secret"
        )
    elif spec.webhook_token:
        name = spec.webhook_token[len(ENV_PREFIX) :]
        if not env_name_allowed(name):
            problems.append(env_not_allowed_message("webhook token", name))
    if spec.webhook_token and not spec.webhooks:
        problems.append("webhook token given without --webhook")
    if not spec.emails and not spec.webhooks:
        problems.append("no recipient: give --email and/or --webhook")
    if problems:
        raise ValidationError(f"alarm {spec.name!r} not saved", details=problems)
    assert kind is not None
    rule = AlarmRule(
        name=spec.name,
        kind=spec.kind,
        channel_id=channel_id,
        flow=spec.flow or None,
        threshold=float(spec.threshold if spec.threshold is not None else kind.default_threshold),
        interval_seconds=interval or kind.default_interval,
        repeat_seconds=repeat,
        recipients=list(dict.fromkeys(spec.emails)),
        webhooks=[
            {"url": url, **({"token": spec.webhook_token} if spec.webhook_token else {})}
            for url in dict.fromkeys(spec.webhooks)
        ],
        enabled=True,
        state_version=0,
        created_at=now,
        updated_at=now,
    )
    session.add(rule)
    session.flush()
    return rule


def get_rule(session: Session, name: str) -> AlarmRule:
    rule = session.scalar(select(AlarmRule).where(AlarmRule.name == name))
    if rule is None:
        known = list(session.scalars(select(AlarmRule.name)))
        raise NotFoundError(f"no alarm named {name!r}{did_you_mean(name, known)}")
    return rule


def list_rules(session: Session) -> list[AlarmRule]:
    return list(session.scalars(select(AlarmRule).order_by(AlarmRule.name)))


def delete_rule(session: Session, name: str) -> None:
    session.delete(get_rule(session, name))


def events(session: Session, rule_id: int, limit: int = 20) -> list[AlarmEvent]:
    rows = list(
        session.scalars(
            select(AlarmEvent)
            .where(AlarmEvent.rule_id == rule_id)
            .order_by(AlarmEvent.at.desc(), AlarmEvent.id.desc())
            .limit(limit)
        )
    )
    rows.reverse()
    return rows


def condition_text(rule: AlarmRule) -> str:
    """The rule's condition in words, as notices and listings show it."""
    kind = KINDS[rule.kind]
    window = human_duration(rule.interval_seconds)
    t = f"{rule.threshold:g}"
    return {
        "error_rate": f"more than {t} errors in {window} (failed records + runs ended in error)",
        "flow_time": f"average flow time over {t} s in {window}",
        "penalties_exhausted": f"more than {t} exhausted penalties",
        "batches_expired": f"more than {t} batch requests expired in {window}",
        "schedule_overdue": f"more than {t} scheduled flows overdue by {window}",
        "daemon_heartbeat": f"no daemon heartbeat for more than {t} s",
    }.get(rule.kind, kind.title)


def rule_view(rule: AlarmRule, slugs: Mapping[int, str]) -> dict[str, Any]:
    """A rule as outputs show it (webhook tokens as their env: reference only)."""
    return {
        "name": rule.name,
        "kind": rule.kind,
        "channel": slugs.get(rule.channel_id) if rule.channel_id else None,
        "flow": rule.flow,
        "threshold": rule.threshold,
        "interval_seconds": rule.interval_seconds,
        "repeat_seconds": rule.repeat_seconds,
        "condition": condition_text(rule),
        "emails": list(rule.recipients or []),
        "webhooks": [{**h, "url": masked_url(str(h.get("url")))} for h in rule.webhooks or []],
        "enabled": rule.enabled,
        "state": "firing" if rule.firing_since else "ok",
        "firing_since": rule.firing_since,
        "last_value": rule.last_value,
        "last_evaluated_at": rule.last_evaluated_at,
    }


def channel_slugs(session: Session) -> dict[int, str]:
    return dict(session.execute(select(Channel.id, Channel.slug)).all())


# ---- measuring -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    holds: bool
    value: float | None
    detail: str


def _run_filter(stmt: Any, rule: AlarmRule) -> Any:
    if rule.channel_id is not None:
        stmt = stmt.where(Run.channel_id == rule.channel_id)
    if rule.flow:
        plugin, _, name = rule.flow.partition("/")
        stmt = stmt.where(Run.plugin == plugin, Run.flow == name)
    return stmt


def _error_rate(session: Session, rule: AlarmRule, now: datetime) -> Measure:
    since = now - _window(rule)
    stmt = _run_filter(
        select(
            func.coalesce(func.sum(Run.failed), 0),
            func.coalesce(func.sum(case((Run.status == "error", 1), else_=0)), 0),
            func.count(),
        ).where(Run.started_at >= since),
        rule,
    )
    failed, errored, runs = session.execute(stmt).one()
    value = float(int(failed) + int(errored))
    return Measure(
        value > rule.threshold,
        value,
        f"{int(failed)} failed records and {int(errored)} runs ended in error "
        f"in {int(runs)} runs since {since:%Y-%m-%d %H:%M:%S} UTC",
    )


def _flow_time(session: Session, rule: AlarmRule, now: datetime) -> Measure:
    since = now - _window(rule)
    stmt = _run_filter(
        select(func.avg(Run.duration_ms), func.count()).where(
            Run.started_at >= since, Run.duration_ms.is_not(None)
        ),
        rule,
    )
    average, runs = session.execute(stmt).one()
    if not runs:
        return Measure(False, None, f"no finished run started since {since:%Y-%m-%d %H:%M:%S} UTC")
    seconds = float(average) / 1000
    return Measure(
        seconds > rule.threshold,
        round(seconds, 3),
        f"{int(runs)} runs finished since {since:%Y-%m-%d %H:%M:%S} UTC, average {seconds:.1f} s",
    )


def _penalties_exhausted(session: Session, rule: AlarmRule, now: datetime) -> Measure:
    from pazar.state.penalties import sql_is_exhausted

    f = FailedIntegration.__table__
    stmt = (
        select(f.c.content_type, func.count())
        .where(sql_is_exhausted(f, now), f.c.released_at.is_(None))
        .group_by(f.c.content_type)
        .order_by(f.c.content_type)
    )
    if rule.channel_id is not None:
        stmt = stmt.where(f.c.channel_id == rule.channel_id)
    rows = session.execute(stmt).all()
    total = sum(int(n) for _, n in rows)
    detail = ", ".join(f"{ct}: {n}" for ct, n in rows) or "none"
    return Measure(
        total > rule.threshold, float(total), f"exhausted penalties by content type: {detail}"
    )


def _batches_expired(session: Session, rule: AlarmRule, now: datetime) -> Measure:
    from pazar.state.batches import batch_expired
    from pazar.state.penalties import sent_to_remote_hours

    since = now - _window(rule)
    b = BatchRequest.__table__
    failed = select(func.count()).where(
        b.c.status == "fail", b.c.finished_at >= since, b.c.error.like(f"{EXPIRED_BATCH_PREFIX}%")
    )
    waiting = select(b.c.channel_id, b.c.status, b.c.sent_at, b.c.created_at).where(
        b.c.status.in_(OPEN_BATCH_STATUSES)
    )
    if rule.channel_id is not None:
        failed = failed.where(b.c.channel_id == rule.channel_id)
        waiting = waiting.where(b.c.channel_id == rule.channel_id)
    expired = int(session.scalar(failed) or 0)
    configs: dict[int, float] = {}
    overdue = 0
    for row in session.execute(waiting):
        if row.channel_id not in configs:
            config = session.scalar(select(Channel.config).where(Channel.id == row.channel_id))
            try:
                configs[row.channel_id] = sent_to_remote_hours(config)
            except PazarError:
                configs[row.channel_id] = 1.0
        if batch_expired(row.status, row.sent_at, row.created_at, now, configs[row.channel_id]):
            overdue += 1
    total = expired + overdue
    return Measure(
        total > rule.threshold,
        float(total),
        f"{expired} batch requests failed for want of an answer since "
        f"{since:%Y-%m-%d %H:%M:%S} UTC, {overdue} open past their EXPIRATION_HOUR",
    )


def _schedule_overdue(session: Session, rule: AlarmRule, now: datetime, flows: Any) -> Measure:
    from pazar.jobs.scheduler import _active_channels, due_ticks

    grace = _window(rule)
    channels = [c for c in _active_channels(session) if rule.channel_id in (None, c.id)]
    wanted = [f for f in flows.all() if rule.flow in (None, f.ref)]
    # The tick each schedule was due at ``grace`` ago: a scheduler that works has claimed it
    # (or a later one) by now.  Measuring at ``now`` would miss a stopped daemon entirely for
    # a flow due every minute, whose latest tick is always younger than the grace.
    due = due_ticks(channels, wanted, now - grace)
    late: set[tuple[int, str]] = set()
    if due:
        t = ScheduleTick.__table__
        latest = dict(
            ((c, f), tick)
            for c, f, tick in session.execute(
                select(t.c.channel_id, t.c.flow, func.max(t.c.tick))
                .where(t.c.channel_id.in_(sorted({d.channel_id for d in due})))
                .group_by(t.c.channel_id, t.c.flow)
            )
        )
        from pazar.models.base import UTCDateTime

        for d in due:
            claimed = latest.get((d.channel_id, d.flow))
            if claimed is not None and claimed.tzinfo is None:  # an aggregate on SQLite
                claimed = UTCDateTime().process_result_value(claimed, None)
            if claimed is None or claimed < d.tick:
                late.add((d.channel_id, d.flow))
    waiting = select(Job.channel_id, Job.flow).where(
        Job.status == "queued", Job.not_before <= now - grace
    )
    if rule.channel_id is not None:
        waiting = waiting.where(Job.channel_id == rule.channel_id)
    if rule.flow:
        waiting = waiting.where(Job.flow == rule.flow)
    late.update((c, f) for c, f in session.execute(waiting.distinct()))
    slugs = {c.id: c.slug for c in channels}
    names = sorted(f"{slugs.get(c, c)}/{f.partition('/')[2] or f}" for c, f in late)
    return Measure(
        len(late) > rule.threshold,
        float(len(late)),
        "overdue: " + (", ".join(names[:20]) + (" ..." if len(names) > 20 else "") or "none"),
    )


def _daemon_heartbeat(session: Session, rule: AlarmRule, now: datetime) -> Measure:
    last = session.scalar(select(func.max(Daemon.heartbeat_at)))
    if last is None:
        return Measure(True, None, "no daemon has ever run on this database")
    from pazar.models.base import UTCDateTime

    if last.tzinfo is None:  # an aggregate bypasses the column type on SQLite
        last = UTCDateTime().process_result_value(last, None)
    age = (now - last).total_seconds()
    return Measure(
        age > rule.threshold,
        round(age, 1),
        f"last heartbeat {last:%Y-%m-%d %H:%M:%S} UTC ({age:.0f} s ago)",
    )


def measure(session: Session, rule: AlarmRule, now: datetime, flows: Any) -> Measure:
    """Whether the rule's condition holds now, its value and a sentence about it."""
    if rule.kind == "error_rate":
        return _error_rate(session, rule, now)
    if rule.kind == "flow_time":
        return _flow_time(session, rule, now)
    if rule.kind == "penalties_exhausted":
        return _penalties_exhausted(session, rule, now)
    if rule.kind == "batches_expired":
        return _batches_expired(session, rule, now)
    if rule.kind == "schedule_overdue":
        return _schedule_overdue(session, rule, now, flows)
    if rule.kind == "daemon_heartbeat":
        return _daemon_heartbeat(session, rule, now)
    raise PazarError(f"alarm {rule.name}: unknown kind {rule.kind!r}")


# ---- notices ---------------------------------------------------------------------------------

HEADLINES = {
    "fire": "FIRING",
    "repeat": "STILL FIRING",
    "resolve": "RESOLVED",
    "test": "TEST",
}


def notice_for(
    rule: AlarmRule,
    event: str,
    result: Measure,
    *,
    now: datetime,
    channel: str | None,
    firing_since: datetime | None,
) -> Notice:
    where = " ".join(
        part for part in (f"channel {channel}" if channel else "", rule.flow or "") if part
    )
    subject = f"[pazar] {HEADLINES[event]}: {rule.name}" + (f" ({where})" if where else "")
    value = "-" if result.value is None else f"{result.value:g} {KINDS[rule.kind].unit}"
    lines = [
        f"Alarm:     {rule.name} ({rule.kind})",
        f"Condition: {condition_text(rule)}",
        f"Scope:     {where or 'every channel and flow'}",
        f"Event:     {HEADLINES[event]} at {now:%Y-%m-%d %H:%M:%S} UTC",
        f"Value:     {value}",
        f"Detail:    {result.detail}",
    ]
    if firing_since is not None:
        lines.append(f"Since:     {firing_since:%Y-%m-%d %H:%M:%S} UTC")
    if event == "resolve":
        lines.append("The condition no longer holds.")
    elif event == "test":
        lines.append("This is a test notice sent by `pazar alarms test`; nothing fired.")
    document = {
        "alarm": rule.name,
        "event": event,
        "kind": rule.kind,
        "channel": channel,
        "flow": rule.flow,
        "condition": condition_text(rule),
        "threshold": rule.threshold,
        "interval_seconds": rule.interval_seconds,
        "value": result.value,
        "holds": result.holds,
        "detail": result.detail,
        "at": now.isoformat(),
        "firing_since": firing_since.isoformat() if firing_since else None,
    }
    return Notice(subject=subject, body="\n".join(lines) + "\n", document=document)


Deliver = Callable[[Sequence[str], Sequence[Mapping[str, Any]], Notice], list[dict[str, Any]]]


@dataclass
class Outcome:
    """What one evaluation did for one rule."""

    rule: str
    event: str | None
    value: float | None
    holds: bool
    deliveries: list[dict[str, Any]]


def _transition(rule: AlarmRule, holds: bool, now: datetime) -> str | None:
    if holds and rule.firing_since is None:
        return "fire"
    if (
        holds
        and rule.repeat_seconds
        and rule.last_sent_at is not None
        and now - rule.last_sent_at >= timedelta(seconds=min(rule.repeat_seconds, MAX_DURATION))
    ):
        return "repeat"
    if not holds and rule.firing_since is not None:
        return "resolve"
    return None


def evaluate_rule(
    db: Any, rule_id: int, *, now: datetime, flows: Any, send: Deliver = deliver
) -> Outcome | None:
    """Measure one rule and, on a transition this process wins, notify and keep the event."""
    with db.session() as session:
        rule = session.get(AlarmRule, rule_id)
        if rule is None or not rule.enabled:
            return None
        result = measure(session, rule, now, flows)
        event = _transition(rule, result.holds, now)
        values: dict[str, Any] = {"last_value": result.value, "last_evaluated_at": now}
        firing_since = rule.firing_since
        if event == "fire":
            firing_since = now
            values.update(firing_since=now, last_sent_at=now)
        elif event == "repeat":
            values.update(last_sent_at=now)
        elif event == "resolve":
            values.update(firing_since=None, last_sent_at=now)
        if event is not None:
            values["state_version"] = rule.state_version + 1
        won = session.execute(
            update(AlarmRule)
            .where(AlarmRule.id == rule.id, AlarmRule.state_version == rule.state_version)
            .values(**values)
        ).rowcount
        if event is None or not won:
            return Outcome(rule.name, None, result.value, result.holds, [])
        channel = (
            session.scalar(select(Channel.slug).where(Channel.id == rule.channel_id))
            if rule.channel_id
            else None
        )
        notice = notice_for(
            rule, event, result, now=now, channel=channel, firing_since=firing_since
        )
        record = AlarmEvent(
            rule_id=rule.id,
            event=event,
            at=now,
            value=result.value,
            message=notice.subject,
            deliveries=[],
        )
        session.add(record)
        session.flush()
        event_id, recipients, hooks = record.id, list(rule.recipients), list(rule.webhooks)
        name = rule.name
    deliveries = send(recipients, hooks, notice)
    with db.session() as session:
        session.execute(
            update(AlarmEvent).where(AlarmEvent.id == event_id).values(deliveries=deliveries)
        )
    for failed in (d for d in deliveries if not d["ok"]):
        log.warning(
            "alarm %s: %s to %s failed: %s", name, failed["via"], failed["to"], failed["error"]
        )
    return Outcome(name, event, result.value, result.holds, deliveries)


def evaluate_all(db: Any, *, now: datetime, flows: Any, send: Deliver = deliver) -> list[Outcome]:
    """Evaluate every enabled rule once; one broken rule never stops the others."""
    with db.session() as session:
        ids = list(session.scalars(select(AlarmRule.id).where(AlarmRule.enabled.is_(True))))
    outcomes: list[Outcome] = []
    for rule_id in ids:
        try:
            outcome = evaluate_rule(db, rule_id, now=now, flows=flows, send=send)
        except Exception:  # noqa: BLE001 - the next rule and the next round go on
            log.warning("alarm rule %s: evaluation failed", rule_id, exc_info=True)
            continue
        if outcome is not None:
            outcomes.append(outcome)
    return outcomes


def send_test(
    db: Any, name: str, *, now: datetime, flows: Any, send: Deliver = deliver
) -> list[dict[str, Any]]:
    """Send a test notice of rule ``name`` to its recipients now; kept as a ``test`` event."""
    with db.session() as session:
        rule = get_rule(session, name)
        result = measure(session, rule, now, flows)
        channel = channel_slugs(session).get(rule.channel_id) if rule.channel_id else None
        notice = notice_for(
            rule, "test", result, now=now, channel=channel, firing_since=rule.firing_since
        )
        recipients, hooks, rule_id = list(rule.recipients), list(rule.webhooks), rule.id
    deliveries = send(recipients, hooks, notice)
    with db.session() as session:
        session.add(
            AlarmEvent(
                rule_id=rule_id,
                event="test",
                at=now,
                value=result.value,
                message=notice.subject,
                deliveries=deliveries,
            )
        )
    return deliveries


class AlarmTicker:
    """A daemon's alarm round: at most once per ``every``, in a thread of its own so a slow
    SMTP server never holds up scheduling (like the daemon's pruning)."""

    def __init__(
        self,
        db: Any,
        flows: Any,
        clock: Any,
        *,
        every: timedelta = timedelta(seconds=60),
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.db, self.flows, self.clock, self.every = db, flows, clock, every
        self.say = say or log.info
        self._last: datetime | None = None
        self._thread: threading.Thread | None = None

    def maybe_run(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        now = self.clock.now()
        if self._last is not None and now - self._last < self.every:
            return
        self._last = now
        self._thread = threading.Thread(target=self._round, args=(now,), daemon=True)
        self._thread.start()

    def _round(self, now: datetime) -> None:
        try:
            outcomes = evaluate_all(self.db, now=now, flows=self.flows)
        except Exception:  # noqa: BLE001 - the next round tries again
            log.warning("alarm evaluation failed", exc_info=True)
            return
        for outcome in outcomes:
            if outcome.event:
                self.say(f"alarm {outcome.rule}: {HEADLINES[outcome.event]} ({outcome.value})")

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join()
