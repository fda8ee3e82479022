"""extract_text: one entry point for every kind of file."""

from __future__ import annotations

from collections.abc import Callable

from .base import Extracted, Kind, ReadLimits
from .errors import TooLarge, Unreadable
from .sniff import detect_kind


def _reader(kind: Kind) -> Callable[[bytes, ReadLimits], Extracted]:
    # Imported on demand: the bot process that only hands files to OcrPool never loads these.
    if kind == "txt":
        from .plain import read_txt

        return read_txt
    if kind == "docx":
        from .word import read_docx

        return read_docx
    if kind == "pdf":
        from .pdf import read_pdf

        return read_pdf
    from .images import read_image

    return read_image


def extract_text(data: bytes, file_name: str | None, mime_type: str | None, *, limits: ReadLimits) -> Extracted:
    """The text of a .txt, .docx, PDF or picture file; raises a ReadError subclass when it cannot.

    Synchronous and CPU-bound (OCR takes about a second a picture): call it from a worker thread,
    or through OcrPool, which adds a process, a hard time limit and recycling of stuck workers.
    The kind is decided by the file's first bytes; the name and MIME type only break ties.
    """
    if len(data) > limits.max_bytes:
        raise TooLarge(f"file of {len(data)} bytes is over the limit of {limits.max_bytes}")
    if not data or data.isspace():
        raise Unreadable("empty file")
    return _reader(detect_kind(data, file_name, mime_type))(data, limits)
