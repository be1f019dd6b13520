"""A real daemon process: it runs a scheduled flow, then SIGTERM ends it with exit code 0."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from sqlalchemy import func, select

from pazar.db import Database
from pazar.models.runs import Run

ROOT = Path(__file__).resolve().parents[2]


def _pazar(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "-m", "pazar", *args], env=env, check=True, capture_output=True)


def test_sigterm_stops_the_daemon_cleanly(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'daemon.db'}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PAZAR_")},
        "PAZAR_DATABASE_URL": url,
        "PAZAR_PLUGINS": "pazar_hepsiburada,pazar_fashfed,tests.testplugin",
        "PAZAR_DISABLE_PLUGIN_AUTOLOAD": "1",
        "PYTHONPATH": str(ROOT),
    }
    _pazar(env, "channel", "add", "testmarket", "--slug", "tm")
    _pazar(env, "channel", "set", "tm", "feature_flags.push=true")
    _pazar(env, "channel", "activate", "tm")
    daemon = subprocess.Popen(
        [sys.executable, "-m", "pazar", "daemon", "--poll", "0.2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    db = Database(url)
    try:
        waited = threading.Event()
        for _ in range(300):  # up to 30 s for the first scheduled run
            with db.session() as session:
                if session.scalar(
                    select(func.count()).select_from(Run).where(Run.status != "running")
                ):
                    break
            waited.wait(0.1)
        daemon.send_signal(signal.SIGTERM)
        _out, err = daemon.communicate(timeout=30)
    finally:
        if daemon.poll() is None:
            daemon.kill()
        db.dispose()
    assert daemon.returncode == 0, err
    assert "stopping" in err and "testmarket/push (schedule): success" in err
    assert "Traceback" not in err
