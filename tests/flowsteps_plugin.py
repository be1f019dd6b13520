"""Step types for the flow-loading tests: one source, one step, one sink.

They are small but real (the source counts, the step scales a field, the sink
collects), so the flows the tests validate could also run.
"""

from __future__ import annotations

from typing import Any

from pazar.pipeline import Item
from pazar.plugin import StepType, hookimpl


class Numbers:
    def __init__(self, ctx: Any) -> None:
        self.count = int(ctx.params["count"])

    def __iter__(self):  # type: ignore[no-untyped-def]
        for n in range(self.count):
            yield Item(key=str(n), data={"n": n})


class Scale:
    def __init__(self, ctx: Any) -> None:
        self.field = ctx.params["field"]
        self.factor = ctx.params["factor"]

    def process(self, items: list[Item], run: Any) -> list[Item]:
        for item in items:
            item.data[self.field] = item.data[self.field] * self.factor
        return items


class Tag:
    """Sets fields from Jinja expressions (declared ``x-template`` so they are checked at load)."""

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx
        self.fields = {
            key: ctx.templates.expression(source, f"/set/{key}")
            for key, source in ctx.params["set"].items()
        }

    def process(self, items: list[Item], run: Any) -> list[Item]:
        for item in items:
            context = self.ctx.template_context(record=item.data)
            for key, expression in self.fields.items():
                item.data[key] = expression.render(context)
        return items


class Collect:
    def __init__(self, ctx: Any) -> None:
        self.received: list[dict[str, Any]] = []

    def render(self, items: list[Item]) -> list[Any]:
        return [dict(item.data) for item in items]

    def send(self, items: list[Item], run: Any) -> None:
        self.received.extend(self.render(items))


@hookimpl
def pazar_register_steps(register):  # type: ignore[no-untyped-def]
    register(
        StepType(
            name="flowtest.numbers",
            kind="source",
            factory=Numbers,
            params_schema={
                "type": "object",
                "additionalProperties": False,
                "required": ["count"],
                "properties": {"count": {"type": "integer", "minimum": 0}},
            },
            description="Items 0..count-1.",
        ),
        StepType(
            name="flowtest.scale",
            kind="step",
            factory=Scale,
            params_schema={
                "type": "object",
                "additionalProperties": False,
                "required": ["field"],
                "properties": {
                    "field": {"type": "string"},
                    "factor": {"type": "number", "default": 2},
                },
            },
        ),
        StepType(
            name="flowtest.tag",
            kind="step",
            factory=Tag,
            params_schema={
                "type": "object",
                "additionalProperties": False,
                "required": ["set"],
                "properties": {
                    "set": {
                        "type": "object",
                        "additionalProperties": {"type": "string", "x-template": "expression"},
                    }
                },
            },
        ),
        StepType(
            name="flowtest.collect",
            kind="sink",
            factory=Collect,
            params_schema={
                "type": "object",
                "additionalProperties": False,
                "properties": {"label": {"type": "string"}},
            },
        ),
    )
