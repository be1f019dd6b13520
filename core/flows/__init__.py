"""Flow definitions: loading, validation, schema and schedules.

The names most callers need are re-exported here; see the submodules for the rest.
They are imported when first asked for: ``pazar status`` reads schedules
(:mod:`pazar.flows.schedule`) and must not pay for the loader and the schema.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pazar.lazy_exports import lazy_getattr

if TYPE_CHECKING:
    from pazar.flows.loader import FlowCatalog, load_flow_file, load_flows, validate_files
    from pazar.flows.model import FlowDef, FlowError, StepDef
    from pazar.flows.schedule import Schedule, parse_schedule
    from pazar.flows.schema import composed_schema

_HOMES = {
    "FlowCatalog": "pazar.flows.loader",
    "load_flow_file": "pazar.flows.loader",
    "load_flows": "pazar.flows.loader",
    "validate_files": "pazar.flows.loader",
    "FlowDef": "pazar.flows.model",
    "FlowError": "pazar.flows.model",
    "StepDef": "pazar.flows.model",
    "Schedule": "pazar.flows.schedule",
    "parse_schedule": "pazar.flows.schedule",
    "composed_schema": "pazar.flows.schema",
}

__all__ = [
    "FlowCatalog",
    "FlowDef",
    "FlowError",
    "Schedule",
    "StepDef",
    "composed_schema",
    "load_flow_file",
    "load_flows",
    "parse_schedule",
    "validate_files",
]


__getattr__ = lazy_getattr(globals(), _HOMES)
