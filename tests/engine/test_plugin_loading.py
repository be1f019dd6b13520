"""A plugin that cannot be loaded costs one warning line naming it and why; pazar and the
other plugins keep working (an import error, a misspelt hook, a hook with other arguments)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pazar.testing import Cli

BROKEN = {
    "acme_import": "import acme_no_such_dependency\n",
    "acme_typo": (
        "from pazar.plugin import hookimpl\n\n@hookimpl\n"
        "def pazar_register_marketplace(register):\n    pass\n"
    ),
    "acme_args": (
        "from pazar.plugin import hookimpl\n\n@hookimpl\n"
        "def pazar_register_steps(registr):\n    pass\n"
    ),
}


@pytest.mark.parametrize("module", sorted(BROKEN))
def test_a_plugin_that_cannot_load_is_one_warning_line(
    module: str, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / f"{module}.py").write_text(BROKEN[module])
    monkeypatch.syspath_prepend(str(tmp_path))
    cli.plugins += f",{module}"
    result = cli("plugins", "list", "--json")
    assert result.exit_code == 0, result.output
    warnings = result.stderr.splitlines()
    assert len(warnings) == 1 and warnings[0].startswith("warning: plugin "), warnings
    assert repr(module) in warnings[0]
    loaded = {p["name"] for p in json.loads(result.stdout)}
    assert module not in loaded and {"pazar_hepsiburada", "pazar_fashfed"} <= loaded


def test_a_misspelt_hook_is_named_with_the_hook_meant(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "acme_typo.py").write_text(BROKEN["acme_typo"])
    monkeypatch.syspath_prepend(str(tmp_path))
    cli.plugins += ",acme_typo"
    result = cli("flows", "list", "--json")
    assert result.exit_code == 0
    assert result.stderr == (
        "warning: plugin 'acme_typo' (PAZAR_PLUGINS) not loaded: unknown hook "
        "'pazar_register_marketplace'; did you mean 'pazar_register_marketplaces'?\n"
    )
    assert "hepsiburada/stock" in {flow["ref"] for flow in json.loads(result.stdout)}
