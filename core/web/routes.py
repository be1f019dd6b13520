"""Every route of the dashboard, with the role each needs (reads: viewer; changes:
operator; users: admin).  Channel secrets need admin too, checked where the form is
read (:func:`pazar.web.views.channels.channel_save`)."""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from pazar.web.app import PREFIX, Web, route
from pazar.web.views import (
    alarms,
    channels,
    dashboard,
    mapping,
    monitoring,
    penalties,
    refunds,
    system,
)

OP = {"role": "operator", "write": True}


def routes(web: Web) -> list[Any]:
    r = [
        Route("/", system.root, methods=["GET"]),
        Route(PREFIX, system.root, methods=["GET"]),
        Route("/files/{token}/{name}", system.serve_file, methods=["GET"]),
        route(web, "/", system.home),
        route(web, "/login", system.login_form, role=None),
        route(web, "/login", system.login, role=None, write=True),
        route(web, "/logout", system.logout, role=None, write=True),
        route(web, "/lang", system.set_language, role=None, write=True),
        route(web, "/audit", system.audit_page),
        route(web, "/daemons", system.daemons_page),
        route(web, "/users", system.users_page, role="admin"),
        route(web, "/users", system.users_add, role="admin", write=True),
        route(web, "/users/{username}/role", system.users_role, role="admin", write=True),
        route(web, "/users/{username}/delete", system.users_delete, role="admin", write=True),
        route(web, "/dashboard", dashboard.dashboard_page),
        route(web, "/channels", channels.channels_page),
        route(web, "/channels", channels.channel_add, **OP),
        route(web, "/channels/{slug}", channels.channel_page),
        route(web, "/channels/{slug}", channels.channel_save, **OP),
        route(web, "/channels/{slug}/validate", channels.channel_validate),
        route(web, "/channels/{slug}/status", channels.channel_status, **OP),
        route(web, "/channels/{slug}/resave", channels.channel_resave, **OP),
        route(web, "/channels/{slug}/history", channels.channel_history),
        route(web, "/logs", monitoring.logs_page),
        route(web, "/logs/{run_id}", monitoring.run_page),
        route(web, "/reports", monitoring.reports_page),
        route(web, "/reports/download", monitoring.report_download),
        route(web, "/alarms", alarms.alarms_page),
        route(web, "/alarms/new", alarms.alarm_new_form),
        route(web, "/alarms/new", alarms.alarm_create, **OP),
        route(web, "/alarms/{name}", alarms.alarm_page),
        route(web, "/alarms/{name}/test", alarms.alarm_test, **OP),
        route(web, "/alarms/{name}/delete", alarms.alarm_delete, **OP),
        route(web, "/refunds", refunds.refunds_page),
        route(web, "/refunds/{request_id}", refunds.refund_page),
        route(web, "/refunds/{request_id}/approve", refunds.refund_approve, **OP),
        route(web, "/refunds/{request_id}/reject", refunds.refund_reject, **OP),
        route(web, "/penalties", penalties.penalties_page),
        route(web, "/penalties/release", penalties.penalties_release, **OP),
        route(web, "/penalties/csv", penalties.penalties_csv, **OP),
        route(web, "/trigger", penalties.trigger_page),
        route(web, "/trigger/template.csv", penalties.trigger_template),
        route(web, "/trigger", penalties.trigger_run, **OP),
        route(web, "/batches", penalties.batches_page),
        route(web, "/batches/{batch_id}", penalties.batch_page),
        route(web, "/mapping", mapping.mapping_page),
        route(web, "/mapping/check", mapping.mapping_check),
        route(web, "/mapping/{slug}/categories/{category}", mapping.category_page),
        route(web, "/mapping/values", mapping.values_save, **OP),
        route(web, "/mapping/document", mapping.document_save, **OP),
    ]
    return r
