"""Reading the text of files users send: .txt, .docx, PDF, and pictures through OCR.

A pure library: no Telegram here. The caller downloads the file and hands over its bytes.

    extract_text(data, file_name, mime_type, *, limits) -> Extracted   synchronous, CPU-bound
    OcrPool(limits).read(data, file_name, mime_type, timeout)           the same in a worker process,
                                                                        awaited, with a hard time limit

Errors (see errors.py) each carry a stable `code` for the message catalog: "unsupported",
"too_large", "encrypted", "unreadable", "ocr_timeout".
"""

from .base import Extracted, Kind, ReadLimits
from .errors import Encrypted, OcrTimeout, ReadError, TooLarge, Unreadable, UnsupportedType
from .extract import extract_text
from .pool import OcrPool

__all__ = [
    "Encrypted",
    "Extracted",
    "Kind",
    "OcrPool",
    "OcrTimeout",
    "ReadError",
    "ReadLimits",
    "TooLarge",
    "Unreadable",
    "UnsupportedType",
    "extract_text",
]
