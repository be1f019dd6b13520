"""Fashfed config semantics as an operator sees them through ``pazar channel``: its own
MAX_RETRY_COUNT reading, EXPIRATION_HOUR in hours, the Send Cancel Reason ID rule, a flow
behind every flag, and a token that never shows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pazar.testing import Cli
from tests.fashfed.world import PLUGINS

# Ids are given in import order: cargo company 3, cancel reason 4, refund reason 5.
LOCAL_IDS = {
    "cargo_companies": "code,name\nyk,Yurtiçi\naras,Aras\nmng,MNG\n",
    "cancellation_reasons": "kind,code,name\n"
    + "".join(f"cancel,c{n},Cancel {n}\n" for n in range(1, 5))
    + "refund,r5,Refund 5\n",
}

READY = [
    "base_url=https://ff.example",
    "access_token=s3cret-token-value",
    'category_ids=["99ae4410-7631-452c-bfb0-b7d636ea95eb"]',
    "default_reason_id=5",
    "cancellation_reason_id=4",
    "cargo_company_mapping.default=3",
]


@pytest.fixture
def ff(db_url: str, tmp_path: Path) -> Cli:
    """A complete, inactive Fashfed channel ``ff``, the local ids its config names imported."""
    cli = Cli(db_url, plugins=PLUGINS)
    for kind, text in LOCAL_IDS.items():
        path = tmp_path / f"{kind}.csv"
        path.write_text(text, encoding="utf-8")
        assert cli("catalog", "import", kind, str(path)).exit_code == 0
    assert cli("channel", "add", "fashfed", "--slug", "ff").exit_code == 0
    result = cli("channel", "set", "ff", *READY)
    assert result.exit_code == 0, result.output
    return cli


def effective(cli: Cli, slug: str) -> dict[str, dict[str, str]]:
    shown = json.loads(cli("channel", "show", slug, "--json").output)
    return {row["section"]: row for row in shown["failed_integration_effective"]}


def test_show_prints_fashfeds_retry_count_as_attempts_allowed(ff: Cli) -> None:
    rows = effective(ff, "ff")
    # the seed's block: MAX_RETRY_COUNT 2 "more times to retry after an error"
    assert rows["DEFAULT"]["attempts"] == "3 (the first + 2 retries)"
    assert rows["DEFAULT"]["wait"] == "8h"
    assert rows["DEFAULT"]["window"] == "16h 0m 1s after the first failure"
    # order: 3 retries would be 4 attempts, but 8 h apart only 3 fit in 16 h 0 m 1 s
    assert rows["order"]["attempts"] == "4 (the first + 3 retries); the window fits 3"
    assert rows["sent_to_remote"]["window"] == "a batch waits at most 6h"
    table = ff("channel", "show", "ff").output
    assert "failed integration, effective" in table and "the first + 2 retries" in table


def test_hepsiburada_reads_max_retry_count_as_attempts(db_url: str) -> None:
    cli = Cli(db_url, plugins=PLUGINS)
    cli("channel", "add", "hepsiburada", "--slug", "hb")
    assert effective(cli, "hb")["DEFAULT"]["attempts"] == "3 (the first + 2 retries)"
    cli("channel", "set", "hb", "failed_integration.DEFAULT.MAX_RETRY_COUNT=2")
    assert effective(cli, "hb")["DEFAULT"]["attempts"] == "2 (the first + 1 retry)"


def test_zero_retries_is_valid_for_fashfed(ff: Cli) -> None:
    result = ff("channel", "set", "ff", "failed_integration.productstock.MAX_RETRY_COUNT=0")
    assert result.exit_code == 0, result.output
    assert effective(ff, "ff")["productstock"]["attempts"] == "1 (the first + 0 retries)"


def test_the_seeds_expiration_hour_example_is_accepted_with_a_warning(ff: Cli) -> None:
    result = ff("channel", "set", "ff", "failed_integration.sent_to_remote.EXPIRATION_HOUR=360")
    assert result.exit_code == 0, result.output
    checked = ff("channel", "validate", "ff")
    assert checked.exit_code == 0, checked.output
    assert "config is valid" in checked.stdout
    assert (
        "warning: failed_integration.sent_to_remote.EXPIRATION_HOUR is 360: the key is in hours"
        in checked.stderr
    )
    assert "if you meant 360 seconds, write 0.1" in checked.stderr
    assert effective(ff, "ff")["sent_to_remote"]["window"] == "a batch waits at most 360h"
    quiet = ff("channel", "set", "ff", "failed_integration.sent_to_remote.EXPIRATION_HOUR=6")
    assert quiet.exit_code == 0
    assert "warning" not in ff("channel", "validate", "ff").stderr


@pytest.mark.parametrize(
    ("assignments", "problem"),
    [
        (
            ["send_cancel_reason_id=4"],
            "send_cancel_reason_id: 4 is also cancellation_reason_id",
        ),
        (
            ['cancel_reason_mapping={"f3909f53": "7"}', "send_cancel_reason_id=7"],
            "send_cancel_reason_id: 7 is also the local reason of cancel_reason_mapping['f3909f53']",
        ),
    ],
)
def test_send_cancel_reason_id_must_differ_from_the_inbound_reasons(
    ff: Cli, assignments: list[str], problem: str
) -> None:
    before = ff("channel", "show", "ff", "--json").output
    result = ff("channel", "set", "ff", *assignments)
    assert result.exit_code == 2
    assert problem in result.output and "nothing was saved" in result.output
    assert "Traceback" not in result.output
    assert ff("channel", "show", "ff", "--json").output == before
    assert ff("channel", "set", "ff", "send_cancel_reason_id=10").exit_code == 0


def test_a_base_url_with_the_api_path_is_refused(ff: Cli) -> None:
    """The client adds /api/i2: such a base_url called /api/api/i2/... and got 404s."""
    before = ff("channel", "show", "ff", "--json").output
    for url in ("https://x.lb.akinoncloud.com/api", "https://x.lb.akinoncloud.com/api/i2/"):
        result = ff("channel", "set", "ff", f"base_url={url}")
        assert result.exit_code == 2
        assert "base_url: ends with /api" in result.stderr
        assert "pazar adds /api/i2/... itself" in result.stderr
    assert ff("channel", "show", "ff", "--json").output == before
    assert ff("channel", "set", "ff", "base_url=https://x.lb.akinoncloud.com").exit_code == 0


def test_apply_and_validate_apply_the_same_rule(ff: Cli, tmp_path: Path) -> None:
    doc = tmp_path / "ff.yaml"
    doc.write_text(
        "channel: ff2\nplugin: fashfed\nconfig:\n  cancellation_reason_id: 4\n"
        "  send_cancel_reason_id: 4\n",
        encoding="utf-8",
    )
    applied = ff("channel", "apply", str(doc))
    assert applied.exit_code == 2
    assert "send_cancel_reason_id: 4 is also cancellation_reason_id" in applied.output
    assert "no channel 'ff2'" in ff("channel", "show", "ff2").output


def test_every_fashfed_flag_has_a_flow(ff: Cli) -> None:
    shown = json.loads(ff("channel", "show", "ff", "--json").output)["config"]["feature_flags"]
    every = sorted(shown)
    # the seed's section 9 and default block (split_packages twice), and pazar's listings
    assert len(every) == 14 and "listings" in every
    result = ff("channel", "set", "ff", *(f"feature_flags.{flag}=true" for flag in every))
    assert result.exit_code == 0, result.output
    listed = ff("flows", "list", "--plugin", "fashfed", "--json").output
    flagged = {row["feature_flag"] for row in json.loads(listed)} - {None}
    assert flagged == set(every)


def test_the_token_never_shows(ff: Cli) -> None:
    for args in (("channel", "show", "ff"), ("channel", "show", "ff", "--json")):
        out = ff(*args).output
        assert "s3cret-token-value" not in out and "********" in out
