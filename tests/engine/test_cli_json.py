"""--json on the commands that report something: one JSON document on stdout that a
script can read, with the same facts as the text (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _json(cli: Any, *args: str, code: int = 0) -> Any:
    result = cli(*args, "--json")
    assert result.exit_code == code, result.output
    return json.loads(result.stdout)


def test_channel_commands_report_as_json(cli: Any) -> None:
    added = _json(cli, "channel", "add", "hepsiburada", "--slug", "hb")
    assert (added["slug"], added["plugin"], added["status"]) == ("hb", "hepsiburada", "inactive")
    assert "username: is required (Username) but empty" in added["missing"]
    assert _json(cli, "channel", "add", "testmarket", "--slug", "tm")["slug"] == "tm"

    saved = _json(cli, "channel", "set", "tm", "api_key=k", "feature_flags.push=true")
    assert saved["changed_keys"] == ["api_key", "feature_flags"]
    assert isinstance(saved["change_id"], int)

    assert _json(cli, "channel", "activate", "tm") == {"channel": "tm", "status": "active"}
    assert _json(cli, "channel", "deactivate", "tm") == {"channel": "tm", "status": "inactive"}
    assert _json(cli, "channel", "validate", "tm") == {
        "channel": "tm",
        "valid": True,
        "problems": [],
        "warnings": [],
    }


def test_flows_validate_reports_as_json_and_still_exits_2(cli: Any, tmp_path: Path) -> None:
    good = _json(cli, "flows", "validate")
    assert "testmarket/push" in [f["flow"] for f in good["valid"]]
    assert good["errors"] == []
    bad = tmp_path / "bad.yaml"
    bad.write_text("flow: bad\ntitle: Bad\nplugin: testmarket\nsource: {type: nope}\n")
    report = _json(cli, "flows", "validate", str(bad), code=2)
    assert report["valid"] == [] and report["errors"][0]["path"] == str(bad)


def test_daemon_once_tokens_batches_and_db_report_as_json(cli: Any) -> None:
    assert _json(cli, "daemon", "--once") == {"enqueued": 0, "runs": 0, "failed": 0, "partial": 0}
    created = _json(cli, "tokens", "create", "ci")
    assert created["name"] == "ci" and len(created["token"]) > 20
    assert _json(cli, "tokens", "revoke", "ci") == {"revoked": "ci"}
    assert _json(cli, "batches", "expire") == {"expired": []}
    upgraded = _json(cli, "db", "upgrade")
    assert upgraded["upgraded"] is False and upgraded["from"] == upgraded["to"]
