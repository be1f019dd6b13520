"""Config values that point at local records must point at records that exist.

``cargo_company_mapping: {default: 1}`` or ``cancellation_reason_id: 4`` is valid
JSON Schema whatever the ids are; the mistake shows only when the first order
or cancellation fails hours later.  A schema marks such fields with
``x-local-ref`` (on an object: every value is an id), and ``pazar channel
validate`` checks them against the commerce backend with one query per kind.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pazar.models.commerce import CancellationReason, CargoCompany


@dataclass(frozen=True)
class RefKind:
    """One kind of local record a config may point at, and how to get some."""

    label: str
    import_kind: str
    columns: str


KINDS: dict[str, RefKind] = {
    "cargo_company": RefKind("cargo company", "cargo_companies", "code, name, tracking_url"),
    "cancel_reason": RefKind(
        "cancellation reason", "cancellation_reasons", "kind=cancel, code, name"
    ),
    "refund_reason": RefKind("refund reason", "cancellation_reasons", "kind=refund, code, name"),
}


@dataclass(frozen=True)
class Reference:
    key: str  # dotted config key, e.g. cargo_company_mapping.hepsijet
    kind: str
    value: Any


def references(schema: Mapping[str, Any], config: Mapping[str, Any]) -> Iterator[Reference]:
    """Every local id the config points at, per the schema's ``x-local-ref`` marks."""
    for key, sub in (schema.get("properties") or {}).items():
        if not isinstance(sub, Mapping) or key not in config:
            continue
        kind = sub.get("x-local-ref")
        value = config[key]
        if kind:
            if isinstance(value, Mapping):
                for name, item in value.items():
                    if item not in (None, ""):
                        yield Reference(f"{key}.{name}", str(kind), item)
            elif value not in (None, ""):
                yield Reference(str(key), str(kind), value)
        elif isinstance(value, Mapping) and isinstance(sub.get("properties"), Mapping):
            for ref in references(sub, value):
                yield Reference(f"{key}.{ref.key}", ref.kind, ref.value)


def _existing(session: Session, kind: str) -> dict[int, str]:
    """Local id → a short description, for the kind's records."""
    if kind == "cargo_company":
        rows = session.execute(select(CargoCompany.id, CargoCompany.code, CargoCompany.name))
        return {i: f"{code} ({name})" for i, code, name in rows}
    reason_kind = "cancel" if kind == "cancel_reason" else "refund"
    rows = session.execute(
        select(CancellationReason.id, CancellationReason.code, CancellationReason.name).where(
            CancellationReason.kind == reason_kind
        )
    )
    return {i: f"{code} ({name})" for i, code, name in rows}


def _as_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def missing_references(
    session: Session, schema: Mapping[str, Any], config: Mapping[str, Any]
) -> list[str]:
    """One message per config value whose local record does not exist, saying how to fix it."""
    refs = list(references(schema, config))
    known: dict[str, dict[int, str]] = {}
    problems: list[str] = []
    for ref in refs:
        kind = KINDS.get(ref.kind)
        if kind is None:  # a schema naming a kind this pazar does not know: not the operator's
            continue
        if ref.kind not in known:
            known[ref.kind] = _existing(session, ref.kind)
        found = known[ref.kind]
        local_id = _as_id(ref.value)
        if local_id is None:
            problems.append(f"{ref.key}: {ref.value!r} is not a local {kind.label} id")
            continue
        if local_id in found:
            continue
        if found:
            listing = ", ".join(f"{i} {d}" for i, d in sorted(found.items())[:10])
            more = f" and {len(found) - 10} more" if len(found) > 10 else ""
            have = f"existing {kind.label} ids: {listing}{more}"
        else:
            have = f"no {kind.label} is imported yet"
        problems.append(
            f"{ref.key}: no local {kind.label} with id {local_id} ({have}); import them with "
            f"`pazar catalog import {kind.import_kind} FILE` (columns {kind.columns})"
        )
    return problems
