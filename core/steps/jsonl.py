"""``core.read_jsonl`` / ``core.write_jsonl``: records from and to JSON-lines files.

For exports, replays and flows fed by another system's dump; streaming both ways.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pazar.errors import ValidationError
from pazar.pipeline import Item, RunHandle, StepContext
from pazar.registry import StepType


def _path(ctx: StepContext) -> Path:
    """The file, with ``{{ channel.slug }}``-style templates rendered once per run."""
    where = ctx.where + "/path"
    rendered = ctx.templates.format(ctx.params["path"], where).render(ctx.template_context())
    return Path(rendered).expanduser()


class ReadJsonl:
    """Streams one JSON object per line; the file is never read whole."""

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx
        self.path = _path(ctx)
        self.key = ctx.params.get("key", "id")

    def __iter__(self) -> Iterator[Item]:
        if not self.path.is_file():
            raise ValidationError(f"{self.path}: no such file")
        wanted = set(self.ctx.keys) if self.ctx.keys else None
        with self.path.open(encoding="utf-8") as handle:
            for line_no, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ValidationError(
                        f"{self.path}:{line_no}: not valid JSON ({exc.msg} at column {exc.colno})"
                    ) from None
                if not isinstance(record, dict):
                    raise ValidationError(f"{self.path}:{line_no}: expected a JSON object per line")
                if self.key not in record:
                    raise ValidationError(f"{self.path}:{line_no}: no {self.key!r} field")
                key = str(record[self.key])
                if wanted is not None and key not in wanted:
                    continue
                yield Item(key=key, data=record)


class WriteJsonl:
    """Appends, so reruns and several batches accumulate in one file."""

    def __init__(self, ctx: StepContext) -> None:
        self.path = _path(ctx)

    def render(self, items: list[Item]) -> list[Any]:
        return [item.data for item in items]

    def send(self, items: list[Item], run: RunHandle) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            for item in items:
                handle.write(json.dumps(item.data, ensure_ascii=False, default=str) + "\n")
                run.succeed(item)


_PATH = {
    "type": "string",
    "minLength": 1,
    "x-template": "format",
    "x-template-context": ["config", "channel", "now"],
    "description": (
        "File path; ~ is expanded and templates over config, channel, now are rendered "
        "once per run (e.g. exports/{{ channel.slug }}.jsonl)."
    ),
}

READ_JSONL = StepType(
    name="core.read_jsonl",
    kind="source",
    factory=ReadJsonl,
    params_schema={
        "type": "object",
        "additionalProperties": False,
        "required": ["path"],
        "properties": {
            "path": _PATH,
            "key": {
                "type": "string",
                "minLength": 1,
                "default": "id",
                "description": "Field whose value keys each record in logs and triggers.",
            },
        },
    },
    description="Read records from a JSON-lines file, one object per line.",
)

WRITE_JSONL = StepType(
    name="core.write_jsonl",
    kind="sink",
    factory=WriteJsonl,
    params_schema={
        "type": "object",
        "additionalProperties": False,
        "required": ["path"],
        "properties": {
            "path": _PATH,
            "batch_size": {
                "type": "integer",
                "minimum": 1,
                "description": "Records per batch (default: the flow's batch_size).",
            },
        },
    },
    description="Append each payload to a JSON-lines file.",
)
