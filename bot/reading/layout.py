"""Putting wrapped lines back into paragraphs.

OCR and PDF text layers give one string per printed line, so a phrase the engine looks for
("截图上报") can be cut in two by a line break. A line is joined to the next when it runs to the
right edge of its block, does not end a sentence, and the next line does not start a new item.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass

#: A line ending in one of these (before any closing quote or bracket) ends its paragraph.
_TERMINAL = set("。！？!?；;：:…")
_CLOSERS = "”’」』）)】》\"'"
#: The start of a numbered or bulleted item: 一、 (一) （1） 1. 1、 1） 第三条 ① • -
_ITEM = re.compile(
    r"^\s*(?:[一二三四五六七八九十百]+\s*[、.．]|[(（]\s*[一二三四五六七八九十\d]+\s*[)）]"
    r"|\d{1,3}\s*[、.．)）](?!\d)|第[一二三四五六七八九十百\d]+[条章节部分项]|[①-⑳]|[•·●▪■◆\-—*])"
)


@dataclass(frozen=True, slots=True)
class Line:
    """One recognised line of text and its box in pixels."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def height(self) -> float:
        return max(self.y1 - self.y0, 1.0)


def _ends_sentence(text: str) -> bool:
    stripped = text.rstrip().rstrip(_CLOSERS)
    return not stripped or stripped[-1] in _TERMINAL


def _is_wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in "WF"


def _glue(left: str, right: str) -> str:
    """Join two pieces of one paragraph: a space only between two Latin words or numbers."""
    left, right = left.rstrip(), right.lstrip()
    if left and right and left[-1].isascii() and left[-1].isalnum() and right[0].isascii() and right[0].isalnum():
        return f"{left} {right}"
    return left + right


def _rows(lines: list[Line]) -> list[tuple[Line, bool]]:
    """Merge boxes that sit side by side on one printed line, left to right.

    Each row comes with whether its boxes stand far apart (a status bar, a table row): such a row
    is not running text and is never joined to the next.
    """
    rows: list[list[Line]] = []
    for line in sorted(lines, key=lambda ln: (ln.y0 + ln.y1) / 2):
        centre = (line.y0 + line.y1) / 2
        for row in reversed(rows[-3:]):
            r_centre = sum((m.y0 + m.y1) / 2 for m in row) / len(row)
            h = min(line.height, min(m.height for m in row))
            overlaps = any(line.x0 < m.x1 and m.x0 < line.x1 for m in row)
            if abs(centre - r_centre) <= 0.5 * h and not overlaps:
                row.append(line)
                break
        else:
            rows.append([line])
    merged: list[tuple[Line, bool]] = []
    for row in rows:
        row.sort(key=lambda ln: ln.x0)
        text = row[0].text
        spaced = False
        for prev, cur in itertools.pairwise(row):
            gap = cur.x0 - prev.x1
            h = min(prev.height, cur.height)
            text = f"{text} {cur.text}" if gap > 0.6 * h else _glue(text, cur.text)
            spaced = spaced or gap > 2 * h
        box = Line(text, min(m.x0 for m in row), min(m.y0 for m in row), max(m.x1 for m in row), max(m.y1 for m in row))
        merged.append((box, spaced))
    return merged


def paragraphs_from_boxes(lines: list[Line]) -> str:
    """The text of recognised lines, wrapped lines joined into paragraphs, one paragraph a line."""
    merged = _rows([ln for ln in lines if ln.text.strip()])
    if not merged:
        return ""
    rows = [row for row, _ in merged]
    spaced = {id(row) for row, apart in merged if apart}
    pairs = list(itertools.pairwise(rows))
    # The usual gap between two lines of a paragraph; a wider one (after a title) ends the paragraph.
    gaps = sorted(cur.y0 - prev.y1 for prev, cur in pairs if 0 <= cur.y0 - prev.y1 <= 2 * min(prev.height, cur.height))
    typical_gap = gaps[len(gaps) // 2] if gaps else None
    out: list[str] = [rows[0].text.strip()]
    para_x0, para_right, first = rows[0].x0, rows[0].x1, True
    for prev, cur in pairs:
        h = min(prev.height, cur.height)
        similar_size = max(prev.height, cur.height) <= 1.4 * h
        gap = cur.y0 - prev.y1
        max_gap = min(typical_gap + 0.35 * h, 1.5 * h) if typical_gap is not None else 0.8 * h
        close = -0.3 * h <= gap <= max_gap
        same_left = abs(cur.x0 - prev.x0) <= 1.0 * h
        indent_return = first and 0.0 < prev.x0 - cur.x0 <= 3.2 * h
        right = max(para_right, cur.x1)
        full = prev.x1 >= right - 1.5 * h and prev.x1 - para_x0 >= 8 * h
        if (
            id(prev) not in spaced
            and similar_size
            and close
            and (same_left or indent_return)
            and full
            and not _ends_sentence(prev.text)
            and not _ITEM.match(cur.text)
        ):
            out[-1] = _glue(out[-1], cur.text)
            para_right, first = right, False
            para_x0 = min(para_x0, cur.x0)
        else:
            out.append(cur.text.strip())
            para_x0, para_right, first = cur.x0, cur.x1, True
    return "\n".join(out)


def _width(text: str) -> int:
    return sum(2 if _is_wide(ch) else 1 for ch in text)


def reflow_text(text: str) -> str:
    """Join the wrapped lines of a PDF text layer, judging 'full' lines by their length alone."""
    lines = [ln.strip() for ln in text.splitlines()]
    widths = sorted(_width(ln) for ln in lines if ln)
    if not widths:
        return ""
    typical = widths[int(0.9 * (len(widths) - 1))]
    if typical < 20:
        return "\n".join(ln for ln in lines if ln)
    out: list[str] = []
    joinable = False
    for line in lines:
        if not line:
            joinable = False
            continue
        if joinable and not _ITEM.match(line):
            out[-1] = _glue(out[-1], line)
        else:
            out.append(line)
        joinable = _width(line) >= 0.8 * typical and not _ends_sentence(line)
    return "\n".join(out)
