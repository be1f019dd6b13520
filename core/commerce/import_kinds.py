"""The kinds ``pazar catalog import`` reads: columns, identity, and how a chunk is written.

Each kind writes a chunk of parsed rows with set-based upserts inside the
caller's transaction and says how many rows it inserted or changed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from pazar.commerce import import_staging as staging
from pazar.commerce.import_values import (
    Column,
    boolean,
    clean_text,
    currency,
    decimal,
    json_list,
    json_object,
    non_negative_integer,
    opt_decimal,
    opt_text,
    product_type,
    reason_kind,
    req_text,
    stock_extra,
    tax_rate,
)
from pazar.commerce.import_writer import dedupe, resolve_skus, upsert_changed
from pazar.errors import ValidationError
from pazar.models.channels import Channel
from pazar.models.commerce import (
    AddressMapping,
    CancellationReason,
    CargoCompany,
    Catalog,
    CatalogItem,
    City,
    District,
    Price,
    Product,
    Stock,
    Township,
)
from pazar.sqlbulk import dialect_insert


class Importer:
    """One KIND: its columns, what identifies a row, and how a chunk is written.

    ``key`` names the columns that identify one object: a file that names the
    same object twice is refused (naming both lines) instead of last-wins.
    ``write`` returns how many rows it inserted or changed.
    """

    columns: Sequence[Column] = ()
    key: tuple[str, ...] = ()
    stage: staging.Stage | None = None
    """On PostgreSQL, kinds with a stage have each row made into a COPY line as it is read
    and their chunks written by :meth:`pazar.commerce.import_staging.Stage.write`."""

    def write(
        self, session: Session, chunk: list[tuple[int, dict[str, Any]]], where: str, now: Any
    ) -> int:
        raise NotImplementedError


class ReferenceImporter(Importer):
    """A kind of reference data (cargo companies, cancellation reasons): unversioned rows
    identified by ``key``, missing optional columns filled from ``defaults``, ``fields``
    updated in place.  The kinds differ only in these attributes, so they share ``write``."""

    table: Any
    fields: tuple[str, ...] = ()
    defaults: Mapping[str, Any] = {}

    def write(
        self, session: Session, chunk: list[tuple[int, dict[str, Any]]], where: str, now: Any
    ) -> int:
        rows = dedupe([{**self.defaults, **row} for _, row in chunk], list(self.key))
        return upsert_changed(
            session, self.table, rows, list(self.key), self.fields, versioned=False
        )


class Products(Importer):
    columns = (
        Column("sku", req_text, required=True),
        Column("name", clean_text),
        Column("base_code", opt_text),
        Column("product_type", product_type),
        Column("parent_sku", opt_text),
        Column("categories", json_list),
        Column("images", json_list),
        Column("attributes", json_object),
        Column("active", boolean),
        Column("version", clean_text, ignored=True),
    )
    key = ("sku",)
    fields = ("name", "base_code", "product_type", "categories", "images", "attributes", "active")
    defaults: Mapping[str, Any] = {
        "name": "",
        "base_code": None,
        "product_type": "simple",
        "categories": [],
        "images": [],
        "attributes": {},
        "active": True,
    }

    stage = staging.Stage(
        Product.__table__,
        fields=fields,
        values=lambda row: (
            row.get("name", ""),
            row.get("base_code"),
            row.get("product_type", "simple"),
            row.get("categories", []),
            row.get("images", []),
            row.get("attributes", {}),
            row.get("active", True),
        ),
        keys=["sku"],
        compare=fields,
        by_sku=False,
        extra=["parent_sku"],
        after=staging.link_parents,
    )

    def write(
        self, session: Session, chunk: list[tuple[int, dict[str, Any]]], where: str, now: Any
    ) -> int:
        if staging.uses_staging(session):
            return min(self.stage.write_chunk(session, chunk, where, now), len(chunk))
        rows = dedupe(
            [
                {**self.defaults, **{k: v for k, v in row.items() if k != "parent_sku"}}
                for _, row in chunk
            ],
            ["sku"],
        )
        changed = upsert_changed(session, Product.__table__, rows, ["sku"], self.fields, now=now)
        parents = [(line, row) for line, row in chunk if row.get("parent_sku")]
        if parents:
            ids = resolve_skus(session, parents, where, "parent_sku")
            table = Product.__table__
            changed += session.execute(
                table.update()
                .where(table.c.sku == bindparam("b_sku"))
                .where(table.c.parent_id.is_distinct_from(bindparam("b_parent")))
                .values(parent_id=bindparam("b_parent")),
                [{"b_sku": row["sku"], "b_parent": ids[row["parent_sku"]]} for _, row in parents],
            ).rowcount
        return min(changed, len(chunk))


class Prices(Importer):
    columns = (
        Column("sku", req_text, required=True),
        Column("price", decimal, required=True),
        Column("retail_price", opt_decimal),
        Column("currency", currency),
        Column("tax_rate", tax_rate),
        Column("version", clean_text, ignored=True),
    )
    key = ("sku",)
    fields = ("price", "retail_price", "currency", "tax_rate")
    stage = staging.Stage(
        Price.__table__,
        fields=fields,
        values=lambda row: (
            row["price"],
            row.get("retail_price"),
            row.get("currency") or "TRY",
            row.get("tax_rate"),
        ),
        keys=["product_id"],
        compare=fields,
    )

    def write(
        self, session: Session, chunk: list[tuple[int, dict[str, Any]]], where: str, now: Any
    ) -> int:
        if staging.uses_staging(session):
            return self.stage.write_chunk(session, chunk, where, now)
        fields = self.fields
        ids = resolve_skus(session, chunk, where)
        rows = dedupe(
            [
                {
                    "product_id": ids[row["sku"]],
                    "price": row["price"],
                    "retail_price": row.get("retail_price"),
                    "currency": row.get("currency") or "TRY",
                    "tax_rate": row.get("tax_rate"),
                }
                for _, row in chunk
            ],
            ["product_id"],
        )
        return upsert_changed(
            session,
            Price.__table__,
            rows,
            ["product_id"],
            fields,
            now=now,
        )


class Stocks(Importer):
    columns = (
        Column("sku", req_text, required=True),
        Column("quantity", non_negative_integer, required=True),
        Column("extra", stock_extra),
        Column("version", clean_text, ignored=True),
    )
    key = ("sku",)
    stage = staging.Stage(
        Stock.__table__,
        fields=("quantity", "extra"),
        values=lambda row: (row["quantity"], row.get("extra", {})),
        keys=["product_id"],
        compare=("quantity", "extra"),
    )

    def write(
        self, session: Session, chunk: list[tuple[int, dict[str, Any]]], where: str, now: Any
    ) -> int:
        if staging.uses_staging(session):
            return self.stage.write_chunk(session, chunk, where, now)
        ids = resolve_skus(session, chunk, where)
        rows = dedupe(
            [
                {
                    "product_id": ids[row["sku"]],
                    "quantity": row["quantity"],
                    "extra": row.get("extra", {}),
                }
                for _, row in chunk
            ],
            ["product_id"],
        )
        return upsert_changed(
            session, Stock.__table__, rows, ["product_id"], ("quantity", "extra"), now=now
        )


class CatalogItems(Importer):
    columns = (
        Column("catalog", req_text, required=True),
        Column("sku", req_text, required=True),
        Column("deleted", lambda v: clean_text(v) != "" and boolean(v)),
        Column("version", clean_text, ignored=True),
    )
    key = ("catalog", "sku")

    def write(
        self, session: Session, chunk: list[tuple[int, dict[str, Any]]], where: str, now: Any
    ) -> int:
        staged = staging.uses_staging(session)
        ids = {} if staged else resolve_skus(session, chunk, where)
        catalogs = Catalog.__table__
        codes = sorted({row["catalog"] for _, row in chunk})
        session.execute(
            dialect_insert(session, catalogs).on_conflict_do_nothing(index_elements=["code"]),
            [{"code": code, "name": code} for code in codes],
        )
        catalog_ids = dict(
            session.execute(
                select(catalogs.c.code, catalogs.c.id).where(catalogs.c.code.in_(codes))
            ).all()
        )
        if staged:
            return staging.Stage(
                CatalogItem.__table__,
                fields=("catalog_id", "deleted"),
                values=lambda row: (catalog_ids[row["catalog"]], bool(row.get("deleted", False))),
                keys=["catalog_id", "product_id"],
                compare=("deleted",),
            ).write_chunk(session, chunk, where, now)
        rows = dedupe(
            [
                {
                    "catalog_id": catalog_ids[row["catalog"]],
                    "product_id": ids[row["sku"]],
                    "deleted": bool(row.get("deleted", False)),
                }
                for _, row in chunk
            ],
            ["catalog_id", "product_id"],
        )
        return upsert_changed(
            session,
            CatalogItem.__table__,
            rows,
            ["catalog_id", "product_id"],
            ("deleted",),
            now=now,
        )


class CargoCompanies(ReferenceImporter):
    columns = (
        Column("code", req_text, required=True),
        Column("name", req_text, required=True),
        Column("tracking_url", opt_text),
        Column("id", clean_text, ignored=True),
    )
    key = ("code",)
    table = CargoCompany.__table__
    fields = ("name", "tracking_url")
    defaults: Mapping[str, Any] = {"tracking_url": None}


class CancellationReasons(ReferenceImporter):
    columns = (
        Column("kind", reason_kind, required=True),
        Column("code", req_text, required=True),
        Column("name", req_text, required=True),
        Column("active", boolean),
        Column("id", clean_text, ignored=True),
    )
    key = ("kind", "code")
    table = CancellationReason.__table__
    fields = ("name", "active")
    defaults: Mapping[str, Any] = {"active": True}


class Addresses(Importer):
    """City / township / district rows, with optional marketplace codes per channel."""

    columns = (
        Column("city", req_text, required=True),
        Column("township", req_text, required=True),
        Column("district", opt_text),
        Column("postcode", opt_text),
        Column("channel", opt_text),
        Column("city_code", opt_text),
        Column("township_code", opt_text),
        Column("district_code", opt_text),
    )
    key = (
        "city",
        "township",
        "district",
        "channel",
        "city_code",
        "township_code",
        "district_code",
    )

    def write(
        self, session: Session, chunk: list[tuple[int, dict[str, Any]]], where: str, now: Any
    ) -> int:
        rows = [row for _, row in chunk]
        cities, towns, districts = City.__table__, Township.__table__, District.__table__
        names = sorted({r["city"] for r in rows})
        changed = session.execute(
            dialect_insert(session, cities).on_conflict_do_nothing(index_elements=["name"]),
            [{"name": n} for n in names],
        ).rowcount
        city_id = dict(
            session.execute(
                select(cities.c.name, cities.c.id).where(cities.c.name.in_(names))
            ).all()
        )
        pairs = sorted({(city_id[r["city"]], r["township"]) for r in rows})
        changed += session.execute(
            dialect_insert(session, towns).on_conflict_do_nothing(
                index_elements=["city_id", "name"]
            ),
            [{"city_id": c, "name": t} for c, t in pairs],
        ).rowcount
        town_id = {
            (c, n): i
            for i, c, n in session.execute(
                select(towns.c.id, towns.c.city_id, towns.c.name).where(
                    towns.c.city_id.in_(sorted({c for c, _ in pairs}))
                )
            )
        }
        with_district = [r for r in rows if r.get("district")]
        if with_district:
            changed += upsert_changed(
                session,
                districts,
                dedupe(
                    [
                        {
                            "township_id": town_id[(city_id[r["city"]], r["township"])],
                            "name": r["district"],
                            "postcode": r.get("postcode"),
                        }
                        for r in with_district
                    ],
                    ["township_id", "name"],
                ),
                ["township_id", "name"],
                ("postcode",),
                versioned=False,
            )
        changed += self._mappings(session, chunk, where, city_id, town_id)
        return min(max(changed, 0), len(rows))

    def _mappings(
        self,
        session: Session,
        chunk: list[tuple[int, dict[str, Any]]],
        where: str,
        city_id: Mapping[str, int],
        town_id: Mapping[tuple[int, str], int],
    ) -> int:
        """Store the rows' marketplace codes; returns how many mappings were new or moved."""
        coded = [
            (line, r)
            for line, r in chunk
            if r.get("city_code") or r.get("township_code") or r.get("district_code")
        ]
        if not coded:
            return 0
        slugs = sorted({r["channel"] for _, r in coded if r.get("channel")})
        channel_id = dict(
            session.execute(select(Channel.slug, Channel.id).where(Channel.slug.in_(slugs))).all()
        )
        for line, r in coded:
            if r.get("channel") and r["channel"] not in channel_id:
                raise ValidationError(
                    f"{where}:{line}: column 'channel': no channel {r['channel']!r}"
                )
        districts = District.__table__
        district_id = {
            (t, n): i
            for i, t, n in session.execute(
                select(districts.c.id, districts.c.township_id, districts.c.name).where(
                    districts.c.township_id.in_(sorted(set(town_id.values())))
                )
            )
        }
        mappings = AddressMapping.__table__
        rows: dict[tuple[Any, ...], dict[str, Any]] = {}
        for _, r in coded:
            cid = channel_id.get(r.get("channel") or "")
            city = city_id[r["city"]]
            town = town_id[(city, r["township"])]
            for level, code, local in (
                ("city", r.get("city_code"), city),
                ("township", r.get("township_code"), town),
                (
                    "district",
                    r.get("district_code"),
                    district_id.get((town, r.get("district") or "")),
                ),
            ):
                if code and local is not None:
                    rows[(cid, level, code)] = {
                        "channel_id": cid,
                        "level": level,
                        "remote_code": code,
                        "local_id": local,
                    }
        codes = sorted({key[2] for key in rows})
        existing = {
            (c, level, code): local
            for c, level, code, local in session.execute(
                select(
                    mappings.c.channel_id,
                    mappings.c.level,
                    mappings.c.remote_code,
                    mappings.c.local_id,
                ).where(mappings.c.remote_code.in_(codes))
            )
        }
        moved = []
        for key, row in rows.items():
            if key in existing and existing[key] == row["local_id"]:
                continue  # already mapped to the same place: a re-import changes nothing
            if key in existing:
                session.execute(
                    mappings.delete().where(
                        (mappings.c.level == key[1])
                        & (mappings.c.remote_code == key[2])
                        & (
                            mappings.c.channel_id.is_(None)
                            if key[0] is None
                            else mappings.c.channel_id == key[0]
                        )
                    )
                )
            moved.append(row)
        if moved:
            session.execute(mappings.insert(), moved)
        return len(moved)


IMPORTERS: dict[str, Importer] = {
    "products": Products(),
    "prices": Prices(),
    "stocks": Stocks(),
    "catalog_items": CatalogItems(),
    "cargo_companies": CargoCompanies(),
    "cancellation_reasons": CancellationReasons(),
    "addresses": Addresses(),
}
