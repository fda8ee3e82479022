"""screen(): golden cases kept as data, invariants over the whole corpus, normalisation, bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy import Screening, default_policy, screen
from policy.engine import HEDGE_AT, MAX_FINDINGS, Engine
from policy.model import TextModel
from policy.models import CATEGORIES, VERDICT_RANK
from policy.normalize import MAX_CHARS, normalize

HERE = Path(__file__).resolve().parent
GOLDEN = [json.loads(line) for line in (HERE / "golden.jsonl").read_text(encoding="utf-8").splitlines() if line]
CORPUS = [
    json.loads(line)
    for line in (HERE.parent / "corpus" / "corpus.jsonl").read_text(encoding="utf-8").splitlines()
    if line
]


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(c, marks=pytest.mark.xfail(reason=c["known_miss"], strict=False)) if "known_miss" in c else c
        for c in GOLDEN
    ],
    ids=[c["id"] for c in GOLDEN],
)
def test_golden(case: dict[str, Any]) -> None:
    """Golden cases as data. A case marked `known_miss` documents a measured weakness of the engine
    (reported as xfail, never hidden); it stays in the table so a fix shows up as XPASS."""
    s = screen(case["text"])
    assert (s.verdict, s.category) == (case["verdict"], case["category"]), case["note"]
    assert list(s.clauses[:1]) == case["clauses"][:1]


def test_golden_cases_cover_every_clause_with_a_task() -> None:
    covered = {c["clauses"][0] for c in GOLDEN if c["clauses"] and "known_miss" not in c}
    assert set(range(4, 18)) <= covered


def _check_invariants(text: str, s: Screening) -> None:
    clause_ids = set(default_policy().clauses)
    assert set(s.clauses) <= clause_ids
    assert s.category in CATEGORIES
    assert 0.0 <= s.confidence <= 1.0
    assert (s.verdict == "not_a_request") == (s.category == "none")
    if s.verdict == "not_a_request":
        assert s.clauses == () and s.findings == ()
    else:
        assert s.clauses, "every verdict names its clauses"
        assert s.findings
        assert max(VERDICT_RANK[f.verdict] for f in s.findings) == VERDICT_RANK[s.verdict]
        for f in s.findings:
            assert set(f.clauses) <= clause_ids
            assert text[f.start : f.end] == f.text
    assert (s.verdict == "conditional") == bool(s.conditions) or s.verdict != "conditional"
    for ev in s.evidence:
        assert text[ev.start : ev.end] == ev.text and ev.rule
    assert s.policy_version


def test_invariants_over_the_whole_corpus() -> None:
    for row in CORPUS:
        s = screen(row["text"])
        _check_invariants(row["text"], s)
        if s.verdict == "conditional":
            assert s.conditions, row["id"]


def test_a_notice_with_a_buried_item_lists_each_finding() -> None:
    text = (
        "关于做好秋季开学工作的通知\n各中小学：\n"
        "一、做好开学准备。各校认真做好教材发放和课表编排，确保开学第一天正常上课。\n"
        "二、配合做好宣传。根据县公安局要求，全体教师须下载注册反诈APP，各班注册率须达100%，截图报学校，纳入年度考核。\n"
        "三、规范收费行为。严禁违规收取任何费用。\n县教育局"
    )
    s = screen(text)
    assert s.verdict == "refuse" and s.category == "unrelated_affairs" and s.clauses[0] == 12
    assert len(s.findings) >= 2
    bad = [f for f in s.findings if f.verdict == "refuse"]
    assert bad and "反诈" in bad[0].text
    assert any(f.verdict == "allow" and "教材" in f.text for f in s.findings)
    assert any(ev.rule.startswith("viol.") and "APP" in text[ev.start : ev.end + 10] for ev in s.evidence)


def test_traditional_script_screens_like_its_simplified_twin() -> None:
    simplified = "镇政府：下周五新建商业广场开业剪彩，请中心小学组织100名学生到现场表演腰鼓，当天上午学生停课。"
    traditional = "鎮政府：下週五新建商業廣場開業剪綵，請中心小學組織100名學生到現場表演腰鼓，當天上午學生停課。"
    a, b = screen(simplified), screen(traditional)
    assert (a.verdict, a.category, a.clauses) == (b.verdict, b.category, b.clauses)
    assert all(traditional[e.start : e.end] == e.text for e in b.evidence)


def test_full_width_forms_emoji_links_and_forward_headers_are_normalised() -> None:
    plain = "县商务局：请每位教职工购买不少于200元农产品，订单截图交学校汇总，完成情况全县通报。"
    noisy = (
        "FW: 【转】🔥🔥 县商务局：请每位教职工购买不少于２００元农产品，订单截图交学校汇总，"
        "完成情况全县通报。👉 http://shop.example.cn/x?id=1   "
    )
    a, b = screen(plain), screen(noisy)
    assert (a.verdict, a.category) == (b.verdict, b.category) == ("refuse", "unrelated_affairs")
    n = normalize(noisy)
    assert "http" not in n.text and "fw" not in n.text and "🔥" not in n.text and "200" in n.text


def test_negation_voids_a_violation() -> None:
    s = screen(
        "区教育局：消防安全月请各校利用班会课开展一次消防教育和疏散演练，不要求报送照片，不作考核排名，不占用文化课时间。"
    )
    assert s.verdict == "allow"
    assert not any(ev.rule.startswith("viol.") for ev in s.evidence)


@pytest.mark.parametrize(
    ("text", "negated"),
    [
        ("Home visits are judged on real contact, without photos.", True),
        ("No need to send photos of the drill.", True),
        ("No home visit counts without a photo.", False),
        ("Nothing is accepted without screenshots of each session.", False),
        ("Home visits happen without forms, without photos.", True),
        ("No forms and without photos.", True),
        ("No sign-in sheet, no photos, without screenshots.", True),
        ("Don't worry, just visit without photos.", True),
        ("Please don\u2019t send photos of the drill.", True),
    ],
)
def test_without_after_another_negator_demands_the_proof(text: str, negated: bool) -> None:
    engine = Engine(default_policy())
    proof = [m for m in engine.match(normalize(text).text) if m.signal.id == "mark.media_proof"]
    assert proof and all(m.negated is negated for m in proof)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Please apply for approval before it happens.", False),
        ("Everyone must download the app tonight.", True),
        ("请全体教师下载APP并注册。", True),
    ],
)
def test_app_is_a_word_not_part_of_one(text: str, found: bool) -> None:
    engine = Engine(default_policy())
    app = [m for m in engine.match(normalize(text).text) if normalize(text).text[m.start : m.end] == "app"]
    assert bool(app) is found


@pytest.mark.parametrize(
    "text",
    ["", "   \n\t  ", "\x00\x01\x02", "\ud800\udfff broken", "😀" * 10_000, bytes(range(256)).decode("latin-1")],
    ids=["empty", "whitespace", "controls", "surrogates", "emoji", "binary"],
)
def test_bad_input_gets_a_valid_screening(text: str) -> None:
    s = screen(text)
    assert isinstance(s, Screening)
    if not text.strip() or text.startswith("😀"):
        assert s.verdict == "not_a_request"


def test_a_one_megabyte_text_is_truncated_with_findings_capped() -> None:
    block = "一、请各校按时完成期末考试安排。\n二、全体教师须下载注册某APP，注册率100%，截图上报，纳入考核。\n"
    text = block * (1_000_000 // len(block) + 1)
    s = screen(text)
    assert s.truncated and s.needs_review
    assert len(s.findings) <= MAX_FINDINGS
    assert s.verdict == "refuse"
    assert all(e.end <= MAX_CHARS for e in s.evidence)


def test_non_string_input_is_tolerated() -> None:
    assert screen(None).verdict == "not_a_request"  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.characters(codec=None), max_size=400))
def test_screen_is_total_over_arbitrary_unicode(text: str) -> None:
    s = screen(text)
    _check_invariants(text, s)


def _fixed_model(verdict_probs: dict[str, float]) -> TextModel:
    """A model that reads nothing: its answer is its intercepts (publicity, and these verdict odds)."""
    categories = ("publicity", "teaching", "none")
    verdicts = tuple(verdict_probs)
    return TextModel.from_rows(
        categories,
        verdicts,
        (6.0, 0.0, 0.0, *(math.log(p) for p in verdict_probs.values())),
        weights={},
        rules_digest="",
        meta={},
    )


PLAIN = "区科协：下周三想到贵校给四年级学生做一场科普讲座，时间请学校安排。"
VIOLATING = "区科协：下周三到贵校给四年级学生做一场科普讲座，请各班上传学生听讲照片，按上传照片数量对各校排名通报。"
NEAR_ALLOW = {"allow": 0.55, "refuse": 0.40, "conditional": 0.04, "not_a_request": 0.01}
NEAR_REFUSE = {"refuse": 0.58, "allow": 0.37, "conditional": 0.04, "not_a_request": 0.01}


@pytest.mark.parametrize(
    ("odds", "text", "expected"),
    [
        # A near tie whose verdict the rules' evidence contradicts: conditional, with conditions.
        (NEAR_ALLOW, VIOLATING, "conditional"),
        (NEAR_REFUSE, PLAIN, "conditional"),
        # A near tie the evidence backs keeps its verdict (and is still flagged).
        (NEAR_ALLOW, PLAIN, "allow"),
        (NEAR_REFUSE, VIOLATING, "refuse"),
        # A clear answer stands, whatever the evidence.
        ({"allow": 0.80, "refuse": 0.10, "conditional": 0.09, "not_a_request": 0.01}, VIOLATING, "allow"),
        ({"refuse": 0.80, "conditional": 0.12, "allow": 0.07, "not_a_request": 0.01}, PLAIN, "refuse"),
    ],
)
def test_a_near_tie_between_allow_and_refuse_stands_only_on_evidence(
    odds: dict[str, float], text: str, expected: str
) -> None:
    engine = Engine(default_policy(), _fixed_model(odds))
    assert bool(engine.analyse(text).rules.violations) == (text is VIOLATING)
    s = engine.screen(text)
    assert s.verdict == expected and s.category == "publicity"
    near_tie = min(odds["allow"], odds["refuse"]) >= HEDGE_AT
    assert s.needs_review == near_tie
    if expected == "conditional":
        assert s.conditions
        assert s.confidence == pytest.approx(odds["conditional"] / (1 - odds["not_a_request"]), abs=0.01)
