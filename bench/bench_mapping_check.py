"""`pazar mapping check` at scale: 100,000 products, 500 categories, 20 attributes each.

Usage: python bench/bench_mapping_check.py [--products 100000] [--categories 500]
                                           [--attributes 20] [--database URL]

Builds a fresh SQLite file (or uses --database): the marketplace store (500 leaf
categories, each with 20 attributes — half of them enums with 20 allowed values,
a quarter mandatory), 100,000 saleable products spread over 500 local categories,
and a mapping with one entry and 20 rules per category (value maps on the enums).
Then it times the check exactly as the CLI runs it (stream, evaluate, tally) and
prints products/s and peak RSS.  Target (issue 4): under 30 s on SQLite.
"""

from __future__ import annotations

import argparse
import csv
import resource
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchkit import database_url  # noqa: E402

from pazar.clock import SystemClock  # noqa: E402
from pazar.commerce.importers import import_file  # noqa: E402
from pazar.db import Database  # noqa: E402
from pazar.mapping.check import check_mapping  # noqa: E402
from pazar.mapping.service import apply_mapping  # noqa: E402
from pazar.mapping.store import (  # noqa: E402
    refresh_paths,
    upsert_attributes,
    upsert_categories,
    upsert_values,
)
from pazar.models.channels import Channel  # noqa: E402
from pazar.templating import TemplateEnv  # noqa: E402

VALUES = [f"Value {n}" for n in range(20)]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def seed_store(db: Database, channel_id: int, categories: int, attributes: int) -> None:
    now = SystemClock().now()
    tree = [{"remote_id": 1, "name": "Root", "leaf": False}]
    tree += [
        {"remote_id": 1000 + c, "parent_remote_id": 1, "name": f"Leaf {c}"}
        for c in range(categories)
    ]
    attrs, values = [], []
    for c in range(categories):
        category = str(1000 + c)
        for a in range(attributes):
            enum = a % 2 == 0
            attrs.append(
                {
                    "category_remote_id": category,
                    "remote_id": f"attr{a}",
                    "name": f"Attribute {a}",
                    "mandatory": a % 4 == 0,
                    "type": "enum" if enum else "string",
                }
            )
            if enum:
                values += [
                    {
                        "category_remote_id": category,
                        "attribute_remote_id": f"attr{a}",
                        "remote_id": f"{a}-{v}",
                        "value": text,
                    }
                    for v, text in enumerate(VALUES)
                ]
    with db.session() as session:
        upsert_categories(session, channel_id, tree, now)
        refresh_paths(session, channel_id)
        upsert_attributes(session, channel_id, attrs, now)
        upsert_values(session, channel_id, values, now)


def write_catalog(
    directory: Path, products: int, categories: int, attributes: int
) -> dict[str, Path]:
    files = {k: directory / f"{k}.csv" for k in ("products", "prices", "stocks", "catalog_items")}
    with (
        files["products"].open("w", newline="") as p,
        files["prices"].open("w", newline="") as pr,
        files["stocks"].open("w", newline="") as st,
        files["catalog_items"].open("w", newline="") as it,
    ):
        wp, wpr, wst, wit = (csv.writer(f) for f in (p, pr, st, it))
        wp.writerow(["sku", "name", "categories", "images", "attributes"])
        wpr.writerow(["sku", "price"])
        wst.writerow(["sku", "quantity"])
        wit.writerow(["catalog", "sku"])
        for n in range(products):
            sku = f"SKU-{n:07d}"
            attrs = ", ".join(
                f'"a{a}": "{"local " + str(n % 20) if a % 2 == 0 else "text " + str(n)}"'
                for a in range(attributes)
            )
            wp.writerow(
                [
                    sku,
                    f"Product {n}",
                    f"Local/{n % categories}",
                    f"https://img/{n}.jpg",
                    "{" + attrs + "}",
                ]
            )
            wpr.writerow([sku, "10.90"])
            wst.writerow([sku, 5])
            wit.writerow(["bench", sku])
    return files


def mapping_text(categories: int, attributes: int) -> str:
    doc = {
        "version": 1,
        "defaults": {"merchantSku": "{{ product.sku }}", "UrunAdi": "{{ product.name }}"},
        "categories": [
            {
                "category": 1000 + c,
                "match": {"local_category": f"Local/{c}"},
                "attributes": {
                    f"Attribute {a}": (
                        {"value": f"{{{{ product.attributes.a{a} }}}}", "values": "enum"}
                        if a % 2 == 0
                        else f"{{{{ product.attributes.a{a} }}}}"
                    )
                    for a in range(attributes)
                },
            }
            for c in range(categories)
        ],
        "value_maps": {"enum": {f"local {v}": f"Value {v}" for v in range(20)}},
    }
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--categories", type=int, default=500)
    parser.add_argument("--attributes", type=int, default=20)
    parser.add_argument(
        "--database",
        help="postgresql://… (a schema of its own, dropped after); default: a temp SQLite file",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, database_url(args.database, tmp) as url:
        db = Database(url)
        db.ensure_ready()
        now = SystemClock().now()
        with db.session() as session:
            channel = Channel(
                slug="bench",
                name="bench",
                plugin="hepsiburada",
                status="active",
                config={"catalog_code": "bench"},
                created_at=now,
                updated_at=now,
            )
            session.add(channel)
            session.flush()
            channel_id = channel.id
        started = time.perf_counter()
        seed_store(db, channel_id, args.categories, args.attributes)
        files = write_catalog(Path(tmp), args.products, args.categories, args.attributes)
        for kind in ("products", "prices", "stocks", "catalog_items"):
            with db.session() as session:
                import_file(session, kind, files[kind])
        templates = TemplateEnv()
        with db.session() as session:
            channel = session.get(Channel, channel_id)
            apply_mapping(
                session,
                channel,
                mapping_text(args.categories, args.attributes),
                "bench-mapping.yaml",
                templates,
                now,
            )
        print(f"set up in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        with db.session() as session:
            channel = session.get(Channel, channel_id)
            report = check_mapping(session, channel, templates, {"config": channel.config})
        seconds = time.perf_counter() - started
        print(
            f"mapping check: {report.checked:,} products, {len(report.failing):,} failing, "
            f"{args.categories} categories x {args.attributes} attributes in {seconds:.1f} s "
            f"= {report.checked / seconds:,.0f} products/s   peak RSS {peak_rss_mb():.1f} MB"
        )
        for kind, count in report.kinds.most_common():
            print(f"  {kind}: {count:,}")


if __name__ == "__main__":
    main()
