"""``core.filter``: keep the records a Jinja condition accepts; the rest are skipped."""

from __future__ import annotations

from pazar.pipeline import Item, RunHandle, StepContext
from pazar.registry import StepType


class FilterStep:
    """Evaluates ``when`` per record; a condition that cannot be evaluated fails the record."""

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx
        where = ctx.where
        self.when = ctx.templates.predicate(ctx.params["when"], f"{where}/when")
        message = ctx.params.get("message")
        self.message = ctx.templates.format(message, f"{where}/message") if message else None

    def process(self, items: list[Item], run: RunHandle) -> list[Item]:
        from pazar.templating import TemplateError  # loaded already: ctx.templates built ours

        out: list[Item] = []
        base = self.ctx.template_context()
        for item in items:
            context = {**base, "record": item.data}
            try:
                keep = self.when.render(context)
                if not keep:
                    text = (
                        self.message.render(context)
                        if self.message
                        else f"filtered out by {self.when.source}"
                    )
            except TemplateError as exc:
                run.fail(item, exc.message, "mapping")
                continue
            if keep:
                out.append(item)
            else:
                run.skip(item, text)
        return out


FILTER = StepType(
    name="core.filter",
    kind="step",
    factory=FilterStep,
    params_schema={
        "type": "object",
        "additionalProperties": False,
        "required": ["when"],
        "properties": {
            "when": {
                "type": "string",
                "x-template": "predicate",
                "minLength": 1,
                "description": (
                    "Jinja condition over record, config, channel, now, written bare "
                    "(record.quantity > 0) or as {{ ... }}; records for which it is "
                    "false are skipped."
                ),
            },
            "message": {
                "type": "string",
                "x-template": "format",
                "description": (
                    "Run-log message for a skipped record (a format: {record.sku} or Jinja); "
                    "default 'filtered out by <when>'."
                ),
            },
        },
    },
    description="Skip records for which a Jinja condition is false.",
)
