"""Round trips operators rely on: `channel export` → `apply`, `show --json` never
overwriting a secret with its mask, and `channel validate` naming local ids that do
not exist (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from pazar.db import Database
from pazar.models.channels import Channel
from pazar.models.commerce import CargoCompany

SECRET = "hunter2-real-secret"


def stored(cli: Any, slug: str) -> dict[str, Any]:
    db = Database(cli.database_url)
    try:
        with db.session() as session:
            return dict(session.scalar(select(Channel).where(Channel.slug == slug)).config)
    finally:
        db.dispose()


def test_export_applies_back_unchanged_and_never_writes_the_mask(cli: Any, tmp_path: Path) -> None:
    assert cli("channel", "add", "testmarket", "--slug", "tm").exit_code == 0
    assert cli("channel", "add", "hepsiburada", "--slug", "hb").exit_code == 0
    assert cli("channel", "set", "tm", f"api_key={SECRET}", "buffer_stock=3").exit_code == 0
    assert (
        cli(
            "channel", "set", "hb", "password=env:PAZAR_SECRET_HB_PASSWORD", "buffer_stock=2"
        ).exit_code
        == 0
    )

    result = cli("channel", "export", "tm", "hb")
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output and "****" not in result.output
    assert "# secrets left out: api_key" in result.output
    docs = list(yaml.safe_load_all(result.output))
    assert docs[0] == {
        "channel": "tm",
        "plugin": "testmarket",
        "name": "Testmarket",
        "status": "inactive",
        "config": {"buffer_stock": 3},
    }
    assert docs[1]["config"]["password"] == "env:PAZAR_SECRET_HB_PASSWORD"
    assert docs[1]["config"]["buffer_stock"] == 2

    file = tmp_path / "channels.yaml"
    file.write_text(result.output)
    applied = cli("channel", "apply", str(file))
    assert applied.exit_code == 0, applied.output
    assert applied.output == "channel tm: unchanged\nchannel hb: unchanged\n"
    assert stored(cli, "tm")["api_key"] == SECRET


def test_show_json_piped_into_apply_is_refused_instead_of_storing_the_mask(
    cli: Any, tmp_path: Path
) -> None:
    assert cli("channel", "add", "testmarket", "--slug", "tm").exit_code == 0
    assert cli("channel", "set", "tm", f"api_key={SECRET}").exit_code == 0
    shown = json.loads(cli("channel", "show", "tm", "--json").output)
    doc = {k: shown[k] for k in ("plugin", "name", "status", "config")}
    doc["channel"] = shown["slug"]
    file = tmp_path / "shown.yaml"
    file.write_text(yaml.safe_dump(doc))

    result = cli("channel", "apply", str(file))
    assert result.exit_code == 2
    assert "api_key: ******** is the mask pazar prints for a secret, not a value" in result.output
    assert "Traceback" not in result.output
    assert stored(cli, "tm")["api_key"] == SECRET

    result = cli("channel", "set", "tm", "api_key=********")
    assert result.exit_code == 2
    assert "api_key: ******** is the mask" in result.output
    assert stored(cli, "tm")["api_key"] == SECRET


def test_validate_names_local_ids_that_do_not_exist_and_how_to_import_them(
    cli: Any, tmp_path: Path
) -> None:
    assert cli("channel", "add", "hepsiburada", "--slug", "hb").exit_code == 0
    assert (
        cli(
            "channel",
            "set",
            "hb",
            'cargo_company_mapping={"hepsijet": 999, "default": 1}',
            "cancellation_reason_id=4",
            "default_reason_id=5",
            'refund_reason_mapping={"PoorQuality": "7"}',
        ).exit_code
        == 0
    )
    result = cli("channel", "validate", "hb")
    assert result.exit_code == 2
    out = result.output
    assert (
        "cargo_company_mapping.hepsijet: no local cargo company with id 999 (no cargo company is "
        "imported yet); import them with `pazar catalog import cargo_companies FILE`"
    ) in out
    assert "cargo_company_mapping.default: no local cargo company with id 1" in out
    assert "cancellation_reason_id: no local cancellation reason with id 4" in out
    assert "default_reason_id: no local refund reason with id 5" in out
    assert "refund_reason_mapping.PoorQuality: no local refund reason with id 7" in out

    (tmp_path / "cargo.csv").write_text("code,name\nyk,Yurtiçi Kargo\nhepsijet,HepsiJet\n")
    assert cli("catalog", "import", "cargo_companies", str(tmp_path / "cargo.csv")).exit_code == 0
    db = Database(cli.database_url)
    with db.session() as session:
        ids = dict(session.execute(select(CargoCompany.code, CargoCompany.id)).all())
    db.dispose()
    assert cli("channel", "set", "hb", f"cargo_company_mapping.default={ids['yk']}").exit_code == 0

    result = cli("channel", "validate", "hb", "--json")
    assert result.exit_code == 2
    report = json.loads(result.output)
    assert report["channel"] == "hb" and report["valid"] is False
    cargo = [p for p in report["problems"] if p.startswith("cargo_company_mapping")]
    assert cargo == [
        f"cargo_company_mapping.hepsijet: no local cargo company with id 999 (existing cargo "
        f"company ids: {ids['yk']} yk (Yurtiçi Kargo), {ids['hepsijet']} hepsijet (HepsiJet)); "
        "import them with `pazar catalog import cargo_companies FILE` (columns code, name, "
        "tracking_url)"
    ]
