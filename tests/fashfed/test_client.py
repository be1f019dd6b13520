"""The Fashfed client against its sandbox over real HTTP: auth, paging, errors, retries."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from pazar.clock import FixedClock
from pazar.plugin import ConfigError, MarketplaceError
from pazar_fashfed import api
from pazar_fashfed.client import FashfedClient, client_for_channel
from pazar_fashfed.sandbox_state import KADIN, TOKEN
from tests.fashfed.world import Naps, Sandbox

pytest_plugins = ("tests.fashfed.world",)


def client(sandbox: Sandbox, naps: Naps, **options: object) -> FashfedClient:
    config = {"base_url": sandbox.url, "access_token": options.pop("token", TOKEN)}
    return client_for_channel("ff", config, sleep=naps, timeout=5.0, **options)  # type: ignore[arg-type]


def test_paging_follows_the_absolute_next_urls(ff_sandbox: Sandbox) -> None:
    with client(ff_sandbox, Naps(), page_size=2) as c:
        rows = list(c.category_tree(KADIN))
    assert [r["name"] for r in rows] == ["Kadın", "Giyim", "Elbise", "Tişört"]
    pages = ff_sandbox.requests(f"/categories/{KADIN}/tree/")
    assert len(pages) == 2  # 4 categories, 2 a page


def test_a_next_url_on_another_host_is_not_followed_with_the_token() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.host == "ff.example"
        return httpx.Response(
            200,
            json={
                "count": 3,
                "next": "https://evil.example/api/i2/claims/?page=2",
                "results": [{}],
            },
        )

    c = FashfedClient(
        base_url="https://ff.example", token="t-1", transport=httpx.MockTransport(answer)
    )
    with pytest.raises(MarketplaceError) as exc:
        list(c.claims(type="cancel", status="completed", since=FixedClock().now()))
    assert exc.value.kind == "malformed"
    assert "evil.example" in exc.value.message and "base_url" in exc.value.message


def test_a_next_url_written_as_http_behind_a_balancer_is_read_over_https() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        page = request.url.params.get("page")
        following = "http://ff.example:8000/api/i2/claims/?page=2" if page == "1" else None
        return httpx.Response(200, json={"count": 2, "next": following, "results": [{}]})

    c = FashfedClient(
        base_url="https://ff.example", token="t-1", transport=httpx.MockTransport(answer)
    )
    rows = list(c.claims(type="cancel", status="completed", since=FixedClock().now()))
    assert len(rows) == 2
    assert seen[1] == "https://ff.example/api/i2/claims/?page=2"  # never http, never :8000


def test_the_token_goes_in_the_authorization_header_and_a_wrong_one_is_refused(
    ff_sandbox: Sandbox,
) -> None:
    with (
        client(ff_sandbox, Naps(), token="wrong-secret-token") as c,
        pytest.raises(MarketplaceError) as exc,
    ):
        list(c.category_tree(KADIN))
    assert exc.value.kind == "auth" and exc.value.status == 401
    assert "Invalid token." in exc.value.message
    assert "wrong-secret-token" not in exc.value.message
    assert "wrong-secret-token" not in repr(c)


def test_the_seed_placeholder_token_is_refused_before_any_request(ff_sandbox: Sandbox) -> None:
    with pytest.raises(ConfigError) as exc:
        client(ff_sandbox, Naps(), token="default")
    assert "placeholder" in exc.value.message and "access_token" in exc.value.message
    assert ff_sandbox.requests() == []


def test_5xx_is_retried_with_backoff_and_429_waits_retry_after(ff_sandbox: Sandbox) -> None:
    naps = Naps()
    ff_sandbox.faults(
        http_error={"status": 503, "count": 2, "path": "/tree/"},
        rate_limit={"retry_after": 7, "count": 1, "path": "/tree/"},
    )
    with client(ff_sandbox, naps) as c:
        rows = list(c.category_tree(KADIN))
    assert len(rows) == 4
    assert 7.0 in naps.calls  # the 429's Retry-After, waited, not slept
    assert len(naps.calls) == 3  # two backoffs and one rate-limit wait


def test_an_outage_that_lasts_is_a_transient_error(ff_sandbox: Sandbox) -> None:
    ff_sandbox.faults(http_error={"status": 502, "count": 10, "body": "json"})
    with client(ff_sandbox, Naps(), max_attempts=3) as c, pytest.raises(MarketplaceError) as exc:
        list(c.category_tree(KADIN))
    assert exc.value.kind == "transport" and exc.value.transient
    assert "failed after 3 attempts" in exc.value.message


def test_a_malformed_body_is_transient_not_a_rejection(ff_sandbox: Sandbox) -> None:
    ff_sandbox.faults(malformed={"count": 1, "path": "/tree/"})
    with client(ff_sandbox, Naps()) as c, pytest.raises(MarketplaceError) as exc:
        list(c.category_tree(KADIN))
    assert exc.value.kind == "malformed" and exc.value.transient


def test_django_rest_errors_are_worded_per_field(ff_sandbox: Sandbox) -> None:
    with client(ff_sandbox, Naps()) as c, pytest.raises(MarketplaceError) as exc:
        c.bulk("stocks", [])
    assert exc.value.kind == "rejected" and exc.value.status == 400
    assert exc.value.remote_message == "This list may not be empty."


def test_bulk_status_and_errors(ff_sandbox: Sandbox) -> None:
    ff_sandbox.post("seed", products=[{"sku": "A"}])
    with client(ff_sandbox, Naps()) as c:
        bulk_id = c.bulk("stocks", [{"sku": "A", "stock": 3}, {"sku": "NOPE", "stock": 1}])
        assert c.bulk_status("stocks", bulk_id)["status"] == "processing"
        assert c.bulk_status("stocks", bulk_id)["status"] == api.BULK_DONE
        errors = list(c.bulk_errors("stocks", bulk_id))
    assert errors == [
        {"sku": "NOPE", "code": api.CODE_UNKNOWN_SKU, "message": "Product not found: NOPE"}
    ]


def test_date_filters_are_iso_utc(ff_sandbox: Sandbox, clock: FixedClock) -> None:
    ff_sandbox.add_packages({"items": [{"sku": "A"}]})
    with client(ff_sandbox, Naps()) as c:
        recent = list(c.packages(status=2, since=clock.now() - timedelta(hours=1)))
        future = list(c.packages(status=2, since=clock.now() + timedelta(seconds=1)))
    assert len(recent) == 1 and future == []


def test_the_registered_sandbox_tells_how_to_point_a_channel_at_it() -> None:
    from pazar.plugins import load_plugins
    from pazar.testing import serve_sandbox

    market = load_plugins().registry.marketplace("fashfed")
    app = market.sandbox_app()  # what `pazar sandbox fashfed` serves
    with serve_sandbox(app) as running:
        info = app.state.sandbox_info(running.url)
        assert info["config"] == {"base_url": running.url, "access_token": TOKEN}
        with client_for_channel("ff", info["config"], sleep=Naps()) as c:
            assert [r["name"] for r in c.category_tree(KADIN)][0] == "Kadın"


def test_products_lists_what_fashfed_holds_filtered_by_sku(ff_sandbox: Sandbox) -> None:
    ff_sandbox.post("seed", products=[{"sku": s} for s in ("A", "B", "C")])
    with client(ff_sandbox, Naps(), page_size=2) as c:
        assert sorted(p["sku"] for p in c.products()) == ["A", "B", "C"]
        assert [p["sku"] for p in c.products(sku="B")] == ["B"]
        assert list(c.products(sku="Z")) == []
