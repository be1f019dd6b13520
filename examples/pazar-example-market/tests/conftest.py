"""Fixtures of the example plugin's tests: pazar.testing's (installed with pazar) plus a shop."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pazar_example.sandbox import create_app

from pazar.testing import Cli, RunningSandbox, serve_sandbox


class Shop:
    """A seller with three products, an Example Market channel ``ex`` pointed at the sandbox,
    and the sandbox's control endpoints at hand."""

    def __init__(self, cli: Cli, sandbox: RunningSandbox, tmp_path: Path) -> None:
        self.cli, self.sandbox, self.tmp = cli, sandbox, tmp_path
        self.control = httpx.Client(base_url=sandbox.url, timeout=10)

    def ok(self, *args: str) -> str:
        result = self.cli(*args)
        assert result.exit_code == 0, result.output
        return result.output

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json"))

    def rows(self, kind: str, text: str) -> None:
        path = self.tmp / f"{kind}.csv"
        path.write_text(text)
        self.ok("catalog", "import", kind, str(path))

    def state(self) -> dict[str, Any]:
        return self.control.get("/_sandbox/state").json()

    def post(self, path: str, **doc: Any) -> None:
        assert self.control.post(path, json=doc).status_code == 200


@pytest.fixture
def shop(pazar_cli: Cli, pazar_no_waits: list[float], tmp_path: Path) -> Iterator[Shop]:
    pazar_cli.plugins = "pazar_example"
    with serve_sandbox(create_app()) as sandbox:
        shop = Shop(pazar_cli, sandbox, tmp_path)
        info = shop.control.get("/_sandbox/info").json()["config"]
        shop.ok("channel", "add", "example", "--slug", "ex")
        shop.ok(
            "channel",
            "set",
            "ex",
            f"base_url={info['base_url']}",
            f"api_key={info['api_key']}",
            "buffer_stock=1",
            "feature_flags.stock=true",
            "feature_flags.price=true",
        )
        shop.ok("channel", "activate", "ex")
        shop.rows("products", "sku,name\nA-1,Mug\nA-2,Cup\nA-3,Bowl\n")
        shop.rows("catalog_items", "catalog,sku\nex,A-1\nex,A-2\nex,A-3\n")
        shop.rows("stocks", "sku,quantity\nA-1,5\nA-2,0\nA-3,9\n")
        shop.rows("prices", "sku,price\nA-1,10.5\nA-2,20\nA-3,30\n")
        yield shop
        shop.control.close()
