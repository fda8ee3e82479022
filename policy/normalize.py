"""Input normalisation that remembers where every character came from.

`normalize(text)` returns the text the rules match against (NFKC width folding, simplified script,
lower case, straight apostrophes, no links, emoji, forwarding headers or runs of blank space) together
with, for each of its characters, the offset of the character of the *original* text it came from, so
evidence can always be quoted from what the user actually sent.
"""

from __future__ import annotations

import importlib
import re
import sys
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import ModuleType


def _import_zhconv() -> ModuleType:
    """zhconv imports pkg_resources (about 45 ms and 8 MB) only to find its own table, and opens the
    table by path when that import fails. Unless something already imported it, hide it for this one
    import."""
    if "pkg_resources" in sys.modules:
        return importlib.import_module("zhconv")
    sys.modules["pkg_resources"] = None  # type: ignore[assignment]
    try:
        return importlib.import_module("zhconv")
    finally:
        del sys.modules["pkg_resources"]


zhconv = _import_zhconv()
# zhconv loads its table lazily through a file handle it never closes; loading it by path closes it.
zhconv.loaddict(str(Path(str(zhconv.__file__)).with_name("zhcdict.json")))

#: Longest input the engine analyses; the rest is ignored and the screening says it was truncated.
MAX_CHARS = 20_000

_URL = re.compile(r"(?:https?://|www\.)[^\s\u3000，。；！？、）】」』\"'<>]+", re.IGNORECASE)
_FORWARD_HEADER = re.compile(
    r"^\s*(?:(?:(?:fw|fwd|[转轉][发發]?)\s*[:：]|[【\[]\s*[转轉][发發]?\s*[】\]]|forwarded from\b[^\n]*)\s*)+",
    re.IGNORECASE | re.MULTILINE,
)
_DROP_CATEGORIES = frozenset({"So", "Sk", "Cs", "Co", "Cn", "Cc", "Cf", "Me", "Mn"})
_SPACE_CATEGORIES = frozenset({"Zs", "Zl", "Zp"})


@dataclass(frozen=True, slots=True)
class Normalized:
    text: str
    #: index[i] is the offset in the original text of normalised character i.
    index: tuple[int, ...]
    original: str
    truncated: bool

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original (start, end) offsets of the normalised slice [start, end)."""
        if start >= end or not self.index:
            pos = self.index[start] if start < len(self.index) else len(self.original)
            return pos, pos
        return self.index[start], self.index[end - 1] + 1


@lru_cache(maxsize=4096)
def _fold(ch: str) -> str:
    """Width-fold and lower-case one character; '' to drop it, ' ' for any kind of space."""
    if ch == "\n":
        return "\n"
    cat = unicodedata.category(ch)
    if cat in _SPACE_CATEGORIES or ch in "\t\r\x0b\x0c\u3000":
        return " "
    if cat in _DROP_CATEGORIES:
        return ""
    if ch == "\u2019":
        return "'"  # the typographic apostrophe phone keyboards type: "don’t" reads as "don't"
    folded = unicodedata.normalize("NFKC", ch).lower()
    if len(folded) == 1 and unicodedata.category(folded) in _DROP_CATEGORIES:
        return ""
    return folded


def _to_simplified(text: str) -> str:
    converted: str = zhconv.convert(text, "zh-hans")
    if len(converted) == len(text):
        return converted
    # A phrase conversion changed the length: fall back to one character at a time so the map holds.
    return "".join(c if len(c := zhconv.convert(ch, "zh-hans")) == 1 else ch for ch in text)


def _has_cjk(text: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" for ch in text)


def normalize(text: str) -> Normalized:
    original = text
    truncated = len(text) > MAX_CHARS
    if truncated:
        text = text[:MAX_CHARS]
    # Lone surrogates cannot be encoded anywhere downstream; they are dropped like other noise.
    dropped = bytearray(len(text))
    for pattern in (_URL, _FORWARD_HEADER):
        for m in pattern.finditer(text):
            for i in range(m.start(), m.end()):
                dropped[i] = 1
    out: list[str] = []
    index: list[int] = []
    last_space = True
    for i, ch in enumerate(text):
        folded = " " if dropped[i] else _fold(ch)
        for f in folded:
            if f in " \n":
                if last_space:
                    if f == "\n" and out and out[-1] == " ":
                        out[-1] = "\n"
                        index[-1] = i
                    continue
                last_space = True
            else:
                last_space = False
            out.append(f)
            index.append(i)
    while out and out[-1] in " \n":
        out.pop()
        index.pop()
    norm = "".join(out)
    if _has_cjk(norm):
        norm = _to_simplified(norm)
    return Normalized(text=norm, index=tuple(index), original=original, truncated=truncated)


def detect_language(norm: str) -> str:
    """'zh', 'en' or 'mixed', from the balance of Han characters and Latin words."""
    han = sum(1 for ch in norm if "\u3400" <= ch <= "\u9fff")
    latin_words = len(re.findall(r"[a-z]{2,}", norm))
    if han == 0:
        return "en" if latin_words else "zh"
    if latin_words == 0:
        return "zh"
    # A Chinese notice quoting an app name is still Chinese; a sentence or more of English is mixed.
    if latin_words * 4 >= han:
        return "en" if latin_words > han else "mixed"
    return "mixed" if latin_words >= 2 else "zh"
