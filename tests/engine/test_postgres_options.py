"""pazar's PostgreSQL connections run without JIT compilation (see
``pazar.db_driver.server_options``), unless the URL's own options say otherwise."""

from __future__ import annotations

from urllib.parse import quote

from sqlalchemy import text

from pazar.db import Database
from pazar.db_driver import open_plain


def _jit(url: str) -> tuple[str, str]:
    """``jit`` as the engine's connections and as the plain driver's connection see it."""
    db = Database(url)
    try:
        with db.engine.connect() as conn:
            engine_jit = conn.execute(text("SHOW jit")).scalar_one()
    finally:
        db.dispose()
    plain = open_plain(url)
    assert plain is not None
    try:
        (plain_jit,) = plain.rows("SHOW jit")[0]
    finally:
        plain.dbapi.close()
    return engine_jit, plain_jit


def test_jit_is_off_and_the_urls_own_options_still_apply(pg_url: str) -> None:
    assert _jit(pg_url) == ("off", "off")
    db = Database(pg_url)
    try:
        with db.engine.connect() as conn:  # the test schema, from the URL's options
            assert conn.execute(text("SHOW search_path")).scalar_one().startswith("pazar_")
    finally:
        db.dispose()


def test_an_operator_who_sets_jit_in_the_url_keeps_it(pg_url: str) -> None:
    base, _, options = pg_url.partition("?options=")
    assert options, "the test URL carries the schema in its options"
    with_jit = f"{base}?options={options}{quote(' -c jit=on')}"
    assert _jit(with_jit) == ("on", "on")


def test_only_a_jit_setting_counts_as_the_operators_own() -> None:
    from pazar.db_driver import server_options

    assert server_options("") == "-c jit=off"
    assert server_options("-csearch_path=jitter") == "-csearch_path=jitter -c jit=off"
    for own in ("-c jit=on", "-cjit=on", "--jit=on", "-csearch_path=x -c jit=off"):
        assert server_options(own) == own
