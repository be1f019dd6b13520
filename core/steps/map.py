"""``core.map``: build each record's payload from Jinja field expressions."""

from __future__ import annotations

from typing import Any

from pazar.pipeline import Item, RunHandle, StepContext
from pazar.registry import StepType


class MapStep:
    """Compiles every field once; a field that fails to render fails only its record."""

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx
        self.keep = bool(ctx.params.get("keep", False))
        where = ctx.where
        self.fields = {
            name: ctx.templates.expression(source, f"{where}/fields/{name}")
            for name, source in ctx.params["fields"].items()
        }

    def process(self, items: list[Item], run: RunHandle) -> list[Item]:
        from pazar.templating import TemplateError  # loaded already: ctx.templates built ours

        out: list[Item] = []
        # One context for the batch, its record swapped per item: templates only read it.
        context = self.ctx.template_context()
        fields = list(self.fields.items())
        for item in items:
            context["record"] = item.data
            try:
                mapped: dict[str, Any] = {name: expr.render(context) for name, expr in fields}
            except TemplateError as exc:
                run.fail(item, exc.message, "mapping")
                continue
            item.data = {**item.data, **mapped} if self.keep else mapped
            out.append(item)
        return out


MAP = StepType(
    name="core.map",
    kind="step",
    factory=MapStep,
    params_schema={
        "type": "object",
        "additionalProperties": False,
        "required": ["fields"],
        "properties": {
            "fields": {
                "type": "object",
                "minProperties": 1,
                "description": (
                    "Output field → template over record, config, channel, now. "
                    "'{{ expr }}' alone keeps its type (numbers stay numbers); mixed text "
                    "renders a string; objects and lists are templated leaf by leaf."
                ),
                "additionalProperties": {"x-template": "expression"},
            },
            "keep": {
                "type": "boolean",
                "default": False,
                "description": "Keep the input fields and add or override these (default: only these).",
            },
        },
    },
    description="Map each record to a new payload with Jinja field expressions.",
)
