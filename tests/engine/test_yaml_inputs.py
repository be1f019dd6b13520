"""YAML everywhere it is read (channel documents, flow files, mappings): duplicate keys
refused naming both lines, any encoding problem located, nothing changed."""

from __future__ import annotations

from pathlib import Path

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
