"""A loaded, validated flow definition.

The loader (``pazar.flows.loader``) builds these from YAML after validation, so
everything downstream (runner, scheduler, CLI) can trust their shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class StepDef:
    """One ``{type: ..., ...params}`` entry: source, a step, or the sink."""

    type: str
    params: dict[str, Any]
    pointer: str  # JSON pointer inside the flow file, e.g. "/steps/0"
    line: int | None = None


@dataclass(frozen=True)
class FlowDef:
    flow: str
    title: str
    plugin: str
    source: StepDef
    sink: StepDef
    steps: tuple[StepDef, ...] = ()
    feature_flag: str | None = None
    schedule: str | None = None  # cron ("*/5 * * * *") or interval ("every 30s")
    triggers: tuple[str, ...] = ()  # e.g. ("on_config_change", "http", "manual")
    content_type: str = "DEFAULT"
    needs: str | None = None  # a content type the records need integrated first
    batch_size: int = 500
    wake_window: float | None = None  # least seconds from a change to the run it wakes
    description: str = ""
    path: Path | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def ref(self) -> str:
        """``plugin/flow``: how commands and logs name this flow."""
        return f"{self.plugin}/{self.flow}"
