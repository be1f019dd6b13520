"""Secrets never reach a template, an output, a log line or an error, and ``env:``
references read only variables the operator allowed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from pazar.config_schema import defaults, load_schema
from pazar.db import Database
from pazar.models.runs import Run, RunLog
from pazar.secret_policy import env_name_allowed, template_view
from pazar.templating import TemplateEnv, TemplateError
from tests.dbdigest import digest

CANARY = "canary-Zx9-s3cr3t-value"
PLUGINS = "pazar_hepsiburada,pazar_fashfed,tests.testplugin,tests.leaky_plugin"

LEAKY_FLOW = """\
flow: leak
title: Leak
plugin: testmarket
feature_flag: push
content_type: productstock
source: {type: testmarket.generate, count: 3}
steps:
  - type: core.map
    fields:
      sku: "{{ record.sku }}"
      whole: "{{ config }}"
      json: "{{ config | tojson }}"
      pairs: "{{ config.items() | list }}"
      values: "{% for k, v in config.items() %}{{ v }}{% endfor %}"
sink: {type: testmarket.collect}
"""

QUOTING_FLOW = """\
flow: quoting
title: Quoting
plugin: testmarket
feature_flag: push
content_type: productstock
source: {type: testmarket.generate, count: 3}
sink: {type: leaky.quoting_sink, crash: %s}
"""


def _setup(cli, tmp_path: Path, *settings: str) -> dict[str, str]:  # noqa: ANN001
    flows = tmp_path / "flows" / "testmarket"
    flows.mkdir(parents=True, exist_ok=True)
    (flows / "leak.yaml").write_text(LEAKY_FLOW, encoding="utf-8")
    (flows / "quoting.yaml").write_text(QUOTING_FLOW % "false", encoding="utf-8")
    (flows / "crashing.yaml").write_text(
        (QUOTING_FLOW % "true").replace("flow: quoting", "flow: crashing"), encoding="utf-8"
    )
    env = {"PAZAR_FLOWS_PATH": str(tmp_path / "flows"), "PAZAR_PLUGINS": PLUGINS}
    assert cli("channel", "add", "testmarket", "--slug", "tm", env=env).exit_code == 0
    result = cli("channel", "set", "tm", "feature_flags.push=true", *settings, env=env)
    assert result.exit_code == 0, result.output
    assert cli("channel", "activate", "tm", env=env).exit_code == 0
    return env


def _stored_text(url: str) -> str:
    db = Database(url)
    try:
        with db.session() as session:
            runs = [r.error or "" for r in session.scalars(select(Run))]
            logs = [line.message for line in session.scalars(select(RunLog))]
            from pazar.models.state import FailedIntegration

            penalties = [p.message or "" for p in session.scalars(select(FailedIntegration))]
        return "\n".join(runs + logs + penalties)
    finally:
        db.dispose()


@pytest.mark.parametrize("how", ["literal", "env"])
def test_templates_see_a_config_without_its_secrets(cli, tmp_path: Path, how: str) -> None:  # noqa: ANN001
    setting = "api_key=" + (CANARY if how == "literal" else "env:PAZAR_SECRET_TM_KEY")
    env = _setup(cli, tmp_path, setting)
    env["PAZAR_SECRET_TM_KEY"] = CANARY
    result = cli("run", "testmarket/leak", "--channel", "tm", "--dry-run", env=env)
    assert result.exit_code == 0, result.output
    payloads = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(payloads) == 3
    assert "base_url" in payloads[0]["json"]  # the rest of the config is there
    assert CANARY not in result.output
    result = cli("run", "testmarket/leak", "--channel", "tm", env=env)
    assert result.exit_code == 0, result.output
    assert CANARY not in result.output


def test_a_template_reading_a_secret_is_refused_when_the_flow_is_validated(
    cli, tmp_path: Path
) -> None:  # noqa: ANN001
    flows = tmp_path / "flows" / "testmarket"
    flows.mkdir(parents=True)
    (flows / "steal.yaml").write_text(
        LEAKY_FLOW.replace("flow: leak", "flow: steal").replace(
            '"{{ config }}"', '"{{ config.api_key }}"'
        ),
        encoding="utf-8",
    )
    result = cli("flows", "validate", env={"PAZAR_FLOWS_PATH": str(tmp_path / "flows")})
    assert result.exit_code == 2
    assert "steal.yaml:11: /steps/0/fields/whole: config.api_key is a secret" in result.output


@pytest.mark.parametrize("crash", [False, True])
def test_errors_that_quote_the_resolved_config_are_stored_masked(
    cli, tmp_path: Path, db_url: str, crash: bool
) -> None:  # noqa: ANN001
    env = _setup(cli, tmp_path, "api_key=env:PAZAR_SECRET_TM_KEY")
    env["PAZAR_SECRET_TM_KEY"] = CANARY
    flow = "testmarket/crashing" if crash else "testmarket/quoting"
    result = cli("run", flow, "--channel", "tm", env=env)
    assert CANARY not in result.output
    stored = _stored_text(db_url)
    assert "********" in stored
    assert CANARY not in stored


def test_env_references_name_only_allowed_variables(cli, db_url: str) -> None:  # noqa: ANN001
    assert cli("channel", "add", "testmarket", "--slug", "tm").exit_code == 0
    before = digest(db_url)
    result = cli("channel", "set", "tm", "api_key=env:HOME")
    assert result.exit_code == 2
    assert (
        "api_key: environment variable HOME may not be used for a secret; name one that "
        "starts with PAZAR_SECRET_" in result.stderr
    )
    assert "PAZAR_SECRET_ENV_ALLOW" in result.stderr
    assert digest(db_url) == before
    doc = "channel: tm\nconfig:\n  api_key: env:DATABASE_URL\n"
    result = cli("channel", "apply", "-", input=doc)
    assert result.exit_code == 2 and "DATABASE_URL may not be used" in result.stderr
    assert digest(db_url) == before
    allowed = {"PAZAR_SECRET_ENV_ALLOW": "HB_*, TM_API_KEY"}
    assert cli("channel", "set", "tm", "api_key=env:TM_API_KEY", env=allowed).exit_code == 0
    assert cli("channel", "set", "tm", "api_key=env:HB_PASSWORD", env=allowed).exit_code == 0
    assert cli("channel", "set", "tm", "api_key=env:PAZAR_SECRET_TM").exit_code == 0


@pytest.mark.parametrize(
    "value",
    [
        "env: PAZAR_SECRET_TM",
        "ENV:PAZAR_SECRET_TM",
        " env:PAZAR_SECRET_TM",
        "env:",
        "env:PAZAR_SECRET_TM x",
        "env:PAZAR_SECRET_A=B",
    ],
)
def test_a_mistyped_env_reference_is_refused_not_kept_as_the_secret(
    cli,
    db_url: str,
    value: str,  # noqa: ANN001
) -> None:
    """Kept, it would have gone to the marketplace as the API key itself."""
    assert cli("channel", "add", "testmarket", "--slug", "tm").exit_code == 0
    before = digest(db_url)
    result = cli("channel", "set", "tm", f"api_key={value}")
    assert result.exit_code == 2
    assert "api_key: looks like an env: reference but is not one; write exactly env:NAME" in (
        result.stderr
    )
    assert digest(db_url) == before


def test_a_stored_reference_that_is_no_longer_allowed_fails_the_run_naming_it(
    cli, tmp_path: Path, db_url: str
) -> None:  # noqa: ANN001
    allowed = {"PAZAR_SECRET_ENV_ALLOW": "TM_API_KEY", "TM_API_KEY": CANARY}
    _setup(cli, tmp_path)
    assert cli("channel", "set", "tm", "api_key=env:TM_API_KEY", env=allowed).exit_code == 0
    result = cli("run", "testmarket/push", "--channel", "tm", env={"TM_API_KEY": CANARY})
    assert result.exit_code == 1
    assert "api_key" in result.output and "TM_API_KEY may not be used" in result.output
    assert CANARY not in result.output + _stored_text(db_url)


def test_the_allowlist_rule() -> None:
    environ = {"PAZAR_SECRET_ENV_ALLOW": "HB_PASSWORD, VAULT_*"}
    assert env_name_allowed("PAZAR_SECRET_X", environ)
    assert env_name_allowed("HB_PASSWORD", environ)
    assert env_name_allowed("VAULT_HB", environ)
    assert not env_name_allowed("HB_PASSWORD2", environ)
    assert not env_name_allowed("HOME", environ)
    assert not env_name_allowed("HB_PASSWORD", {})


HB_SCHEMA = load_schema("channel/hepsiburada.json")
ENV = TemplateEnv()
_accessors = st.sampled_from(
    [
        "config",
        "config.password",
        "config['password']",
        "config.get('password')",
        "config | tojson",
        "config.values() | list",
        "config | dictsort",
        "config.items() | map('last') | join(',')",
        "config | attr('password')",
        "config.password | default('none')",
    ]
)


@settings(max_examples=200, deadline=None)
@given(
    accessor=_accessors,
    wrapper=st.sampled_from(
        ["{{ %s }}", "x{{ %s }}y", "{%% for v in [%s] %%}{{ v }}{%% endfor %%}"]
    ),
)
def test_no_template_output_or_error_contains_a_secret(accessor: str, wrapper: str) -> None:
    config = {**defaults(HB_SCHEMA), "password": CANARY, "username": "merchant"}
    context = {"config": template_view(HB_SCHEMA, config), "record": {"sku": "A"}}
    try:
        text = str(ENV.expression(wrapper % accessor, "w").render(context))
    except TemplateError as exc:
        text = exc.message
    assert CANARY not in text


def test_a_mapping_rule_reading_a_secret_is_refused_when_applied(cli, tmp_path: Path) -> None:  # noqa: ANN001
    assert cli("channel", "add", "testmarket", "--slug", "tm").exit_code == 0
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(
        'defaults:\n  UrunAdi: "{{ product.name }}"\n  Gizli: "{{ config.api_key }}"\n'
        "categories:\n  - category: 1\n    match: {local_category: A}\n",
        encoding="utf-8",
    )
    result = cli("mapping", "apply", "--channel", "tm", str(mapping))
    assert result.exit_code == 2, result.output
    assert "mapping.yaml:3: /defaults/Gizli: config.api_key is a secret" in result.output
    assert "no mapping" in cli("mapping", "show", "--channel", "tm").output
