"""Catalog mapping: the marketplace's category tree and attributes, and the mapper.

As a built-in plugin module it registers the ``catalog.*`` store sinks and the
``core.render_mapping`` step that every marketplace's product flows use.
"""

from __future__ import annotations

from collections.abc import Callable

from pazar.hookspecs import hookimpl


@hookimpl
def pazar_register_steps(register: Callable[..., None]) -> None:
    from pazar.mapping.steps import STEP_TYPES

    register(*STEP_TYPES)
