"""Sources and sinks of the test marketplace: records out of thin air, into a counter.

``testmarket.generate`` yields records lazily (O(1) memory however many), so the
runner's streaming can be tested and benchmarked without a catalog or network.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pazar.plugin import Item, MarketplaceError, StepContext, StepType, hookimpl


class Generate:
    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx
        self.count = int(ctx.params.get("count", 10))
        self.start = int(ctx.params.get("start", 0))
        self.explode_at = ctx.params.get("explode_at")

    def __iter__(self) -> Iterator[Item]:
        keys = set(self.ctx.keys) if self.ctx.keys else None
        for i in range(self.start, self.start + self.count):
            if self.explode_at is not None and i == self.explode_at:
                raise RuntimeError(f"generator broke at record {i}")
            key = f"SKU-{i}"
            if keys is not None and key not in keys:
                continue
            yield Item(key=key, data={"sku": key, "quantity": i % 7, "price": 10 + i % 90})


class Collect:
    def __init__(self, ctx: StepContext) -> None:
        self.fail_every = ctx.params.get("fail_every")
        self.down = bool(ctx.params.get("down", False))
        path = ctx.params.get("path")
        self.path = Path(path) if path else None
        self.seen = 0

    def render(self, items: list[Item]) -> list[Any]:
        return [item.data for item in items]

    def send(self, items: list[Item], run: Any) -> None:
        if self.down:
            raise MarketplaceError("testmarket is down (HTTP 503)", kind="transport", status=503)
        if self.path is not None:
            with self.path.open("a") as handle:
                for item in items:
                    handle.write(json.dumps(item.data) + "\n")
        for item in items:
            self.seen += 1
            if self.fail_every and self.seen % self.fail_every == 0:
                run.fail(item, "rejected by testmarket", "remote")
            else:
                run.succeed(item, f"R-{item.key}")


@hookimpl
def pazar_register_steps(register):  # type: ignore[no-untyped-def]
    register(
        StepType(
            name="testmarket.generate",
            kind="source",
            factory=Generate,
            params_schema={
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "count": {"type": "integer", "minimum": 0},
                    "start": {"type": "integer", "minimum": 0},
                    "explode_at": {"type": "integer"},
                },
            },
            description="Generate records SKU-<n> with quantity and price.",
        ),
        StepType(
            name="testmarket.collect",
            kind="sink",
            factory=Collect,
            params_schema={
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "batch_size": {"type": "integer", "minimum": 1},
                    "fail_every": {"type": "integer", "minimum": 1},
                    "down": {"type": "boolean"},
                    "path": {"type": "string"},
                },
            },
            description="Accept records (every Nth rejected when fail_every is set).",
        ),
    )
