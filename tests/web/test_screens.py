"""The dashboard's screens as an operator meets them (in-process HTTP, SQLite and
PostgreSQL): what each shows, and bad input refused with one clear message naming what
and where, nothing changed."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from pazar.models.channels import Channel
from pazar.models.jobs import Job
from pazar.models.runs import Run, RunLog
from pazar.models.state import FailedIntegration
from pazar.state.outcomes import Failure, penalize
from tests.dbdigest import digest
from tests.web.conftest import Client, Site

pytestmark = pytest.mark.postgres

TEMPLATES = Path(__file__).resolve().parents[2] / "core" / "web"


def _add_channel(client: Client, slug: str = "hb") -> None:
    response = client.post("/ui/channels", {"plugin": "hepsiburada", "slug": slug, "name": "HB"})
    assert response.status_code == 303, response.text


def _products(site: Site, tmp: Path, skus: list[str]) -> dict[str, int]:
    from pazar.commerce.importers import import_file
    from pazar.models.commerce import Product

    path = tmp / "products.csv"
    path.write_text("sku,name\n" + "".join(f"{s},{s}\n" for s in skus), encoding="utf-8")
    with site.db.session() as session:
        import_file(session, "products", path)
        return dict(session.execute(select(Product.sku, Product.id)).all())


def _penalise(site: Site, slug: str, ids: dict[str, int], reason: str = "remote") -> None:
    with site.db.session() as session:
        channel = session.scalar(select(Channel).where(Channel.slug == slug))
        penalize(
            session,
            channel_id=channel.id,
            config=channel.config,
            now=site.clock.now(),
            failures=[Failure("productstock", i, s, 1, "rejected", reason) for s, i in ids.items()],
        )


# --------------------------------------------------------------------------- channels


def test_the_config_form_is_the_schemas(site: Site) -> None:
    admin = site.as_("admin")
    _add_channel(admin)
    page = admin.get("/ui/channels/hb").text
    label = re.search(r'<label for="f-merchant_id">(.*?)</label>', page, re.S).group(1)
    assert "Merchant Id" in label and 'class="req"' in label and ">text<" in label
    assert re.search(r'<label for="f-category_ids">.*?>list<', page, re.S)
    assert re.search(r'<label for="f-buffer_stock">.*?>integer<', page, re.S)
    assert 'id="f-use_neighborhood" name="use_neighborhood" type="checkbox"' in page
    assert 'name="feature_flags.stock"' in page  # flags as checkboxes
    assert 'type="password"' in page
    assert "Mağaza Hesabı Kargo Firması" in page  # the seed's own label, from the schema title


def test_a_bad_value_is_named_and_nothing_is_saved(site: Site) -> None:
    operator = site.as_("operator")
    _add_channel(operator)
    before = digest(site.url)
    response = operator.post(
        "/ui/channels/hb",
        {
            "present": ["buffer_stock", "cargo_company_mapping", "erp_code"],
            "buffer_stock": "-3",
            "cargo_company_mapping": '{"default": ',
            "erp_code": "TY",
        },
    )
    assert response.status_code == 422
    assert "nothing was saved" in response.text
    assert re.search(
        r'id="field-cargo_company_mapping".*?field-error[^>]*>cargo_company_mapping:',
        response.text,
        re.S,
    )
    assert 'value="TY"' in response.text  # what was typed stays in the form
    assert digest(site.url) == before


def test_activation_lists_what_is_missing_then_history_shows_old_and_new(site: Site) -> None:
    operator = site.as_("operator")
    _add_channel(operator)
    refused = operator.post("/ui/channels/hb/status", {"status": "active"})
    assert refused.status_code == 422
    assert "cannot be activated" in refused.text and "merchant_id" in refused.text
    operator.post("/ui/channels/hb", {"present": "erp_code", "erp_code": "TY", "note": "erp"})
    operator.post("/ui/channels/hb", {"present": "erp_code", "erp_code": "HB"})
    history = operator.get("/ui/channels/hb/history").text
    assert re.search(
        r"<code>erp_code</code>: <span class=\"old\">TY</span> → <span class=\"new\">HB</span>",
        history,
    )
    assert "erp" in history


def test_saving_category_ids_queues_the_category_flows(site: Site) -> None:
    operator = site.as_("operator")
    _add_channel(operator)
    saved = operator.post(
        "/ui/channels/hb", {"present": "category_ids", "category_ids": "60001001\n60002001"}
    )
    page = operator.follow(saved)
    assert "Queued flows: category_node, category_attributes." in page.text
    with site.db.session() as session:
        assert session.scalar(select(Channel.config).where(Channel.slug == "hb"))[
            "category_ids"
        ] == [
            60001001,
            60002001,
        ]
        assert sorted(session.scalars(select(Job.flow))) == [
            "hepsiburada/category_attributes",
            "hepsiburada/category_node",
        ]


def test_validate_names_every_problem(site: Site) -> None:
    viewer_sees = site.as_("admin")
    _add_channel(viewer_sees)
    page = site.as_("viewer").get("/ui/channels/hb/validate").text
    assert "problem(s) keep this channel from running" in page
    assert "username: is required (Username) but empty" in page


def test_turkish_labels_with_the_schemas_titles(site: Site) -> None:
    operator = site.as_("operator")
    _add_channel(operator)
    operator.post("/ui/lang", {"lang": "tr", "next": "/ui/channels/hb"})
    page = operator.get("/ui/channels/hb").text
    assert '<html lang="tr">' in page
    assert "Ayarlar" in page and "Kaydet" in page and "Kanallar" in page
    assert "Merchant Id" in page  # channel labels stay the schema's titles


def test_every_label_has_a_turkish_translation() -> None:
    from pazar.web.i18n import TR

    found: set[str] = set()
    for path in TEMPLATES.rglob("*.html"):
        found |= {
            m.group(2)
            for m in re.finditer(r"""_\(\s*(['"])((?:(?!\1).)*)\1\s*\)""", path.read_text())
        }
    for path in TEMPLATES.rglob("*.py"):
        for m in re.finditer(r"""page\._\(\s*((?:(['"])(?:(?!\2).)*\2\s*)+)""", path.read_text()):
            found.add("".join(p[1] for p in re.findall(r"""(['"])((?:(?!\1).)*)\1""", m.group(1))))
    assert len(found) > 250
    assert sorted(found - set(TR)) == []


# --------------------------------------------------------------------------- logs, reports


def test_logs_filter_by_flow_status_time_and_sku(site: Site) -> None:
    operator = site.as_("operator")
    _add_channel(operator)
    now = site.clock.now()
    with site.db.session() as session:
        channel_id = session.scalar(select(Channel.id))
        for n, (flow, status) in enumerate(
            [("stock", "success"), ("price", "error"), ("stock", "running")]
        ):
            run = Run(
                plugin="hepsiburada",
                flow=flow,
                channel_id=channel_id,
                trigger="schedule",
                status=status,
                started_at=now,
                read=n,
                sent=0,
                succeeded=0,
                failed=0,
                skipped=0,
            )
            session.add(run)
            session.flush()
            session.add(
                RunLog(
                    run_id=run.id,
                    object_id=f"SKU-{n}",
                    level="error",
                    message=f"remote: rejected {n}",
                    created_at=now,
                )
            )
    viewer = site.as_("viewer")
    page = viewer.get("/ui/logs").text
    assert page.count("<tr>") >= 4 and "data-live=" in page  # a run is going
    assert "Stock <small>hepsiburada/stock</small>" in page  # the seed's title
    stock = viewer.get("/ui/logs?flow=hepsiburada/stock").text
    assert "hepsiburada/price" not in stock.split("<tbody")[1]
    errors = viewer.get("/ui/logs?status=error").text.split("<tbody")[1]
    assert "hepsiburada/price" in errors and "hepsiburada/stock" not in errors
    by_sku = viewer.get("/ui/logs?sku=SKU-2").text.split("<tbody")[1]
    assert by_sku.count("<tr>") == 1 and "hepsiburada/stock" in by_sku
    rows = viewer.get("/ui/logs?part=rows")
    assert rows.headers["x-live"] == "1" and "<html" not in rows.text
    bad = viewer.get("/ui/logs?since=yesterday-ish")
    assert bad.status_code == 422 and "expected a duration like 30m" in bad.text
    typo = viewer.get("/ui/logs?flow=stok")
    assert typo.status_code == 422 and "did you mean" in typo.text


def test_a_run_shows_its_records(site: Site) -> None:
    admin = site.as_("admin")
    _add_channel(admin)
    with site.db.session() as session:
        run = Run(
            plugin="hepsiburada",
            flow="stock",
            channel_id=session.scalar(select(Channel.id)),
            trigger="manual",
            status="partial",
            started_at=site.clock.now(),
            read=2,
            sent=2,
            succeeded=1,
            failed=1,
            skipped=0,
        )
        session.add(run)
        session.flush()
        session.add(
            RunLog(
                run_id=run.id,
                object_id="SKU-9",
                level="error",
                message="remote: Stock data not found",
                created_at=site.clock.now(),
            )
        )
        run_id = run.id
    page = admin.get(f"/ui/logs/{run_id}").text
    assert "SKU-9" in page and "Stock data not found" in page and "data-live" not in page
    assert admin.get("/ui/logs/999999").status_code == 404


def test_reports_without_a_snapshot_name_the_flow_to_run(site: Site) -> None:
    admin = site.as_("admin")
    _add_channel(admin)
    page = admin.get("/ui/reports?channel=hb&report=not_listed")
    assert page.status_code == 200
    assert "has no listings snapshot yet; run its listings flow" in page.text
    download = admin.get("/ui/reports/download?channel=hb&report=not_listed&format=csv")
    assert download.status_code == 409
    assert admin.get("/ui/reports?report=not_lsted").status_code == 422


# --------------------------------------------------------------------------- penalties, triggers


def test_release_one_a_selection_and_all(site: Site, tmp_path: Path) -> None:
    operator = site.as_("operator")
    _add_channel(operator)
    ids = _products(site, tmp_path, ["A", "B", "C", "D"])
    _penalise(site, "hb", ids)
    page = operator.get("/ui/penalties?channel=hb").text
    assert "productstock" in page and page.count('name="key"') == 4

    def released() -> set[str]:
        with site.db.session() as session:
            return set(
                session.scalars(
                    select(FailedIntegration.object_key).where(
                        FailedIntegration.released_at.is_not(None)
                    )
                )
            )

    operator.post("/ui/penalties/release", {"channel": "hb", "one": "hb|productstock|A"})
    assert released() == {"A"}
    operator.post(
        "/ui/penalties/release",
        {"channel": "hb", "key": ["hb|productstock|B", "hb|productstock|C"]},
    )
    assert released() == {"A", "B", "C"}
    done = operator.post(
        "/ui/penalties/release",
        {"all": "1", "channel": "hb", "content_type": "productstock", "reason": "remote"},
    )
    assert "Released 4 penalty(ies)" in operator.follow(done).text
    assert released() == {"A", "B", "C", "D"}


def test_a_csv_with_another_header_gets_the_seeds_message(site: Site, tmp_path: Path) -> None:
    operator = site.as_("operator")
    _add_channel(operator)
    _penalise(site, "hb", _products(site, tmp_path, ["A"]))
    before = digest(site.url)
    response = operator.post(
        "/ui/penalties/csv",
        {"channel": "hb", "content_type": "productstock"},
        files={"file": ("skus.csv", b"SKU;code\nA\n", "text/csv")},
    )
    assert response.status_code == 422
    assert (
        "skus.csv:1: sku cannot identify please check your csv file. Header value should be set this: sku"
        in response.text
    )
    assert digest(site.url) == before
    not_text = operator.post(
        "/ui/penalties/csv",
        {"channel": "hb", "content_type": "productstock"},
        files={"file": ("skus.csv", b"sku\n\xfd\xfe\n", "text/csv")},
    )
    assert not_text.status_code == 422 and "skus.csv:2" in not_text.text
    assert digest(site.url) == before


def test_a_trigger_lists_what_it_cannot_take_with_the_seeds_messages(
    site: Site, tmp_path: Path
) -> None:
    operator = site.as_("operator")
    _add_channel(operator)
    _products(site, tmp_path, ["A"])
    response = operator.post(
        "/ui/trigger",
        {"channel": "hb", "flow": "hepsiburada/stock", "skus": "A\nGHOST"},
    )
    text = response.text
    assert "GHOST</code>: The relevant SKU not exists in the commerce backend. SKU: GHOST" in text
    wrong = operator.post(
        "/ui/trigger",
        {"channel": "hb", "flow": "hepsiburada/stock"},
        files={"file": ("t.csv", b"code\nA\n", "text/csv")},
    )
    assert wrong.status_code == 422 and "Header value should be set this: sku" in wrong.text


# --------------------------------------------------------------------------- refunds, files


def test_a_file_that_is_not_an_image_is_refused_by_name(site: Site) -> None:
    operator = site.as_("operator")
    assert operator.get("/ui/refunds").status_code == 200
    from pazar.files import Upload, store_image

    with site.db.session() as session, pytest.raises(Exception) as refused:
        store_image(
            session,
            Upload("evil.png", b"<script>x</script>"),
            purpose="refund",
            uploaded_by="t",
            now=site.clock.now(),
        )
    assert "photo 'evil.png': not a JPEG, PNG, GIF or WebP image" in str(refused.value)
    assert operator.get("/files/nope/x.png").status_code == 404


# --------------------------------------------------------------------------- alarms, mapping


def test_a_bad_alarm_lists_every_problem_and_stores_nothing(site: Site) -> None:
    operator = site.as_("operator")
    before = digest(site.url)
    response = operator.post(
        "/ui/alarms/new",
        {
            "name": "bad name!",
            "kind": "error_rate",
            "flow": "hepsiburada/stok",
            "interval": "1 week",
            "threshold": "",
            "emails": "not-an-address",
        },
    )
    assert response.status_code == 422
    for part in (
        "name 'bad name!'",
        "no flow 'hepsiburada/stok'",
        "interval '1 week'",
        "needs --threshold",
        "e-mail address 'not-an-address' is not valid",
    ):
        assert part in html.unescape(response.text), part
    assert 'value="1 week"' in response.text
    assert digest(site.url) == before


def test_value_maps_are_edited_as_csv(site: Site) -> None:
    operator = site.as_("operator")
    _add_channel(operator)
    document = (
        "version: 1\ncategories:\n  - category: 60001001\n    match: {local_category: A}\n"
        "    attributes:\n      Renk: {value: '{{ product.attributes.color }}', values: colours}\n"
        "value_maps:\n  colours: {Lacivert: Lacivert Mavi}\n"
    )
    saved = operator.post("/ui/mapping/document", {"channel": "hb", "document": document})
    assert saved.status_code == 303, saved.text
    page = operator.get("/ui/mapping?channel=hb").text
    assert "colours,Lacivert,Lacivert Mavi" in page
    bad = operator.post("/ui/mapping/values", {"channel": "hb", "values": "map,local\ncolours,x\n"})
    assert bad.status_code == 422
    good = operator.post(
        "/ui/mapping/values",
        {"channel": "hb", "values": "map,local_value,marketplace_value\ncolours,Kirmizi,Kırmızı\n"},
    )
    assert "Value maps saved (mapping revision 2)." in operator.follow(good).text
    assert "colours,Kirmizi,Kırmızı" in operator.get("/ui/mapping?channel=hb").text


# --------------------------------------------------------------------------- users (CLI)


def test_users_are_managed_with_the_cli(site: Site, cli) -> None:  # noqa: ANN001
    added = cli("users", "add", "ayse", "--role", "operator", "--password-stdin", input="short\n")
    assert added.exit_code == 2 and "at least 10 characters" in added.output
    blank = cli("users", "add", "ayse", "--password-stdin", input=" " * 12 + "\n")
    assert blank.exit_code == 2 and "password: not only spaces" in blank.output
    no_tty = cli("users", "add", "ayse", input="")  # a cron job: no terminal to prompt on
    assert no_tty.exit_code == 2 and "--password-stdin" in no_tty.stderr
    assert (
        cli(
            "users",
            "add",
            "ayse",
            "--role",
            "operator",
            "--password-stdin",
            input="ayse-password-1\n",
        ).exit_code
        == 0
    )
    twin = cli("users", "add", "Ayse", "--password-stdin", input="ayse-password-2\n")
    assert twin.exit_code == 2
    assert "username 'Ayse': 'ayse' exists already (names differ by case only)" in twin.output
    listed = cli("users", "list")
    assert (
        "ayse" in listed.output
        and "operator" in listed.output
        and "ayse-password" not in listed.output
    )
    client = site.anonymous()
    client.get("/ui/login")
    assert (
        client.post("/ui/login", {"username": "ayse", "password": "ayse-password-1"}).status_code
        == 303
    )
    assert (
        cli("users", "passwd", "ayse", "--password-stdin", input="another-password-2\n").exit_code
        == 0
    )
    assert client.get("/ui/dashboard").status_code == 303  # the old session ended
    assert cli("users", "delete", "ayse").exit_code == 0
    assert cli("users", "delete", "ayse").exit_code == 2
    audit = site.as_("admin").get("/ui/audit").text
    assert ">user.passwd<" in audit and ">user.delete<" in audit


def test_the_daemons_screen_counts_records_waiting_for_their_product(
    site: Site, tmp_path: Path
) -> None:
    from pazar.models.state import IntegrationWait

    viewer = site.as_("viewer")
    _add_channel(site.as_("admin"))
    assert "Nothing waits." in viewer.get("/ui/daemons").text
    ids = _products(site, tmp_path, ["A-1", "A-2"])
    with site.db.session() as session:
        channel = session.scalar(select(Channel).where(Channel.slug == "hb"))
        session.add_all(
            IntegrationWait(
                channel_id=channel.id,
                content_type="productstock",
                object_id=object_id,
                object_key=sku,
                needs="product",
                since=site.clock.now(),
            )
            for sku, object_id in ids.items()
        )
    page = viewer.get("/ui/daemons").text
    row = re.search(r"<tr><td>hb</td><td>productstock</td><td>product</td>.*?</tr>", page)
    assert row and '<td class="num">2</td>' in row.group(0)


def test_the_trigger_screen_offers_its_template_and_only_flows_of_its_channels(
    site: Site,
) -> None:
    operator = site.as_("operator")
    _add_channel(operator)  # a Hepsiburada channel only
    page = operator.get("/ui/trigger").text
    assert 'value="hepsiburada/stock"' in page
    assert 'value="fashfed/' not in page  # no Fashfed channel: none of its flows
    assert 'href="/ui/trigger/template.csv"' in page
    template = operator.get("/ui/trigger/template.csv")
    assert template.status_code == 200 and template.text == "sku\n"
    assert template.headers["content-disposition"].startswith("attachment")


def test_two_flows_of_one_title_are_told_apart_in_the_flow_lists(site: Site) -> None:
    viewer = site.as_("operator")
    logs = viewer.get("/ui/logs").text
    assert "Split Packages (fashfed/split_packages)" in logs
    assert "Split Packages (fashfed/send_split_packages)" in logs
    assert "Order Create (hepsiburada)" in logs  # the seed's name for get_orders


def test_re_saving_a_channel_queues_its_category_flows(site: Site) -> None:
    operator = site.as_("operator")
    _add_channel(operator)
    page = operator.get("/ui/channels/hb").text
    assert 'action="/ui/channels/hb/resave"' in page and "Re-save settings" in page
    nothing = operator.post("/ui/channels/hb/resave", {})
    assert nothing.status_code == 303
    assert "the config asks for no flow" in operator.get(nothing.headers["location"]).text
    with site.db.session() as session:
        from pazar.channels import ChannelService
        from pazar.plugins import load_plugins

        plugins = load_plugins()
        ChannelService(session, plugins.registry, hook=plugins.hook, clock=site.clock).set(
            "hb", ["category_ids=[2147]"]
        )
    done = operator.post("/ui/channels/hb/resave", {})
    shown = operator.get(done.headers["location"]).text
    assert "Queued flows: category_node, category_attributes." in shown
