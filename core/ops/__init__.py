"""Operations: the listings snapshot, the dashboard's eight numbers, reconciliation,
reports, alarms and metrics (seed sections 7.1-7.3).

As a built-in plugin module it registers the ``state.listings_snapshot`` sink; a
marketplace supplies only the source that reads its listings.
"""

from __future__ import annotations

from collections.abc import Callable

from pazar.hookspecs import hookimpl


@hookimpl
def pazar_register_steps(register: Callable[..., None]) -> None:
    from pazar.ops.snapshot import STEP_TYPES

    register(*STEP_TYPES)
