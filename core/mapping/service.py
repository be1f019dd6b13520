"""Storing, reading and editing a channel's mapping document.

The document is kept twice: parsed (what flows and checks evaluate) and as the
text it was applied from, so ``pazar mapping export`` gives back the operator's
own file with its comments.  A CSV import of value maps rewrites the text from
the parsed document (comments are lost then; the export says so in its header).
"""

from __future__ import annotations

import copy
import csv
import io
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from pazar.errors import NotFoundError, ValidationError
from pazar.mapping.document import parse_mapping
from pazar.mapping.engine import Mapper
from pazar.models.marketplace import ChannelMapping
from pazar.templating import TemplateEnv

CSV_COLUMNS = ("map", "local_value", "marketplace_value")
GENERATED_HEADER = (
    "# Written by pazar from the stored mapping after a value-map CSV import;\n"
    "# comments of the original file are not kept.\n"
)


def stored_mapping(session: Session, channel: Any) -> ChannelMapping:
    """The channel's mapping row, or a NotFoundError saying how to apply one."""
    row = session.scalar(select(ChannelMapping).where(ChannelMapping.channel_id == channel.id))
    if row is None:
        raise NotFoundError(
            f"channel {channel.slug!r} has no mapping; "
            f"apply one with: pazar mapping apply --channel {channel.slug} FILE"
        )
    return row


def save_mapping(
    session: Session,
    channel: Any,
    document: dict[str, Any],
    source: str,
    now: datetime,
) -> ChannelMapping:
    row = session.scalar(select(ChannelMapping).where(ChannelMapping.channel_id == channel.id))
    if row is None:
        row = ChannelMapping(channel_id=channel.id, revision=0)
        session.add(row)
    row.document = document
    row.source = source
    row.revision = (row.revision or 0) + 1
    row.updated_at = now
    session.flush()
    return row


def apply_mapping(
    session: Session,
    channel: Any,
    text: str,
    where: str,
    templates: TemplateEnv,
    now: datetime,
    config_schema: Mapping[str, Any] | None = None,
) -> tuple[ChannelMapping, list[str]]:
    """Validate and store ``text``; returns the row and warnings against the store.
    ``config_schema``: the channel's, so templates reading its secrets are refused."""
    document = parse_mapping(text, where, templates, config_schema)
    row = save_mapping(session, channel, document, text, now)
    return row, Mapper.load(session, channel.id, document, templates).warnings()


def dump_document(document: dict[str, Any]) -> str:
    return GENERATED_HEADER + yaml.safe_dump(
        document, allow_unicode=True, sort_keys=False, default_flow_style=False
    )


# --- value maps as CSV -----------------------------------------------------------------------
def _map_slots(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any] | None]]:
    """(CSV map key, the map) for every value map: named ones and inline ones."""
    yield from (document.get("value_maps") or {}).items()
    for key, rule in (document.get("defaults") or {}).items():
        if isinstance(rule, dict) and isinstance(rule.get("values"), dict):
            yield f"defaults/{key}", rule["values"]
    for entry in document.get("categories") or []:
        for key, rule in (entry.get("attributes") or {}).items():
            if isinstance(rule, dict) and isinstance(rule.get("values"), dict):
                yield f"{entry['category']}/{key}", rule["values"]


def export_value_maps(document: dict[str, Any]) -> str:
    """Every value map as CSV rows ``map,local_value,marketplace_value``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for key, values in _map_slots(document):
        for local, remote in (values or {}).items():
            writer.writerow([key, local, remote])
    return out.getvalue()


def _rules_holder(document: dict[str, Any], key: str) -> tuple[dict[str, Any], str] | None:
    """The attribute-rules dict and attribute name a ``category/attribute`` key points at."""
    scope, _, attribute = key.partition("/")
    if scope == "defaults":
        return document.setdefault("defaults", {}), attribute
    for entry in document.get("categories") or []:
        if str(entry["category"]) == scope:
            return entry.setdefault("attributes", {}), attribute
    return None


def import_value_maps(
    document: dict[str, Any], text: str, where: str
) -> tuple[dict[str, Any], dict[str, int]]:
    """A copy of ``document`` with the maps named in the CSV replaced by its rows.

    A key with no ``/`` is a named map (created if new); ``CATEGORY/ATTRIBUTE``
    or ``defaults/KEY`` is that rule's inline map.  Maps the CSV does not name
    are left as they are.  Every bad row is reported, and nothing changes.
    """
    doc = copy.deepcopy(document)
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or [h.strip() for h in header] != list(CSV_COLUMNS):
        raise ValidationError(
            f"{where}:1: the header must be {','.join(CSV_COLUMNS)} (got {','.join(header or [])})"
        )
    maps: dict[str, dict[str, str]] = {}
    errors: list[str] = []
    for line, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != 3:
            errors.append(f"{where}:{line}: expected 3 columns, got {len(row)}")
            continue
        key, local, remote = (cell.strip() for cell in row)
        if not key or not local or not remote:
            errors.append(f"{where}:{line}: map, local_value and marketplace_value are required")
            continue
        if "/" in key:
            holder = _rules_holder(doc, key)
            if holder is None:
                errors.append(
                    f"{where}:{line}: {key!r}: no category {key.partition('/')[0]} in the mapping"
                )
                continue
            if holder[1] not in holder[0]:
                errors.append(
                    f"{where}:{line}: {key!r}: the mapping has no rule for {holder[1]!r} there; "
                    "add the rule to the mapping first"
                )
                continue
        values = maps.setdefault(key, {})
        if local in values and values[local] != remote:
            errors.append(f"{where}:{line}: {key}: {local!r} is mapped twice")
            continue
        values[local] = remote
    if errors:
        raise ValidationError(
            f"{where}: {len(errors)} bad row{'s' if len(errors) != 1 else ''}; nothing was imported",
            details=errors,
        )
    for key, values in maps.items():
        if "/" not in key:
            doc.setdefault("value_maps", {})[key] = values
            continue
        holder = _rules_holder(doc, key)
        assert holder is not None
        rules, attribute = holder
        rule = rules[attribute]
        if isinstance(rule, dict):
            rule["values"] = values
        elif isinstance(rule, str):
            rules[attribute] = {"value": rule, "values": values}
        else:
            rules[attribute] = {"default": rule, "values": values}
    return doc, {key: len(values) for key, values in maps.items()}
