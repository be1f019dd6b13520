"""Templates are checked where they are written: channel configs when saved, flow
and mapping files when loaded — one located message, exit 2, nothing changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from pazar.config_schema import defaults, load_schema
from pazar.template_checks import check_config_templates
from tests.dbdigest import digest
from tests.engine.test_mapping import MAPPING, _apply, seed_store

HB = load_schema("channel/hepsiburada.json")


def _hb(cli) -> None:  # noqa: ANN001
    assert cli("channel", "add", "hepsiburada", "--slug", "hb").exit_code == 0


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        (
            "order_number_format=HB-{orderNumber}-{idd}",
            "order_number_format: unknown variable 'idd'; did you mean 'id'?",
        ),
        (
            "order_number_format={{ orderNumber | uper }}",
            "order_number_format: unknown filter 'uper'; did you mean 'upper'?",
        ),
        (
            "order_number_format={{ orderNumber.__class__ }}",
            "order_number_format: template may not access '__class__'",
        ),
        (
            "order_number_format={{ 'x' * 10 ** 9 }}",
            "order_number_format: exceeds a bound: would build a value of 1000000000",
        ),
        (
            "order_number_format={% for i in range(10**6) %}{% endfor %}",
            "order_number_format: exceeds a bound: range of 1000000 items",
        ),
        (
            "order_number_format={{ '{0.__class__}'.format(orderNumber) }}",
            "order_number_format: not allowed: access to attribute '__class__' of 'str' object",
        ),
        (
            "order_number_format=HB-{orderNumber.upper}",
            "order_number_format: not allowed: a template gives text, numbers, lists or "
            "mappings, not a function or method",
        ),
        (
            'shipping_provider={"aras": {"tracking_url": "https://t/{tracking_numbr}"}}',
            "shipping_provider.aras.tracking_url: unknown variable 'tracking_numbr'; "
            "did you mean 'tracking_number'?",
        ),
        (
            'shipping_provider={"loomis": {"tracking_url": {"tur": "{{ x | centre(9) }}"}}}',
            "shipping_provider.loomis.tracking_url.tur: unknown filter 'centre'; "
            "did you mean 'center'?",
        ),
        ('category_ids=["abc"]', "category_ids[0]: 'abc' is not a numeric category id"),
        ("category_ids=abc", "category_ids[0]: 'abc' is not a numeric category id"),
    ],
)
def test_channel_set_refuses_bad_config_templates_and_saves_nothing(
    cli, db_url: str, assignment: str, message: str
) -> None:  # noqa: ANN001
    _hb(cli)
    before = digest(db_url)
    result = cli("channel", "set", "hb", assignment)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert digest(db_url) == before  # no config change, no queued category flows


def test_good_config_templates_save(cli) -> None:  # noqa: ANN001
    _hb(cli)
    result = cli(
        "channel",
        "set",
        "hb",
        "order_number_format=HB-{orderNumber}-{{ id }}",
        'shipping_provider={"ptt": {"tracking_url": "https://p/?b=${barkod}"}, '
        '"aras": {"tracking_url": "https://a/{tracking_number}"}}',
        "category_ids=60001001,2147",
    )
    assert result.exit_code == 0, result.output


def test_channel_apply_and_validate_give_the_same_message(cli, db_url: str) -> None:  # noqa: ANN001
    _hb(cli)
    before = digest(db_url)
    doc = "channel: hb\nconfig:\n  order_number_format: 'HB-{{ orderNumber | uper }}'\n"
    result = cli("channel", "apply", "-", input=doc)
    assert result.exit_code == 2
    assert "order_number_format: unknown filter 'uper'; did you mean 'upper'?" in result.stderr
    assert digest(db_url) == before
    # A config stored before these checks existed is reported by validate.
    from pazar.db import Database
    from pazar.models.channels import Channel

    db = Database(db_url)
    with db.session() as session:
        channel = session.query(Channel).one()
        channel.config = {**channel.config, "order_number_format": "HB-{{ orderNumber|uper }}"}
    db.dispose()
    result = cli("channel", "validate", "hb")
    assert result.exit_code == 2
    assert "order_number_format: unknown filter 'uper'; did you mean 'upper'?" in result.output


def test_check_config_templates_is_quiet_for_the_defaults() -> None:
    assert check_config_templates(HB, defaults(HB)) == []


FLOW = """\
flow: typo
title: Typo
plugin: hepsiburada
feature_flag: stock
content_type: {content_type}
source: {{type: commerce.changed_stocks}}
steps:
  - type: core.map
    fields:
      merchantSku: "{sku}"
sink: {{type: hepsiburada.stock_uploads}}
"""


@pytest.mark.parametrize(
    ("sku", "content_type", "message"),
    [
        (
            "{{ recrod.sku }}",
            "productstock",
            "typo.yaml:10: /steps/0/fields/merchantSku: unknown variable 'recrod'; "
            "did you mean 'record'?",
        ),
        (
            "{{ record.sku | uper }}",
            "productstock",
            "typo.yaml:10: /steps/0/fields/merchantSku: unknown filter 'uper'; "
            "did you mean 'upper'?",
        ),
        (
            "{{ record.sku is oddd }}",
            "productstock",
            "typo.yaml:10: /steps/0/fields/merchantSku: unknown test 'oddd'; did you mean 'odd'?",
        ),
        (
            "{{ config.buffer_stok }}",
            "productstock",
            "config has no key 'buffer_stok'; did you mean 'buffer_stock'?",
        ),
        (
            "{{ record.sku }}",
            "productstok",
            "typo.yaml:5: /content_type: unknown content type 'productstok'; "
            "did you mean 'productstock'?",
        ),
    ],
)
def test_flows_validate_names_template_mistakes_without_a_traceback(
    cli, tmp_path: Path, sku: str, content_type: str, message: str
) -> None:  # noqa: ANN001
    flows = tmp_path / "flows" / "hepsiburada"
    flows.mkdir(parents=True)
    (flows / "typo.yaml").write_text(
        FLOW.format(sku=sku, content_type=content_type), encoding="utf-8"
    )
    result = cli("flows", "validate", env={"PAZAR_FLOWS_PATH": str(tmp_path / "flows")})
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_mapping_apply_names_an_unknown_filter_or_variable(cli, db, tmp_path: Path) -> None:  # noqa: ANN001
    seed_store(db)
    bad = MAPPING.replace("{{ product.name }}", "{{ product.name | titel }}").replace(
        '"{{ product.attributes.size }}"\n  - category: 102',
        '"{{ prodcut.attributes.size }}"\n  - category: 102',
    )
    result = _apply(cli, tmp_path, bad)
    assert result.exit_code == 2
    assert (
        "mapping.yaml:5: /defaults/UrunAdi: unknown filter 'titel'; did you mean 'title'?"
        in result.output
    )
    assert (
        "/categories/0/attributes/Beden: unknown variable 'prodcut'; did you mean 'product'?"
        in (result.output)
    )
