"""The run handle steps and sinks report through, holding one batch at a time.

Outcomes and log lines are collected per batch and written by the runner in
that batch's single transaction, so the log costs one bulk insert per batch and
memory never holds more than one batch of messages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pazar.pipeline import Item, ReasonType

LEVELS = ("debug", "info", "warning", "error")
MAX_MESSAGE = 2000


@dataclass
class BatchOutcome:
    """What one batch produced; emptied after the runner wrote it."""

    succeeded: list[tuple[Item, str | None]] = field(default_factory=list)
    failed: list[tuple[Item, str, str]] = field(default_factory=list)
    skipped: int = 0
    deferred: int = 0
    waits: list[tuple[Item, str]] = field(default_factory=list)
    unwaits: list[Item] = field(default_factory=list)
    logs: list[tuple[str | None, str, str]] = field(default_factory=list)


def _unchanged(text: str) -> str:
    return text


class RunRecorder:
    """The :class:`pazar.pipeline.RunHandle` of a run (dry or real).

    ``redact`` masks the channel's secret values in every message before it is
    kept (the runner sets it once the config is resolved), so an exception that
    quoted a credential never reaches the run log or a penalty.
    """

    def __init__(self, run_id: int | None, dry_run: bool) -> None:
        self.run_id = run_id
        self.dry_run = dry_run
        self.redact: Callable[[str], str] = _unchanged
        self.batch = BatchOutcome()
        self._settled: set[int] = set()

    def _settle(self, item: Item) -> bool:
        """An item is reported once; a later report of the same item is ignored."""
        if id(item) in self._settled:
            return False
        self._settled.add(id(item))
        return True

    def skip(self, item: Item, message: str) -> None:
        if self._settle(item):
            self.batch.skipped += 1
            self.batch.logs.append((item.key, "info", f"skipped: {self.redact(message)}"))

    def fail(self, item: Item, message: str, reason: ReasonType = "mapping") -> None:
        if self._settle(item):
            message = self.redact(message)
            self.batch.failed.append((item, message, reason))
            self.batch.logs.append((item.key, "error", f"{reason}: {message}"))

    def succeed(self, item: Item, remote_id: str | None = None) -> None:
        if self._settle(item):
            self.batch.succeeded.append((item, remote_id))

    def defer(self, item: Item) -> None:
        """The item waits on the marketplace (an upload's batch): its outcome is recorded
        when the batch is polled, not by this run.  For the engine's upload sinks."""
        if self._settle(item):
            self.batch.deferred += 1

    def wait(self, item: Item, needs: str) -> None:
        """The record's object is not integrated as ``needs`` yet: it waits, unpenalised
        (the engine's change sources report this, not plugins)."""
        self.batch.waits.append((item, needs))

    def unwait(self, item: Item) -> None:
        """A record that waited is being sent: it no longer waits, whatever comes of it."""
        self.batch.unwaits.append(item)

    def log(self, key: str | None, message: str, level: str = "info") -> None:
        self.batch.logs.append((key, level if level in LEVELS else "info", self.redact(message)))

    def settled(self, item: Item) -> bool:
        return id(item) in self._settled

    def take(self) -> BatchOutcome:
        """Hand over this batch's outcome and start the next one empty."""
        batch, self.batch = self.batch, BatchOutcome()
        self._settled.clear()
        return batch


def log_rows(
    run_id: int, logs: list[tuple[str | None, str, str]], now: Any
) -> list[dict[str, Any]]:
    return [
        {
            "run_id": run_id,
            "object_id": None if key is None else str(key)[:255],
            "level": level,
            "message": message[:MAX_MESSAGE],
            "created_at": now,
        }
        for key, level, message in logs
    ]
