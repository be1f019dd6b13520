"""pazar engine.

Plugins import the public names below and nothing deeper, so the engine can
reorganise its modules without breaking third-party marketplaces.
"""

__version__ = "0.1.0"

from pazar.hookspecs import hookimpl  # noqa: E402
from pazar.registry import (  # noqa: E402
    CommerceBackendType,
    Marketplace,
    StepType,
    TemplateFilter,
    batch_size_param,
    params_schema,
)

__all__ = [
    "__version__",
    "hookimpl",
    "Marketplace",
    "StepType",
    "TemplateFilter",
    "CommerceBackendType",
    "batch_size_param",
    "params_schema",
]
