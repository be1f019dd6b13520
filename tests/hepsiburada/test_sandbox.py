"""The Hepsiburada sandbox as a user of its HTTP API (or curl) sees it."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from pazar.errors import PazarError
from pazar.sandbox_server import serve_in_thread
from pazar_hepsiburada.client import client_for_channel
from pazar_hepsiburada.sandbox import create_app
from pazar_hepsiburada.sandbox_shapes import (
    DEFAULT_MERCHANT_ID,
    DEFAULT_PASSWORD,
    DEFAULT_USER_AGENT,
)

pytest.register_assert_rewrite("tests.hepsiburada.helpers")

from tests.hepsiburada.helpers import SandboxHandle  # noqa: E402

pytest_plugins = ("tests.hepsiburada.helpers",)

REPO = Path(__file__).resolve().parents[2]
LISTING = f"/listings/merchantid/{DEFAULT_MERCHANT_ID}"


def _auth(user: str = DEFAULT_MERCHANT_ID, password: str = DEFAULT_PASSWORD) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}", "User-Agent": DEFAULT_USER_AGENT}


def _poll(hb: SandboxHandle, kind: str, upload_id: str, times: int = 1) -> list[dict]:
    return [
        hb.http.get(f"{LISTING}/{kind}/id/{upload_id}", headers=_auth()).json()
        for _ in range(times)
    ]


def test_listing_without_credentials_answers_plain_text_401(hb_sandbox: SandboxHandle) -> None:
    response = hb_sandbox.http.get(LISTING, headers={"User-Agent": DEFAULT_USER_AGENT})
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == "Missing Credentials!"


def test_mpop_without_user_agent_answers_the_envelope(hb_sandbox: SandboxHandle) -> None:
    headers = {**_auth(), "User-Agent": ""}
    response = hb_sandbox.http.get("/product/api/categories/get-all-categories", headers=headers)
    assert response.status_code == 401
    body = response.json()
    assert body["success"] is False and "User-Agent" in body["message"]


def test_listing_path_casing_and_merchant_are_checked(hb_sandbox: SandboxHandle) -> None:
    camel = hb_sandbox.http.get(f"/listings/merchantId/{DEFAULT_MERCHANT_ID}", headers=_auth())
    other = hb_sandbox.http.get("/listings/merchantid/someone-else", headers=_auth())
    assert camel.status_code == 400 and "lower case" in camel.json()["message"]
    assert other.status_code == 403


def test_oms_and_claims_take_both_casings_and_answer_in_their_shapes(
    hb_sandbox: SandboxHandle,
) -> None:
    """Reference sections 1 and 6: OMS and claims accept /merchantid/ and /merchantId/; a
    list without ``limit`` is refused; 400s are bare JSON strings, a 404 the 1004 object."""
    mid = DEFAULT_MERCHANT_ID
    for casing in ("merchantid", "merchantId"):
        lines = hb_sandbox.http.get(
            f"/orders/{casing}/{mid}", params={"limit": 10}, headers=_auth()
        )
        claims = hb_sandbox.http.get(
            f"/claims/{casing}/{mid}/status/NewRequest", params={"limit": 10}, headers=_auth()
        )
        assert (lines.status_code, claims.status_code) == (200, 200), casing
    for path in (
        "orders",
        "orders/merchantid/{mid}/cancelled",
        "packages",
        "packages/merchantid/{mid}/delivered",
    ):
        url = f"/{path}".format(mid=mid) if "{mid}" in path else f"/{path}/merchantid/{mid}"
        answer = hb_sandbox.http.get(url, headers=_auth())
        assert (answer.status_code, answer.json()) == (400, "LimitCannotBeEmpty"), url
    missing = hb_sandbox.http.get(
        f"/packages/merchantid/{mid}/packagenumber/404404/nothing", headers=_auth()
    )
    assert missing.status_code == 404
    assert {k: missing.json()[k] for k in ("statusCode", "code")} == {
        "statusCode": 404,
        "code": "1004",
    }


def test_seeded_credentials_replace_the_defaults_until_reset(hb_sandbox: SandboxHandle) -> None:
    hb_sandbox.seed(
        credentials={"merchant_id": "m-42", "password": "Key123456789", "user_agent": "acme_dev"}
    )
    new = {**_auth("m-42", "Key123456789"), "User-Agent": "acme_dev"}
    assert hb_sandbox.http.get("/listings/merchantid/m-42", headers=new).status_code == 200
    assert hb_sandbox.http.get(LISTING, headers=_auth()).status_code == 401
    hb_sandbox.reset()
    assert hb_sandbox.http.get(LISTING, headers=_auth()).status_code == 200


def test_product_import_takes_a_multipart_file(hb_sandbox: SandboxHandle) -> None:
    product = {"categoryId": 60003001, "merchant": DEFAULT_MERCHANT_ID, "attributes": {}}
    files = {"file": ("integrator.json", json.dumps([product]).encode(), "application/json")}
    response = hb_sandbox.http.post(
        "/product/api/products/import", params={"version": 1}, files=files, headers=_auth()
    )
    raw = hb_sandbox.http.post("/product/api/products/import", json=[product], headers=_auth())
    assert response.status_code == 200
    assert response.json()["success"] is True and response.json()["data"]["trackingId"]
    assert raw.status_code == 400 and "multipart" in raw.json()["message"]


def test_upload_status_is_processing_for_the_configured_polls(hb_sandbox: SandboxHandle) -> None:
    hb_sandbox.seed(
        listings=[{"merchantSku": "A", "availableStock": 1}], settings={"pending_polls": 3}
    )
    upload = hb_sandbox.http.post(
        f"{LISTING}/stock-uploads",
        json=[{"merchantSku": "A", "availableStock": 2}],
        headers=_auth(),
    ).json()
    statuses = [r["status"] for r in _poll(hb_sandbox, "stock-uploads", upload["id"], 5)]
    assert statuses == ["Processing", "Processing", "Processing", "Done", "Done"]
    assert hb_sandbox.listings()["A"]["availableStock"] == 2


def test_an_upload_sets_only_the_fields_of_its_kind(hb_sandbox: SandboxHandle) -> None:
    """A stock upload carrying a price leaves the price alone (reference: item fields)."""
    hb_sandbox.seed(
        listings=[{"merchantSku": "A", "availableStock": 1, "price": 10.0}],
        settings={"pending_polls": 0},
    )
    upload = hb_sandbox.http.post(
        f"{LISTING}/stock-uploads",
        json=[{"merchantSku": "A", "availableStock": 5, "price": 99.0}],
        headers=_auth(),
    ).json()
    _poll(hb_sandbox, "stock-uploads", upload["id"])
    listing = hb_sandbox.listings()["A"]
    assert (listing["availableStock"], listing["price"]) == (5, 10.0)


def test_upload_limits(hb_sandbox: SandboxHandle) -> None:
    hb_sandbox.seed(settings={"max_pending_uploads": 1, "accept_unknown_skus": True})
    too_many_rows = [{"merchantSku": f"S{i}", "availableStock": 1} for i in range(4001)]
    big = hb_sandbox.http.post(f"{LISTING}/stock-uploads", json=too_many_rows, headers=_auth())
    first = hb_sandbox.http.post(
        f"{LISTING}/stock-uploads", json=too_many_rows[:2], headers=_auth()
    )
    second = hb_sandbox.http.post(
        f"{LISTING}/price-uploads", json=[{"merchantSku": "S1", "price": 3.5}], headers=_auth()
    )
    assert big.status_code == 400 and "4000" in big.json()["message"]
    assert first.status_code == 200
    assert second.status_code == 400 and "too many ongoing" in second.json()["message"]
    _poll(hb_sandbox, "stock-uploads", first.json()["id"], 2)  # finished: the slot is free again
    third = hb_sandbox.http.post(
        f"{LISTING}/price-uploads", json=[{"merchantSku": "S1", "price": 3.5}], headers=_auth()
    )
    assert third.status_code == 200
    assert set(hb_sandbox.listings()) == {"S0", "S1"}  # unknown SKUs accepted when told so


def test_inventory_refuses_dispatch_time_and_shipping_info_takes_it(
    hb_sandbox: SandboxHandle,
) -> None:
    hb_sandbox.seed(listings=[{"merchantSku": "A"}], settings={"pending_polls": 0})
    inv = hb_sandbox.http.post(
        f"{LISTING}/inventory-uploads",
        json=[{"merchantSku": "A", "price": 10.0, "dispatchTime": 2}],
        headers=_auth(),
    ).json()
    ship = hb_sandbox.http.post(
        f"{LISTING}/shipping-info-uploads",
        json=[{"merchantSku": "A", "dispatchTime": 5, "claimAddressLabel": "IKINCIL"}],
        headers=_auth(),
    ).json()
    inv_result = _poll(hb_sandbox, "inventory-uploads", inv["id"])[0]
    ship_result = _poll(hb_sandbox, "shipping-info-uploads", ship["id"])[0]
    assert "shipping-info-uploads" in inv_result["errors"][0]["errors"][0]
    assert ship_result["status"] == "Done" and ship_result["errors"] == []
    listing = hb_sandbox.listings()["A"]
    assert listing["dispatchTime"] == 5 and listing["claimAddressLabel"] == "IKINCIL"
    assert hb_sandbox.received("shipping-info")["count"] == 1


def test_reject_rule_and_price_band_answer_in_a_200(hb_sandbox: SandboxHandle) -> None:
    hb_sandbox.seed(
        listings=[{"merchantSku": "A"}, {"merchantSku": "B"}], settings={"pending_polls": 0}
    )
    hb_sandbox.faults(
        reject_rows=[
            {"kind": "price-uploads", "sku": "A", "message": "DiscountedListingPriceIncrease"}
        ],
        price_bands={"B": {"min": 1, "max": 50}},
    )
    upload = hb_sandbox.http.post(
        f"{LISTING}/price-uploads",
        json=[{"merchantSku": "A", "price": 20.0}, {"merchantSku": "B", "price": 60.0}],
        headers=_auth(),
    ).json()
    response = hb_sandbox.http.get(f"{LISTING}/price-uploads/id/{upload['id']}", headers=_auth())
    body = response.json()
    assert response.status_code == 200
    assert [(e["merchantSku"], e["errors"]) for e in body["errors"]] == [
        ("A", ["DiscountedListingPriceIncrease"]),
        ("B", ["OutOfPriceRange"]),
    ]
    assert body["priceValidations"][0]["type"] == "MaxLock"
    assert body["priceValidations"][0]["maxPrice"] == 50


def test_faults_are_validated_counted_and_scoped_by_path(hb_sandbox: SandboxHandle) -> None:
    bad = hb_sandbox.http.post("/_sandbox/faults", json={"explode": 1})
    assert bad.status_code == 400 and "explode" in bad.json()["error"]
    hb_sandbox.faults(http_error={"count": 2, "status": 502, "path": "/attributes"})
    categories = hb_sandbox.http.get("/product/api/categories/get-all-categories", headers=_auth())
    attrs = hb_sandbox.http.get("/product/api/categories/60001001/attributes", headers=_auth())
    assert categories.status_code == 200 and attrs.status_code == 502
    assert hb_sandbox.http.get("/_sandbox/faults").json()["http_error"]["count"] == 1
    assert hb_sandbox.http.delete("/_sandbox/faults").status_code == 200
    attrs = hb_sandbox.http.get("/product/api/categories/60001001/attributes", headers=_auth())
    assert attrs.status_code == 200


def test_latency_fault_delays_answers(hb_sandbox: SandboxHandle) -> None:
    hb_sandbox.faults(latency_ms=120)
    started = time.perf_counter()
    response = hb_sandbox.http.get(LISTING, headers=_auth())
    assert response.status_code == 200
    assert time.perf_counter() - started >= 0.12


def test_received_names_the_kinds_it_knows(hb_sandbox: SandboxHandle) -> None:
    response = hb_sandbox.http.get("/_sandbox/received", params={"kind": "orders"})
    assert response.status_code == 400 and "stock" in response.json()["error"]


def test_seed_rejects_bad_documents(hb_sandbox: SandboxHandle) -> None:
    response = hb_sandbox.http.post("/_sandbox/seed", json={"categories": [{"name": "no id"}]})
    assert response.status_code == 400 and "categoryId" in response.json()["error"]
    response = hb_sandbox.http.post(
        "/_sandbox/seed",
        json={"credentials": {"password": "Changed12345"}, "settings": {"speed": 3}},
    )
    assert response.status_code == 400 and "pending_polls" in response.json()["error"]
    assert hb_sandbox.info()["credentials"]["password"] == DEFAULT_PASSWORD  # nothing changed
    bad = hb_sandbox.http.post("/_sandbox/faults", json={"stuck_uploads": "many"})
    assert bad.status_code == 400 and "stuck_uploads" in bad.json()["error"]


def test_serving_on_a_busy_port_is_a_clear_error() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(PazarError, match=f"127.0.0.1:{port}"):
            serve_in_thread(create_app(), port=port)


def test_stopped_sandbox_no_longer_answers() -> None:
    app = create_app()
    running = serve_in_thread(app)
    config = app.state.sandbox.channel_config(running.url)
    with client_for_channel("demo", config) as client:
        assert len(list(client.categories(leaf=True))) == 6
    running.stop()
    assert not running.running
    with pytest.raises(httpx.ConnectError):
        httpx.get(running.url + "/_sandbox/info")


def test_cli_names_an_unknown_marketplace() -> None:
    from pazar.cli import cli

    result = CliRunner().invoke(cli, ["sandbox", "nowhere"])
    assert result.exit_code == 2 and "nowhere" in result.output


def test_pazar_sandbox_serves_until_terminated(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pazar", "sandbox", "hepsiburada", "--port", "0"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = proc.stdout.readline() if proc.stdout else ""
        assert "listening on http://127.0.0.1:" in first, first
        url = first.rsplit(" ", 1)[-1].strip()
        rest = []
        while not rest or not rest[-1].startswith("press Ctrl-C"):
            rest.append(proc.stdout.readline().strip() if proc.stdout else "")
        assert f"password: {DEFAULT_PASSWORD}" in rest
        assert f"user_agent: {DEFAULT_USER_AGENT}" in rest
        assert (
            httpx.get(url + "/_sandbox/info").json()["config"]["merchant_id"] == DEFAULT_MERCHANT_ID
        )
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
