"""``pazar --debug`` adds the traceback to an expected error; the message and the exit code
stay what they are without it (scripts check the code)."""

from __future__ import annotations

import pytest

from pazar.cli import main
from pazar.plugins import reset_plugin_system


def test_debug_adds_the_traceback_and_keeps_the_message_and_exit_code(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PAZAR_DATABASE_URL", db_url)
    monkeypatch.setenv("PAZAR_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("PAZAR_PLUGINS", "tests.testplugin")
    seen = []
    for debug in ([], ["--debug"]):
        reset_plugin_system()
        try:  # the console script exits with what main returns, or main exits itself
            code = main([*debug, "run", "testmarket/pussh", "--channel", "tm"])
        except SystemExit as exited:
            code = exited.code
        seen.append((code, capsys.readouterr().err))
    reset_plugin_system()
    (plain_code, plain), (debug_code, debugged) = seen
    assert plain_code == debug_code == 2  # no such channel: a validation error
    assert "Traceback" not in plain and "Traceback (most recent call last)" in debugged
    assert plain.splitlines()[0].startswith("error: ") and plain.splitlines()[0] in debugged
