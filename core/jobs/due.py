"""Which scheduled ticks are due: the scheduler's rule, without the database.

The scheduler (:mod:`pazar.jobs.scheduler`) claims these ticks; ``pazar status`` and the
daemons screen list the ones nobody claimed.  Both must agree on the rule (channel
schedule overrides, feature flags, active channels only), so it is written once, here,
in a module that needs neither SQLAlchemy nor loaded flows: anything with a flow's
``plugin``, ``flow``, ``ref``, ``content_type``, ``needs``, ``schedule`` and
``feature_flag`` will do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from pazar.channel_flags import feature_enabled
from pazar.flows.schedule import parse_schedule


class ScheduledFlow(Protocol):
    """What the schedule rule reads of a flow (a ``FlowDef`` or a cached summary)."""

    @property
    def plugin(self) -> str: ...
    @property
    def flow(self) -> str: ...
    @property
    def ref(self) -> str: ...
    @property
    def content_type(self) -> str: ...
    @property
    def needs(self) -> str | None: ...
    @property
    def schedule(self) -> str | None: ...
    @property
    def feature_flag(self) -> str | None: ...


F = TypeVar("F", bound=ScheduledFlow)


@dataclass(frozen=True)
class Due:
    channel_id: int
    flow: str
    tick: datetime
    trigger: str = "schedule"  # or the wake-up's: change | upload


def dependency_order(flows: Sequence[F]) -> list[F]:
    """Flows whose content type others ``needs`` first: when a tick makes Product Create
    and Stock due together, Product Create's job is queued (and leased) first."""
    needed = {(flow.plugin, flow.needs) for flow in flows if flow.needs}
    return sorted(flows, key=lambda flow: (flow.plugin, flow.content_type) not in needed)


def due_ticks(channels: Sequence[Any], flows: Sequence[ScheduledFlow], now: datetime) -> list[Due]:
    """The latest tick of every enabled, scheduled flow of every active channel, the flows
    that others depend on first (:func:`dependency_order`)."""
    by_plugin: dict[str, list[ScheduledFlow]] = {}
    for flow in dependency_order(flows):
        by_plugin.setdefault(flow.plugin, []).append(flow)
    due: list[Due] = []
    latest: dict[str, datetime] = {}  # schedule text -> its latest tick; shared by channels
    for channel in channels:
        if channel.status != "active":
            continue
        overrides = (channel.config or {}).get("schedules") or {}
        for flow in by_plugin.get(channel.plugin, []):
            if not feature_enabled(channel, flow.feature_flag):
                continue
            text = overrides.get(flow.flow) or flow.schedule
            if not text:
                continue
            tick = latest.get(text)
            if tick is None:
                tick = latest[text] = parse_schedule(text).previous_at_or_before(now)
            due.append(Due(channel.id, flow.ref, tick))
    return due
