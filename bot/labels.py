"""Reviewers' judgements as labelled examples, in the schema of shared/eval/dev.jsonl, so that corrections
flow back into the corpus: `python -m policy eval` reads the exported file as it is.

The category of a changed verdict follows from the clause the reviewer cites (the Opinion's clause-to-
category map); clauses 18 to 20 are general safeguards that name no category, so a change cites one of 1-17.
"""

from __future__ import annotations

from typing import Any

from bot.storage import Decision, Entry, Review
from policy import Policy
from policy.models import CATEGORIES

#: The fields of a labelled example, in the order of shared/eval/dev.jsonl.
LABEL_FIELDS = ("id", "text", "verdict", "clauses", "category", "lang", "why")
#: Clauses a changed verdict may cite: the ones that name a task category.
CHANGE_CLAUSES = range(1, 18)
REVIEW_VERDICTS = ("allow", "refuse", "conditional", "not_a_request")


def category_for(policy: Policy, verdict: str, clauses: list[int]) -> str | None:
    """The category a reviewer's verdict and clauses imply; None when the first clause names none."""
    if verdict == "not_a_request":
        return "none"
    clause = policy.clause(clauses[0]) if clauses else None
    if clause is None or clause.category not in CATEGORIES:
        return None
    return clause.category


def suggested_clauses(policy: Policy, entry: Entry, verdict: str, limit: int = 6) -> list[int]:
    """Clauses offered as buttons when a reviewer changes a verdict: the decision's own, its items', the
    clauses of its category, and clause 1 (ordinary teaching) for allow."""
    if verdict == "not_a_request":
        return []
    decision = entry.decision
    candidates = [*entry.state.clauses, *decision.clauses]
    for finding in decision.findings:
        candidates += [int(n) for n in finding.get("clauses", [])]
    candidates += [n for n in CHANGE_CLAUSES if (c := policy.clause(n)) and c.category == entry.state.category]
    if verdict == "allow":
        candidates.append(1)
    out: list[int] = []
    for n in candidates:
        if n in CHANGE_CLAUSES and n not in out:
            out.append(n)
    return out[:limit]


def _verdict_with_clauses(verdict: str, clauses: list[int]) -> str:
    if not clauses:
        return verdict
    return f"{verdict} ({'clause' if len(clauses) == 1 else 'clauses'} {', '.join(map(str, clauses))})"


def default_why(review: Review) -> str:
    before = _verdict_with_clauses(review.verdict_before, review.clauses_before)
    if review.action == "confirm":
        return f"A reviewer confirmed the verdict {before}."
    after = _verdict_with_clauses(review.verdict_after, review.clauses_after)
    return f"A reviewer changed the verdict {before} to {after}."


def label_record(decision: Decision, review: Review, lang: str) -> dict[str, Any] | None:
    """The labelled example for a reviewed decision; None when its text is gone (forgotten or expired)."""
    if not decision.text:
        return None
    values = {
        "id": f"review-{decision.id}",
        "text": decision.text,
        "verdict": review.verdict_after,
        "clauses": list(review.clauses_after),
        "category": review.category_after,
        "lang": lang,
        "why": " ".join((review.reason or default_why(review)).split()),
    }
    return {key: values[key] for key in LABEL_FIELDS}
