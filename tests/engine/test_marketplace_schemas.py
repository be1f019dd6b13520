"""The Hepsiburada and Fashfed channel configs follow their seeds' "Defining the Sales Channel"."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from pazar import config_schema as cs
from pazar.channels import ChannelService
from pazar.clock import FixedClock
from pazar.db import Database
from pazar.paths import schemas_dir
from pazar.plugins import load_plugins

# Seed 000, section 2 table, in order (labels as the seed writes them).
HB_FIELDS = [
    ("base_url", "Base Url", True),
    ("oms_url", "OMS Url", True),
    ("listing_url", "Listing Url", True),
    ("username", "Username", True),
    ("password", "Password", True),
    ("merchant_id", "Merchant Id", True),
    ("user_agent", "User Agent", True),
    ("category_ids", "Category Ids", True),
    ("feature_flags", "Feature Flags", True),
    ("use_neighborhood", "Use Neighborhood", False),
    ("use_hb_tracking_number", "Use Hb Tracking Number", False),
    ("refund_reason_mapping", "Refund Reason Mapping", False),
    ("default_reason_id", "Default Reason Id", True),
    ("refund_start_date", "Refund Start Date", False),
    ("orders_refundable_days", "Orders Refundable Days", False),
    ("failed_integration", "Failed Integration", True),
    ("erp_code", "Erp Code", False),
    ("send_shipping_info", "Send Shipping Info", False),
    ("order_number_format", "Order Number Format", False),
    ("cancellation_reason_id", "Cancellation Reason Id", True),
    ("attribute_set_strategy", "Attribute Set Strategy", True),
    ("use_channel_id_in_address_mapping", "Use Channel Id In Address Mapping", False),
    ("buffer_stock", "Buffer Stock", False),
    ("shipping_provider", "Shipping Provider", False),
    ("cargo_company_mapping", "Cargo Company Mapping", True),
    ("cancellation_reason_mapping", "Cancellation Reason Mapping", False),
    ("automatic_packing", "Automatic Packing", False),
    ("check_hepsijet_format_type", "Check Hepsijet Format Type", False),
    ("billing_address_same_as_shipping", "Billing Address Same As Shipping", False),
    ("store_account_cargo_company", "Mağaza Hesabı Kargo Firması", False),
    ("use_cargo_label", "Use Cargo Label", False),
    ("send_cancellation_reason_id", "Send Cancellation Reason ID", False),
    ("shipping_address_label_mapping", "Shipping Address Label Mapping", False),
    ("product_shipping_info_extra_data", "Product Shipping Info Extra Data", False),
]

# Seed 000, section 9 (and send_invoice_link from the section 2 example, update_warehouse
# from the section 7.2 Monitoring screen and section 11).
HB_FLAGS = [
    "get_orders",
    "get_cancel_orders",
    "get_refund_orders",
    "send_update_orders",
    "send_invoice_link",
    "split_packages",
    "update_warehouse",
    "delete_product",
    "product_update",
    "product_create",
    "get_updated_orders",
    "approve_refund",
    "price",
    "stock",
    "reject_refund",
    "unpacked_orders",
    "send_cancel_order_items",
]

# Seed 002, section 2 table.
FF_FIELDS = [
    ("base_url", "Base Url", True),
    ("access_token", "Access Token", True),
    ("category_ids", "Category Ids", True),
    ("buffer_stock", "Buffer Stock", False),
    ("feature_flags", "Feature Flags", True),
    ("cargo_company_mapping", "Cargo Company Mapping", True),
    ("use_cargo_label", "Use Cargo Label", False),
    ("use_neighborhood", "Use Neighborhood", False),
    ("order_number_format", "Order Number Format", False),
    ("default_reason_id", "Default Reason Id", True),
    ("refund_reason_mapping", "Refund Reason Mapping", False),
    ("refund_start_date", "Refund Start Date", False),
    ("failed_integration", "Failed Integration", True),
    ("send_shipping_info", "Send Shipping Info", False),
    ("cancellation_reason_id", "Cancellation Reason Id", True),
    ("cancel_reason_mapping", "Cancel Reason Mapping", False),
    ("reject_item_reason", "Reject Item Reason", False),
    ("attribute_set_strategy", "Attribute Set Strategy", True),
    ("use_channel_id_in_address_mapping", "Use Channel ID In Address Mapping", False),
    ("waybill_option", "Waybill Option", False),
    ("send_cancel_reason_id", "Send Cancel Reason ID", False),
]

# Seed 002, section 9 and the flags block of the section 2 table.
FF_FLAGS = [
    "get_orders",
    "get_cancel_orders",
    "get_refund_orders",
    "send_update_orders",
    "get_updated_orders",
    "delete_product",
    "product",
    "price",
    "stock",
    "send_refund_order_status",
    "split_packages",
    "send_split_packages",
    "send_cancel_order_items",
]

POLICY_KEYS = {"RETRY_INTERVAL", "EXPIRATION_DATE", "MAX_RETRY_COUNT"}


def load(name: str) -> dict[str, Any]:
    return json.loads((schemas_dir() / "channel" / f"{name}.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", ["hepsiburada", "fashfed"])
def test_schema_is_valid_and_documented(name: str) -> None:
    schema = load(name)
    Draft202012Validator.check_schema(schema)
    for key, sub in schema["properties"].items():
        assert sub.get("title"), key
        assert sub.get("description"), key
    # a new channel's defaults are incomplete (credentials to fill in) but never invalid
    assert cs.validate(schema, cs.defaults(schema), partial=True) == []


@pytest.mark.parametrize(("name", "fields"), [("hepsiburada", HB_FIELDS), ("fashfed", FF_FIELDS)])
def test_form_has_every_seed_field(name: str, fields: list[tuple[str, str, bool]]) -> None:
    rows = {key: (label, required) for key, label, required, _ in cs.form_rows(load(name))}
    for key, label, required in fields:
        assert rows.get(key) == (label, required), key
    extra = set(rows) - {k for k, _, _ in fields}
    assert extra == {"catalog_code", "schedules", "reconciliation", "extra"}


def test_hepsiburada_defaults_follow_the_seed() -> None:
    schema = load("hepsiburada")
    d = cs.defaults(schema)
    assert d["base_url"] == "https://mpop.hepsiburada.com"
    assert d["oms_url"] == "https://oms-external.hepsiburada.com"
    assert d["listing_url"] == "https://listing-external.hepsiburada.com"
    assert d["orders_refundable_days"] == 15
    assert d["attribute_set_strategy"] == "CategoryNode"
    # Every seed flag off (seed: "by default, all flags are set to false"); pazar's own flag
    # for the listings snapshot is on, so the dashboard needs no setting (docs/operations.md)
    assert d["feature_flags"] == {**dict.fromkeys(HB_FLAGS, False), "listings": True}
    assert d["reconciliation"] == {"auto_correct": True, "max_corrections": 1000}
    assert d["category_ids"] == [] and d["cargo_company_mapping"] == {}
    assert d["use_neighborhood"] is False and d["buffer_stock"] is None
    assert "catalog_code" not in d  # absent: the channel sells the catalog named like its slug
    fi = d["failed_integration"]
    assert set(fi) == {
        "order",
        "DEFAULT",
        "product",
        "productprice",
        "productstock",
        "sent_to_remote",
    }
    for content_type in ("order", "DEFAULT", "product", "productprice", "productstock"):
        assert set(fi[content_type]) == POLICY_KEYS
        assert fi[content_type]["RETRY_INTERVAL"] == 28800
        assert fi[content_type]["EXPIRATION_DATE"] == 57601
    assert fi["sent_to_remote"] == {"EXPIRATION_HOUR": 1}
    assert cs.form_rows(schema)[4][0] == "password" and schema["properties"]["password"]["x-secret"]


def test_fashfed_defaults_follow_the_seed() -> None:
    d = cs.defaults(load("fashfed"))
    assert d["access_token"] == "default"
    # pazar's own flag besides the seed's: the listings snapshot (docs/operations.md)
    assert d["feature_flags"] == {**dict.fromkeys(FF_FLAGS, False), "listings": True}
    assert d["cargo_company_mapping"] == {"default": ""}
    assert d["waybill_option"] == {"enabled": False, "default": ""}
    assert d["failed_integration"]["DEFAULT"]["MAX_RETRY_COUNT"] == 2
    assert d["failed_integration"]["order"]["MAX_RETRY_COUNT"] == 3
    assert d["failed_integration"]["sent_to_remote"] == {"EXPIRATION_HOUR": 6}
    assert load("fashfed")["properties"]["access_token"]["x-secret"] is True


def test_failed_integration_rules() -> None:
    schema = load("hepsiburada")
    config = cs.defaults(schema)
    cs.assign(
        config,
        "failed_integration.DEFAULT.MAX_RETRY_COUNT",
        cs.coerce(schema, "failed_integration.DEFAULT.MAX_RETRY_COUNT", "0"),
    )
    cs.assign(
        config,
        "failed_integration.orderitem",
        {"RETRY_INTERVAL": 60, "EXPIRATION_DATE": None, "MAX_RETRY_COUNT": 2},
    )
    cs.assign(config, "failed_integration.sent_to_remote.EXPIRATION_HOUR", 0)
    problems = cs.validate(schema, config, partial=True)
    assert problems == [
        "failed_integration.DEFAULT.MAX_RETRY_COUNT: 0 is less than the minimum of 1",
        "failed_integration.sent_to_remote.EXPIRATION_HOUR: 0 is less than or equal to the minimum of 0",
    ]


def test_hepsiburada_complete_config_is_valid() -> None:
    schema = load("hepsiburada")
    config = cs.deep_merge(
        cs.defaults(schema),
        {
            "username": "m-1",
            "password": "env:PAZAR_SECRET_HB_PASSWORD",
            "merchant_id": "m-1",
            "user_agent": "acme_dev",
            "category_ids": [368234234, "234324322"],
            "default_reason_id": 5,
            "cancellation_reason_id": 4,
            "cargo_company_mapping": {"hepsijet": 3, "default": 1},
            "refund_start_date": "2024-12-01T10:00:00Z",
            "shipping_provider": {
                "aras": {
                    "tracking_url": "https://k.example/?code={tracking_number}",
                    "tracking_url_by_tracking_number": "",
                },
                "loomis": {
                    "tracking_url": {"tur": "https://x.example?tracking_number={tracking_number}"}
                },
            },
            "feature_flags": {"stock": True, "price": True},
            "catalog_code": "hb-catalog",
            "schedules": {"stock": "every 30s"},
        },
    )
    assert cs.validate(schema, config) == []
    config["refund_start_date"] = "01.12.2024"
    config["attribute_set_strategy"] = "Other"
    config["listing_url"] = "listing-external.hepsiburada.com"
    assert cs.validate(schema, config) == [
        "attribute_set_strategy: 'Other' is not one of ['CategoryNode']",
        "listing_url: 'listing-external.hepsiburada.com' is not an http(s) URL",
        "refund_start_date: '01.12.2024' is not a date-time like 2024-12-01T10:00:00Z",
    ]


@pytest.fixture
def system(monkeypatch: pytest.MonkeyPatch) -> Any:
    return load_plugins()


def test_builtin_plugins_register_their_marketplaces(system: Any) -> None:
    hb = system.registry.marketplace("hepsiburada")
    assert hb.title == "Hepsiburada" and hb.config_schema == "channel/hepsiburada.json"
    assert hb.client_factory is not None and hb.sandbox_app is not None and hb.flows_dir is None
    ff = system.registry.marketplace("fashfed")
    assert ff.config_schema == "channel/fashfed.json"
    assert ff.client_factory is not None and ff.sandbox_app is not None and ff.flows_dir is None


@pytest.mark.parametrize(
    ("plugin", "flows"),
    [
        ("hepsiburada", ["category_node", "category_attributes"]),
        ("fashfed", ["category_node", "category_attributes", "default_attributes"]),
    ],
)
def test_category_ids_change_asks_for_category_flows(
    db: Database, system: Any, clock: FixedClock, plugin: str, flows: list[str]
) -> None:
    with db.session() as s:
        svc = ChannelService(s, system.registry, clock=clock, hook=system.hook)
        svc.add(plugin, "ch", None)
        assert svc.set("ch", ["buffer_stock=2"]).requested_flows == []
        assert svc.set("ch", ["category_ids=111,222"]).requested_flows == flows
        assert svc.set("ch", ["category_ids=111,222,333"]).requested_flows == flows
        # emptying the list has nothing to fetch
        assert svc.set("ch", ["category_ids=[]"]).requested_flows == []
        assert [c.requested_flows for c in svc.changes("ch")] == [[], flows, flows, []]


def test_hepsiburada_client_factory_resolves_env_secrets(
    system: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import base64

    from pazar.channels import resolved_config
    from pazar.errors import ConfigError
    from pazar.models.channels import Channel

    schema = load("hepsiburada")
    config = cs.deep_merge(
        cs.defaults(schema),
        {
            "username": "m-1",
            "merchant_id": "m-1",
            "user_agent": "acme_dev",
            "password": "env:PAZAR_SECRET_HB_TEST_PW",
        },
    )
    channel = Channel(slug="hb", name="HB", plugin="hepsiburada", status="active", config=config)
    factory = system.registry.marketplace("hepsiburada").client_factory
    monkeypatch.delenv("PAZAR_SECRET_HB_TEST_PW", raising=False)
    with pytest.raises(ConfigError) as exc:
        resolved_config(channel, system.registry)  # what the engine hands the factory
    assert "password" in exc.value.message and "PAZAR_SECRET_HB_TEST_PW" in exc.value.message
    monkeypatch.setenv("PAZAR_SECRET_HB_TEST_PW", "pw-from-env")
    client = factory(channel, resolved_config(channel, system.registry))
    try:
        assert client.user_agent == "acme_dev"
        expected = "Basic " + base64.b64encode(b"m-1:pw-from-env").decode()
        assert client._auth._auth_header == expected
    finally:
        client.close()
    # the stored config still holds the reference, not the value
    assert channel.config["password"] == "env:PAZAR_SECRET_HB_TEST_PW"
    app = system.registry.marketplace("hepsiburada").sandbox_app()
    assert callable(app)


def test_cli_form_and_add_for_hepsiburada(cli: Any) -> None:
    result = cli("channel", "form", "hepsiburada", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["key"] for r in rows][: len(HB_FIELDS)] == [k for k, _, _ in HB_FIELDS]
    assert {r["data_type"] for r in rows} == {"list", "text", "integer", "bool", "json"}
    assert rows[4] == {
        "key": "password",
        "label": "Password",
        "required": True,
        "data_type": "text",
    }

    assert cli("channel", "add", "hepsiburada", "--slug", "hb").exit_code == 0
    shown = json.loads(cli("channel", "show", "hb", "--json").output)
    assert shown["status"] == "inactive" and shown["name"] == "Hepsiburada"
    config = shown["config"]
    assert config["orders_refundable_days"] == 15
    assert config["feature_flags"] == {**dict.fromkeys(HB_FLAGS, False), "listings": True}
    assert config["attribute_set_strategy"] == "CategoryNode"
    assert config["failed_integration"]["DEFAULT"] == {
        "RETRY_INTERVAL": 28800,
        "EXPIRATION_DATE": 57601,
        "MAX_RETRY_COUNT": 3,
    }
    result = cli("channel", "set", "hb", "password=hunter2-secret", "category_ids=368234234")
    assert result.exit_code == 0
    assert "requested flows: category_node, category_attributes" in result.output
    shown = json.loads(cli("channel", "show", "hb", "--json").output)
    assert shown["config"]["password"] == "********"
    assert "hunter2-secret" not in cli("channel", "show", "hb").output
