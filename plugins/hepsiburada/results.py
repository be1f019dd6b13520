"""What Hepsiburada says about uploads and imports, as typed values.

The status words and row shapes of these answers are partly unpublished
(``api.upload_state``), so they are read in one place, and anything unclear reads as
"still pending": an answer that says nothing never marks an upload done.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pazar_hepsiburada import api
from pazar_hepsiburada.errors import HepsiburadaError


@dataclass(frozen=True)
class RowError:
    """One rejected row of an upload, in the marketplace's words."""

    element_no: int | None
    hepsiburada_sku: str | None
    merchant_sku: str | None
    messages: tuple[str, ...]

    @property
    def sku(self) -> str | None:
        return self.merchant_sku or self.hepsiburada_sku

    @property
    def message(self) -> str:
        return "; ".join(self.messages) or "rejected by Hepsiburada"

    def as_error(self) -> HepsiburadaError:
        """The row as the one typed error, e.g. to penalise just this SKU."""
        return HepsiburadaError(
            f"Hepsiburada rejected {self.sku or f'row {self.element_no}'}: {self.message}",
            kind="rejected",
            remote_message=self.message,
            key=self.sku,
        )


@dataclass(frozen=True)
class UploadStatus:
    """The result of a listing upload (stock, price, inventory, shipping info)."""

    upload_id: str
    kind: str
    status: str
    state: str  # "pending" | "done" | "failed"
    total: int | None
    row_errors: tuple[RowError, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def pending(self) -> bool:
        return self.state == "pending"

    @property
    def done(self) -> bool:
        return self.state == "done"

    @property
    def failed(self) -> bool:
        return self.state == "failed"

    def rejected(self) -> dict[str, str]:
        """SKU → marketplace message for every rejected row that names a SKU."""
        out: dict[str, str] = {}
        for row in self.row_errors:
            if row.sku:
                out[row.sku] = (
                    row.message if row.sku not in out else f"{out[row.sku]}; {row.message}"
                )
        return out


@dataclass(frozen=True)
class ImportResult:
    """One product of an import: ``state`` is "pending", "accepted" or "rejected"."""

    merchant_sku: str | None
    hb_sku: str | None
    state: str
    product_status: str | None
    import_status: str | None
    message: str | None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)


_REJECTED_PRODUCT = frozenset({"rejected", "missing_info", "blocked"})
_PENDING_PRODUCT = frozenset({"waiting", "in_external_progress"})


def import_result(row: Mapping[str, Any]) -> ImportResult:
    """One row of an import status answer."""
    product_status = row.get("productStatus")
    import_status = row.get("importStatus")
    ps = str(product_status or "").lower()
    imp = str(import_status or "").lower()
    messages: list[str] = []
    for item in row.get("validationResults") or []:
        if isinstance(item, Mapping):
            name, text = item.get("attributeName"), item.get("message")
            messages.append(f"{name}: {text}" if name else str(text))
    messages.extend(str(m) for m in row.get("rejectReasonsMessages") or [] if m)
    if not messages:  # import messages repeat the validation results when both are present
        for item in row.get("importMessages") or []:
            if isinstance(item, Mapping) and str(item.get("severity", "")).upper() == "ERROR":
                messages.append(str(item.get("message")))
    if imp == "failed" or ps in _REJECTED_PRODUCT:
        state = "rejected"
    elif imp in api.IMPORT_PENDING_WORDS or ps in _PENDING_PRODUCT or not (imp or ps):
        state = "pending"
    else:
        state = "accepted"
    return ImportResult(
        merchant_sku=row.get("merchantSku"),
        hb_sku=row.get("hbSku") or None,
        state=state,
        product_status=product_status,
        import_status=import_status,
        message="; ".join(m for m in messages if m) or None,
        raw=row,
    )


def parse_upload_status(kind: str, upload_id: str, body: Mapping[str, Any]) -> UploadStatus:
    """Turn an upload result body into :class:`UploadStatus` (rows merged by element/SKU)."""
    merged: dict[tuple[Any, Any, Any], list[str]] = {}
    for row in body.get("errors") or []:
        if not isinstance(row, Mapping):
            continue
        key = (row.get("elementNo"), row.get("hepsiburadaSku"), row.get("merchantSku"))
        messages = row.get("errors") or row.get("messages") or []
        if isinstance(messages, str):
            messages = [messages]
        merged.setdefault(key, []).extend(str(m) for m in messages if m)
    for row in body.get("priceValidations") or []:
        if not isinstance(row, Mapping):
            continue
        key = (row.get("elementNo"), row.get("hepsiburadaSku"), row.get("merchantSku"))
        text = row.get("description") or row.get("type") or "price validation failed"
        band = [
            f"{name} {row[name]}" for name in ("minPrice", "maxPrice") if row.get(name) is not None
        ]
        if band:
            text = f"{text} ({', '.join(band)})"
        merged.setdefault(key, []).append(str(text))
    row_errors = tuple(
        RowError(
            element_no=k[0] if isinstance(k[0], int) else None,
            hepsiburada_sku=k[1],
            merchant_sku=k[2],
            messages=tuple(dict.fromkeys(v)),
        )
        for k, v in merged.items()
    )
    status = str(body.get("status") or "")
    total = body.get("total")
    return UploadStatus(
        upload_id=str(body.get("id") or upload_id),
        kind=kind,
        status=status,
        state=api.upload_state(status),
        total=total if isinstance(total, int) else None,
        row_errors=row_errors,
        raw=body,
    )
