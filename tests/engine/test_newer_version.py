"""A newer value never waits for an older upload's confirmation (sinks that ``supersede``).

Two upload sinks over one in-memory marketplace that answers when the test says so: one of
absolute values (``supersedes = True``, like a stock upload) and one whose requests must
finish in order (like a product create).  The flows run through the real runner and the
real ``state.upload_results`` check, so what is asserted is what an operator sees: what
was uploaded, the integration actions, penalties, batch items and run logs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from sqlalchemy import select

from pazar.commerce.local import set_stock
from pazar.commerce.synthetic import make_catalog, make_channel
from pazar.commerce.versioning import reserve_versions
from pazar.flows.model import FlowDef, StepDef
from pazar.models.commerce import Product, Stock
from pazar.models.runs import RunLog
from pazar.models.state import BatchRequest, BatchRequestItem, FailedIntegration, IntegrationAction
from pazar.plugin import Poll, StepType, UploadSink
from pazar.plugins import load_plugins
from pazar.runner import RunOptions, RunResult, run_flow
from pazar.state.actions import payload_hash

STOCK_CT = "productstock"


class Marketplace:
    """Uploads kept in order; each stays pending until the test answers it."""

    def __init__(self) -> None:
        self.uploads: list[list[dict[str, Any]]] = []
        self.answers: dict[str, Poll] = {}

    def upload(self, rows: list[Any]) -> str:
        self.uploads.append([dict(r) for r in rows])
        return f"U{len(self.uploads)}"

    def accept(self, remote_id: str, **rejected: str) -> None:
        self.answers[remote_id] = Poll("done", rejected=rejected)

    def status(self, remote_id: str) -> Poll:
        return self.answers.get(remote_id, Poll("pending"))


class _Uploads(UploadSink):
    market: ClassVar[Marketplace]

    def upload(self, rows: list[Any]) -> str:
        return self.market.upload(rows)

    def status(self, remote_id: str, kind: str) -> Poll:
        return self.market.status(remote_id)


class AbsoluteUploads(_Uploads):
    """Stock rows: whole values, applied in order; the marketplace takes at most 10,000."""

    kind: ClassVar[str] = "stocks"
    supersedes: ClassVar[bool] = True
    row_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"stock": {"type": "integer", "maximum": 10_000}},
    }


class OrderedUploads(_Uploads):
    """Rows whose older request must finish first (a product create)."""

    kind: ClassVar[str] = "creates"


def _flow(name: str, sink: str, *, mapped: bool = True) -> FlowDef:
    steps = (
        (
            StepDef(
                type="core.map",
                params={"fields": {"sku": "{{ record.sku }}", "stock": "{{ record.quantity }}"}},
                pointer="/steps/0",
            ),
            StepDef(type="state.skip_unchanged", params={}, pointer="/steps/1"),
        )
        if mapped
        else ()
    )
    return FlowDef(
        flow=name,
        title=name,
        plugin="testmarket",
        source=StepDef(type="commerce.changed_stocks", params={}, pointer="/source"),
        sink=StepDef(type=sink, params={}, pointer="/sink"),
        steps=steps,
        content_type=STOCK_CT,
    )


CHECK = FlowDef(
    flow="check_uploads",
    title="Check uploads",
    plugin="testmarket",
    source=StepDef(type="state.open_batches", params={}, pointer="/source"),
    sink=StepDef(type="state.upload_results", params={}, pointer="/sink"),
)


class Shop:
    """Channel ``shop`` selling SKU-1..3 (stock 1..3) through one of the two sinks."""

    def __init__(self, db: Any, clock: Any, sink: type[_Uploads]) -> None:
        self.db, self.clock = db, clock
        self.market = Marketplace()
        sink.market = self.market
        self.registry = load_plugins().registry
        name = f"newer.{sink.kind}"
        self.registry.registrar("newer-tests")(
            StepType(name=name, kind="sink", factory=sink, description=sink.__doc__ or "")
        )
        self.flow = _flow("stock", name)
        with db.session() as session:
            self.channel = make_channel(session, "shop")
            make_catalog(session.connection(), n=3, catalog_code="shop", with_prices=False)
            reserve_versions(session.connection(), 10)  # later changes come after the catalog's
            session.expunge(self.channel)

    def attempt(self, flow: FlowDef | None = None) -> RunResult:
        """Run the stock flow (or ``flow``) whatever comes of it."""
        return run_flow(
            self.db,
            self.registry,
            flow or self.flow,
            self.channel,
            clock=self.clock,
            options=RunOptions(force=True),
        )

    def run(self, flow: FlowDef | None = None) -> RunResult:
        result = self.attempt(flow)
        assert result.status in ("success", "partial"), result.error
        return result

    def check(self) -> RunResult:
        return self.run(CHECK)

    def set_stock(self, sku: str, quantity: int, extra: dict[str, Any] | None = None) -> int:
        with self.db.session() as session:
            set_stock(session, sku, quantity, extra, clock=self.clock)
        return self.version(sku)

    def version(self, sku: str) -> int:
        with self.db.session() as session:
            return int(
                session.scalar(
                    select(Stock.version)
                    .join(Product, Product.id == Stock.product_id)
                    .where(Product.sku == sku)
                )
            )

    def action(self, sku: str) -> tuple[int, str | None] | None:
        with self.db.session() as session:
            row = session.execute(
                select(IntegrationAction.version, IntegrationAction.payload_hash).where(
                    IntegrationAction.object_key == sku,
                    IntegrationAction.content_type == STOCK_CT,
                )
            ).first()
        return None if row is None else (int(row[0]), row[1])

    def penalties(self) -> dict[str, str]:
        with self.db.session() as session:
            return dict(
                session.execute(
                    select(FailedIntegration.object_key, FailedIntegration.message)
                ).all()
            )

    def items(self, remote_id: str) -> dict[str, tuple[int | None, str, bool, str | None]]:
        """SKU → (version, status, in flight, message) of one upload's batch items."""
        with self.db.session() as session:
            rows = session.execute(
                select(
                    BatchRequestItem.object_key,
                    BatchRequestItem.version,
                    BatchRequestItem.status,
                    BatchRequestItem.in_flight,
                    BatchRequestItem.message,
                )
                .join(BatchRequest, BatchRequest.id == BatchRequestItem.batch_id)
                .where(BatchRequest.remote_batch_id == remote_id)
            ).all()
        return {
            sku: (version, status, flight, message)
            for sku, version, status, flight, message in rows
        }

    def logs(self, result: RunResult) -> list[tuple[str | None, str]]:
        with self.db.session() as session:
            return [
                (key, message)
                for key, message in session.execute(
                    select(RunLog.object_id, RunLog.message)
                    .where(RunLog.run_id == result.run_id)
                    .order_by(RunLog.id)
                )
            ]


@pytest.fixture(autouse=True)
def _testmarket(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAZAR_PLUGINS", "tests.testplugin")


@pytest.fixture
def shop(db: Any, clock: Any) -> Iterator[Shop]:
    yield Shop(db, clock, AbsoluteUploads)


@pytest.fixture
def ordered_shop(db: Any, clock: Any) -> Iterator[Shop]:
    yield Shop(db, clock, OrderedUploads)


def _hash(sku: str, stock: int) -> str:
    return payload_hash({"sku": sku, "stock": stock})


def test_a_newer_value_goes_out_while_the_older_upload_is_unconfirmed(shop: Shop) -> None:
    assert shop.run().sent == 3  # U1: SKU-1..3
    v2 = shop.set_stock("SKU-1", 50)
    again = shop.run()
    assert (again.read, again.sent) == (1, 1)
    assert shop.market.uploads[1] == [{"sku": "SKU-1", "stock": 50}]
    assert shop.run().read == 0  # in flight at its current version: not sent twice
    # U1 confirms first: its answer is about the value it carried, not SKU-1's current one
    shop.market.accept("U1")
    shop.check()
    assert shop.action("SKU-1") is None
    assert shop.action("SKU-2") is not None
    version, status, flight, message = shop.items("U1")["SKU-1"]
    assert (status, flight) == ("ok", False) and version < v2
    assert message is not None and message.startswith("outdated")
    assert shop.run().read == 0
    shop.market.accept("U2")
    shop.check()
    assert shop.action("SKU-1") == (v2, _hash("SKU-1", 50))
    assert shop.run().read == 0
    assert shop.penalties() == {}


def test_an_older_confirmation_arriving_last_sends_the_current_value_again(shop: Shop) -> None:
    # A marketplace that applies uploads as it finishes them now holds the older value.
    shop.run()  # U1 carries SKU-1's first value
    v2 = shop.set_stock("SKU-1", 50)
    shop.run()
    shop.market.accept("U2")
    shop.check()
    assert shop.action("SKU-1") == (v2, _hash("SKU-1", 50))
    shop.market.accept("U1")
    shop.check()
    assert shop.action("SKU-1") != (v2, _hash("SKU-1", 50))  # it may hold U1's value now
    assert shop.penalties() == {}
    again = shop.run()
    assert (again.read, again.sent) == (1, 1)  # the current value goes out once more
    shop.market.accept("U3")
    shop.check()
    assert shop.action("SKU-1") == (v2, _hash("SKU-1", 50))
    assert shop.run().read == 0


def test_a_late_rejection_of_an_older_value_is_no_penalty_for_the_current_one(shop: Shop) -> None:
    shop.run()
    v2 = shop.set_stock("SKU-1", 50)
    shop.run()
    shop.market.accept("U1", **{"SKU-1": "stock too high", "SKU-2": "unknown SKU"})
    check = shop.check()
    # SKU-2's rejection is about its current value: a penalty as always
    assert shop.penalties() == {"SKU-2": "unknown SKU"}
    version, status, _, message = shop.items("U1")["SKU-1"]
    assert status == "failed" and version < v2
    assert message is not None and message.startswith("stock too high (outdated")
    assert any(
        key == "SKU-1" and "stock too high (outdated" in text for key, text in shop.logs(check)
    )
    shop.market.accept("U2")
    shop.check()
    assert shop.action("SKU-1") == (v2, _hash("SKU-1", 50))
    assert set(shop.penalties()) == {"SKU-2"}


def test_a_rejection_after_the_newer_value_was_accepted_changes_nothing(shop: Shop) -> None:
    shop.run()
    v2 = shop.set_stock("SKU-1", 50)
    shop.run()
    shop.market.accept("U2")
    shop.check()
    shop.market.accept("U1", **{"SKU-1": "stock too high"})
    shop.check()
    assert shop.penalties() == {}
    assert shop.action("SKU-1") == (v2, _hash("SKU-1", 50))
    assert shop.run().read == 0


def test_an_expired_older_upload_penalises_only_what_nothing_newer_carries(shop: Shop) -> None:
    shop.run()  # U1 never answers
    shop.clock.advance(1800)
    shop.set_stock("SKU-1", 50)
    shop.run()  # U2, half an hour younger
    shop.clock.advance(1801)
    shop.check()  # U1 is past sent_to_remote.EXPIRATION_HOUR (1 h), U2 is not
    assert sorted(shop.penalties()) == ["SKU-2", "SKU-3"]
    assert shop.items("U2")["SKU-1"][1:3] == ("pending", True)


def test_skip_unchanged_compares_with_the_last_value_sent_not_the_last_confirmed(
    shop: Shop,
) -> None:
    shop.run()
    shop.market.accept("U1")
    shop.check()
    assert shop.action("SKU-1") is not None  # SKU-1 integrated with stock 1
    shop.set_stock("SKU-1", 9)
    shop.run()  # U2: 9, unconfirmed
    v3 = shop.set_stock("SKU-1", 1)  # back to the confirmed value
    third = shop.run()
    # Compared with what was confirmed (1) it looks unchanged; the marketplace will hold 9
    # once U2 lands, so 1 goes out again.
    assert (third.sent, third.skipped) == (1, 0)
    assert shop.market.uploads[2] == [{"sku": "SKU-1", "stock": 1}]
    shop.market.accept("U2")
    shop.market.accept("U3")
    shop.check()
    assert shop.action("SKU-1") == (v3, _hash("SKU-1", 1))


def test_a_change_that_equals_the_unconfirmed_upload_rides_on_its_answer(shop: Shop) -> None:
    shop.run()
    shop.market.accept("U1")
    shop.check()
    shop.set_stock("SKU-2", 7)
    shop.run()  # U2: SKU-2 = 7, unconfirmed
    v3 = shop.set_stock("SKU-2", 7, {"note": "not in the payload"})
    third = shop.run()
    assert (third.read, third.sent, third.skipped) == (1, 0, 1)
    assert len(shop.market.uploads) == 2
    assert shop.run().read == 0  # U2 now answers for the current version
    shop.market.accept("U2")
    shop.check()
    assert shop.action("SKU-2") == (v3, _hash("SKU-2", 7))
    assert shop.run().read == 0


def test_a_sink_whose_requests_must_finish_in_order_still_waits(ordered_shop: Shop) -> None:
    shop = ordered_shop
    assert shop.run().sent == 3
    v2 = shop.set_stock("SKU-1", 50)
    assert shop.run().read == 0  # SKU-1 changed, but its older request is unconfirmed
    shop.market.accept("U1", **{"SKU-1": "stock too high"})
    shop.check()
    assert shop.penalties() == {"SKU-1": "stock too high"}  # about SKU-1, not outdated
    message = shop.items("U1")["SKU-1"][3]
    assert message == "stock too high"
    shop.clock.advance(30_000)  # past the default retry interval
    retry = shop.run()
    assert (retry.read, retry.sent) == (1, 1)
    assert shop.market.uploads[1] == [{"sku": "SKU-1", "stock": 50}]
    shop.market.accept("U2")
    shop.check()
    assert shop.action("SKU-1") == (v2, _hash("SKU-1", 50))


def test_an_older_upload_confirmed_while_a_run_compares_does_not_pass_for_the_new_value(
    shop: Shop,
) -> None:
    """The run read SKU-1's last integration (50, from U2); before it compares, the check
    confirms the older U1 last, so the marketplace holds 1.  The run must not record its
    50 as integrated on the strength of what it read."""
    shop.run()  # U1 carries SKU-1 = 1
    shop.set_stock("SKU-1", 50)
    shop.run()  # U2 carries 50
    shop.market.accept("U2")
    shop.check()
    v3 = shop.set_stock("SKU-1", 50, {"note": "not in the payload"})  # same payload, newer
    shop.market.accept("U1")

    class Meanwhile:
        """Between the read and the comparison, another daemon checks the uploads."""

        def __init__(self, ctx: Any) -> None:
            pass

        def process(self, items: list[Any], run: Any) -> list[Any]:
            shop.check()
            return items

    shop.registry.registrar("newer-meanwhile")(
        StepType(name="newer.meanwhile", kind="step", factory=Meanwhile, description="check")
    )
    mapped, skip = shop.flow.steps
    meanwhile = StepDef(type="newer.meanwhile", params={}, pointer="/steps/1")
    racing = dataclasses.replace(shop.flow, steps=(mapped, meanwhile, skip))
    shop.run(racing)
    assert shop.action("SKU-1") != (v3, _hash("SKU-1", 50))  # U1's value is what landed
    again = shop.run()
    assert (again.read, again.sent) == (1, 1)  # so 50 goes out once more
    assert shop.market.uploads[-1] == [{"sku": "SKU-1", "stock": 50}]
    shop.market.accept(f"U{len(shop.market.uploads)}")
    shop.check()
    assert shop.action("SKU-1") == (v3, _hash("SKU-1", 50))


def test_an_older_success_leaves_the_penalty_of_a_newer_value_that_failed_locally(
    shop: Shop,
) -> None:
    shop.run()  # U1 carries SKU-1 = 1
    v2 = shop.set_stock("SKU-1", 20_000)
    failed = shop.run()
    assert (failed.read, failed.sent, failed.failed) == (1, 0, 1)  # over the maximum: no upload
    assert set(shop.penalties()) == {"SKU-1"}
    shop.market.accept("U1")
    shop.check()
    # U1's success is about the value it carried; SKU-1's current value still cannot go out
    assert set(shop.penalties()) == {"SKU-1"}
    assert shop.action("SKU-1") is not None and shop.action("SKU-1")[0] < v2
    assert len(shop.market.uploads) == 1
