"""Errors of the reading layer. Each has a stable `code` the caller maps to its message catalog.

    ReadError           base of everything this package raises on purpose (code "unreadable")
    ├── UnsupportedType   not a .txt, .docx, PDF, PNG, JPEG or WebP file: a legacy .doc or .wps,
    │                     a spreadsheet, an archive… ask for .docx, PDF or a screenshot
    ├── TooLarge          over a limit: bytes, pixels, or a .docx that would unpack too far
    ├── Encrypted         a password-protected PDF or Word file
    ├── Unreadable        damaged or not what its name says; no text could be read
    └── OcrTimeout        reading the picture took longer than allowed

Foreign errors (zipfile, lxml, pypdf, pypdfium2, Pillow, onnxruntime) are translated into these at the
boundary; the original is kept as `__cause__` for the log.
"""

from __future__ import annotations


class ReadError(Exception):
    """Base of the reading layer's own errors."""

    code = "unreadable"


class UnsupportedType(ReadError):
    """The file is not of a kind we read."""

    code = "unsupported"


class TooLarge(ReadError):
    """The file, the picture or the unpacked document is over a limit."""

    code = "too_large"


class Encrypted(ReadError):
    """The document needs a password."""

    code = "encrypted"


class Unreadable(ReadError):
    """The file is damaged, empty, or holds no text we could find."""

    code = "unreadable"


class OcrTimeout(ReadError):
    """Recognising the text took longer than the time limit."""

    code = "ocr_timeout"
