"""Word .docx files: paragraphs and tables in document order, after a guard against zip bombs.

The guard runs before python-docx sees anything. First the zip's central directory: member count,
total unpacked size and the packing ratio of large members. The directory can lie, though, and
zipfile's read() of a whole member inflates everything the compressed stream holds before cutting it
to the declared size; so each member is then copied, in bounded chunks and no further than its
declared size, into a fresh uncompressed zip, and python-docx reads that copy.

python-docx parses with lxml and `resolve_entities=False` (and lxml refuses network access and
huge trees by default), which already stops entity-expansion and external-entity attacks;
defusedxml would add nothing here (a test feeds both).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from typing import Any

from .base import Extracted, ReadLimits
from .errors import Encrypted, ReadError, TooLarge, Unreadable
from .plain import clip

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_P, _TBL, _TR, _TC, _SDT, _SDT_CONTENT = (f"{_W}{t}" for t in ("p", "tbl", "tr", "tc", "sdt", "sdtContent"))
_T, _TAB, _BR, _CR = f"{_W}t", f"{_W}tab", f"{_W}br", f"{_W}cr"
_TXBX = f"{_W}txbxContent"
#: Word stores a text box twice, as DrawingML and as a VML fallback; only the first is read.
_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
#: Members smaller than this are not judged by their packing ratio (tiny XML parts pack very well).
_RATIO_FLOOR = 1024 * 1024
_CHUNK = 64 * 1024


def check_zip(infos: list[zipfile.ZipInfo], limits: ReadLimits) -> None:
    """TooLarge when the zip directory says the .docx would unpack past a limit."""
    if len(infos) > limits.max_docx_members:
        raise TooLarge(f".docx holds {len(infos)} parts")
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise Encrypted("encrypted zip entry in .docx")
        total += info.file_size
        if total > limits.max_docx_unpacked:
            raise TooLarge(".docx unpacks past the size limit")
        if info.file_size > _RATIO_FLOOR and info.file_size > limits.max_docx_ratio * max(info.compress_size, 1):
            raise TooLarge(f".docx part {info.filename!r} is packed too tightly")


def _inside_box(el: Any, p: Any) -> bool:
    """Whether `el` sits in a text box within paragraph `p` (its text is read with the box)."""
    for a in el.iterancestors():
        if a is p:
            return False
        if a.tag == _TXBX:
            return True
    return False


def _text_boxes(p: Any) -> Iterator[Any]:
    """The outermost text boxes of paragraph `p`, skipping VML fallback copies."""
    for box in p.iter(_TXBX):
        a = box.getparent()
        while a is not None and a is not p and a.tag not in (_TXBX, _FALLBACK):
            a = a.getparent()
        if a is p:
            yield box


def _paragraph_text(p: Any) -> str:
    """Text of one w:p: its runs, tabs and breaks (deleted text is not w:t and so is skipped)."""
    parts: list[str] = []
    for el in p.iter(_T, _TAB, _BR, _CR):
        if _inside_box(el, p):
            continue
        if el.tag == _T:
            parts.append(el.text or "")
        else:
            parts.append("\t" if el.tag == _TAB else "\n")
    return "".join(parts).strip()


def _block_lines(parent: Any, out: list[str]) -> None:
    """Append the text of block-level children (paragraphs, tables, content controls) in order."""
    for child in parent:
        if child.tag == _P:
            text = _paragraph_text(child)
            if text:
                out.append(text)
            for box in _text_boxes(child):
                _block_lines(box, out)
        elif child.tag == _TBL:
            _table_lines(child, out)
        elif child.tag == _SDT:
            for content in child.iterchildren(_SDT_CONTENT):
                _block_lines(content, out)


def _table_lines(tbl: Any, out: list[str]) -> None:
    """One line per row, its cells separated by ' | ' (a merged cell appears once)."""
    for tr in tbl.iterchildren(_TR):
        cells: list[str] = []
        for tc in tr.iterchildren(_TC):
            cell_lines: list[str] = []
            _block_lines(tc, cell_lines)
            cells.append(" ".join(cell_lines))
        if any(cells):
            out.append(" | ".join(cells))


def _read_bounded(src: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """A member's bytes, inflated in 64 kB steps and never past its declared size."""
    chunks: list[bytes] = []
    with src.open(info) as member:
        while chunk := member.read(_CHUNK):
            chunks.append(chunk)
    return b"".join(chunks)


def safe_copy(data: bytes, limits: ReadLimits) -> bytes:
    """The .docx re-packed without compression, after the checks; TooLarge or Unreadable."""
    out = io.BytesIO()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as src:
            infos = src.infolist()
            check_zip(infos, limits)
            with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
                for info in infos:
                    if not info.is_dir():
                        dst.writestr(info.filename, _read_bounded(src, info))
    except ReadError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError, NotImplementedError) as e:
        raise Unreadable("damaged .docx file") from e
    return out.getvalue()


def read_docx(data: bytes, limits: ReadLimits) -> Extracted:
    package = safe_copy(data, limits)
    import docx

    try:
        document = docx.Document(io.BytesIO(package))
        lines: list[str] = []
        _block_lines(document.element.body, lines)
    except ReadError:
        raise
    except Exception as e:  # python-docx, lxml and zipfile raise many kinds for a damaged file
        raise Unreadable("damaged .docx file") from e
    text, truncated = clip("\n".join(lines).strip(), limits)
    if not text:
        raise Unreadable("no text in the .docx file")
    return Extracted(text=text, kind="docx", pages=1, ocr=False, truncated=truncated)
