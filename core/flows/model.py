"""A loaded, validated flow definition.

The loader (``pazar.flows.loader``) builds these from YAML after validation, so
everything downstream (runner, scheduler, CLI) can trust their shape.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CORE_PLUGIN = "core"


@dataclass(frozen=True)
class FlowError:
    """One problem in one flow file: ``path:line: /pointer: message``."""

    path: str
    line: int | None
    pointer: str | None
    message: str
    column: int | None = field(default=None, compare=False)

    def __str__(self) -> str:
        where = self.path
        if self.line is not None:
            where += f":{self.line}"
            if self.pointer is None and self.column is not None:
                where += f":{self.column}"
        if self.pointer is None:
            return f"{where}: {self.message}"
        return f"{where}: {self.pointer or '/'}: {self.message}"


@dataclass
class FlowCheck:
    """The outcome of checking one flow document.

    ``doc`` is the parsed document (a ``pazar.flows.yamlpos.PositionedDocument``); it is
    None when the file could not be read, and for a flow taken from the validated-flow
    cache (``pazar.flows.cache``), which keeps the flow and not its parse.
    """

    path: str
    doc: Any
    errors: list[FlowError]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def data(self) -> Any:
        return self.doc.data if self.doc else None


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


def _with_defaults(params: dict[str, Any], schema: Any) -> dict[str, Any]:
    """Top-level ``default`` values of the params schema filled in."""
    if not isinstance(schema, dict):
        return dict(params)
    filled = dict(params)
    for key, prop in schema.get("properties", {}).items():
        if key not in filled and isinstance(prop, dict) and "default" in prop:
            filled[key] = copy.deepcopy(prop["default"])
    return filled


def slot_pointers(data: dict[str, Any]) -> list[str]:
    """The JSON pointers of a valid flow document's source, steps and sink."""
    steps = data.get("steps") or []
    return ["/source", *(f"/steps/{i}" for i in range(len(steps))), "/sink"]


def flow_from_data(
    data: dict[str, Any],
    line_of: Callable[[str], int | None],
    registry: Any,
    *,
    path: Path | None = None,
) -> FlowDef:
    """A :class:`FlowDef` from a document that passed validation.

    Shared by the validator and the validated-flow cache, so a flow read back from the
    cache is built exactly like a freshly checked one (step defaults come from the
    registry each time).  ``line_of`` gives the file line of a slot's pointer.
    """

    def step_def(pointer: str, entry: dict[str, Any]) -> StepDef:
        params = {k: v for k, v in entry.items() if k != "type"}
        step = registry.steps.get(entry["type"])
        if step is not None:
            params = _with_defaults(params, step.params_schema)
        return StepDef(type=entry["type"], params=params, pointer=pointer, line=line_of(pointer))

    return FlowDef(
        flow=data["flow"],
        title=data["title"],
        plugin=data["plugin"],
        source=step_def("/source", data["source"]),
        sink=step_def("/sink", data["sink"]),
        steps=tuple(step_def(f"/steps/{i}", e) for i, e in enumerate(data.get("steps") or [])),
        feature_flag=data.get("feature_flag"),
        schedule=data.get("schedule"),
        triggers=tuple(data.get("triggers") or ()),
        content_type=data.get("content_type", "DEFAULT"),
        needs=data.get("needs"),
        batch_size=data.get("batch_size", 500),
        wake_window=data.get("wake_window"),
        description=data.get("description", ""),
        path=path,
        raw=data,
    )
