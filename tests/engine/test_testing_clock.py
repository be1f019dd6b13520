"""``pazar.testing.Cli`` runs commands on the test's clock when given one: a plugin author's
CLI test can move time instead of sleeping (the plugin guide's rule)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from pazar.clock import FixedClock
from pazar.testing import Cli

T0 = datetime(2026, 4, 1, 9, 30, tzinfo=UTC)


def test_commands_run_on_the_given_clock(cli: Cli) -> None:
    clock = FixedClock(T0)
    cli.clock = clock
    assert cli("channel", "add", "testmarket", "--slug", "tm").exit_code == 0
    assert cli("channel", "set", "tm", "feature_flags.push=true").exit_code == 0
    assert cli("channel", "activate", "tm").exit_code == 0
    assert cli("run", "testmarket/push", "--channel", "tm").exit_code == 0
    clock.advance(3600)
    assert cli("run", "testmarket/push", "--channel", "tm").exit_code == 0
    runs = json.loads(cli("logs", "--channel", "tm", "--json").stdout)
    started = sorted(datetime.fromisoformat(r["started_at"]) for r in runs)
    assert started == [T0, T0 + timedelta(hours=1)]
