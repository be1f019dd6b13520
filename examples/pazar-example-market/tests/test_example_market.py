"""Example Market end to end: the real pazar CLI, the plugin's flows, its sandbox over HTTP."""

from __future__ import annotations

from conftest import Shop


def test_stock_goes_out_synchronously_minus_the_buffer_stock(shop: Shop) -> None:
    shop.ok("run", "example/stock", "--channel", "ex")
    assert shop.state()["stock"] == {"A-1": 4, "A-2": 0, "A-3": 8}
    # Nothing changed: the next run reads and sends nothing.
    assert shop.json("run", "example/stock", "--channel", "ex")["sent"] == 0


def test_a_stock_row_the_marketplace_refuses_is_penalised_with_its_words(shop: Shop) -> None:
    shop.post("/_sandbox/refuse", sku="A-3", message="listing is blocked")
    result = shop.cli("run", "example/stock", "--channel", "ex")
    assert result.exit_code == 3  # the run finished; some records failed
    penalties = shop.json("penalties", "list", "--channel", "ex")
    assert [(p["sku"], p["message"]) for p in penalties] == [("A-3", "listing is blocked")]


def test_prices_are_uploaded_then_polled_by_check_uploads(shop: Shop) -> None:
    shop.post("/_sandbox/refuse", sku="A-2", message="price below the category minimum")
    assert shop.json("run", "example/price", "--channel", "ex")["sent"] == 3
    [batch] = shop.json("batches", "list", "--channel", "ex")
    assert batch["status"] == "sent_to_remote" and batch["items"] == 3
    shop.ok("run", "example/check_uploads", "--channel", "ex")  # still processing
    assert shop.state()["prices"] == {}
    shop.ok("run", "example/check_uploads", "--channel", "ex")
    assert shop.state()["prices"] == {"A-1": 10.5, "A-3": 30.0}
    penalties = shop.json("penalties", "list", "--channel", "ex")
    assert [(p["sku"], p["message"]) for p in penalties] == [
        ("A-2", "price below the category minimum")
    ]
    assert shop.json("batches", "list", "--channel", "ex")[0]["status"] == "done"


def test_an_outage_fails_the_run_and_penalises_nobody(shop: Shop) -> None:
    shop.post("/_sandbox/faults", http_error={"status": 503, "count": 4})  # every attempt
    result = shop.cli("run", "example/stock", "--channel", "ex")
    assert result.exit_code == 1 and "HTTP 503" in result.output
    assert shop.json("penalties", "list", "--channel", "ex") == []
    shop.ok("run", "example/stock", "--channel", "ex")  # the outage is over: all go out
    assert shop.state()["stock"] == {"A-1": 4, "A-2": 0, "A-3": 8}


def test_a_row_outside_the_request_shape_never_reaches_the_marketplace(shop: Shop) -> None:
    shop.rows("prices", "sku,price\nA-1,0\n")  # a zero price: refused locally
    result = shop.cli("run", "example/price", "--channel", "ex")
    assert result.exit_code == 3
    [penalty] = shop.json("penalties", "list", "--channel", "ex")
    assert penalty["sku"] == "A-1" and "request shape" in penalty["message"]


def test_the_plugin_is_found_through_its_entry_point(shop: Shop) -> None:
    names = {p["name"] for p in shop.json("plugins", "list")}
    assert "pazar_example" in names or "example" in names
