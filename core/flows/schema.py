"""The flow JSON Schema, alone and composed with every registered step.

``schemas/flow.schema.json`` describes the file's top level with a generic
``{type: ...}`` slot for source, steps and sink.  ``composed_schema`` swaps those
slots for ones that list the registered names of that kind and, through
``if``/``then`` on ``type``, apply each step's own params schema — so one schema
file validates a flow completely and gives editors completion for step names.
Validation in pazar itself goes through :mod:`pazar.flows.validate`, which uses
the same pieces but reports errors one by one with line numbers.
"""

from __future__ import annotations

import copy
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from pazar.paths import builtin_flows_dir, schemas_dir

KINDS = ("source", "step", "sink")
TOP_LEVEL_KEYS = (
    "flow",
    "title",
    "description",
    "plugin",
    "feature_flag",
    "schedule",
    "triggers",
    "content_type",
    "batch_size",
    "source",
    "steps",
    "sink",
)


@lru_cache(maxsize=1)
def base_schema_text() -> str:
    return (schemas_dir() / "flow.schema.json").read_text(encoding="utf-8")


def base_schema() -> dict[str, Any]:
    """A fresh copy of ``schemas/flow.schema.json``."""
    return json.loads(base_schema_text())


def marketplace_flows_dir(registry: Any, plugin: str) -> Path:
    """Where the flows of marketplace ``plugin`` live: its own ``flows_dir``, else
    pazar's ``flows.d/<plugin>``."""
    market = registry.marketplaces.get(plugin)
    flows_dir = getattr(market, "flows_dir", None)
    return Path(flows_dir) if flows_dir is not None else builtin_flows_dir() / plugin


_CONTENT_TYPE_LINE = re.compile(r"^content_type:\s*['\"]?([A-Za-z0-9_]+)", re.M)


@lru_cache(maxsize=64)
def content_types_in(directory: str) -> frozenset[str]:
    """The content types the flow files of ``directory`` declare (a line scan, no YAML):
    a flow of that marketplace may name them in ``content_type`` and ``needs``."""
    found: set[str] = set()
    for path in Path(directory).glob("*.y*ml"):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        found.update(m.group(1) for m in _CONTENT_TYPE_LINE.finditer(text))
    return frozenset(found)


def step_def_key(name: str) -> str:
    """The ``$defs`` key of one step's schema in the composed schema."""
    return f"step:{name}"


def _contains_ref(schema: Any) -> bool:
    if isinstance(schema, dict):
        return (
            "$ref" in schema
            or "$dynamicRef" in schema
            or any(_contains_ref(v) for v in schema.values())
        )
    if isinstance(schema, list):
        return any(_contains_ref(v) for v in schema)
    return False


def step_schema(name: str, params_schema: Any) -> dict[str, Any]:
    """The schema of a whole ``{type: name, ...params}`` entry."""
    if params_schema is True or params_schema is None:
        merged: dict[str, Any] = {}
    elif params_schema is False:
        merged = {"not": {}}
    else:
        merged = copy.deepcopy(dict(params_schema))
    merged.pop("$schema", None)
    if _contains_ref(merged) and "$id" not in merged:
        # Its own resource, so the step's internal "#/..." references keep
        # resolving against the step schema rather than the flow schema.
        merged["$id"] = f"urn:pazar:step:{name}"
    merged.setdefault("type", "object")
    merged["properties"] = {"type": {"const": name}, **merged.get("properties", {})}
    required = list(merged.get("required", []))
    merged["required"] = ["type", *[r for r in required if r != "type"]]
    return merged


def composed_schema(registry: Any) -> dict[str, Any]:
    """The flow schema with every registered step's params schema in place."""
    schema = base_schema()
    defs = schema.setdefault("$defs", {})
    by_kind: dict[str, list[Any]] = {kind: [] for kind in KINDS}
    for step in sorted(registry.steps.values(), key=lambda s: s.name):
        by_kind.setdefault(step.kind, []).append(step)
        step_def = step_schema(step.name, step.params_schema)
        if step.description:
            step_def.setdefault("description", step.description)
        defs[step_def_key(step.name)] = step_def
    for kind in KINDS:
        steps = by_kind.get(kind, [])
        slot: dict[str, Any] = {
            "type": "object",
            "required": ["type"],
            "properties": {
                "type": {
                    "type": "string",
                    "description": f"A registered {kind} name.",
                }
            },
        }
        if steps:
            slot["properties"]["type"]["enum"] = [s.name for s in steps]
            slot["allOf"] = [
                {
                    "if": {"properties": {"type": {"const": s.name}}, "required": ["type"]},
                    "then": {"$ref": f"#/$defs/{step_def_key(s.name)}"},
                }
                for s in steps
            ]
        defs[kind] = slot
    return schema
