"""`pazar demo` — the README's main job — runs end to end and says what happened."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from core.cli import cli


def test_demo_syncs_a_catalog_with_the_sandbox(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["demo", "--products", "200", "--json"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    flows = {row["flow"]: row for row in summary["flows"]}
    stock, price = flows["hepsiburada/stock"], flows["hepsiburada/price"]
    # first round sends every product; the second only what changed
    assert stock["runs"] == 2 and stock["read"] > 200 and stock["failed"] == 0
    assert stock["succeeded"] == stock["sent"]
    # the sandbox rejects a few prices outside their band: they end up penalised
    assert price["failed"] == price["penalized"] == 2
    assert summary["open_batches"] == 0
    assert (tmp_path / "pazar-demo.db").exists()


def test_demo_prints_a_table_and_where_to_look_next(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["demo", "--products", "20"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "hepsiburada/stock" in result.stdout
    assert "pazar penalties list --channel demo" in result.stdout
