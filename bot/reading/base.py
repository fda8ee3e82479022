"""What the reader returns, and the limits it reads within."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["txt", "docx", "pdf", "image"]

MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ReadLimits:
    """Every bound on one file. The defaults suit a notice forwarded to a chat bot on a 2-core machine."""

    #: Largest file accepted, in bytes (checked before anything is parsed).
    max_bytes: int = 10 * MB
    #: PDF pages read from the text layer; later pages are dropped and the result is marked truncated.
    max_pages: int = 20
    #: PDF pages without a text layer sent through OCR (about a second each); later ones are dropped.
    max_ocr_pages: int = 5
    #: Characters kept; a longer text is cut and marked truncated.
    max_chars: int = 50_000
    #: A .docx may unpack to at most this many bytes in all (its zip directory is checked before parsing).
    max_docx_unpacked: int = 50 * MB
    #: … and no member larger than 1 MB may unpack to more than this many times its packed size.
    max_docx_ratio: float = 100.0
    #: … and it may hold at most this many members.
    max_docx_members: int = 1000
    #: Largest picture, in pixels (width × height), checked from the header before decoding.
    max_image_pixels: int = 25_000_000
    #: Seconds of OCR per file; pages not reached by then are dropped (OcrPool.read enforces a hard limit).
    ocr_timeout: float = 60.0


@dataclass(frozen=True, slots=True)
class Extracted:
    """The text read from one file.

    `pages` counts what was read: the PDF pages whose text layer or OCR text is included, 1 for a
    picture, a .docx or a .txt.
    `ocr` is true when any of the text came from optical character recognition; `truncated` when
    pages or characters were dropped because of a limit.
    """

    text: str
    kind: Kind
    pages: int
    ocr: bool
    truncated: bool
