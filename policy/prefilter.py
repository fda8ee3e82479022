"""Literal prefilters for regular expressions.

For a pattern, `required_literals` finds a set of plain strings such that every match of the pattern
contains at least one of them (or None when no such set can be proven). The engine looks for all those
literals in one Aho-Corasick pass and runs a pattern only on texts that contain one of its literals:
most patterns are then never run on most texts. The idea is RE2's prefilter, kept to what our rule
patterns use.
"""

from __future__ import annotations

import re._constants as C
import re._parser as P
from typing import Any

#: A literal this short matches nearly everything; requiring it filters nothing.
MIN_USEFUL = 1


def _seq(items: Any) -> set[str] | None:
    """Required literals of a sequence: the best-filtering element's set; consecutive literals join."""
    best: set[str] | None = None
    run: list[str] = []
    candidates: list[set[str]] = []

    def flush() -> None:
        if run:
            candidates.append({"".join(run)})
            run.clear()

    for op, av in items:
        if op is C.LITERAL:
            run.append(chr(av))
            continue
        flush()
        req = _node(op, av)
        if req is not None:
            candidates.append(req)
    flush()
    for cand in candidates:
        if not cand or any(len(s) < MIN_USEFUL for s in cand):
            continue
        # Prefer fewer, longer literals: they filter more.
        if best is None or (min(map(len, cand)), -len(cand)) > (min(map(len, best)), -len(best)):
            best = cand
    return best


def _node(op: Any, av: Any) -> set[str] | None:
    if op is C.SUBPATTERN:
        return _seq(av[-1])
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


def required_literals(pattern: str) -> set[str] | None:
    try:
        parsed = P.parse(pattern)
    except Exception:
        return None
    return _seq(list(parsed))
