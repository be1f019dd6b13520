"""A Fashfed channel on the sandbox, with a small catalog, run the way the daemon runs it.

Load the fixtures with ``pytest_plugins = ("tests.fashfed.world",)``.  ``ff_sandbox`` is the
session's sandbox (reset per test, its clock set to the test clock); ``world`` is a channel
``ff`` pointed at it, with products, prices, stocks, cargo companies and cancellation
reasons imported the way an operator imports them.  The Fashfed client waits through a
recording ``sleep`` (Retry-After, backoff), so no test sleeps.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from pazar.channels import ChannelService
from pazar.clock import FixedClock
from pazar.commerce.importers import import_file
from pazar.db import Database
from pazar.flows.loader import load_flows
from pazar.models.commerce import CancellationRequest, Order, OrderItem
from pazar.models.state import FailedIntegration
from pazar.plugins import load_plugins
from pazar.runner import RunOptions, RunResult, run_flow
from pazar.testing import Cli, serve_sandbox
from pazar_fashfed.api import iso
from pazar_fashfed.client import client_for_channel
from pazar_fashfed.sandbox import create_app
from pazar_fashfed.sandbox_state import ERKEK, KADIN, TOKEN, uid

SKUS = ["FF-1", "FF-2", "FF-3", "FF-4"]
ELBISE = uid("kadin", "elbise")
PLUGINS = "pazar_hepsiburada,pazar_fashfed"

MAPPING = f"""\
version: 1
defaults:
  name: "{{{{ product.name }}}}"
  base_code: "{{{{ product.base_code }}}}"
  description: "{{{{ product.attributes.description }}}}"
categories:
  - category: {ELBISE}
    title: Elbise
    match: {{local_category: "Giyim/Kadın/Elbise"}}
    attributes:
      Renk: "{{{{ product.attributes.color }}}}"
      Beden: "{{{{ product.attributes.size }}}}"
"""


class Naps:
    """Stands in for ``time.sleep``: remembers the waits asked for, never sleeps."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


class Sandbox:
    """The running Fashfed sandbox and its control endpoints, over HTTP like a user."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=10)

    def _ok(self, response: httpx.Response) -> Any:
        assert response.status_code == 200, response.text
        return response.json()

    def post(self, path: str, **doc: Any) -> Any:
        return self._ok(self.http.post(f"/_sandbox/{path}", json=doc))

    def get(self, path: str, **params: Any) -> Any:
        return self._ok(self.http.get(f"/_sandbox/{path}", params=params))

    def faults(self, **doc: Any) -> Any:
        return self.post("faults", **doc)

    def received(self, kind: str) -> dict[str, dict[str, Any]]:
        """The last row each SKU got in bulks of ``kind``."""
        out: dict[str, dict[str, Any]] = {}
        for bulk in self.get("received", kind=kind)["bulks"]:
            for row in bulk["rows"]:
                out[row["sku"]] = row
        return out

    def requests(self, contains: str = "") -> list[dict[str, Any]]:
        return [r for r in self.get("requests")["requests"] if contains in r["path"]]

    def add_packages(self, *packages: dict[str, Any]) -> list[str]:
        return self.post("packages", packages=list(packages))["added"]

    def add_claims(self, *claims: dict[str, Any]) -> list[str]:
        return self.post("claims", claims=list(claims))["added"]

    def packages(self) -> dict[str, dict[str, Any]]:
        return {p["number"]: p for p in self.get("packages")["packages"]}

    def claims(self) -> dict[str, dict[str, Any]]:
        return {c["id"]: c for c in self.get("claims")["claims"]}


@pytest.fixture(scope="session")
def ff_sandbox_server() -> Iterator[Sandbox]:
    with serve_sandbox(create_app()) as running:
        handle = Sandbox(running.url)
        yield handle
        handle.http.close()


@pytest.fixture
def ff_sandbox(ff_sandbox_server: Sandbox, clock: FixedClock) -> Sandbox:
    ff_sandbox_server.post("reset")
    ff_sandbox_server.post("seed", now=iso(clock.now()))
    return ff_sandbox_server


CATALOG = {
    "products": "sku,name,base_code,categories,images,attributes\n"
    + "".join(
        f'{s},Elbise {s},BC-{s},"[""Giyim/Kadın/Elbise""]",https://img/{s}.jpg,'
        f'"{{""color"": ""Siyah"", ""size"": ""M"", ""description"": ""Dress {s}""}}"\n'
        for s in SKUS
    ),
    "prices": "sku,price,retail_price\n"
    + "".join(f"{s},{100 + i}.5,{200 + i}\n" for i, s in enumerate(SKUS)),
    "stocks": "sku,quantity\n" + "".join(f"{s},{i + 1}\n" for i, s in enumerate(SKUS)),
    "catalog_items": "catalog,sku\n" + "".join(f"ff,{s}\n" for s in SKUS),
    "cargo_companies": "code,name\ndefault-cargo,Default Cargo\nyurtici,Yurtiçi Kargo\n",
    "cancellation_reasons": "kind,code,name\ncancel,4,Cancelled on Fashfed\n"
    "cancel,1,Out of stock\ncancel,10,Seller cancelled\nrefund,5,Refund\n",
    "addresses": "city,township,district\nİstanbul,Kadıköy,Moda\n",
}


class World:
    """Channel ``ff`` on the sandbox; ``run``/``sync`` run its flows like the daemon."""

    def __init__(
        self, db: Database, db_url: str, sandbox: Sandbox, clock: FixedClock, tmp: Path
    ) -> None:
        self.db, self.sandbox, self.clock = db, sandbox, clock
        self.cli = Cli(db_url, plugins=PLUGINS)
        self.naps = Naps()
        plugins = load_plugins()
        market = plugins.registry.marketplaces["fashfed"]
        plugins.registry.marketplaces["fashfed"] = replace(
            market,
            client_factory=lambda channel, config: client_for_channel(
                channel, config, sleep=self.naps, timeout=5.0, backoff=0.01
            ),
        )
        self.registry, self.hook = plugins.registry, plugins.hook
        self.flows = load_flows(self.registry)
        with db.session() as session:
            for kind, text in CATALOG.items():
                path = tmp / f"{kind}.csv"
                path.write_text(text, encoding="utf-8")
                import_file(session, kind, path)
        self.config = {
            "base_url": sandbox.url,
            "access_token": TOKEN,
            "category_ids": [{"id": KADIN, "name": "Kadın"}, ERKEK],
            "default_reason_id": 4,  # the catalog's refund reason (ids 1-3 are cancel reasons)
            "cancellation_reason_id": 1,
            "send_cancel_reason_id": 2,  # send_cancel_order_items is on: it needs one
            "cargo_company_mapping": {"default": 1, "yurtici": 2},
            "feature_flags": {
                "stock": True,
                "price": True,
                "product": True,
                "delete_product": True,
                "get_orders": True,
                "get_cancel_orders": True,
                "get_refund_orders": True,
                "send_update_orders": True,
                "get_updated_orders": True,
                "send_refund_order_status": True,
                "send_cancel_order_items": True,
                "split_packages": True,
                "send_split_packages": True,
            },
            "catalog_code": "ff",
            "buffer_stock": 1,
        }
        self.service(
            lambda s: s.apply(
                {"channel": "ff", "plugin": "fashfed", "config": self.config, "status": "active"}
            )
        )
        self.tmp = tmp

    def service(self, action: Any) -> Any:
        with self.db.session() as session:
            return action(ChannelService(session, self.registry, clock=self.clock, hook=self.hook))

    def set(self, *assignments: str) -> None:
        self.service(lambda s: s.set("ff", list(assignments)))

    def channel(self) -> Any:
        with self.db.session() as session:
            channel = ChannelService(session, self.registry, clock=self.clock).get("ff")
            session.expunge(channel)
            return channel

    def attempt(self, flow: str, **options: Any) -> RunResult:
        """Run a flow and return what happened, an error included."""
        return run_flow(
            self.db,
            self.registry,
            self.flows.get(f"fashfed/{flow}"),
            self.channel(),
            clock=self.clock,
            options=RunOptions(**options),
        )

    def run(self, flow: str, **options: Any) -> RunResult:
        result = self.attempt(flow, **options)
        assert result.status not in ("error", "failed"), result.error
        return result

    def sync(self, flow: str, **options: Any) -> RunResult:
        """Run a flow, then check its bulks until the sandbox has decided them."""
        result = self.run(flow, **options)
        for _ in range(2):
            self.run("check_uploads")
        return result

    def catalog(self) -> None:
        """Category tree, attributes, default attributes, then the mapping (seed 4 and 5)."""
        for flow in ("category_node", "category_attributes", "default_attributes"):
            self.run(flow)
        path = self.tmp / "mapping.yaml"
        path.write_text(MAPPING, encoding="utf-8")
        result = self.cli("mapping", "apply", "--channel", "ff", str(path))
        assert result.exit_code == 0, result.output

    def penalties(self) -> dict[str, FailedIntegration]:
        with self.db.session() as session:
            rows = list(session.scalars(select(FailedIntegration)))
            session.expunge_all()
        return {row.object_key: row for row in rows}

    def orders(self) -> dict[str, Order]:
        with self.db.session() as session:
            rows = list(session.scalars(select(Order)))
            for row in rows:
                _ = row.extra
            session.expunge_all()
        return {row.remote_number: row for row in rows}

    def imported(self, *packages: dict[str, Any]) -> list[str]:
        """Packages placed on Fashfed and imported by Order Create; their numbers."""
        numbers = self.sandbox.add_packages(*packages)
        assert self.run("get_orders").succeeded == len(numbers)
        return numbers

    def orders_of(self, remote_number: str) -> list[Order]:
        """Every order of a Fashfed package number (a split package's are several)."""
        with self.db.session() as session:
            rows = list(
                session.scalars(
                    select(Order).where(Order.remote_number == remote_number).order_by(Order.id)
                )
            )
            session.expunge_all()
        return rows

    def refunds(self) -> list[dict[str, Any]]:
        """The refund requests: id, the claim (remote_id), line, status and reason, by id."""
        r, i = CancellationRequest, OrderItem
        with self.db.session() as session:
            rows = session.execute(
                select(r.id, r.remote_id, i.remote_id, r.status, r.reason_id)
                .join(i, i.id == r.order_item_id)
                .where(r.kind == "refund")
                .order_by(r.id)
            ).all()
        keys = ("id", "remote_id", "item", "status", "reason_id")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def items(self) -> dict[str, OrderItem]:
        with self.db.session() as session:
            rows = list(session.scalars(select(OrderItem)))
            session.expunge_all()
        return {row.remote_id: row for row in rows}


@pytest.fixture
def world(
    db: Database, db_url: str, ff_sandbox: Sandbox, clock: FixedClock, tmp_path: Path
) -> World:
    return World(db, db_url, ff_sandbox, clock, tmp_path)
