"""The seed's order-number format and tracking-URL rules, as a channel operator configures them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pazar.errors import ValidationError
from pazar.filters import (
    FILTERS,
    loomis_tracking_url,
    order_number,
    ptt_tracking_url,
    tracking_url,
)
from pazar.templating import TemplateEnv, TemplateError

# The seed's example Shipping Provider config, plus PTT and Loomis entries.
SHIPPING = {
    "aras": {
        "tracking_url": "https://kargotakip.araskargo.com.tr/mainpage.aspx?code={tracking_number}",
        "tracking_url_by_tracking_number": "",
    },
    "hbexpress": {"tracking_url": "https://www.hepsijet.com/gonderi-takibi/{tracking_number}"},
    "ptt": {"tracking_url": "https://gonderitakip.ptt.gov.tr/Track/summaryResult"},
    "loomis": {"tracking_url": {"tur": "https://xxx.com?tracking_number={tracking_number}"}},
}


def test_seed_order_number_format() -> None:
    assert order_number("HB-{orderNumber}-{id}", orderNumber=123, id=9) == "HB-123-9"


def test_empty_order_number_format_falls_back_to_the_seed_default() -> None:
    assert order_number("", orderNumber=123, id=9) == "123-9"
    assert order_number(None, orderNumber="A7", id="x") == "A7-x"


def test_order_number_format_may_use_jinja() -> None:
    assert order_number("HB-{{ orderNumber | upper }}", orderNumber="ab") == "HB-AB"


def test_order_number_format_naming_a_missing_field_says_which() -> None:
    with pytest.raises(TemplateError, match="'orderNo' is undefined"):
        order_number("HB-{orderNo}", orderNumber=1, id=2)


def test_generic_tracking_url_substitutes_the_number() -> None:
    assert (
        tracking_url("123", "aras", SHIPPING)
        == "https://kargotakip.araskargo.com.tr/mainpage.aspx?code=123"
    )
    assert tracking_url("7", "HBExpress", SHIPPING) == "https://www.hepsijet.com/gonderi-takibi/7"


def test_ptt_tracking_number_becomes_the_seeds_query_string() -> None:
    guid = "5f2c9e1a-0b4d-4c1e-9a77-1d2e3f4a5b6c"
    assert (
        tracking_url(f"ABC123-{guid}", "ptt", SHIPPING)
        == "https://gonderitakip.ptt.gov.tr/Track/summaryResult"
        f"?barkod=ABC123&barkod_guid={guid}"
    )


def test_ptt_url_with_its_own_query_or_placeholders() -> None:
    assert ptt_tracking_url("B1-G1", "https://p.example/t?lang=tr") == (
        "https://p.example/t?lang=tr&barkod=B1&barkod_guid=G1"
    )
    assert ptt_tracking_url("B1-G1", "https://p.example/t?b=${barkod}&g=${barkod_guid}") == (
        "https://p.example/t?b=B1&g=G1"
    )
    assert ptt_tracking_url("B1-G1", "") == "barkod=B1&barkod_guid=G1"


def test_ptt_number_without_a_guid_is_a_clear_error() -> None:
    with pytest.raises(ValidationError, match="'ABC123' is not of the form BARCODE-GUID"):
        tracking_url("ABC123", "ptt", SHIPPING)


def test_loomis_prefix_picks_the_url() -> None:
    assert (
        tracking_url("tur-1234566", "loomis", SHIPPING)
        == "https://xxx.com?tracking_number=tur-1234566"
    )
    assert loomis_tracking_url("TUR-1", {"tur": "u/{prefix}/{number}"}) == "u/TUR/1"


def test_loomis_unknown_prefix_names_the_known_ones() -> None:
    with pytest.raises(ValidationError, match=r"prefix 'abc' \(known prefixes: tur\)"):
        tracking_url("abc-1", "loomis", SHIPPING)


def test_no_tracking_number_or_no_mapping_means_no_url() -> None:
    assert tracking_url(None, "aras", SHIPPING) is None
    assert tracking_url("", "aras", SHIPPING) is None
    assert tracking_url("123", "aras", {}) is None


def test_provider_missing_from_a_configured_mapping_is_an_error() -> None:
    with pytest.raises(ValidationError, match="'yurtici' is not in the shipping_provider mapping"):
        tracking_url("1", "yurtici", SHIPPING)


def test_filters_are_usable_in_flow_templates() -> None:
    env = TemplateEnv({f.name: f.func for f in FILTERS})
    context = {"record": {"no": "tur-9", "cargo": "loomis"}, "config": {"shipping": SHIPPING}}
    expr = env.expression("{{ record.no | tracking_url(record.cargo, config.shipping) }}", "f")
    assert expr.render(context) == "https://xxx.com?tracking_number=tur-9"
    # a filter's own error fails the template with the filter's message, not a type name
    with pytest.raises(TemplateError, match=r"^f: Loomis tracking number 'x-1'"):
        expr.render({**context, "record": {"no": "x-1", "cargo": "loomis"}})


barcodes = st.from_regex(r"[A-Z0-9]{1,12}", fullmatch=True)
guids = st.uuids().map(str)


@given(barcodes, guids)
def test_ptt_split_keeps_the_whole_guid(barcode: str, guid: str) -> None:
    url = ptt_tracking_url(f"{barcode}-{guid}", "https://p.example/t")
    assert url == f"https://p.example/t?barkod={barcode}&barkod_guid={guid}"
