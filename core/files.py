"""Files uploaded to pazar and served back at a URL a marketplace can fetch.

The seed's Reject Refund screen sends evidence photos to the marketplace as URLs
(Hepsiburada: ``UploadedReportsUrls``), so a photo an operator uploads must get one.
pazar keeps the file in its database (every daemon serves the same file, on
PostgreSQL across machines) under a random 32-byte token, and serves it without a
login at ``<public url>/files/<token>/<name>``: whoever has the URL may read the
file, nobody can guess one.  Only images are taken, recognised by their content
(not by the name or type the browser claims), at most ``PAZAR_MAX_UPLOAD`` bytes.

``PAZAR_PUBLIC_URL`` is the address the marketplace reaches pazar at (e.g.
``https://pazar.example.com``); without it the address the upload came in on is used.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from pazar.errors import ValidationError
from pazar.models.web import StoredFile

DEFAULT_MAX_UPLOAD = 10 * 1024 * 1024
FILES_PATH = "/files"

# Magic numbers of the image formats marketplaces accept.
_SIGNATURES: tuple[tuple[bytes, int, str, str], ...] = (
    (b"\xff\xd8\xff", 0, "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png", "png"),
    (b"GIF87a", 0, "image/gif", "gif"),
    (b"GIF89a", 0, "image/gif", "gif"),
    (b"WEBP", 8, "image/webp", "webp"),
)
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Upload:
    """A file as received: the name the browser gave and its bytes."""

    filename: str
    content: bytes


def max_upload(environ: dict[str, str] | None = None) -> int:
    """Bytes one uploaded file may have (``PAZAR_MAX_UPLOAD``, default 10 MiB)."""
    raw = (environ if environ is not None else os.environ).get("PAZAR_MAX_UPLOAD", "")
    return int(raw) if raw.isdigit() and int(raw) > 0 else DEFAULT_MAX_UPLOAD


def image_type(content: bytes) -> tuple[str, str] | None:
    """(media type, extension) of an image recognised by its first bytes, else None."""
    for magic, offset, media, ext in _SIGNATURES:
        if content[offset : offset + len(magic)] == magic and (
            media != "image/webp" or content[:4] == b"RIFF"
        ):
            return media, ext
    return None


def safe_name(filename: str, ext: str) -> str:
    """A URL-safe file name ending in the extension of the recognised type."""
    stem = _SAFE_NAME.sub("-", os.path.basename(filename or "").rsplit(".", 1)[0]).strip("-.")
    return f"{(stem or 'photo')[:80]}.{ext}"


def store_image(
    session: Session,
    upload: Upload,
    *,
    purpose: str,
    uploaded_by: str,
    now: datetime,
    limit: int | None = None,
) -> StoredFile:
    """Keep an uploaded image; ValidationError (naming the file) when it is not one."""
    shown = os.path.basename(upload.filename or "") or "(no name)"
    limit = limit or max_upload()
    if not upload.content:
        raise ValidationError(f"photo {shown!r}: the file is empty")
    if len(upload.content) > limit:
        raise ValidationError(
            f"photo {shown!r}: {len(upload.content)} bytes; at most {limit} bytes are taken"
        )
    kind = image_type(upload.content)
    if kind is None:
        raise ValidationError(
            f"photo {shown!r}: not a JPEG, PNG, GIF or WebP image (checked by its content)"
        )
    media, ext = kind
    row = StoredFile(
        token=secrets.token_urlsafe(32),
        filename=safe_name(upload.filename, ext),
        media_type=media,
        size=len(upload.content),
        sha256=hashlib.sha256(upload.content).hexdigest(),
        content=upload.content,
        purpose=purpose,
        uploaded_by=uploaded_by,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def file_url(row: StoredFile, base_url: str) -> str:
    """Where the file is served: ``<base>/files/<token>/<name>``."""
    return f"{public_base(base_url)}{FILES_PATH}/{row.token}/{row.filename}"


def public_base(fallback: str) -> str:
    """``PAZAR_PUBLIC_URL`` when set, else ``fallback`` (no trailing slash)."""
    return (os.environ.get("PAZAR_PUBLIC_URL") or fallback).rstrip("/")


def find_file(session: Session, token: str) -> StoredFile | None:
    if not token or len(token) > 64:
        return None
    return session.scalar(select(StoredFile).where(StoredFile.token == token))
