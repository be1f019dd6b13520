"""Where the built-in flows and schemas are, installed or in a checkout.

The wheel carries ``flows.d/`` and ``schemas/`` as ``pazar/_data/flows`` and
``pazar/_data/schemas``; a checkout (and an editable install) keeps them at the
repository root.  Everything else asks these functions.
"""

from __future__ import annotations

import os
from pathlib import Path

_CORE = Path(__file__).resolve().parent


def _data_dir(installed_name: str, checkout_name: str) -> Path:
    installed = _CORE / "_data" / installed_name
    if installed.is_dir():
        return installed
    return _CORE.parent / checkout_name


def schemas_dir() -> Path:
    return _data_dir("schemas", "schemas")


def builtin_flows_dir() -> Path:
    return _data_dir("flows", "flows.d")


def overlay_flow_dirs() -> list[Path]:
    """Directories from ``PAZAR_FLOWS_PATH`` (os.pathsep-separated), in order."""
    raw = os.environ.get("PAZAR_FLOWS_PATH", "")
    return [Path(p).expanduser() for p in raw.split(os.pathsep) if p.strip()]
