"""The "nothing changed" check of the bad-input tests notices a change in any table."""

from __future__ import annotations

from sqlalchemy import text

from pazar.db import Database
from tests.dbdigest import digest, table_digests


def test_a_row_added_altered_or_removed_anywhere_changes_the_digest(db_url: str) -> None:
    empty = digest(db_url)
    assert digest(db_url) == empty
    database = Database(db_url)
    try:
        with database.engine.begin() as conn:
            conn.execute(
                text("INSERT INTO change_marks (kind, serial, changed_at) VALUES ('x', 1, :at)"),
                {"at": "2026-11-30 12:00:00"},
            )
        added = table_digests(db_url)
        assert digest(db_url) != empty
        with database.engine.begin() as conn:
            conn.execute(text("UPDATE change_marks SET serial = 2"))
        altered = table_digests(db_url)
        assert altered["change_marks"] != added["change_marks"]
        assert {k: v for k, v in altered.items() if k != "change_marks"} == {
            k: v for k, v in added.items() if k != "change_marks"
        }
        with database.engine.begin() as conn:
            conn.execute(text("DELETE FROM change_marks"))
        assert digest(db_url) == empty
    finally:
        database.dispose()
