"""``pazar channel`` as an operator uses it (testmarket plugin, SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SECRET = "s3cr3t-value-42"


def show(cli: Any, slug: str) -> dict[str, Any]:
    result = cli("channel", "show", slug, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_acceptance_add_set_show_form(cli: Any) -> None:
    result = cli("channel", "add", "testmarket", "--slug", "tm", "--name", "Test Market")
    assert result.exit_code == 0, result.output
    assert "status inactive" in result.output
    before = show(cli, "tm")
    assert before["status"] == "inactive"
    assert before["config"]["feature_flags"] == {"push": False}

    # wrong type: names the field and the rule, exit 2, config unchanged
    result = cli("channel", "set", "tm", "buffer_stock=abc", "use_neighborhood=true")
    assert result.exit_code == 2
    assert "buffer_stock: 'abc' is not of type 'integer'" in result.output
    assert "nothing was saved" in result.output
    assert "Traceback" not in result.output
    assert show(cli, "tm")["config"] == before["config"]

    result = cli(
        "channel", "set", "tm", f"api_key={SECRET}", "buffer_stock=3", "feature_flags.push=yes"
    )
    assert result.exit_code == 0, result.output
    after = show(cli, "tm")
    assert after["config"]["api_key"] == "********"
    assert after["config"]["buffer_stock"] == 3 and after["config"]["feature_flags"]["push"] is True
    table = cli("channel", "show", "tm")
    assert table.exit_code == 0
    assert SECRET not in table.output and "********" in table.output
    assert "feature_flags.push" in table.output

    result = cli("channel", "form", "testmarket", "--json")
    assert result.exit_code == 0
    rows = json.loads(result.output)
    assert {"key": "api_key", "label": "Api Key", "required": True, "data_type": "text"} in rows
    assert {
        "key": "buffer_stock",
        "label": "Buffer Stock",
        "required": False,
        "data_type": "integer",
    } in rows
    assert {
        "key": "use_neighborhood",
        "label": "Use Neighborhood",
        "required": False,
        "data_type": "bool",
    } in rows
    assert {
        "key": "category_ids",
        "label": "Category Ids",
        "required": True,
        "data_type": "list",
    } in rows
    assert {
        "key": "cargo_company_mapping",
        "label": "Cargo Company Mapping",
        "required": False,
        "data_type": "json",
    } in rows
    table = cli("channel", "form", "testmarket")
    assert table.exit_code == 0
    for word in ("key", "label", "required", "data_type", "api_key", "Api Key"):
        assert word in table.output


def test_secret_never_echoed_in_errors(cli: Any, tmp_path: Path) -> None:
    cli("channel", "add", "testmarket", "--slug", "tm")
    cli("channel", "set", "tm", f"api_key={SECRET}")
    file = tmp_path / "tm.yaml"
    file.write_text("channel: tm\nconfig:\n  api_key: 987654321\n")
    result = cli("channel", "apply", str(file))
    assert result.exit_code == 2
    assert "api_key: value is not of type 'string'" in result.output
    assert "987654321" not in result.output
    for command in (
        ("list",),
        ("show", "tm"),
        ("show", "tm", "--json"),
        ("changes", "tm", "--json"),
    ):
        assert SECRET not in cli("channel", *command).output


def test_list_validate_activate_deactivate(cli: Any) -> None:
    assert "no channels yet" in cli("channel", "list").output
    cli("channel", "add", "testmarket", "--slug", "tm")
    listed = json.loads(cli("channel", "list", "--json").output)
    assert [(c["slug"], c["name"], c["plugin"], c["status"]) for c in listed] == [
        ("tm", "Testmarket", "testmarket", "inactive")
    ]
    assert cli("channel", "validate", "tm").exit_code == 0
    result = cli("channel", "activate", "tm")
    assert result.exit_code == 0 and "active" in result.output
    assert show(cli, "tm")["status"] == "active"
    assert cli("channel", "deactivate", "tm").exit_code == 0
    assert show(cli, "tm")["status"] == "inactive"


def test_incomplete_channel_fails_validate_and_activate(cli: Any) -> None:
    result = cli("channel", "add", "hepsiburada", "--slug", "hb")
    assert result.exit_code == 0
    assert "password: is required (Password) but empty" in result.output
    result = cli("channel", "validate", "hb")
    assert result.exit_code == 2
    assert "username: is required (Username) but empty" in result.output
    result = cli("channel", "activate", "hb")
    assert result.exit_code == 2 and "cannot be activated" in result.output
    assert show(cli, "hb")["status"] == "inactive"


def test_validate_warns_of_a_secret_whose_variable_is_not_set_here(cli: Any) -> None:
    cli("channel", "add", "testmarket", "--slug", "tm")
    assert cli("channel", "set", "tm", "api_key=env:PAZAR_SECRET_TM_KYE").exit_code == 0
    warning = (
        "api_key: environment variable PAZAR_SECRET_TM_KYE is not set here; "
        "a run fails unless the daemon's environment sets it"
    )
    result = cli("channel", "validate", "tm", env={"PAZAR_SECRET_TM_KEY": "s3cr3t-value"})
    assert result.exit_code == 0  # the daemon's environment may have it
    assert result.stderr == f"warning: {warning}\n"
    assert json.loads(cli("channel", "validate", "tm", "--json").stdout)["warnings"] == [warning]
    result = cli("channel", "validate", "tm", env={"PAZAR_SECRET_TM_KYE": "s3cr3t-value"})
    assert (result.exit_code, result.stderr) == (0, "")
    assert "s3cr3t-value" not in result.output


def test_unknown_names_get_suggestions(cli: Any) -> None:
    result = cli("channel", "add", "testmarkt", "--slug", "tm")
    assert result.exit_code == 2 and "did you mean 'testmarket'" in result.output
    cli("channel", "add", "testmarket", "--slug", "shop")
    result = cli("channel", "show", "shp")
    assert result.exit_code == 2 and "did you mean 'shop'" in result.output
    result = cli("channel", "set", "shop", "bufer_stock=1")
    assert result.exit_code == 2 and "did you mean 'buffer_stock'" in result.output
    result = cli("channel", "set", "shop", "no-equals-sign")
    assert result.exit_code == 2 and "expected key=value" in result.output
    result = cli("channel", "add", "testmarket", "--slug", "Bad Slug")
    assert result.exit_code == 2 and "invalid channel slug" in result.output


def test_apply_create_then_update(cli: Any, tmp_path: Path) -> None:
    file = tmp_path / "tm.yaml"
    file.write_text(
        "channel: tm\nplugin: testmarket\nname: From YAML\nconfig:\n  buffer_stock: 2\n  feature_flags: {push: true}\n"
    )
    result = cli("channel", "apply", str(file))
    assert result.exit_code == 0, result.output
    assert "channel tm: created (inactive)" in result.output
    data = show(cli, "tm")
    assert data["name"] == "From YAML" and data["config"]["buffer_stock"] == 2
    assert data["config"]["use_neighborhood"] is False  # defaults under a partial config

    file.write_text(
        "channel: tm\nstatus: active\nconfig:\n  buffer_stock: 2\n  category_ids: ['5']\n"
        "  feature_flags: {push: true}\n"
    )
    result = cli("channel", "apply", str(file), "--json")
    assert result.exit_code == 0, result.output
    [change] = json.loads(result.output)
    assert change["created"] is False and change["status"] == "active"
    assert change["changed_keys"] == ["category_ids"]
    assert change["requested_flows"] == ["refresh_categories"]
    assert show(cli, "tm")["status"] == "active"

    result = cli(
        "channel",
        "apply",
        "-",
        input="channel: tm\nstatus: active\nconfig:\n  buffer_stock: 2\n"
        "  category_ids: ['5']\n  feature_flags: {push: true}\n",
    )
    assert result.exit_code == 0 and "channel tm: unchanged" in result.output


def test_apply_reports_yaml_and_config_errors_with_lines(cli: Any, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("channel: tm\nplugin: testmarket\nconfig:\n  buffer_stock: [1\n")
    result = cli("channel", "apply", str(bad))
    assert result.exit_code == 2
    assert f"{bad}:" in result.output and "invalid YAML" in result.output
    assert "Traceback" not in result.output

    two = tmp_path / "two.yaml"
    two.write_text(
        "channel: ok\nplugin: testmarket\n---\nchannel: broken\nplugin: testmarket\nconfig:\n  buffer_stock: x\n"
    )
    result = cli("channel", "apply", str(two))
    assert result.exit_code == 2
    assert f"{two}:4:" in result.output
    assert f"{two}:7: buffer_stock: 'x' is not of type" in result.output
    # one transaction: the valid first document was not saved either
    assert cli("channel", "show", "ok").exit_code == 2

    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("channel: x\nplugin: hepsibrada\n")
    result = cli("channel", "apply", str(unknown))
    assert result.exit_code == 2
    assert (
        f"{unknown}:1: unknown marketplace plugin 'hepsibrada'; did you mean 'hepsiburada'?"
        in result.output
    )

    missing = cli("channel", "apply", str(tmp_path / "nope.yaml"))
    assert missing.exit_code == 2 and "no such file" in missing.output


def test_apply_names_the_line_of_each_config_key_in_trouble(cli: Any, tmp_path: Path) -> None:
    doc = tmp_path / "tm.yaml"
    doc.write_text(
        "channel: tm\nplugin: testmarket\nconfig:\n  base_url: http://127.0.0.1:9\n"
        "  api_kee: env:PAZAR_SECRET_TM\n  buffer_stock: -2\n  feature_flags:\n    pussh: true\n"
    )
    result = cli("channel", "apply", str(doc))
    assert result.exit_code == 2
    assert result.stderr.splitlines()[1:] == [
        f"  {doc}:5: (config): unknown key 'api_kee'; did you mean 'api_key'?",
        f"  {doc}:6: buffer_stock: -2 is less than the minimum of 0",
        f"  {doc}:8: feature_flags.pussh: unknown feature flag 'pussh'; did you mean 'push'?",
    ]


def test_changes_history(cli: Any) -> None:
    cli("channel", "add", "testmarket", "--slug", "tm")
    assert "no config changes" in cli("channel", "changes", "tm").output
    result = cli("channel", "set", "tm", 'category_ids=["1","2"]', "--note", "new roots")
    assert result.exit_code == 0
    assert "requested flows: refresh_categories" in result.output
    cli("channel", "set", "tm", "buffer_stock=1")
    history = json.loads(cli("channel", "changes", "tm", "--json").output)
    assert [h["changed_keys"] for h in history] == [["buffer_stock"], ["category_ids"]]
    assert history[1]["requested_flows"] == ["refresh_categories"]
    assert history[1]["note"] == "new roots" and history[1]["source"] == "cli"
    table = cli("channel", "changes", "tm")
    assert table.exit_code == 0
    assert "requested flows" in table.output and "new roots" in table.output


def test_env_secret_saved_as_reference_and_shown(cli: Any) -> None:
    cli("channel", "add", "testmarket", "--slug", "tm")
    result = cli("channel", "set", "tm", "api_key=env:PAZAR_SECRET_TM_API_KEY")
    assert result.exit_code == 0
    assert show(cli, "tm")["config"]["api_key"] == "env:PAZAR_SECRET_TM_API_KEY"
    # a missing variable is not an error at save or validate time, only at use
    assert cli("channel", "validate", "tm").exit_code == 0


def test_resave_queues_the_category_flows_again_as_the_seed_advises(cli: Any) -> None:
    """Seed 2.1: when a category flow did not appear or ended in error, re-save the
    settings; a `set` that changes nothing queues nothing, `resave` queues them."""
    assert cli("channel", "add", "hepsiburada", "--slug", "hb").exit_code == 0
    assert cli("channel", "resave", "hb").output.strip() == (
        "channel hb: re-saved; its config asks for no flow (nothing queued)"
    )
    assert "requested flows" in cli("channel", "set", "hb", "category_ids=[2147]").output
    same = cli("channel", "set", "hb", "category_ids=[2147]")
    assert same.output.strip() == "channel hb: nothing changed"
    again = cli("channel", "resave", "hb", "--json")
    assert again.exit_code == 0
    assert json.loads(again.output)["requested_flows"] == ["category_node", "category_attributes"]
    queued = json.loads(cli("status", "--json").output)["queue"]
    assert {q["flow"]: q["queued"] for q in queued} == {
        "hepsiburada/category_attributes": 1,
        "hepsiburada/category_node": 1,
    }
    history = json.loads(cli("channel", "changes", "hb", "--json").output)
    assert history[0]["changed_keys"] == [] and history[0]["note"] == "re-saved"


def test_a_setting_with_a_line_break_is_refused(cli: Any) -> None:
    """A user agent with a newline went into the HTTP request as a header of its own."""
    assert cli("channel", "add", "hepsiburada", "--slug", "hb").exit_code == 0
    before = cli("channel", "show", "hb", "--json").output
    for value in ("akinon_dev\nX-Evil: 1", "akinon_dev\r", "a\x00b"):
        result = cli("channel", "set", "hb", f"user_agent={value}")
        assert result.exit_code == 2, result.output
        assert "user_agent: contains a line break or control character (U+00" in result.stderr
    assert cli("channel", "show", "hb", "--json").output == before


def test_a_name_longer_than_its_column_is_refused(cli: Any, tmp_path: Path) -> None:
    """SQLite kept a 5 MB name (and `channel list` became unreadable); PostgreSQL stopped
    with a DataError and a traceback."""
    long = "n" * 256
    added = cli("channel", "add", "hepsiburada", "--slug", "hb", "--name", long)
    assert (added.exit_code, added.stderr) == (
        2,
        "error: channel name: at most 255 characters, not 256\n",
    )
    doc = tmp_path / "hb.yaml"
    doc.write_text(f"channel: hb\nplugin: hepsiburada\nname: {long}\n", encoding="utf-8")
    applied = cli("channel", "apply", str(doc))
    assert applied.exit_code == 2 and "name: at most 255 characters, not 256" in applied.stderr
    assert cli("channel", "list", "--json").output.strip() == "[]"


def test_an_integer_setting_too_large_says_so(cli: Any) -> None:
    assert cli("channel", "add", "hepsiburada", "--slug", "hb").exit_code == 0
    result = cli("channel", "set", "hb", "orders_refundable_days=99999999999999999999999")
    assert result.exit_code == 2
    assert (
        "orders_refundable_days: '99999999999999999999999' is too large "
        "(at most 9223372036854775807)" in result.stderr
    )
