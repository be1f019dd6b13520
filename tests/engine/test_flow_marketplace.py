"""A flow runs only on a channel of its own marketplace: bare names resolve within the
channel's plugin, and another marketplace's flow is refused wherever it is asked for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from pazar.clock import FixedClock
from pazar.daemon import Daemon
from pazar.db import Database
from pazar.jobs.queue import enqueue
from pazar.models.jobs import Job
from pazar.models.state import FailedIntegration
from pazar.plugins import load_plugins


def _shop(cli: Any, tmp_path: Path) -> None:
    files = {
        "products": "sku,name\nS-1,One\nS-2,Two\n",
        "stocks": "sku,quantity\nS-1,5\nS-2,6\n",
        "catalog_items": "catalog,sku\nff,S-1\nff,S-2\nhb,S-1\nhb,S-2\n",
    }
    for kind, text in files.items():
        path = tmp_path / f"{kind}.csv"
        path.write_text(text)
        assert cli("catalog", "import", kind, str(path)).exit_code == 0
    assert cli("channel", "add", "fashfed", "--slug", "ff").exit_code == 0
    assert cli("channel", "add", "hepsiburada", "--slug", "hb").exit_code == 0


def test_a_bare_flow_name_is_the_channels_own_flow(cli: Any, tmp_path: Path) -> None:
    _shop(cli, tmp_path)
    result = cli("run", "stock", "--channel", "ff", "--dry-run", "--force")
    assert result.exit_code == 0, result.output
    assert '{"sku":"S-1","stock":5}' in result.output  # Fashfed's stock row
    result = cli("run", "stock", "--channel", "hb", "--dry-run", "--force")
    assert '"merchantSku":"S-1"' in result.output  # Hepsiburada's
    unknown = cli("run", "stok", "--channel", "ff", "--dry-run")
    assert unknown.exit_code == 2
    assert "fashfed has no flow 'stok'; did you mean 'stock'?" in unknown.output


def test_another_marketplaces_flow_is_refused_before_anything_runs(
    cli: Any, tmp_path: Path, db_url: str
) -> None:
    _shop(cli, tmp_path)
    for args in (
        ("run", "hepsiburada/stock", "--channel", "ff", "--force"),
        ("run", "hepsiburada/stock", "--channel", "ff", "--dry-run"),
        ("trigger", "hepsiburada/stock", "--channel", "ff", "--sku", "S-1", "--now"),
    ):
        result = cli(*args)
        assert result.exit_code == 2, (args, result.output)
        assert "flow hepsiburada/stock belongs to hepsiburada; channel 'ff' is a fashfed" in (
            result.output
        )
        assert "Traceback" not in result.output
    assert cli("logs", "--channel", "ff", "--json").output.strip() == "[]"
    db = Database(db_url)
    with db.session() as session:
        assert session.scalars(select(FailedIntegration)).all() == []
    db.dispose()


def test_the_daemon_refuses_a_queued_job_of_another_marketplace(
    db: Database, monkeypatch: Any, clock: FixedClock, cli: Any, tmp_path: Path
) -> None:
    _shop(cli, tmp_path)
    monkeypatch.setenv("PAZAR_PLUGINS", "pazar_hepsiburada,pazar_fashfed")
    registry = load_plugins().registry
    with db.session() as session:
        from pazar.channels import ChannelService

        ff = ChannelService(session, registry, clock=clock).get("ff").id
        job_id = enqueue(
            session, channel_id=ff, flow="hepsiburada/stock", trigger="manual", now=clock.now()
        )
    Daemon(db, registry, clock=clock, say=lambda _m: None).drain()
    with db.session() as session:
        job = session.get(Job, job_id)
        assert job.status == "failed"
        assert "belongs to hepsiburada; channel 'ff' is a fashfed channel" in (job.error or "")
        assert session.scalars(select(FailedIntegration)).all() == []
