"""Log lines a daemon writes: text for people, JSON lines for log collectors.

The daemon logs through the ``pazar`` loggers with its context (channel, flow,
job, run, status) in ``extra={"pazar": {...}}``; these formatters put that
context into the line, so "which channel?" never needs a second lookup and a
collector (Loki, Elasticsearch, journald) can filter by field.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import IO, Any

LEVELS = ("debug", "info", "warning", "error")
FORMATS = ("text", "json")
CONTEXT = "pazar"


def _time(record: logging.LogRecord) -> str:
    when = datetime.fromtimestamp(record.created, UTC)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _context(record: logging.LogRecord) -> dict[str, Any]:
    fields = getattr(record, CONTEXT, None)
    return {k: v for k, v in (fields or {}).items() if v is not None}


class TextFormatter(logging.Formatter):
    """``2026-01-31T06:00:00.000Z INFO channel hb: job 12 hepsiburada/stock …``."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{_time(record)} {record.levelname} {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the context fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": _time(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **_context(record),
        }
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time of the line (tests swap it)."""

    def __init__(self) -> None:
        super().__init__()

    @property  # type: ignore[override]
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, _value: IO[str]) -> None:
        pass


def configure(fmt: str = "text", level: str = "info") -> Callable[[], None]:
    """Send every ``pazar`` log line to stderr in ``fmt`` at ``level`` and up.

    Returns the function that puts the ``pazar`` logger back as it was, for a
    command that runs inside a longer-lived process (tests, embedding code).
    """
    logger = logging.getLogger("pazar")
    before = (list(logger.handlers), logger.level, logger.propagate)
    handler = _StderrHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    logger.handlers = [handler]
    logger.setLevel(getattr(logging, level.upper()))
    logger.propagate = False

    def restore() -> None:
        logger.handlers, logger.propagate = before[0], before[2]
        logger.setLevel(before[1])

    return restore
