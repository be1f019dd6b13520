"""Catalog mapping as an operator uses it: store the tree, apply, check, export, value maps."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select

from pazar.clock import FixedClock
from pazar.commerce.synthetic import make_channel
from pazar.mapping.store import (
    mark_unseen_attributes,
    refresh_paths,
    upsert_attributes,
    upsert_categories,
    upsert_values,
)
from pazar.models.marketplace import ChannelMapping, MarketplaceAttribute, MarketplaceCategory

T0 = FixedClock().now()

TREE = [
    {"remote_id": 1, "parent_remote_id": None, "name": "Moda", "leaf": False},
    {"remote_id": 10, "parent_remote_id": 1, "name": "Giyim", "leaf": False},
    {"remote_id": 101, "parent_remote_id": 10, "name": "Tişört"},
    {"remote_id": 102, "parent_remote_id": 10, "name": "Elbise"},
]


def _attr(remote_id, name, *, mandatory=False, type_="enum", values=()):
    return {
        "remote_id": remote_id,
        "name": name,
        "mandatory": mandatory,
        "type": type_,
        "values": [{"remote_id": f"{remote_id}-{i}", "value": v} for i, v in enumerate(values)],
    }


ATTRIBUTES = [
    _attr("renk", "Renk", mandatory=True, values=["Siyah", "Lacivert Mavi", "Kırmızı"]),
    _attr("beden", "Beden", mandatory=True, values=["S", "M", "L"]),
    _attr("materyal", "Materyal", values=["Pamuk", "Keten"]),
]


def seed_store(db, slug: str = "shop") -> int:
    with db.session() as session:
        channel = make_channel(session, slug, {"catalog_code": "main"})
        upsert_categories(session, channel.id, TREE, T0)
        refresh_paths(session, channel.id)
        rows, values = [], []
        for category in ("101", "102"):
            for attr in ATTRIBUTES:
                rows.append({**attr, "category_remote_id": category})
                values += [
                    {"category_remote_id": category, "attribute_remote_id": attr["remote_id"], **v}
                    for v in attr["values"]
                ]
        upsert_attributes(session, channel.id, rows, T0)
        upsert_values(session, channel.id, values, T0)
        return channel.id


def seed_catalog(cli, tmp_path: Path, products: list[tuple[str, str, dict]]) -> None:
    """Saleable products: (sku, local category, attributes), priced, stocked, in catalog main."""
    lines = ["sku,name,categories,images,attributes"]
    for sku, category, attrs in products:
        attrs_json = json.dumps(attrs, ensure_ascii=False).replace('"', '""')
        lines.append(f'{sku},Name {sku},"[""{category}""]",https://img/{sku}.jpg,"{attrs_json}"')
    files = {
        "products": "\n".join(lines),
        "prices": "sku,price\n" + "\n".join(f"{p[0]},10" for p in products),
        "stocks": "sku,quantity\n" + "\n".join(f"{p[0]},5" for p in products),
        "catalog_items": "catalog,sku\n" + "\n".join(f"main,{p[0]}" for p in products),
    }
    for kind, text in files.items():
        path = tmp_path / f"{kind}.csv"
        path.write_text(text + "\n", encoding="utf-8")
        result = cli("catalog", "import", kind, str(path))
        assert result.exit_code == 0, result.output


MAPPING = """\
# Tişört and Elbise on the marketplace
version: 1
defaults:
  merchantSku: "{{ product.sku }}"
  UrunAdi: "{{ product.name }}"
categories:
  - category: 101
    title: Tişört
    match: {local_category: "Giyim/Tişört"}
    attributes:
      Renk:
        value: "{{ product.attributes.color }}"
        values: colors
      Beden: "{{ product.attributes.size }}"
  - category: 102
    match:
      - {local_category: "Giyim/Elbise*"}
      - {skus: [TWO]}
    attributes:
      Renk: {value: "{{ product.attributes.color }}", values: colors}
      Beden: "{{ product.attributes.size }}"
      materyal: {default: Pamuk}
value_maps:
  colors:
    Lacivert: Lacivert Mavi
    Kirmizi: Kırmızı
"""


def _apply(cli, tmp_path: Path, text: str = MAPPING, slug: str = "shop"):
    path = tmp_path / "mapping.yaml"
    path.write_text(text, encoding="utf-8")
    return cli("mapping", "apply", "--channel", slug, str(path))


def test_check_reports_exactly_the_three_problems_with_their_skus(cli, db, tmp_path):
    seed_store(db)
    seed_catalog(
        cli,
        tmp_path,
        [
            ("OK-1", "Giyim/Tişört", {"color": "Lacivert", "size": "M"}),
            ("OK-2", "Giyim/Elbise", {"color": "Siyah", "size": "S"}),
            ("NOSIZE", "Giyim/Tişört", {"color": "Siyah"}),
            ("BADCOLOR", "Giyim/Tişört", {"color": "Lacivert Mavis", "size": "L"}),
            ("TWO", "Giyim/Tişört", {"color": "Siyah", "size": "L"}),
        ],
    )
    applied = _apply(cli, tmp_path)
    assert applied.exit_code == 0, applied.output
    assert "2 categories, 2 default attributes, 1 value maps" in applied.output

    result = cli("mapping", "check", "--channel", "shop", "--json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    assert (report["checked"], report["ok"], report["failing"]) == (5, 2, 3)
    findings = sorted((f["sku"], f["message"]) for f in report["findings"])
    assert findings == [
        (
            "BADCOLOR",
            "value 'Lacivert Mavis' is not allowed for Renk; did you mean 'Lacivert Mavi'?",
        ),
        ("NOSIZE", "Beden attribute is required"),
        (
            "TWO",
            "the product matches 2 category mappings: 101 (/categories/0), 102 (/categories/1); "
            "a product must go to exactly one category",
        ),
    ]

    table = cli("mapping", "check", "--channel", "shop")
    assert table.exit_code == 1
    assert "NOSIZE [101]: Beden attribute is required" in table.output
    assert "5 products checked: 2 ok, 3 failing" in table.output

    only_ok = cli("mapping", "check", "--channel", "shop", "--sku", "OK-1", "--sku", "OK-2")
    assert only_ok.exit_code == 0, only_ok.output
    assert "2 products checked: 2 ok, 0 failing" in only_ok.output


def test_fixed_mapping_passes_and_payload_uses_marketplace_values(cli, db, tmp_path):
    channel_id = seed_store(db)
    seed_catalog(cli, tmp_path, [("OK-1", "Giyim/Tişört", {"color": "Kirmizi", "size": "m"})])
    assert _apply(cli, tmp_path).exit_code == 0
    assert cli("mapping", "check", "--channel", "shop").exit_code == 0

    from pazar.mapping.check import iter_products
    from pazar.mapping.engine import Mapper
    from pazar.models.channels import Channel
    from pazar.templating import TemplateEnv

    with db.session() as session:
        channel = session.get(Channel, channel_id)
        doc = session.scalar(select(ChannelMapping.document))
        mapper = Mapper.load(session, channel_id, doc, TemplateEnv())
        product = next(iter_products(session, channel))
    evaluation = mapper.evaluate(product, {"config": {}})
    assert evaluation.payload == {
        "category": "101",
        "attributes": {
            "merchantSku": "OK-1",
            "UrunAdi": "Name OK-1",
            "renk": "Kırmızı",  # mapped through the value map, sent in the marketplace's spelling
            "beden": "M",  # matched case-insensitively, sent as the marketplace writes it
        },
    }


def test_bad_mapping_is_refused_with_lines_and_nothing_stored(cli, db, tmp_path):
    seed_store(db)
    bad = (
        MAPPING.replace("values: colors\n      Beden", "values: colours\n      Beden")
        .replace(
            '"{{ product.attributes.size }}"\n  - category: 102',
            '"{{ product.size"\n  - category: 102',
        )
        .replace('match: {local_category: "Giyim/Tişört"}', "match: {local_categry: x}")
    )
    result = _apply(cli, tmp_path, bad)
    assert result.exit_code == 2
    assert (
        "mapping.yaml:9: /categories/0/match/local_categry: unknown key 'local_categry' here; "
        "did you mean 'local_category'?" in result.output
    )
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(ChannelMapping)) == 0

    semantic = MAPPING.replace("values: colors\n      Beden", "values: colours\n      Beden")
    semantic = semantic.replace(
        '"{{ product.attributes.size }}"\n  - category: 102', '"{{ product.size"\n  - category: 102'
    )
    result = _apply(cli, tmp_path, semantic)
    assert result.exit_code == 2
    assert (
        "mapping.yaml:13: /categories/0/attributes/Renk/values: no value map named 'colours' "
        "in value_maps; did you mean 'colors'?" in result.output
    )
    assert "mapping.yaml:14: /categories/0/attributes/Beden: template syntax error" in result.output


def test_apply_warns_about_categories_and_attributes_the_store_does_not_know(cli, db, tmp_path):
    seed_store(db)
    text = MAPPING.replace("category: 102", "category: 10").replace("Beden: ", "Bedn: ", 1)
    result = _apply(cli, tmp_path, text)
    assert result.exit_code == 0
    assert (
        "warning: /categories/0/attributes/Bedn: category 101 has no attribute 'Bedn'; did you mean 'Beden'?"
        in result.output
    )
    assert (
        "warning: /categories/1: category 10 (Moda > Giyim) is not a leaf category" in result.output
    )


def test_export_round_trips_and_show_summarises(cli, db, tmp_path):
    seed_store(db)
    assert _apply(cli, tmp_path).exit_code == 0
    exported = cli("mapping", "export", "--channel", "shop")
    assert exported.output == MAPPING
    again = _apply(cli, tmp_path, exported.output)
    assert "(revision 2)" in again.output
    shown = cli("mapping", "show", "--channel", "shop")
    assert "Moda > Giyim > Tişört" in shown.output and "category Giyim/Elbise*" in shown.output
    missing = cli("mapping", "show", "--channel", "nope")
    assert missing.exit_code == 2


def test_value_maps_round_trip_through_csv(cli, db, tmp_path):
    seed_store(db)
    assert _apply(cli, tmp_path).exit_code == 0
    csv_text = cli("mapping", "values", "export", "--channel", "shop").output
    assert csv_text.splitlines() == [
        "map,local_value,marketplace_value",
        "colors,Lacivert,Lacivert Mavi",
        "colors,Kirmizi,Kırmızı",
    ]
    edited = tmp_path / "values.csv"
    edited.write_text(
        csv_text + "colors,Navy,Lacivert Mavi\n101/Beden,Medium,M\n", encoding="utf-8"
    )
    result = cli("mapping", "values", "import", "--channel", "shop", str(edited))
    assert result.exit_code == 0, result.output
    assert "colors: 3 values" in result.output and "101/Beden: 1 values" in result.output
    after = cli("mapping", "values", "export", "--channel", "shop").output
    assert "colors,Navy,Lacivert Mavi" in after and "101/Beden,Medium,M" in after
    exported = cli("mapping", "export", "--channel", "shop").output
    assert "comments of the original file are not kept" in exported

    broken = tmp_path / "broken.csv"
    broken.write_text(
        "map,local_value,marketplace_value\n999/Renk,a,b\n101/Nope,a,b\ncolors,x\n",
        encoding="utf-8",
    )
    result = cli("mapping", "values", "import", "--channel", "shop", str(broken))
    assert result.exit_code == 2
    assert "broken.csv:2: '999/Renk': no category 999 in the mapping" in result.output
    assert "broken.csv:3: '101/Nope': the mapping has no rule for 'Nope'" in result.output
    assert "broken.csv:4: expected 3 columns, got 2" in result.output
    assert cli("mapping", "values", "export", "--channel", "shop").output == after


def test_a_large_tree_upserts_idempotently(db):
    tree = [{"remote_id": 1, "parent_remote_id": None, "name": "Root", "leaf": False}]
    tree += [
        {"remote_id": 100 + n, "parent_remote_id": 1, "name": f"Group {n}", "leaf": False}
        for n in range(300)
    ]
    tree += [
        {"remote_id": 10_000 + n, "parent_remote_id": 100 + n % 300, "name": f"Leaf {n}"}
        for n in range(29_699)
    ]

    def snapshot():
        with db.session() as session:
            c = MarketplaceCategory.__table__
            return session.execute(
                select(
                    c.c.id,
                    c.c.remote_id,
                    c.c.parent_remote_id,
                    c.c.name,
                    c.c.path,
                    c.c.leaf,
                    c.c.available,
                    c.c.status,
                    c.c.updated_at,
                ).order_by(c.c.id)
            ).all()

    with db.session() as session:
        channel_id = make_channel(session).id
    for _ in range(2):
        with db.session() as session:
            upsert_categories(session, channel_id, tree, T0)
            refresh_paths(session, channel_id)
        if _ == 0:
            first = snapshot()
    second = snapshot()
    assert len(second) == 30_000
    assert second == first
    paths = {row.remote_id: row.path for row in second}
    assert paths["10301"] == "Root > Group 1 > Leaf 301"


def test_compare_marks_changed_and_removed_attributes(db):
    with db.session() as session:
        channel_id = make_channel(session).id
        upsert_attributes(
            session, channel_id, [{**a, "category_remote_id": "101"} for a in ATTRIBUTES], T0
        )
    later = T0.replace(hour=T0.hour + 1)
    with db.session() as session:
        changed = [
            {**ATTRIBUTES[0], "category_remote_id": "101"},
            {**ATTRIBUTES[1], "category_remote_id": "101", "mandatory": False},
        ]
        changes = upsert_attributes(session, channel_id, changed, later)
        gone = mark_unseen_attributes(session, channel_id, ["101"], later)
    assert changes.changed == [("101", "Beden", "mandatory: True → False")]
    assert gone == [("101", "Materyal")]
    with db.session() as session:
        status = dict(
            session.execute(select(MarketplaceAttribute.name, MarketplaceAttribute.status)).all()
        )
    assert status == {"Renk": "active", "Beden": "changed", "Materyal": "removed"}
