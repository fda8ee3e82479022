"""The literal prefilter only skips patterns that cannot match: the engine finds exactly what running
every rule pattern on every text would find."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from policy import default_engine
from policy.normalize import normalize
from policy.prefilter import required_literal_sets

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "corpus.jsonl"


@pytest.mark.parametrize(
    ("pattern", "sets"),
    [
        (r"学校.{0,9}(?:统计|上报)", [{"学校"}, {"统计", "上报"}]),
        (r"\bteachers? (?:on loan|seconded)", [{"teacher"}, {"on loan", "seconded"}]),
        (r"(?:ab)+cd", [{"ab"}, {"cd"}]),
        (r"(?:ab)+c", [{"ab"}]),
        (r"(?:县|区)?教育局", [{"教育局"}]),
        # Nothing is required, or only what is in every text (a space, one Latin letter).
        (r"a*b?", []),
        (r"(?:x|\d+)\s", []),
        (r"[a-z] [a-z]", []),
        (r"(unclosed", []),
        # Case-blind patterns and groups match their literals in any case: nothing of theirs is required.
        (r"(?i)teachers? on loan", []),
        (r"(?i:DRAGON) parade", [{" parade"}]),
    ],
)
def test_required_literal_sets(pattern: str, sets: list[set[str]]) -> None:
    assert required_literal_sets(pattern) == sets


def test_the_prefilter_never_hides_a_match() -> None:
    engine = default_engine()
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    texts = [normalize(json.loads(line)["text"]).text for line in lines[::4]]
    texts += ["学校统计", "teachers on loan to the county", "教育局教育局 上报 seconded teacher", "dragon parade"]
    for text in texts:
        found = {(m.signal.id, m.start, m.end) for m in engine.match(text)}
        brute = set(found)
        for sig, pattern in engine._regexes:
            brute.update((sig.id, m.start(), m.end()) for m in pattern.finditer(text) if m.end() > m.start())
        assert found == brute, text[:80]
