"""The marketplace's answer time overlaps the engine's own work instead of adding up.

A superseding upload is on its way while the runner prepares the next batch, and a check of
open uploads asks several at once while it records the answers before them.  Yet what an
operator sees is what one request at a time gives: the uploads arrive in order, each is
tracked as its batch, answers are recorded in batch order, a refused upload penalises its own
records only, an outage fails the run with nothing penalised, and an upload already on its
way when the run breaks is still tracked.  The flows run through the real runner and the
real ``state.upload_results`` check, with one record per upload.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from sqlalchemy import select

from pazar.http_client import MarketplaceError
from pazar.models.state import BatchRequest
from pazar.pipeline import Item
from pazar.plugin import Poll
from pazar.runner import RunResult
from tests.engine.test_newer_version import CHECK, AbsoluteUploads, Marketplace, Shop

WAIT = 10.0  # a bound on waiting for the other thread, never a pause: met at once when it works


class WatchedMarket(Marketplace):
    """Counts the rows the engine built; upload n can wait until batch n+1's row exists."""

    def __init__(self) -> None:
        super().__init__()
        self.built = [threading.Event() for _ in range(10)]
        self.rows_built = 0
        self.wait_for_next = False
        self.next_seen: list[bool] = []
        self.threads: list[str] = []
        self.refuse: dict[int, MarketplaceError] = {}  # upload number (1-based) -> error
        self.broken_sku: str | None = None
        self.attempts = 0
        self.asked = {f"U{n}": threading.Event() for n in range(1, 10)}
        self.hold_until_asked: dict[str, tuple[str, ...]] = {}  # U1 -> answer once these asked
        self.held_saw: list[bool] = []
        self.status_errors: dict[str, MarketplaceError] = {}
        self.askers: list[str] = []

    def built_row(self, item: Item) -> None:
        if item.key == self.broken_sku:
            raise RuntimeError(f"cannot build the row of {item.key}")
        self.rows_built += 1
        self.built[self.rows_built].set()

    def upload(self, rows: list[Any]) -> str:
        self.attempts += 1
        self.threads.append(threading.current_thread().name)
        if self.wait_for_next and self.attempts < 3:
            self.next_seen.append(self.built[self.attempts + 1].wait(WAIT))
        error = self.refuse.get(self.attempts)
        if error is not None:
            raise error
        return super().upload(rows)

    def status(self, remote_id: str) -> Poll:
        self.asked[remote_id].set()
        self.askers.append(threading.current_thread().name)
        for other in self.hold_until_asked.get(remote_id, ()):
            self.held_saw.append(self.asked[other].wait(WAIT))
        error = self.status_errors.get(remote_id)
        if error is not None:
            raise error
        return super().status(remote_id)


class WatchedUploads(AbsoluteUploads):
    market: ClassVar[WatchedMarket]  # type: ignore[assignment]

    def row(self, item: Item) -> Any:
        self.market.built_row(item)
        return super().row(item)


@pytest.fixture(autouse=True)
def _testmarket(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAZAR_PLUGINS", "tests.testplugin")


def _watched_shop(db: Any, clock: Any, sink: type[WatchedUploads]) -> Shop:
    """A shop whose stock flow sends one record per upload (SKU-1..3: three uploads)."""
    shop = Shop(db, clock, sink)
    shop.market = sink.market = WatchedMarket()
    shop.flow = dataclasses.replace(
        shop.flow, sink=dataclasses.replace(shop.flow.sink, params={"batch_size": 1})
    )
    return shop


@pytest.fixture
def shop(db: Any, clock: Any) -> Iterator[Shop]:
    yield _watched_shop(db, clock, WatchedUploads)


def _uploaded_lines(shop: Shop, result: RunResult) -> list[str]:
    return [message for _key, message in shop.logs(result) if "uploaded" in message]


def test_the_next_batch_is_prepared_while_the_upload_is_on_its_way(shop: Shop) -> None:
    market = shop.market
    market.wait_for_next = True
    result = shop.attempt()
    # uploads 1 and 2 each saw the next batch's row built while they were being sent
    assert market.next_seen == [True, True]
    assert all(name.startswith("pazar-upload") for name in market.threads)
    assert (result.status, result.sent, result.succeeded, result.failed) == ("success", 3, 0, 0)


def test_uploads_arrive_in_order_and_each_is_tracked_as_its_batch(shop: Shop) -> None:
    result = shop.attempt()
    assert shop.market.uploads == [
        [{"sku": "SKU-1", "stock": 1}],
        [{"sku": "SKU-2", "stock": 2}],
        [{"sku": "SKU-3", "stock": 3}],
    ]
    for n in (1, 2, 3):
        version, status, in_flight, _ = shop.items(f"U{n}")[f"SKU-{n}"]
        assert (status, in_flight) == ("pending", True)
    lines = _uploaded_lines(shop, result)
    assert [line.split(" as ")[1].split(" ")[0] for line in lines] == ["U1", "U2", "U3"]
    assert shop.attempt().read == 0  # all three in flight at their current versions


def test_an_outage_on_an_upload_fails_the_run_and_its_records_go_out_next_time(
    shop: Shop,
) -> None:
    shop.market.refuse[2] = MarketplaceError("HTTP 503 from the marketplace", kind="transport")
    result = shop.attempt()
    assert (result.status, result.retryable) == ("failed", True)
    assert "HTTP 503" in (result.error or "")
    assert shop.items("U1") and shop.items("U1")["SKU-1"][2] is True  # sent before: tracked
    assert shop.penalties() == {}
    again = shop.attempt()
    assert (again.status, again.read, again.sent) == ("success", 2, 2)
    assert shop.market.uploads[1:] == [
        [{"sku": "SKU-2", "stock": 2}],
        [{"sku": "SKU-3", "stock": 3}],
    ]


def test_a_refused_upload_penalises_its_own_records_only(shop: Shop) -> None:
    shop.market.refuse[2] = MarketplaceError(
        "HTTP 400", kind="rejected", remote_message="invalid stock file"
    )
    result = shop.attempt()
    assert (result.status, result.sent, result.failed) == ("partial", 3, 1)
    assert shop.penalties() == {"SKU-2": "invalid stock file"}
    assert shop.market.uploads == [[{"sku": "SKU-1", "stock": 1}], [{"sku": "SKU-3", "stock": 3}]]
    assert set(shop.items("U1")) == {"SKU-1"} and set(shop.items("U2")) == {"SKU-3"}


def test_an_upload_on_its_way_when_the_run_breaks_is_still_tracked(shop: Shop) -> None:
    shop.market.broken_sku = "SKU-3"
    result = shop.attempt()
    assert result.status == "error"
    assert "cannot build the row of SKU-3" in (result.error or "")
    # SKU-2's upload was on its way when SKU-3's row failed: tracked, not sent again unseen
    assert shop.items("U2")["SKU-2"][1:3] == ("pending", True)
    shop.market.broken_sku = None
    again = shop.attempt()
    assert (again.read, again.sent) == (1, 1)
    assert shop.market.uploads[-1] == [{"sku": "SKU-3", "stock": 3}]


def _batch_statuses(shop: Shop) -> dict[str, str]:
    with shop.db.session() as session:
        rows = session.execute(select(BatchRequest.remote_batch_id, BatchRequest.status))
        return {str(remote): str(status) for remote, status in rows}


def test_a_check_asks_about_several_uploads_at_once_and_records_them_in_order(
    shop: Shop,
) -> None:
    shop.attempt()
    for n in (1, 2, 3):
        shop.market.accept(f"U{n}")
    # U1's answer comes only once U2 and U3 were asked too: three questions in flight
    shop.market.hold_until_asked["U1"] = ("U2", "U3")
    checked = shop.check()
    assert shop.market.held_saw == [True, True]
    assert (checked.status, checked.succeeded) == ("success", 3)
    assert _batch_statuses(shop) == {"U1": "done", "U2": "done", "U3": "done"}
    with shop.db.session() as session:
        order = {
            local: remote
            for local, remote in session.execute(
                select(BatchRequest.local_batch_id, BatchRequest.remote_batch_id)
            )
        }
    recorded = [order[key] for key, message in shop.logs(checked) if "accepted" in message]
    assert recorded == ["U1", "U2", "U3"]
    assert shop.action("SKU-3") is not None


def test_an_outage_while_asking_keeps_the_later_answers_for_the_next_check(shop: Shop) -> None:
    shop.attempt()
    for n in (1, 2, 3):
        shop.market.accept(f"U{n}")
    shop.market.status_errors["U2"] = MarketplaceError("HTTP 503 asking", kind="transport")
    failed = shop.attempt(CHECK)
    assert (failed.status, failed.retryable) == ("failed", True)
    # U3 may have been asked ahead, but nothing after the outage is recorded
    assert _batch_statuses(shop) == {"U1": "done", "U2": "sent_to_remote", "U3": "sent_to_remote"}
    assert shop.action("SKU-1") is not None and shop.action("SKU-3") is None
    del shop.market.status_errors["U2"]
    assert shop.check().succeeded == 2
    assert _batch_statuses(shop) == {"U1": "done", "U2": "done", "U3": "done"}


class OneQuestionUploads(WatchedUploads):
    """A service that must be asked one status question at a time."""

    asks_at_once: ClassVar[int] = 1


def test_a_sink_that_takes_one_question_at_a_time_is_asked_one_at_a_time(
    db: Any, clock: Any
) -> None:
    shop = _watched_shop(db, clock, OneQuestionUploads)
    shop.run()
    for n in (1, 2, 3):
        shop.market.accept(f"U{n}")
    assert shop.check().succeeded == 3
    # one asker thread took every question (several are started at once otherwise)
    assert len(shop.market.askers) == 3 and len(set(shop.market.askers)) == 1
