"""Sources and sinks of the test marketplace (filled in by the runner work)."""

from __future__ import annotations

from core import hookimpl


@hookimpl
def pazar_register_steps(register):  # type: ignore[no-untyped-def]
    """Registers nothing yet."""
