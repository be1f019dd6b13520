"""The engine's own flow steps and template filters, registered like any plugin's.

The vocabulary stays small and orthogonal: ``core.map`` shapes records,
``core.filter`` drops them, ``core.read_jsonl``/``core.write_jsonl`` move them
in and out of files (exports, replays, tests).  Everything marketplace- or
state-specific is registered by its own module.
"""

from __future__ import annotations

from collections.abc import Callable

from pazar.hookspecs import hookimpl


@hookimpl
def pazar_register_steps(register: Callable[..., None]) -> None:
    from pazar.steps.filter import FILTER
    from pazar.steps.jsonl import READ_JSONL, WRITE_JSONL
    from pazar.steps.map import MAP

    register(MAP, FILTER, READ_JSONL, WRITE_JSONL)


@hookimpl
def pazar_register_template_filters(register: Callable[..., None]) -> None:
    from pazar.filters import FILTERS

    register(*FILTERS)
