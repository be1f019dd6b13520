"""Imports that span many chunks: the same errors, versions and change marks on every
database, whichever way the chunks are written (PostgreSQL stages them with COPY and
merges one chunk while the next is read)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from pazar.commerce.importers import import_file
from pazar.db import Database
from pazar.errors import ValidationError
from pazar.models.commerce import CatalogItem, Price, Product, Stock


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def _import(db: Database, kind: str, path: Path) -> int:
    with db.session() as session:
        return import_file(session, kind, path, chunk_size=2).changed


def _state(db: Database) -> list[tuple]:
    with db.session() as s:
        rows = [tuple(r) for r in s.execute(select(Product.sku, Product.version, Product.name))]
        rows += [
            tuple(r) for r in s.execute(select(Stock.product_id, Stock.quantity, Stock.version))
        ]
        rows += [tuple(r) for r in s.execute(select(Price.product_id, Price.price, Price.version))]
    return sorted(rows, key=repr)


def _products(tmp_path: Path, n: int) -> Path:
    return _write(tmp_path / "products.csv", ["sku,name"] + [f"P-{i},N{i}" for i in range(n)])


def test_an_unknown_sku_wins_over_a_bad_value_in_a_later_chunk(
    db: Database, tmp_path: Path
) -> None:
    _import(db, "products", _products(tmp_path, 6))
    before = _state(db)
    # Line 3 (first chunk) names no product; line 4, read while the first chunk may still
    # be being written, is not a number: the earlier line is the one reported.
    bad = _write(tmp_path / "stocks.csv", ["sku,quantity", "P-0,1", "P-9,1", "P-1,x", "P-2,1"])
    with pytest.raises(ValidationError, match=r"stocks.csv:3: column 'sku': unknown SKU 'P-9'"):
        _import(db, "stocks", bad)
    assert _state(db) == before


def test_a_bad_value_after_good_chunks_changes_nothing(db: Database, tmp_path: Path) -> None:
    _import(db, "products", _products(tmp_path, 6))
    before = _state(db)
    rows = ["sku,price"] + [f"P-{i},{i + 1}" for i in range(5)] + ["P-5,-1"]
    with pytest.raises(ValidationError, match=r"prices.csv:7:2: column 'price'"):
        _import(db, "prices", _write(tmp_path / "prices.csv", rows))
    assert _state(db) == before


def test_versions_follow_the_file_and_only_changed_rows_move(db: Database, tmp_path: Path) -> None:
    assert _import(db, "products", _products(tmp_path, 5)) == 5
    stocks = ["sku,quantity"] + [f"P-{i},{10 + i}" for i in (4, 0, 3, 1, 2)]
    assert _import(db, "stocks", _write(tmp_path / "stocks.csv", stocks)) == 5
    with db.session() as s:
        order = [
            sku
            for (sku,) in s.execute(
                select(Product.sku)
                .join(Stock, Stock.product_id == Product.id)
                .order_by(Stock.version)
            )
        ]
    assert order == ["P-4", "P-0", "P-3", "P-1", "P-2"]
    before = _state(db)
    assert _import(db, "stocks", _write(tmp_path / "stocks.csv", stocks)) == 0
    assert _import(db, "products", _products(tmp_path, 5)) == 0
    assert _state(db) == before
    with db.session() as s:
        latest = max(s.execute(select(Stock.version)).scalars())
    stocks[3] = "P-3,99"
    assert _import(db, "stocks", _write(tmp_path / "stocks.csv", stocks)) == 1
    moved = [row for row in _state(db) if row not in before]
    assert len(moved) == 1 and moved[0][1] == 99 and moved[0][2] > latest


def test_parents_and_catalog_items_across_chunks(db: Database, tmp_path: Path) -> None:
    rows = ["sku,name,parent_sku", "M,Model,", "M-S,Small,M", "M-L,Large,M", "X,Other,"]
    assert _import(db, "products", _write(tmp_path / "products.csv", rows)) == 4
    items = _write(tmp_path / "items.csv", ["catalog,sku", "hb,M-S", "hb,M-L", "ff,M-S"])
    assert _import(db, "catalog_items", items) == 3
    assert _import(db, "catalog_items", items) == 0
    with db.session() as s:
        parent = dict(s.execute(select(Product.sku, Product.parent_id)).all())
        ids = dict(s.execute(select(Product.sku, Product.id)).all())
        listed = s.execute(select(CatalogItem.product_id)).scalars().all()
    assert parent == {"M": None, "M-S": ids["M"], "M-L": ids["M"], "X": None}
    assert sorted(listed) == sorted([ids["M-S"], ids["M-L"], ids["M-S"]])
    unknown = _write(tmp_path / "items.csv", ["catalog,sku", "hb,X", "hb,M", "hb,NOPE"])
    with pytest.raises(ValidationError, match=r"items.csv:4: column 'sku': unknown SKU 'NOPE'"):
        _import(db, "catalog_items", unknown)


def test_values_that_need_escaping_arrive_as_written(db: Database, tmp_path: Path) -> None:
    """Tabs, line breaks, backslashes, quotes and non-ASCII text in names and JSON values are
    stored as the file holds them, and importing the file again changes nothing."""
    path = tmp_path / "products.csv"
    path.write_text(
        "sku,name,categories,images,attributes,parent_sku\n"
        'E-0,"tab\there","a|b""c|ş",,"{""k"": ""v""}",\n'
        'E-1,"two\nlines \\ back","[""x\\\\y"", 1]","[]","{""n"": 1.5, ""l"": [""ğ""]}",E-0\n'
        'E-2,"quote "" ş",Ana/Alt,"[""\\u00fc""]","{""a\\\\b"": ""c\\td""}",E-0\n',
        encoding="utf-8",
    )
    assert _import(db, "products", path) == 3
    with db.session() as s:
        rows = {
            sku: (name, categories, images, attributes)
            for sku, name, categories, images, attributes in s.execute(
                select(
                    Product.sku,
                    Product.name,
                    Product.categories,
                    Product.images,
                    Product.attributes,
                )
            )
        }
    assert rows == {
        "E-0": ("tab\there", ["a", 'b"c', "ş"], [], {"k": "v"}),
        "E-1": ("two\nlines \\ back", ["x\\y", 1], [], {"n": 1.5, "l": ["ğ"]}),
        "E-2": ('quote " ş', ["Ana/Alt"], ["ü"], {"a\\b": "c\td"}),
    }
    assert _import(db, "products", path) == 0


def test_a_stock_written_by_another_transaction_mid_import_is_settled_not_refused(
    pg_url: str, tmp_path: Path
) -> None:
    """PostgreSQL inserts a chunk's new rows plainly; a row another writer inserts while
    the merge runs (here: a transaction that commits while the import waits on its row)
    makes that insert fail, and the chunk is settled again under ON CONFLICT: the import
    succeeds, the file's value wins, and the other writer's row is not duplicated."""
    import threading
    import time

    from sqlalchemy import text

    db = Database(pg_url)
    try:
        _import(db, "products", _products(tmp_path, 4))
        other = db.engine.connect()
        other.execute(
            text(
                "INSERT INTO stocks (product_id, quantity, extra, version, updated_at) "
                "SELECT id, 99, '{}', 0, now() FROM products WHERE sku = 'P-2'"
            )
        )  # not committed: the import's merge does not see it, and waits on its key
        stocks = _write(
            tmp_path / "stocks.csv", ["sku,quantity"] + [f"P-{i},{i}" for i in range(4)]
        )
        outcome: list[object] = []
        importing = threading.Thread(
            target=lambda: outcome.append(_import_or_error(db, "stocks", stocks))
        )
        importing.start()
        deadline = time.monotonic() + 30
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as probe:
            while not _waits_on_a_lock(probe) and time.monotonic() < deadline:
                pass  # until the import's insert is queued behind the uncommitted row
        other.commit()
        other.close()
        importing.join(30)
        assert outcome == [4]
        with db.session() as s:
            rows = s.execute(
                select(Product.sku, Stock.quantity).join(Stock, Stock.product_id == Product.id)
            ).all()
        assert sorted(rows) == [("P-0", 0), ("P-1", 1), ("P-2", 2), ("P-3", 3)]
    finally:
        db.dispose()


def _import_or_error(db: Database, kind: str, path: Path) -> object:
    try:
        with db.session() as session:
            changed = import_file(session, kind, path).changed
            session.commit()
            return changed
    except Exception as exc:  # noqa: BLE001 - the test compares what came back
        return exc


def _waits_on_a_lock(conn) -> bool:  # noqa: ANN001
    """Whether an import's merge of stocks waits on a lock (each call sees the server now:
    autocommit, so no snapshot of pg_stat_activity is kept for a transaction)."""
    from sqlalchemy import text

    return bool(
        conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query LIKE '%pazar_import_stocks%' AND datname = current_database()"
            )
        ).scalar()
    )


def test_a_postgresql_import_shortens_the_thread_switch_interval_only_while_it_runs(
    db: Database, tmp_path: Path
) -> None:
    """The merge thread must get the GIL back quickly after each reply from the server
    (pazar.thread_switch); SQLite imports in one thread and leaves the interval alone."""
    import sys

    from pazar.thread_switch import SHORT_INTERVAL

    before = sys.getswitchinterval()
    seen: list[float] = []
    with db.session() as session:
        import_file(
            session,
            "products",
            _products(tmp_path, 5),
            chunk_size=2,
            on_rows=lambda _n: seen.append(sys.getswitchinterval()),
        )
        session.commit()
    during = SHORT_INTERVAL if db.dialect == "postgresql" else before
    assert seen and all(value == pytest.approx(during) for value in seen)
    assert sys.getswitchinterval() == before


def test_nested_short_switch_intervals_give_the_first_value_back() -> None:
    import sys

    from pazar.thread_switch import SHORT_INTERVAL, short_switch_interval

    before = sys.getswitchinterval()
    with short_switch_interval():
        with short_switch_interval():
            assert sys.getswitchinterval() == pytest.approx(SHORT_INTERVAL)
        assert sys.getswitchinterval() == pytest.approx(SHORT_INTERVAL)  # the outer one stays
    assert sys.getswitchinterval() == before
