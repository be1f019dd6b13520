"""A sink that fails by quoting the resolved channel config, as a careless client
library might: the engine must mask the secret before the message is stored."""

from __future__ import annotations

from typing import Any

from pazar.plugin import Item, PazarError, StepType, hookimpl


class QuotingSink:
    def __init__(self, ctx: Any) -> None:
        self.config = ctx.config
        self.crash = bool(ctx.params.get("crash"))

    def render(self, items: list[Item]) -> list[Any]:
        return [item.data for item in items]

    def send(self, items: list[Item], run: Any) -> None:
        if self.crash:
            raise RuntimeError(f"client crashed with config {self.config!r}")
        for item in items:
            run.fail(item, f"rejected; request had {self.config!r}", "remote")
        raise PazarError(f"upload refused for key {self.config.get('api_key')}")


@hookimpl
def pazar_register_steps(register):  # type: ignore[no-untyped-def]
    register(
        StepType(
            name="leaky.quoting_sink",
            kind="sink",
            factory=QuotingSink,
            params_schema={"type": "object", "properties": {"crash": {"type": "boolean"}}},
        )
    )
