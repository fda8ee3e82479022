"""Literal prefilters for regular expressions.

For a pattern, `required_literal_sets` finds sets of plain strings such that every match of the
pattern contains at least one string of each set (`学校.{0,9}(?:统计|上报)` needs 学校 and one of 统计,
上报). The engine looks for all those literals in one Aho-Corasick pass and runs a pattern only on texts
that contain a literal of every one of its sets: most patterns are then never run on most texts. The
idea is RE2's prefilter, kept to what our rule patterns use.
"""

from __future__ import annotations

import re._constants as C
import re._parser as P
from typing import Any


def _candidates(items: Any) -> list[set[str]]:
    """Literal sets of a sequence, each of them required: every match contains one literal of every
    set. Consecutive literals join; a group or a repeat that must occur contributes its own sets."""
    run: list[str] = []
    out: list[set[str]] = []

    def flush() -> None:
        if run:
            out.append({"".join(run)})
            run.clear()

    for op, av in items:
        if op is C.LITERAL:
            run.append(chr(av))
            continue
        flush()
        if op is C.SUBPATTERN:
            if not _case_blind(av):
                out.extend(_candidates(av[-1]))
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT) and av[0] >= 1:
            out.extend(_candidates(av[2]))
        else:
            req = _node(op, av)
            if req is not None:
                out.append(req)
    flush()
    return [c for c in out if c and all(_useful(s) for s in c)]


def _useful(literal: str) -> bool:
    """A space or a single Latin letter or digit is in nearly every text: requiring it filters nothing
    and costs a hit of the literal pass at every occurrence."""
    return bool(literal.strip()) and not (len(literal) == 1 and literal.isascii())


def _selectivity(literals: set[str]) -> tuple[int, int]:
    """Fewer, longer literals filter more."""
    return min(map(len, literals)), -len(literals)


def _seq(items: Any) -> set[str] | None:
    """One required literal set of a sequence: the best-filtering one."""
    return max(_candidates(items), key=_selectivity, default=None)


def _case_blind(group: Any) -> bool:
    """A `(?i:…)` group matches its literals in any case: they are not required as written."""
    return bool(group[1] & C.SRE_FLAG_IGNORECASE)


def _node(op: Any, av: Any) -> set[str] | None:
    if op is C.SUBPATTERN:
        return None if _case_blind(av) else _seq(av[-1])
    if op is C.BRANCH:
        out: set[str] = set()
        for branch in av[1]:
            req = _seq(branch)
            if req is None:
                return None
            out |= req
        return out
    if op in (C.MAX_REPEAT, C.MIN_REPEAT):
        lo, _hi, sub = av
        return _seq(sub) if lo >= 1 else None
    if op is C.IN:
        # A character class of plain characters: any one of them.
        chars = set()
        for kind, val in av:
            if kind is C.LITERAL:
                chars.add(chr(val))
            else:
                return None
        return chars or None
    return None


def required_literal_sets(pattern: str) -> list[set[str]]:
    """Sets of literals such that every match of `pattern` contains a literal of each set, the
    best-filtering first; [] when none can be proven. A pattern need only run on a text that has a
    literal of every set (or of any few of them)."""
    try:
        parsed = P.parse(pattern)
    except Exception:
        return []
    if parsed.state.flags & C.SRE_FLAG_IGNORECASE:
        return []
    return sorted(_candidates(list(parsed)), key=_selectivity, reverse=True)
