"""Plain text files: UTF-8 (with or without BOM), UTF-16 with a BOM, else GB18030 (a superset of GBK)."""

from __future__ import annotations

from .base import Extracted, ReadLimits
from .errors import Unreadable


def decode_text(data: bytes) -> str:
    """The text of a .txt file; Unreadable when no encoding fits or it holds binary data."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings: tuple[str, ...] = ("utf-16",)
    else:
        encodings = ("utf-8-sig", "gb18030")
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            break
        return text.replace("\r\n", "\n").replace("\r", "\n")
    raise Unreadable("text file in an unknown encoding")


def clip(text: str, limits: ReadLimits) -> tuple[str, bool]:
    """`text` cut to the character limit, and whether it was cut."""
    if len(text) <= limits.max_chars:
        return text, False
    return text[: limits.max_chars], True


def read_txt(data: bytes, limits: ReadLimits) -> Extracted:
    text, truncated = clip(decode_text(data).strip(), limits)
    if not text:
        raise Unreadable("empty text file")
    return Extracted(text=text, kind="txt", pages=1, ocr=False, truncated=truncated)
