"""The Hepsiburada client over real HTTP against the sandbox on loopback."""

from __future__ import annotations

import pytest

from pazar.errors import ConfigError
from pazar_hepsiburada.client import HepsiburadaClient, client_for_channel
from pazar_hepsiburada.errors import HepsiburadaError

pytest.register_assert_rewrite("tests.hepsiburada.helpers")

from tests.hepsiburada.helpers import RecordingSleep, SandboxHandle  # noqa: E402

# The session sandbox fixtures (hb_sandbox_server, hb_sandbox).
pytest_plugins = ("tests.hepsiburada.helpers",)

LISTINGS = [
    {"merchantSku": "SKU-1", "price": 100.0, "availableStock": 5},
    {"merchantSku": "SKU-2", "price": 200.0, "availableStock": 5},
    {"merchantSku": "SKU-3", "price": 300.0, "availableStock": 5},
]


def _product(sku: str, **attrs: object) -> dict:
    base = {
        "merchantSku": sku,
        "Barcode": f"869{sku}",
        "UrunAdi": f"Tişört {sku}",
        "UrunAciklamasi": "Pamuklu tişört",
        "Marka": "Pazar",
        "GarantiSuresi": 0,
        "kg": "1",
        "tax_vat_rate": "20",
        "price": "130,50",
        "stock": "7",
        "Image1": "https://img.example/1.jpg",
        "renk_variant_property": "Siyah",
        "ebatlar_variant_property": "M",
    }
    base.update(attrs)
    return {"categoryId": 60001001, "attributes": base}


def _poll_until_done(client: HepsiburadaClient, kind: str, upload_id: str):
    for _ in range(10):
        status = client.upload_status(kind, upload_id)
        if not status.pending:
            return status
    raise AssertionError("upload never finished")


def test_wrong_password_is_an_auth_error_without_the_password(hb_sandbox: SandboxHandle) -> None:
    secret = "WrongSecret9"
    client, _ = hb_sandbox.client(hb_sandbox.config(password=secret))
    with client, pytest.raises(HepsiburadaError) as caught:
        next(client.categories())
    err = caught.value
    assert err.kind == "auth" and err.status == 401
    assert err.remote_message == "Invalid Credentials!"
    shown = " ".join([str(err), repr(err), err.message, *err.details, repr(client)])
    assert secret not in shown and "Authorization" not in shown


def test_user_agent_must_be_the_registered_one(hb_sandbox: SandboxHandle) -> None:
    client, _ = hb_sandbox.client(hb_sandbox.config(user_agent="someone_else"))
    with client, pytest.raises(HepsiburadaError) as caught:
        list(client.listings())
    assert caught.value.kind == "auth"
    assert "User-Agent" in caught.value.message


def test_missing_config_key_names_it() -> None:
    with pytest.raises(ConfigError, match="user_agent"):
        client_for_channel(
            "hb",
            {
                "base_url": "http://x",
                "listing_url": "http://x",
                "password": "p",
                "merchant_id": "m",
            },
        )


def test_categories_are_paged_and_filtered(hb_sandbox: SandboxHandle) -> None:
    client, _ = hb_sandbox.client()
    with client:
        everything = list(client.categories(page_size=3))
        leaves = [c["categoryId"] for c in client.categories(leaf=True, available=True)]
    assert len(everything) == 10 and len({c["categoryId"] for c in everything}) == 10
    assert len(hb_sandbox.requests("get-all-categories")) == 4 + 1
    assert leaves == [60001001, 60001002, 60001003, 60002001, 60003001]
    shirt = next(c for c in everything if c["categoryId"] == 60001001)
    assert shirt["paths"] == ["Moda", "Giyim", "Tişört"]


def test_attributes_and_paged_values(hb_sandbox: SandboxHandle) -> None:
    client, _ = hb_sandbox.client()
    with client:
        groups = client.category_attributes(60001001)
        values = list(client.attribute_values(60001001, "ebatlar_variant_property", page_size=4))
        with pytest.raises(HepsiburadaError) as caught:
            client.category_attributes(21471)  # not a leaf: success:false, code 1003 in a 200
    assert [a["id"] for a in groups["variantAttributes"]] == [
        "renk_variant_property",
        "ebatlar_variant_property",
    ]
    assert any(a["id"] == "merchantSku" and a["mandatory"] for a in groups["baseAttributes"])
    assert [v["value"] for v in values] == ["XS", "S", "M", "L", "XL", "XXL"]
    assert caught.value.kind == "rejected" and caught.value.code == 1003
    assert "not a leaf" in caught.value.remote_message


def test_product_import_reports_each_product(hb_sandbox: SandboxHandle) -> None:
    hb_sandbox.faults(import_rejections={"P-3": "Marka bilgisi hatalı"})
    client, _ = hb_sandbox.client()
    with client:
        tracking_id = client.import_products(
            [_product("P-1"), _product("P-2", Barcode=""), _product("P-3")]
        )
        first = list(client.iter_import_status(tracking_id))
        second = {r.merchant_sku: r for r in client.iter_import_status(tracking_id)}
    assert [r.state for r in first] == ["pending"] * 3
    assert second["P-1"].state == "accepted" and second["P-1"].hb_sku
    assert second["P-2"].state == "rejected" and "Barkod is mandatory" in second["P-2"].message
    assert second["P-3"].state == "rejected" and second["P-3"].message == "Marka bilgisi hatalı"
    received = hb_sandbox.received("products")
    assert received["count"] == 3 and received["batches"][0]["rows"][0]["merchant"]
    listing = hb_sandbox.listings()["P-1"]
    assert listing["price"] == 130.5 and listing["availableStock"] == 7


def test_listings_are_paged_and_filtered(hb_sandbox: SandboxHandle) -> None:
    hb_sandbox.seed(listings=[{"merchantSku": f"L-{i:02d}", "price": 10 + i} for i in range(7)])
    client, _ = hb_sandbox.client()
    with client:
        rows = list(client.listings(page_size=3))
        picked = list(client.listings(merchant_skus=["L-02", "L-05"]))
    assert [r["merchantSku"] for r in rows] == [f"L-{i:02d}" for i in range(7)]
    assert len(hb_sandbox.requests("/listings/")) == 3 + 1
    assert [r["merchantSku"] for r in picked] == ["L-02", "L-05"]


def test_stock_upload_finishes_and_is_received(hb_sandbox: SandboxHandle) -> None:
    hb_sandbox.seed(listings=LISTINGS)
    client, _ = hb_sandbox.client()
    rows = [
        {"merchantSku": "SKU-1", "availableStock": 0},
        {"merchantSku": "SKU-2", "availableStock": 12, "maximumPurchasableQuantity": 3},
    ]
    with client:
        upload_id = client.upload_stock(rows)
        first = client.upload_status("stock", upload_id)
        final = _poll_until_done(client, "stock-uploads", upload_id)
    assert first.pending and first.status == "Processing"
    assert final.done and final.total == 2 and final.row_errors == ()
    received = hb_sandbox.received("stock")
    assert received["count"] == 2 and received["batches"][0]["rows"] == rows
    listings = hb_sandbox.listings()
    assert listings["SKU-1"]["availableStock"] == 0
    assert listings["SKU-2"]["availableStock"] == 12
    assert listings["SKU-2"]["maximumPurchasableQuantity"] == 3


def test_rejected_price_row_names_only_that_sku(hb_sandbox: SandboxHandle) -> None:
    hb_sandbox.seed(listings=LISTINGS)
    hb_sandbox.faults(price_bands={"SKU-2": {"min": 150, "max": 250}})
    client, _ = hb_sandbox.client()
    with client:
        upload_id = client.upload_prices(
            [
                {"merchantSku": "SKU-1", "price": 110.0},
                {"merchantSku": "SKU-2", "price": 99.9},
                {"merchantSku": "UNKNOWN", "price": 5.0},
            ]
        )
        status = _poll_until_done(client, "price", upload_id)
    rejected = status.rejected()
    assert set(rejected) == {"SKU-2", "UNKNOWN"}
    assert "OutOfPriceRange" in rejected["SKU-2"] and "minPrice 150" in rejected["SKU-2"]
    assert "ListingNotFound" in rejected["UNKNOWN"]
    error = next(r for r in status.row_errors if r.sku == "SKU-2").as_error()
    assert error.kind == "rejected" and error.key == "SKU-2"
    listings = hb_sandbox.listings()
    assert listings["SKU-1"]["price"] == 110.0 and listings["SKU-2"]["price"] == 200.0


def test_server_errors_are_retried_with_backoff(hb_sandbox: SandboxHandle) -> None:
    hb_sandbox.seed(listings=LISTINGS)
    hb_sandbox.faults(http_error={"count": 2, "status": 503, "path": "stock-uploads"})
    client, sleep = hb_sandbox.client(backoff=0.5)
    with client:
        upload_id = client.upload_stock([{"merchantSku": "SKU-1", "availableStock": 4}])
    assert upload_id
    assert sleep.calls == [0.5, 1.0]
    assert [r["status"] for r in hb_sandbox.requests("stock-uploads")] == [503, 503, 200]
    assert hb_sandbox.received("stock")["count"] == 1


def test_server_errors_past_the_attempts_are_a_transport_error(hb_sandbox: SandboxHandle) -> None:
    hb_sandbox.faults(http_error={"count": 5, "status": 500, "message": "Internal hiccup"})
    client, sleep = hb_sandbox.client(max_attempts=3)
    with client, pytest.raises(HepsiburadaError) as caught:
        client.category_attributes(60001001)
    assert caught.value.kind == "transport" and caught.value.transient
    assert "Internal hiccup" in caught.value.message and "3 attempts" in caught.value.message
    assert len(sleep.calls) == 2


def test_rate_limit_waits_retry_after_and_loses_nothing(hb_sandbox: SandboxHandle) -> None:
    hb_sandbox.seed(listings=LISTINGS)
    hb_sandbox.faults(rate_limit={"count": 3, "retry_after": 7})
    client, sleep = hb_sandbox.client(max_attempts=2)
    rows = [{"merchantSku": s["merchantSku"], "availableStock": 9} for s in LISTINGS]
    with client:
        upload_id = client.upload_stock(rows)
        status = _poll_until_done(client, "stock", upload_id)
    assert sleep.calls == [7.0, 7.0, 7.0]  # three 429s, none spent a retry attempt
    assert client.waited_rate_limit == 21.0
    assert status.done and status.row_errors == ()
    assert all(row["availableStock"] == 9 for row in hb_sandbox.listings().values())


def test_rate_limit_reset_header_alone_is_honoured(hb_sandbox: SandboxHandle) -> None:
    hb_sandbox.faults(rate_limit={"count": 1, "retry_after": 4, "retry_after_header": False})
    client, sleep = hb_sandbox.client()
    with client:
        assert len(list(client.categories())) == 10
    assert sleep.calls == [4.0]


def test_exhausted_rate_window_is_waited_out_before_the_next_call(
    hb_sandbox: SandboxHandle,
) -> None:
    hb_sandbox.faults(rate_window={"limit": 2, "reset": 2})
    client, sleep = hb_sandbox.client()
    with client:
        assert len(list(client.categories(page_size=3))) == 10  # four pages
    assert sleep.calls == [2.0]  # before the third call; the fourth answer ends the paging
    assert all(r["status"] == 200 for r in hb_sandbox.requests())


def test_timeouts_are_retried(hb_sandbox: SandboxHandle) -> None:
    hb_sandbox.faults(timeout={"count": 1, "seconds": 0.3})
    client, sleep = hb_sandbox.client(timeout=0.1, backoff=0.25)
    with client:
        groups = client.category_attributes(60003001)
    assert groups["baseAttributes"]
    assert sleep.calls == [0.25]


def test_malformed_json_is_a_typed_error(hb_sandbox: SandboxHandle) -> None:
    hb_sandbox.faults(malformed={"count": 1})
    client, _ = hb_sandbox.client()
    with client, pytest.raises(HepsiburadaError) as caught:
        client.category_attributes(60001001)
    assert caught.value.kind == "malformed"
    assert "malformed JSON" in caught.value.message and '{"success": tru' in caught.value.message


def test_success_false_inside_200_carries_the_marketplace_message(
    hb_sandbox: SandboxHandle,
) -> None:
    hb_sandbox.faults(
        success_false={"count": 1, "code": 2001, "message": "Servis geçici olarak kapalı"}
    )
    client, _ = hb_sandbox.client()
    with client, pytest.raises(HepsiburadaError) as caught:
        list(client.categories())
    err = caught.value
    assert err.kind == "rejected" and err.status == 200 and err.code == 2001
    assert err.remote_message == "Servis geçici olarak kapalı"
    assert "Servis geçici olarak kapalı" in err.message


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        ("text", "WrongDateFormat"),
        ("string", "WrongDateFormat"),
        ("json", "WrongDateFormat"),
        ("empty", None),
    ],
)
def test_every_error_body_shape_gives_the_marketplace_message(
    hb_sandbox: SandboxHandle, shape: str, expected: str | None
) -> None:
    hb_sandbox.faults(
        http_error={"count": 1, "status": 400, "body": shape, "message": "WrongDateFormat"}
    )
    client, _ = hb_sandbox.client()
    with client, pytest.raises(HepsiburadaError) as caught:
        list(client.listings())
    err = caught.value
    assert err.kind == "rejected" and err.status == 400
    assert err.remote_message == expected
    assert "HTTP 400" in err.message
    assert err.details and err.details[0].startswith("correlation id: sbx-")


def test_upload_that_never_completes_stays_pending(hb_sandbox: SandboxHandle) -> None:
    hb_sandbox.seed(listings=LISTINGS)
    hb_sandbox.faults(stuck_uploads=1)
    client, _ = hb_sandbox.client()
    with client:
        stuck = client.upload_stock([{"merchantSku": "SKU-1", "availableStock": 1}])
        normal = client.upload_stock([{"merchantSku": "SKU-2", "availableStock": 1}])
        states = [client.upload_status("stock", stuck).state for _ in range(5)]
        assert _poll_until_done(client, "stock", normal).done
    assert states == ["pending"] * 5


def test_failed_upload_changes_nothing(hb_sandbox: SandboxHandle) -> None:
    hb_sandbox.seed(listings=LISTINGS)
    hb_sandbox.faults(failed_uploads=1)
    client, _ = hb_sandbox.client()
    with client:
        upload_id = client.upload_stock([{"merchantSku": "SKU-1", "availableStock": 0}])
        status = _poll_until_done(client, "stock", upload_id)
    assert status.failed and status.status == "Failed"
    assert hb_sandbox.listings()["SKU-1"]["availableStock"] == 5


def test_connection_refused_is_a_transport_error() -> None:
    sleep = RecordingSleep()
    config = {
        "base_url": "http://127.0.0.1:9",
        "listing_url": "http://127.0.0.1:9",
        "password": "Secret123456",
        "merchant_id": "m-1",
        "user_agent": "ua",
    }
    with (
        client_for_channel("hb", config, sleep=sleep, max_attempts=2) as client,
        pytest.raises(HepsiburadaError) as caught,
    ):
        list(client.categories())
    assert caught.value.kind == "transport" and "connection failed" in caught.value.message
    assert "Secret123456" not in str(caught.value)
    assert sleep.calls == [0.5]
