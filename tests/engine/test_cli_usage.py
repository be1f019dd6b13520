"""A command used wrongly (a missing option, an unknown command or option, a bad value) gets
pazar's one ``error:`` line naming the command and where its help is, and exit code 2."""

from __future__ import annotations

import pytest

from pazar.testing import Cli

CASES = {
    ("run", "testmarket/push"): (
        "error: pazar run: Missing option '--channel'. See 'pazar run --help'."
    ),
    ("reportz",): (
        "error: pazar: No such command 'reportz'. Did you mean 'reports'? See 'pazar --help'."
    ),
    ("penalties", "release", "--channel", "tm", "--reason", "mapping"): (
        "error: pazar penalties release: Missing option '--content-type'. "
        "See 'pazar penalties release --help'."
    ),
    ("stock", "set", "S1", "-1"): (
        "error: pazar stock set: Invalid value for 'QUANTITY': -1 is not in the range "
        "0<=x<=2147483647. "
        "See 'pazar stock set --help'."
    ),
    ("daemon", "--once", "--workers", "0"): (
        "error: pazar daemon: Invalid value for '--workers': 0 is not in the range 1<=x<=64. "
        "See 'pazar daemon --help'."
    ),
    ("channel", "sett", "tm"): (
        "error: pazar channel: No such command 'sett'. Did you mean 'set'? "
        "See 'pazar channel --help'."
    ),
    # Integers are ASCII digits within what the database holds (2**63-1, or the column's
    # range): past it SQLite stopped the command with an OverflowError traceback.
    ("stock", "set", "S1", "5_0"): (
        "error: pazar stock set: Invalid value for 'QUANTITY': '5_0' is not an integer "
        "(digits 0-9, optionally signed). See 'pazar stock set --help'."
    ),
    ("stock", "set", "S1", "99999999999999999999999"): (
        "error: pazar stock set: Invalid value for 'QUANTITY': '99999999999999999999999' is too "
        "large (at most 2147483647). See 'pazar stock set --help'."
    ),
    ("logs", "show", "999999999999999999999"): (
        "error: pazar logs show: Invalid value for 'RUN_ID': '999999999999999999999' is too "
        "large (at most 9223372036854775807). See 'pazar logs show --help'."
    ),
    ("logs", "--limit", "99999999999999999999"): (
        "error: pazar logs: Invalid value for '--limit': '99999999999999999999' is too "
        "large (at most 9223372036854775807). See 'pazar logs --help'."
    ),
    ("orders", "list", "--limit", "99999999999999999999"): (
        "error: pazar orders list: Invalid value for '--limit': '99999999999999999999' is too "
        "large (at most 9223372036854775807). See 'pazar orders list --help'."
    ),
    ("refunds", "show", "٣"): (
        "error: pazar refunds show: Invalid value for 'REQUEST_ID': '٣' is not an integer "
        "(digits 0-9, optionally signed). See 'pazar refunds show --help'."
    ),
    ("logs", "--limit", "0"): (
        "error: pazar logs: Invalid value for '--limit': 0 is not in the range x>=1. "
        "See 'pazar logs --help'."
    ),
    ("daemon", "--once", "--wake-window", "nan"): (
        "error: pazar daemon: Invalid value for '--wake-window': 'nan' is not a finite number. "
        "See 'pazar daemon --help'."
    ),
}


@pytest.mark.parametrize("args", sorted(CASES), ids=" ".join)
def test_a_usage_error_is_one_line_naming_the_command(args: tuple[str, ...], cli: Cli) -> None:
    result = cli(*args)
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", CASES[args] + "\n")


def test_a_group_called_without_a_command_still_shows_its_help(cli: Cli) -> None:
    result = cli("channel")
    assert "Commands:" in result.output and "activate" in result.output


def test_an_unknown_sandbox_names_the_ones_there_are(cli: Cli) -> None:
    result = cli("sandbox", "hepsiburad")
    assert (result.exit_code, result.stderr) == (
        2,
        "error: unknown marketplace 'hepsiburad' (sandboxes: fashfed, hepsiburada); "
        "did you mean 'hepsiburada'?\n",
    )


def test_a_misspelt_choice_names_the_nearest_one(cli: Cli) -> None:
    result = cli("catalog", "import", "stock", "stocks.csv")
    assert result.exit_code == 2
    assert "'stock' is not one of 'addresses', " in result.output
    assert "'stocks'; did you mean 'stocks'? See 'pazar catalog import --help'." in result.output
    far = cli("logs", "--status", "zzz")
    assert far.exit_code == 2 and "did you mean" not in far.output


def test_an_argument_that_is_no_text_is_refused_before_anything_runs(cli: Cli) -> None:
    """A shell passes bytes; one that is no UTF-8 (or a lone surrogate) once reached the
    database and a traceback."""
    for arg in ("SK\udcffU", "\ud800"):
        result = cli("stock", "set", arg, "3")
        assert result.exit_code == 2
        assert "is not UTF-8 text; nothing was done. See 'pazar --help'." in result.output
    assert "'SK\\xffU'" in cli("stock", "set", "SK\udcffU", "3").output


def test_a_batch_number_past_what_the_database_holds_is_one_line(cli: Cli) -> None:
    result = cli("batches", "show", "99999999999999999999")
    assert (result.exit_code, result.stderr) == (
        2,
        "error: batch '99999999999999999999' is too large (at most 9223372036854775807)\n",
    )
