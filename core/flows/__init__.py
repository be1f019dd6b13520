"""Flow definitions: loading, validation, schema and schedules.

The names most callers need are re-exported here; see the submodules for the rest.
"""

from pazar.flows.loader import FlowCatalog, load_flow_file, load_flows, validate_files
from pazar.flows.model import FlowDef, FlowError, StepDef
from pazar.flows.schedule import Schedule, parse_schedule
from pazar.flows.schema import composed_schema

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
