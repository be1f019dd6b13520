"""JSON columns are written exactly as ``json.dumps`` writes them (SQLite compares the text:
another spelling would make every stored product look changed once and go out again)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pazar import json_text
from pazar.commerce.importers import import_file
from pazar.db import Database

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # NaN and infinities included: json.dumps writes them too
    | st.text(),  # any code point: non-ASCII, controls, quotes, lone surrogates
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_the_text_is_json_dumps_text(value: object) -> None:
    assert json_text.dumps(value) == json.dumps(value)


def test_what_json_dumps_refuses_is_refused_alike() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        json_text.dumps({"when": object()})
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(RecursionError):
        json_text.dumps(deep)


def test_products_stored_by_json_dumps_import_again_unchanged(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A catalog an older pazar stored (its JSON written by ``json.dumps``) imports again
    with nothing changed, non-ASCII and escaped characters included."""
    products = tmp_path / "products.csv"
    with products.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["sku", "name", "categories", "images", "attributes"])
        writer.writerow(["S1", "Kırmızı elbise", "Giyim/Elbise", "https://img/1.jpg", "{}"])
        writer.writerow(
            [
                "S2",
                'Gömlek "slim"',
                "Giyim/Gömlek|İndirim",
                "https://img/2.jpg|https://img/2b.jpg",
                json.dumps({"renk": "Lacivert", "not": 'yıkama "30°"\\', "adet": 2}),
            ]
        )
    with monkeypatch.context() as older:
        older.setattr(json_text, "dumps", json.dumps)
        before = Database(db_url)
        with before.session() as session:
            assert import_file(session, "products", products).changed == 2
        before.dispose()
    db = Database(db_url)
    try:
        with db.session() as session:
            assert import_file(session, "products", products).changed == 0
    finally:
        db.dispose()
