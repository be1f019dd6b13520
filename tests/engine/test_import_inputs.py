"""Every import file gets one clear, located message and changes nothing — or is read:
encodings, delimiters, oversized fields, duplicates, negative stock, binary garbage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from pazar.db import Database
from pazar.models.commerce import Price, Product
from tests.dbdigest import digest, table_digests


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def _products(cli, tmp_path: Path, n: int = 3) -> None:  # noqa: ANN001
    lines = ["sku,name"] + [f"P-{i},Product {i}" for i in range(1, n + 1)]
    path = _write(tmp_path / "seed.csv", "\n".join(lines) + "\n")
    assert cli("catalog", "import", "products", str(path)).exit_code == 0


def _names(url: str) -> dict[str, str]:
    db = Database(url)
    try:
        with db.session() as session:
            return dict(session.execute(select(Product.sku, Product.name)).all())
    finally:
        db.dispose()


TURKISH = "sku,name\nT-1,Kırmızı Gömlek\nT-2,Şık Çanta\n"


def test_a_windows_1254_csv_is_named_and_read_with_encoding(
    cli, db_url: str, tmp_path: Path
) -> None:  # noqa: ANN001
    path = _write(tmp_path / "products.csv", TURKISH, "cp1254")
    before = digest(db_url)
    result = cli("catalog", "import", "products", str(path))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: products.csv:2:")
    assert "not valid utf-8 text" in result.stderr
    assert "looks like Windows-1254" in result.stderr and "--encoding cp1254" in result.stderr
    assert digest(db_url) == before
    result = cli("catalog", "import", "products", str(path), "--encoding", "cp1254")
    assert result.exit_code == 0, result.output
    assert _names(db_url) == {"T-1": "Kırmızı Gömlek", "T-2": "Şık Çanta"}


def test_utf8_with_a_byte_order_mark_is_read(cli, db_url: str, tmp_path: Path) -> None:  # noqa: ANN001
    path = tmp_path / "products.csv"
    path.write_bytes(b"\xef\xbb\xbf" + TURKISH.encode())
    assert cli("catalog", "import", "products", str(path)).exit_code == 0
    assert _names(db_url)["T-2"] == "Şık Çanta"


def test_an_unknown_encoding_is_named(cli, tmp_path: Path) -> None:  # noqa: ANN001
    path = _write(tmp_path / "products.csv", TURKISH)
    result = cli("catalog", "import", "products", str(path), "--encoding", "cp1245")
    assert result.exit_code == 2
    assert "unknown encoding 'cp1245'; did you mean 'cp1254'?" in result.stderr


def test_a_semicolon_csv_with_decimal_commas_is_read(cli, db_url: str, tmp_path: Path) -> None:  # noqa: ANN001
    _products(cli, tmp_path)
    path = _write(tmp_path / "prices.csv", "sku;price;retail_price\nP-1;12,50;15\nP-2;7;\n")
    result = cli("catalog", "import", "prices", str(path))
    assert result.exit_code == 0, result.output
    db = Database(db_url)
    with db.session() as session:
        prices = sorted(str(p) for p in session.scalars(select(Price.price)))
    db.dispose()
    assert prices == ["12.50", "7.00"]


def test_a_mixed_delimiter_row_says_how_the_file_was_read(cli, tmp_path: Path) -> None:  # noqa: ANN001
    _products(cli, tmp_path)
    path = _write(tmp_path / "prices.csv", "sku;price\nP-1,12;x\n")
    result = cli("catalog", "import", "prices", str(path))
    assert result.exit_code == 2
    assert "prices.csv:2" in result.stderr


def test_a_field_over_128_kb_is_a_located_error(cli, db_url: str, tmp_path: Path) -> None:  # noqa: ANN001
    path = _write(tmp_path / "products.csv", "sku,name\nP-1,ok\nP-2," + "x" * 200_000 + "\n")
    before = digest(db_url)
    result = cli("catalog", "import", "products", str(path))
    assert result.exit_code == 2
    assert "products.csv:3: a field is longer than 131072 characters" in result.stderr
    assert digest(db_url) == before


def test_duplicate_objects_in_one_file_are_refused_naming_both_lines(
    cli, db_url: str, tmp_path: Path
) -> None:  # noqa: ANN001
    _products(cli, tmp_path)
    before = digest(db_url)
    path = _write(tmp_path / "stocks.csv", "sku,quantity\nP-1,5\nP-2,1\nP-1,7\n")
    result = cli("catalog", "import", "stocks", str(path))
    assert result.exit_code == 2
    assert "stocks.csv:4: sku 'P-1' is also on line 2" in result.stderr
    path = _write(tmp_path / "items.csv", "catalog,sku\nmain,P-1\nmain,P-1\n")
    result = cli("catalog", "import", "catalog_items", str(path))
    assert "items.csv:3: catalog 'main', sku 'P-1' is also on line 2" in result.stderr
    assert digest(db_url) == before


def test_negative_stock_is_refused(cli, db_url: str, tmp_path: Path) -> None:  # noqa: ANN001
    _products(cli, tmp_path)
    before = digest(db_url)
    path = _write(tmp_path / "stocks.csv", "sku,quantity\nP-1,5\nP-2,-3\n")
    result = cli("catalog", "import", "stocks", str(path))
    assert result.exit_code == 2
    assert "stocks.csv:3:2: column 'quantity': '-3' is negative; it must be 0 or more" in (
        result.stderr
    )
    assert digest(db_url) == before
    assert cli("stock", "set", "P-1", "-1").exit_code == 2


def test_import_reports_changed_and_unchanged_rows(cli, tmp_path: Path) -> None:  # noqa: ANN001
    _products(cli, tmp_path)
    path = _write(tmp_path / "stocks.csv", "sku,quantity\nP-1,5\nP-2,1\n")
    result = cli("catalog", "import", "stocks", str(path))
    assert "imported 2 stocks rows from" in result.stdout
    assert result.stdout.rstrip().endswith(": 2 changed, 0 unchanged")
    path = _write(tmp_path / "stocks.csv", "sku,quantity\nP-1,5\nP-2,2\nP-3,0\n")
    result = cli("catalog", "import", "stocks", str(path), "--json")
    assert json.loads(result.stdout) == {
        "kind": "stocks",
        "file": str(path),
        "rows": 3,
        "changed": 2,
        "unchanged": 1,
    }


# --------------------------------------------------------------------------- round trips


def _data(url: str) -> dict[str, str]:
    """Every table but the version counter, which a re-import advances by design
    (versions reserved for rows that turn out unchanged are skipped)."""
    tables = table_digests(url)
    tables.pop("commerce_versions", None)
    return tables


SOURCES = {
    "products": "sku,name,base_code,product_type,parent_sku,categories,images,attributes,active\n"
    'M-1,Gömlek,G1,meta,,"[""Giyim/Gömlek""]",https://i/1.jpg|https://i/2.jpg,"{""renk"": ""mavi""}",true\n'
    "P-1,Gömlek S,G1,simple,M-1,,,,false\n",
    "prices": "sku,price,retail_price,currency,tax_rate\nP-1,10.50,12,TRY,20\nM-1,3,,EUR,\n",
    "stocks": 'sku,quantity,extra\nP-1,4,"{""maximumPurchasableQuantity"": 2}"\nM-1,0,\n',
    "catalog_items": "catalog,sku,deleted\nmain,P-1,false\nmain,M-1,true\nother,P-1,\n",
    "cargo_companies": "code,name,tracking_url\nyk,Yurtiçi,https://yk/{tracking_number}\nptt,PTT,\n",
    "cancellation_reasons": "kind,code,name,active\ncancel,C1,Stok yok,true\n"
    "refund,R1,Beden,false\n",
    "addresses": "city,township,district,postcode,channel,city_code,township_code,district_code\n"
    "İstanbul,Kadıköy,Moda,34710,,,,\n"
    "İstanbul,Kadıköy,Fenerbahçe,34726,shop,34,KDK,FNB\n"
    "İstanbul,Beşiktaş,,,,IST,,\n"
    "Ankara,Çankaya,Kızılay,06420,shop,6,CNK,KZL\n",
}


@pytest.mark.parametrize("kind", list(SOURCES))
@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_export_produces_what_import_accepts(
    cli, db_url: str, tmp_path: Path, kind: str, fmt: str
) -> None:  # noqa: ANN001
    assert cli("channel", "add", "testmarket", "--slug", "shop").exit_code == 0
    for needed in ("products", kind):  # products first: the other kinds name SKUs
        path = _write(tmp_path / f"{needed}.csv", SOURCES[needed])
        result = cli("catalog", "import", needed, str(path))
        assert result.exit_code == 0, result.output
    exported = cli("catalog", "export", kind, "--format", fmt)
    assert exported.exit_code == 0, exported.output
    assert len(exported.stdout.splitlines()) >= SOURCES[kind].count("\n") - 1
    before = _data(db_url)
    again = _write(tmp_path / f"again.{fmt}", exported.stdout)
    result = cli("catalog", "import", kind, str(again))
    assert result.exit_code == 0, result.output
    assert result.stdout.rstrip().endswith(" 0 changed, " + result.stdout.split()[1] + " unchanged")
    assert _data(db_url) == before
    assert cli("catalog", "export", kind, "--format", fmt).stdout == exported.stdout


def test_cargo_company_and_reason_exports_show_the_local_ids(cli, tmp_path: Path) -> None:  # noqa: ANN001
    for kind in ("cargo_companies", "cancellation_reasons"):
        path = _write(tmp_path / f"{kind}.csv", SOURCES[kind])
        assert cli("catalog", "import", kind, str(path)).exit_code == 0
    out = cli("catalog", "export", "cargo_companies").stdout.splitlines()
    assert out[0] == "id,code,name,tracking_url"
    assert out[1].split(",")[1:3] == ["yk", "Yurtiçi"] and out[1].split(",")[0].isdigit()
    out = cli("catalog", "export", "cancellation_reasons").stdout.splitlines()
    assert out[0] == "id,kind,code,name,active"


# --------------------------------------------------------------------------- any bytes

_cell = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", "-1", "0", "1e9", "12,5", "abc", '"', "[", "{}", "true", "P-1", "P-2"]),
)
_rows = st.lists(st.lists(_cell, min_size=0, max_size=4), max_size=6)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    kind=st.sampled_from(["products", "prices", "stocks", "catalog_items"]),
    header=st.sampled_from(["sku,quantity", "sku;price", "catalog,sku,deleted", "sku,name", ""]),
    rows=_rows,
    garbage=st.binary(max_size=64),
    delimiter=st.sampled_from([",", ";"]),
)
def test_no_generated_file_produces_a_traceback_or_a_partial_change(
    cli,
    db_url: str,
    tmp_path: Path,
    kind: str,
    header: str,
    rows: list,
    garbage: bytes,
    delimiter: str,
) -> None:  # noqa: ANN001
    if not _names(db_url):
        _products(cli, tmp_path)
    body = "\n".join(delimiter.join(c.replace("\n", " ") for c in row) for row in rows)
    path = tmp_path / "gen.csv"
    path.write_bytes((header + "\n" + body + "\n").encode("utf-8", "surrogatepass") + garbage)
    before = digest(db_url)
    result = cli("catalog", "import", kind, str(path))  # an exception here fails the test
    assert result.exit_code in (0, 2), result.output
    if result.exit_code == 2:
        assert result.stderr.startswith("error: ")
        assert digest(db_url) == before


@pytest.mark.parametrize(
    "line",
    [
        '{"sku": "N-1\\u0000", "name": "x"}',
        '{"sku": "N-1", "name": "x", "attributes": {"a": "\\u0000"}}',
        '{"sku": "N-1", "name": "x", "categories": "[\\"a\\\\u0000\\"]"}',
    ],
)
def test_a_nul_character_in_json_lines_is_refused_on_every_database(
    cli, db_url: str, tmp_path: Path, line: str
) -> None:  # noqa: ANN001
    path = _write(tmp_path / "products.jsonl", line + "\n")
    before = digest(db_url)
    result = cli("catalog", "import", "products", str(path))
    assert result.exit_code == 2
    assert "products.jsonl:1: column" in result.stderr and "NUL character" in result.stderr
    assert digest(db_url) == before


# Numbers: ASCII digits, plain decimals, and values the columns hold exactly.

BAD_NUMBERS = [
    ("stocks", "quantity", "5_000", "'5_000' is not an integer (digits 0-9, optionally signed)"),
    ("stocks", "quantity", "٥", "'٥' is not an integer (digits 0-9, optionally signed)"),
    (
        "stocks",
        "quantity",
        "99999999999999999999999",
        "'99999999999999999999999' is too large (at most 2147483647)",
    ),
    ("stocks", "quantity", "2147483648", "'2147483648' is too large (at most 2147483647)"),
    ("prices", "price", "1e309", "'1e309' is not a number (plain decimal notation, e.g. 12.50)"),
    ("prices", "price", "NaN", "'NaN' is not a number (plain decimal notation, e.g. 12.50)"),
    ("prices", "price", "1_000", "'1_000' is not a number (plain decimal notation, e.g. 12.50)"),
    (
        "prices",
        "price",
        "99999999999999999999999999",
        "'99999999999999999999999999' is too large (less than 1000000000000 required)",
    ),
    ("prices", "price", "0.001", "'0.001' has more than 2 decimals, which pazar would not keep"),
]


@pytest.mark.parametrize(("kind", "column", "value", "message"), BAD_NUMBERS)
def test_a_number_the_column_would_not_keep_is_refused_in_an_import(
    cli, db_url: str, tmp_path: Path, kind: str, column: str, value: str, message: str
) -> None:  # noqa: ANN001
    _products(cli, tmp_path)
    before = digest(db_url)
    path = _write(tmp_path / f"{kind}.csv", f"sku,{column}\nP-1,{value}\n")
    result = cli("catalog", "import", kind, str(path))
    assert (result.exit_code, result.stderr) == (
        2,
        f"error: {kind}.csv:2:2: column '{column}': {message}\n",
    )
    assert digest(db_url) == before


def test_a_json_import_refuses_a_non_finite_price(cli, db_url: str, tmp_path: Path) -> None:  # noqa: ANN001
    _products(cli, tmp_path)
    before = digest(db_url)
    path = _write(tmp_path / "prices.jsonl", '{"sku": "P-1", "price": 1e309}\n')
    result = cli("catalog", "import", "prices", str(path))
    assert (result.exit_code, result.stderr) == (
        2,
        "error: prices.jsonl:1: not valid JSON (1e309 is too large for a number: numbers must "
        "be finite)\n",
    )
    path = _write(tmp_path / "prices.jsonl", '{"sku": "P-1", "price": 0.125}\n')
    result = cli("catalog", "import", "prices", str(path))
    assert result.stderr == (
        "error: prices.jsonl:1: column 'price': 0.125 has more than 2 decimals, which pazar "
        "would not keep\n"
    )
    assert digest(db_url) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("price", "set", "P-1", "1e309"), "'1e309' is not a number"),
        (("price", "set", "P-1", "1E+999999999"), "'1E+999999999' is not a number"),
        (("price", "set", "P-1", "0.001"), "'0.001' has more than 2 decimals"),
        (("price", "set", "P-1", "5", "--retail", "Infinity"), "'Infinity' is not a number"),
        (("price", "set", "P-1", "5", "--currency", "TL!"), "'TL!' is not a currency code"),
        (
            ("price", "set", "P-1", "99999999999999999999999999"),
            "'99999999999999999999999999' is too large (less than 1000000000000 required)",
        ),
    ],
)
def test_price_set_refuses_a_price_the_column_would_not_keep(
    cli, db_url: str, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:  # noqa: ANN001
    _products(cli, tmp_path)
    before = digest(db_url)
    result = cli(*args)
    assert result.exit_code == 2 and result.stdout == ""
    named = {"--retail": "retail price", "--currency": "currency"}.get(args[-2], "price")
    assert result.stderr.startswith(f"error: {named} for 'P-1': {message}")
    assert result.stderr.count("\n") == 1
    assert digest(db_url) == before


def test_a_price_in_plain_notation_is_exported_as_it_was_set(cli, tmp_path: Path) -> None:  # noqa: ANN001
    _products(cli, tmp_path)
    assert cli("price", "set", "P-1", "12.500").exit_code == 0
    assert cli("price", "set", "P-2", "999999999999.99").exit_code == 0
    out = cli("catalog", "export", "prices").stdout
    assert "P-1,12.50," in out and "P-2,999999999999.99," in out
    path = _write(tmp_path / "prices.csv", out)
    assert cli("catalog", "import", "prices", str(path)).exit_code == 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('"' + "[" * 3000 + "]" * 3000 + '"', "is not a valid JSON object (nested more than 100"),
        ('"{""a"": NaN}"', "is not a valid JSON object (NaN is not a JSON number"),
        (
            '"{""maximumPurchasableQuantity"": -3}"',
            "maximumPurchasableQuantity -3 is not a positive integer (at most 2147483647)",
        ),
        (
            '"{""maximumPurchasableQuantity"": ""abc""}"',
            'maximumPurchasableQuantity "abc" is not a positive integer',
        ),
        (
            '"{""maximumPurchasableQuantity"": true}"',
            "maximumPurchasableQuantity true is not a positive integer",
        ),
    ],
)
def test_a_stock_extra_that_is_not_json_a_marketplace_takes_is_refused(
    cli, db_url: str, tmp_path: Path, extra: str, message: str
) -> None:  # noqa: ANN001
    _products(cli, tmp_path)
    before = digest(db_url)
    path = _write(tmp_path / "stocks.csv", f"sku,quantity,extra\nP-1,5,{extra}\n")
    result = cli("catalog", "import", "stocks", str(path))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: stocks.csv:2:3: column 'extra': {message}")
    assert result.stderr.count("\n") == 1
    result = cli("stock", "set", "P-1", "5", "--extra", '{"maximumPurchasableQuantity": 0}')
    assert (result.exit_code, result.stderr) == (
        2,
        "error: --extra maximumPurchasableQuantity 0 is not a positive integer "
        "(at most 2147483647)\n",
    )
    assert digest(db_url) == before


def test_a_device_is_not_a_file_to_import(cli, db_url: str, tmp_path: Path) -> None:  # noqa: ANN001
    before = digest(db_url)
    result = cli("catalog", "import", "stocks", "/dev/zero", "--format", "json")
    assert (result.exit_code, result.stderr) == (
        2,
        "error: /dev/zero: not a regular file (a device, a pipe or a socket)\n",
    )
    assert digest(db_url) == before


def test_a_price_that_reads_two_ways_or_an_unknown_currency_changes_nothing(
    cli, db_url: str, tmp_path: Path
) -> None:  # noqa: ANN001
    """``1,000`` was stored as 1.00 (read as a decimal comma) where a seller meant a
    thousand; a currency symbol or a 500 % tax rate went to the marketplaces as given."""
    _products(cli, tmp_path)
    before = digest(db_url)
    for row, why in (
        ('P-1,"1,000",TRY,20', "'1,000' is ambiguous: a thousands separator or a decimal comma?"),
        ("P-1,10,€,20", "'€' is not a currency code (three letters, e.g. TRY, EUR)"),
        ("P-1,10,XXXX,20", "'XXXX' is not a currency code"),
        ("P-1,10,TRY,500", "'500' is not a tax rate in percent (0 to 100)"),
    ):
        path = _write(tmp_path / "prices.csv", f"sku,price,currency,tax_rate\n{row}\n")
        result = cli("catalog", "import", "prices", str(path))
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith("error: prices.csv:2:") and why in result.stderr
    refused = cli("price", "set", "P-1", "1,000")
    assert refused.exit_code == 2 and "write 1000 or 1.000" in refused.stderr
    assert digest(db_url) == before
    shown = cli("price", "set", "P-1", "10,50", "--currency", "eur")
    assert shown.exit_code == 0 and shown.stdout.strip() == "price of P-1 set to 10.50 EUR"


def test_a_json_record_naming_a_column_twice_is_refused(cli, db_url: str, tmp_path: Path) -> None:  # noqa: ANN001
    """JSON readers keep the last of two equal keys: the price meant for P-1 went to P-2."""
    _products(cli, tmp_path)
    before = digest(db_url)
    record = '{"sku": "P-1", "price": 10, "sku": "P-2"}'
    for name, text in (("prices.json", f"[{record}]"), ("prices.jsonl", record + "\n")):
        result = cli("catalog", "import", "prices", str(_write(tmp_path / name, text)))
        assert result.exit_code == 2, result.output
        assert "not valid JSON (duplicate key 'sku' in an object)" in result.stderr
    assert digest(db_url) == before


def test_a_header_of_thousands_of_columns_is_one_short_message(
    cli, db_url: str, tmp_path: Path
) -> None:  # noqa: ANN001
    header = ",".join(["sku", "price", *(f"extra_{i}" for i in range(10_000))])
    path = _write(tmp_path / "wide.csv", header + "\nP-1,10\n")
    result = cli("catalog", "import", "prices", str(path))
    assert result.exit_code == 2
    assert "unknown column(s) extra_0, extra_1," in result.stderr
    assert "extra_9 and 9990 more; expected columns: sku, price" in result.stderr
    assert len(result.stderr) < 600
    huge = cli("price", "set", "P-1", "9" * 400)
    assert huge.exit_code == 2 and len(huge.stderr) < 200 and "…" in huge.stderr
