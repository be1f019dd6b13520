"""Reading operator files as text: one encoding rule and one kind of message.

Operators hand pazar CSVs saved by Excel (Windows-1254 on Turkish systems),
YAML written in any editor, files that are not text at all.  Every reader goes
through here so that each of those ends the same way: UTF-8 with or without a
byte-order mark is read as is, another encoding is read when named
(``--encoding cp1254``), and anything else is one :class:`ValidationError`
naming the file, the line and the column of the first byte that does not fit —
with a hint when the bytes look like Turkish Windows text.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator
from pathlib import Path

from pazar.errors import ValidationError
from pazar.suggest import did_you_mean

DEFAULT_ENCODING = "utf-8"
_TURKISH = set("ğüşıöçĞÜŞİÖÇ")
_COMMON = ["utf-8", "cp1254", "iso-8859-9", "latin-1", "cp1252"]


def check_encoding(encoding: str) -> str:
    """The codec's canonical name; refuses unknown ones and those that are not
    ASCII-compatible (UTF-16/32 would split lines in the middle of a character)."""
    try:
        info = codecs.lookup(encoding)
    except LookupError:
        raise ValidationError(
            f"unknown encoding {encoding!r}{did_you_mean(encoding, _COMMON)}; "
            f"e.g. {', '.join(_COMMON)}"
        ) from None
    if "\n".encode(info.name) != b"\n":
        raise ValidationError(
            f"encoding {encoding!r} is not supported for line-based files; save the file as UTF-8"
        )
    return info.name


def _position(data: bytes, offset: int) -> tuple[int, int]:
    line = data.count(b"\n", 0, offset) + 1
    start = data.rfind(b"\n", 0, offset) + 1
    return line, offset - start + 1


def _hint(raw: bytes, encoding: str) -> str:
    if encoding.replace("_", "-") not in ("utf-8", "utf-8-sig"):
        return ""
    try:
        text = raw.decode("cp1254")
    except UnicodeDecodeError:
        return "; the file is not text, or not in a known encoding"
    if _TURKISH & set(text):
        return (
            "; it looks like Windows-1254 (Turkish Excel): read it with --encoding cp1254 "
            "or save it as UTF-8"
        )
    return "; name its encoding (e.g. --encoding cp1254) or save it as UTF-8"


def _decode_error(
    name: str, data: bytes, exc: UnicodeDecodeError, encoding: str, line: int = 0
) -> ValidationError:
    at_line, column = _position(data, exc.start)
    byte = data[exc.start : exc.start + 1].hex()
    return ValidationError(
        f"{name}:{line or at_line}:{column}: not valid {encoding} text "
        f"(byte 0x{byte}){_hint(data, encoding)}"
    )


def decode_text(data: bytes, name: str, encoding: str = DEFAULT_ENCODING) -> str:
    """``data`` as text; a UTF-8 byte-order mark is dropped."""
    codec = check_encoding(encoding)
    if codec == "utf-8" and data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        raise _decode_error(name, data, exc, codec) from None


MAX_DOCUMENT_BYTES = 64 * 1024 * 1024
"""The largest whole file pazar reads into memory (a flow, a channel document, a mapping,
a payload, a JSON import): far above any real one, and a bound for ``/dev/zero`` or a
wrong file, which would otherwise fill the memory."""


def _size(limit: int) -> str:
    mb = 1024 * 1024
    return f"{limit // mb} MB" if limit >= mb else f"{limit:,} bytes"


def read_text(
    path: str | Path,
    encoding: str = DEFAULT_ENCODING,
    name: str | None = None,
    *,
    limit: int | None = None,
    hint: str = "",
) -> str:
    """A whole (small) file as text: flow files, channel documents, mappings; more than
    ``limit`` bytes (default :data:`MAX_DOCUMENT_BYTES`) is refused (``hint`` says what to
    do instead)."""
    if not str(path).strip():  # Path("") is ".", which read as "is a directory"
        raise ValidationError("a file name is needed, not an empty one")
    file = Path(path)
    shown = name or str(file)
    limit = MAX_DOCUMENT_BYTES if limit is None else limit
    try:
        with file.open("rb") as handle:
            data = handle.read(limit + 1)
        if len(data) > limit:
            raise ValidationError(
                f"{shown}: larger than {_size(limit)}, more than pazar reads at once{hint}"
            )
    except FileNotFoundError:
        raise ValidationError(f"{shown}: no such file") from None
    except IsADirectoryError:
        raise ValidationError(f"{shown}: is a directory, not a file") from None
    except OSError as exc:
        raise ValidationError(f"{shown}: cannot read ({exc.strerror or exc})") from None
    return decode_text(data, shown, encoding)


def decode_lines(
    lines: Iterable[bytes], name: str, encoding: str = DEFAULT_ENCODING
) -> Iterator[str]:
    """Lines of a large file decoded one by one (CSV, JSON lines): memory stays flat
    and a bad byte is reported on its own line."""
    codec = check_encoding(encoding)
    for number, raw in enumerate(lines, start=1):
        if number == 1 and codec == "utf-8" and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
        try:
            yield raw.decode(codec)
        except UnicodeDecodeError as exc:
            raise _decode_error(name, raw, exc, codec, line=number) from None
