"""YAML everywhere it is read (channel documents, flow files, mappings): duplicate keys
refused naming both lines, any encoding problem located, nothing changed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.dbdigest import digest
from tests.engine.test_mapping import MAPPING, _apply, seed_store

DUPLICATE = """\
channel: tm
plugin: testmarket
config:
  api_key: first
  buffer_stock: 2
  api_key: second
"""


def test_channel_apply_refuses_duplicate_keys_naming_both_lines(
    cli, db_url: str, tmp_path: Path
) -> None:  # noqa: ANN001
    before = digest(db_url)
    path = tmp_path / "channels.yaml"
    path.write_text(DUPLICATE, encoding="utf-8")
    result = cli("channel", "apply", str(path))
    assert result.exit_code == 2
    assert f"{path}:6: duplicate key 'api_key' (first defined on line 4)" in result.stderr
    assert "nothing was applied" in result.stderr
    assert digest(db_url) == before


def test_a_second_document_with_a_duplicate_stops_the_whole_file(cli, db_url: str) -> None:  # noqa: ANN001
    before = digest(db_url)
    doc = "channel: a1\nplugin: testmarket\n---\n" + DUPLICATE
    result = cli("channel", "apply", "-", input=doc)
    assert (
        result.exit_code == 2
        and "<stdin>:9: duplicate key 'api_key' (first defined on line 7)" in result.stderr
    )
    assert digest(db_url) == before


def test_channel_apply_of_a_windows_1254_document_is_located(
    cli, db_url: str, tmp_path: Path
) -> None:  # noqa: ANN001
    path = tmp_path / "channels.yaml"
    path.write_bytes("channel: tm\nplugin: testmarket\nname: Mağaza\n".encode("cp1254"))
    before = digest(db_url)
    result = cli("channel", "apply", str(path))
    assert result.exit_code == 2
    assert f"{path}:3:9: not valid utf-8 text (byte 0xf0)" in result.stderr
    assert digest(db_url) == before


def test_a_flow_file_that_is_not_utf8_is_located(cli, tmp_path: Path) -> None:  # noqa: ANN001
    flows = tmp_path / "flows" / "testmarket"
    flows.mkdir(parents=True)
    (flows / "latin.yaml").write_bytes(
        "flow: latin\ntitle: Şık\nplugin: testmarket\n".encode("cp1254")
    )
    result = cli("flows", "validate", env={"PAZAR_FLOWS_PATH": str(tmp_path / "flows")})
    assert result.exit_code == 2
    assert "latin.yaml:2: cannot read the file: not valid utf-8 text (byte 0xde)" in result.output
    assert "Traceback" not in result.output


def test_a_mapping_with_a_duplicate_key_is_refused(cli, db, tmp_path: Path) -> None:  # noqa: ANN001
    seed_store(db)
    bad = MAPPING.replace("version: 1\n", "version: 1\nversion: 2\n")
    result = _apply(cli, tmp_path, bad)
    assert result.exit_code == 2
    assert "mapping.yaml:3: /version: duplicate key 'version' (first defined on line 2)" in (
        result.output
    )


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    data=st.one_of(
        st.binary(max_size=200),
        st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
        st.sampled_from(
            [
                b"channel: tm\nplugin: testmarket\nconfig: {a: 1, a: 2}\n",
                b"channel: [\n",
                b"- a\n- b\n",
                b"&a [*a]\n",
                b"channel: tm\nplugin: testmarket\nstatus: active\n",
                b"channel: tm\nplugin: testmarket\nconfig:\n  category_ids: [abc]\n",
                b"\xff\xfe\x00c\x00h",
            ]
        ),
    )
)
def test_no_channel_document_produces_a_traceback_or_a_partial_change(
    cli, db_url: str, tmp_path: Path, data: bytes
) -> None:  # noqa: ANN001
    path = tmp_path / "doc.yaml"
    path.write_bytes(data)
    before = digest(db_url)
    result = cli("channel", "apply", str(path))  # an exception here fails the test
    if result.exit_code != 0:
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith("error: ")
        assert digest(db_url) == before


# Nesting past json_input.MAX_DEPTH (100) and NaN/Infinity: one located problem, never a
# RecursionError traceback, nothing applied.


def test_a_flow_file_nested_500_deep_is_located(cli, tmp_path: Path) -> None:  # noqa: ANN001
    path = tmp_path / "deep.yaml"
    path.write_text("a: " + "[" * 500 + "]" * 500 + "\n", encoding="utf-8")
    result = cli("flows", "validate", str(path))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{path}:1:104: nested more than 100 levels deep\n")
    assert "Traceback" not in result.output


def test_aliases_cannot_nest_past_the_limit_either(cli, tmp_path: Path) -> None:  # noqa: ANN001
    path = tmp_path / "alias.yaml"
    path.write_text(
        "a: &a " + "[" * 60 + "1" + "]" * 60 + "\nb: " + "[" * 50 + "*a" + "]" * 50 + "\n",
        encoding="utf-8",
    )
    result = cli("flows", "validate", str(path))
    assert result.exit_code == 2 and "nested more than 100 levels deep" in result.stderr


def test_a_nan_in_a_flow_file_is_refused(cli, tmp_path: Path) -> None:  # noqa: ANN001
    path = tmp_path / "push.yaml"
    text = (Path(__file__).parents[1] / "testplugin/flows/testmarket/push.yaml").read_text()
    path.write_text(text + "wake_window: .nan\n", encoding="utf-8")
    result = cli("flows", "validate", str(path))
    line = text.count("\n") + 1
    assert result.exit_code == 2
    assert f"{path}:{line}: /wake_window: '.nan' is not a finite number" in result.stderr


def test_channel_apply_refuses_deep_nesting_and_infinity(cli, db_url: str) -> None:  # noqa: ANN001
    before = digest(db_url)
    deep = "channel: tm\nplugin: testmarket\nconfig:\n  x: " + "[" * 500 + "]" * 500 + "\n"
    result = cli("channel", "apply", "-", input=deep)
    assert result.exit_code == 2
    assert "<stdin>:4: nested more than 100 levels deep" in result.stderr
    inf = "channel: tm\nplugin: testmarket\nconfig:\n  buffer_stock: .inf\n"
    result = cli("channel", "apply", "-", input=inf)
    assert result.exit_code == 2
    assert "<stdin>:4: '.inf' is not a finite number" in result.stderr
    assert "Traceback" not in result.output
    assert digest(db_url) == before


def test_channel_set_refuses_deep_nan_and_sloppy_numbers(cli, db_url: str) -> None:  # noqa: ANN001
    assert cli("channel", "add", "testmarket", "--slug", "tm").exit_code == 0
    before = digest(db_url)
    cases = {
        "category_ids=" + "[" * 1000 + "]" * 1000: "is not valid JSON (nested more than 100 "
        "levels deep)",
        'cargo_company_mapping={"a": NaN}': "is not valid JSON (NaN is not a JSON number: "
        "numbers must be finite)",
        "buffer_stock=5_0": "buffer_stock: '5_0' is not of type 'integer', 'null'",
        "buffer_stock=1e309": "buffer_stock: '1e309' is not of type 'integer', 'null'",
    }
    for assignment, message in cases.items():
        result = cli("channel", "set", "tm", assignment)
        assert result.exit_code == 2, assignment
        assert message in result.stderr and "Traceback" not in result.output
    assert digest(db_url) == before


def test_a_config_holding_a_non_finite_number_is_invalid_wherever_it_came_from() -> None:
    from pazar import config_schema
    from tests.testplugin import CONFIG_SCHEMA

    config = config_schema.defaults(CONFIG_SCHEMA)
    config["cargo_company_mapping"] = {"x": float("nan")}
    assert "cargo_company_mapping.x: nan is not a finite number" in config_schema.validate(
        CONFIG_SCHEMA, config
    )
    config["cargo_company_mapping"] = {"x": [[[[]]]]}
    nested: list = []
    for _ in range(150):
        nested = [nested]
    config["category_ids"] = nested
    assert config_schema.validate(CONFIG_SCHEMA, config) == [
        "(config): nested more than 100 levels deep"
    ]


def test_a_blank_channel_name_is_refused(cli, db_url: str) -> None:  # noqa: ANN001
    before = digest(db_url)
    result = cli("channel", "add", "testmarket", "--slug", "x1", "--name", " ")
    assert (result.exit_code, result.stderr) == (
        2,
        "error: channel name ' ' is blank; give a name, or none for the marketplace's title "
        "('Testmarket')\n",
    )
    result = cli("channel", "apply", "-", input="channel: x1\nplugin: testmarket\nname: ''\n")
    assert result.exit_code == 2 and "name: is blank; give a name" in result.stderr
    assert digest(db_url) == before


def test_an_endless_or_huge_file_is_refused_before_it_fills_the_memory(
    cli: Any, monkeypatch: Any
) -> None:
    """``channel apply /dev/zero`` read until the machine ran out of memory."""
    import pazar.textfiles

    monkeypatch.setattr(pazar.textfiles, "MAX_DOCUMENT_BYTES", 4096)
    result = cli("channel", "apply", "/dev/zero")
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        "error: /dev/zero: larger than 4,096 bytes, more than pazar reads at once\n"
    )
    empty = cli("channel", "apply", "")  # once ". is a directory"
    assert (empty.exit_code, empty.stderr) == (
        2,
        "error: a file name is needed, not an empty one\n",
    )
