"""PDF files: the text layer with pypdf; pages without one are rendered with PDFium and read by OCR."""

from __future__ import annotations

import io
import logging
import math
import threading
import time
import unicodedata
from typing import TYPE_CHECKING

from .base import Extracted, ReadLimits
from .errors import Encrypted, OcrTimeout, ReadError, Unreadable
from .images import ocr_text
from .layout import reflow_text
from .plain import clip

if TYPE_CHECKING:
    from pypdf import PdfReader

log = logging.getLogger(__name__)

#: Rendering scale for OCR: 2 × 72 dpi = 144 dpi puts 12-point text at about 24 pixels.
RENDER_SCALE = 2.0
#: A page whose text layer has fewer letters or digits than this is treated as scanned.
MIN_LAYER_CHARS = 10
#: PDFium is not thread-safe; one rendering at a time per process.
_pdfium_lock = threading.Lock()


def has_text_layer(text: str) -> bool:
    """Whether a page's extracted text is real text, not empty or glyph codes without a Unicode map."""
    useful = bad = 0
    for ch in text:
        cat = unicodedata.category(ch)
        if cat[0] in "LN":
            useful += 1
        elif (cat in ("Co", "Cn", "Cc") and ch not in "\n\t") or ch == "\ufffd":
            bad += 1
    return useful >= MIN_LAYER_CHARS and bad <= 0.2 * (useful + bad)


def _open(data: bytes) -> tuple[PdfReader, int]:
    from pypdf import PasswordType, PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                # Many PDFs are encrypted with an owner password only and open with an empty one.
                opened = reader.decrypt("")
            except Exception as e:
                raise Encrypted("password-protected PDF") from e
            if opened == PasswordType.NOT_DECRYPTED:
                raise Encrypted("password-protected PDF")
        total = len(reader.pages)
    except ReadError:
        raise
    except Exception as e:  # pypdf raises many kinds for a damaged file
        raise Unreadable("damaged PDF file") from e
    if total == 0:
        raise Unreadable("PDF without pages")
    return reader, total


def _render_and_read(data: bytes, indices: list[int], limits: ReadLimits, deadline: float) -> dict[int, str]:
    """OCR text of the given pages, in order, until the deadline passes."""
    import pypdfium2 as pdfium

    texts: dict[int, str] = {}
    with _pdfium_lock:
        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as e:
            raise Unreadable("PDF that PDFium cannot open") from e
        try:
            for index in indices:
                if time.monotonic() > deadline:
                    break
                page = pdf[index]
                try:
                    width, height = page.get_size()
                    scale = min(RENDER_SCALE, math.sqrt(limits.max_image_pixels / max(width * height, 1.0)))
                    img = page.render(scale=scale).to_pil().convert("RGB")
                finally:
                    page.close()
                texts[index] = ocr_text(img)
        except pdfium.PdfiumError as e:
            raise Unreadable("PDF page that cannot be rendered") from e
        finally:
            pdf.close()
    return texts


def read_pdf(data: bytes, limits: ReadLimits) -> Extracted:
    reader, total = _open(data)
    count = min(total, limits.max_pages)
    truncated = total > count
    layer: dict[int, str] = {}
    scanned: list[int] = []
    for index in range(count):
        try:
            text = reader.pages[index].extract_text() or ""
        except Exception:  # one bad page should not lose the others
            log.debug("text layer of page %d unreadable", index + 1, exc_info=True)
            text = ""
        if has_text_layer(text):
            layer[index] = reflow_text(text)
        else:
            scanned.append(index)
    ocr: dict[int, str] = {}
    if scanned:
        wanted = scanned[: limits.max_ocr_pages]
        ocr = _render_and_read(data, wanted, limits, time.monotonic() + limits.ocr_timeout)
        truncated = truncated or len(ocr) < len(scanned)
        if not layer and not ocr:
            raise OcrTimeout("no page of the scanned PDF was read in time")
    pages = [layer.get(i) or ocr.get(i, "") for i in range(count)]
    text, cut = clip("\n\n".join(p.strip() for p in pages if p.strip()), limits)
    if not text:
        raise Unreadable("no text in the PDF")
    return Extracted(text=text, kind="pdf", pages=len(layer) + len(ocr), ocr=bool(ocr), truncated=truncated or cut)
