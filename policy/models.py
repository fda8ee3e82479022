"""The data shapes of the policy layer.

Two families live here: the *policy data* (the Opinion's clauses and the screening rules, loaded from
TOML files and validated once) and the *screening result* (`Screening`, what `screen()` returns).
Every model is frozen; unknown fields in the data files are errors.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Verdict = Literal["allow", "refuse", "conditional", "not_a_request"]
Language = Literal["zh", "en", "mixed"]
Category = Literal[
    "supervision_inspection",
    "poverty_alleviation",
    "special_tasks",
    "city_evaluation",
    "community_affairs",
    "publicity",
    "unrelated_affairs",
    "forms_reports",
    "statistics_surveys",
    "data_collection",
    "teacher_borrowing",
    "training",
    "teaching",
    "none",
]
CATEGORIES: tuple[str, ...] = Category.__args__  # type: ignore[attr-defined]
VERDICTS: tuple[str, ...] = Verdict.__args__  # type: ignore[attr-defined]

#: Precedence when several findings disagree: the most restrictive wins.
VERDICT_RANK: dict[str, int] = {"not_a_request": 0, "allow": 1, "conditional": 2, "refuse": 3}


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- the Opinion


class Document(_Data):
    title_zh: str
    title_en: str
    short_title_zh: str
    short_title_en: str
    issuers_zh: tuple[str, ...]
    issuers_en: tuple[str, ...]
    date: str
    source_en: str
    note_zh: str
    note_en: str
    closing_en: str


class Section(_Data):
    id: Literal["I", "II", "III", "IV", "V", "VI"]
    title_zh: str
    title_en: str
    clauses: tuple[int, ...]


class Clause(_Data):
    id: int = Field(ge=1, le=20)
    section: Literal["I", "II", "III", "IV", "V", "VI"]
    category: str
    title_en: str
    title_zh: str
    text_en: str
    text_zh: str
    repairs: tuple[str, ...] = ()
    quote_en: str
    quote_zh: str
    checks_zh: tuple[str, ...] = ()
    checks_en: tuple[str, ...] = ()
    may_zh: str
    may_en: str


class Opinion(_Data):
    document: Document
    section: tuple[Section, ...]
    clause: tuple[Clause, ...]


# --------------------------------------------------------------------------- the rules

SignalKind = Literal["task", "issuer", "procedure", "violation", "marker", "noise", "request", "negation"]


class Signal(_Data):
    """A named pattern family. What it means to the engine depends on its kind.

    - task: evidence that a text asks for work of `category`, adding `weight` to that category.
    - issuer: who issues or arranges the task (`role`: education, school, other).
    - procedure: the clause's procedure is shown to be met (`role` names which procedure).
    - violation: something the Opinion rules out; refuses the finding, citing `clause`.
    - noise / request: marks chit-chat or spam, and request-like wording.
    - marker: a helper other signals require or are voided by (requires_any, unless_any).
    - negation: a phrase that negates procedure (e.g. "not through the education bureau").
    """

    id: str
    kind: SignalKind
    zh: tuple[str, ...] = ()
    en: tuple[str, ...] = ()
    category: str | None = None
    weight: float = 1.0
    role: str | None = None
    clause: int | None = None
    #: violation only: the category this violation files the finding under when it decides the verdict;
    #: None keeps the finding's own category.
    files_under: str | None = None
    #: violation only: the higher, the more it dominates the choice of clause and category.
    rank: int = 0
    #: violation only: categories in which it applies ("*" = all).
    applies_to: tuple[str, ...] = ("*",)
    #: the signal counts only if one of these signals also occurs in the same finding.
    requires_any: tuple[str, ...] = ()
    #: the signal is void if one of these signals occurs in the same finding.
    unless_any: tuple[str, ...] = ()
    #: a negating word just before a match voids that match (not for negation/noise signals).
    negatable: bool = True
    note: str = ""


class ConditionText(_Data):
    id: str
    zh: str
    en: str


class CategoryRule(_Data):
    id: str
    clauses: tuple[int, ...]
    #: the verdict when no violation fires and no procedure signal shows the clause's procedure met.
    default: Verdict
    #: the verdict when issued or arranged by the education department or the school itself.
    when_education: Verdict | None = None
    #: procedure roles that, when present, turn the default into allow; all of `allow_all` must be present.
    allow_any: tuple[str, ...] = ()
    allow_all: tuple[str, ...] = ()
    #: what a school should check when the verdict is conditional (ids of [[condition]]).
    conditions: tuple[str, ...] = ()


class RuleSet(_Data):
    layer: str
    applies_to_policy: str
    negators_zh: tuple[str, ...]
    negators_en: tuple[str, ...]
    signal: tuple[Signal, ...]
    category: tuple[CategoryRule, ...]
    condition: tuple[ConditionText, ...]


# --------------------------------------------------------------------------- the result


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True)


class Evidence(_Result):
    """A span of the caller's text (offsets into the original string) that triggered `rule`."""

    start: int
    end: int
    text: str
    rule: str


class Condition(_Result):
    id: str
    zh: str
    en: str


class Finding(_Result):
    """One distinct task found in the text, judged on its own."""

    verdict: Verdict
    category: Category
    clauses: tuple[int, ...]
    evidence: tuple[Evidence, ...]
    conditions: tuple[Condition, ...]
    start: int
    end: int
    text: str
    confidence: float


class Screening(_Result):
    verdict: Verdict
    category: Category
    clauses: tuple[int, ...]
    findings: tuple[Finding, ...]
    evidence: tuple[Evidence, ...]
    conditions: tuple[Condition, ...]
    confidence: float = Field(ge=0.0, le=1.0)
    needs_review: bool
    language: Language
    policy_version: str
    truncated: bool = False
