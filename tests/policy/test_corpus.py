"""Our own labelled corpus: its shape, and the engine's figures on it and on the public sample."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from policy import default_engine, default_policy
from policy.cli import predict
from policy.metrics import evaluate
from policy.model import TextModel
from policy.models import CATEGORIES, VERDICTS
from policy.train import MODEL_FILE, rules_digest

ROOT = Path(__file__).resolve().parents[2]
CORPUS_FILE = ROOT / "tests" / "corpus" / "corpus.jsonl"
DEV_FILE = ROOT.parent / "shared" / "eval" / "dev.jsonl"
FIELDS = ["id", "text", "verdict", "clauses", "category", "lang", "why"]
CATEGORY_CLAUSES = {
    "supervision_inspection": {4, 5, 6},
    "poverty_alleviation": {7},
    "special_tasks": {8},
    "city_evaluation": {9},
    "community_affairs": {10},
    "publicity": {11},
    "unrelated_affairs": {12},
    "forms_reports": {13},
    "statistics_surveys": {14},
    "data_collection": {15},
    "teacher_borrowing": {16},
    "training": {17},
    "teaching": {1},
}


def _load(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


CORPUS = _load(CORPUS_FILE)


def test_corpus_shape() -> None:
    assert len(CORPUS) >= 600
    assert len({r["id"] for r in CORPUS}) == len(CORPUS)
    assert len({r["text"] for r in CORPUS}) == len(CORPUS)
    for r in CORPUS:
        assert list(r) == FIELDS, r["id"]
        assert r["verdict"] in VERDICTS and r["category"] in CATEGORIES and r["lang"] in ("zh", "en", "mixed")
        if r["category"] == "none":
            assert r["clauses"] == [] and r["verdict"] == "not_a_request"
        else:
            assert r["clauses"][0] in CATEGORY_CLAUSES[r["category"]], r["id"]
            assert all(1 <= c <= 20 for c in r["clauses"])
        if r["category"] == "teaching":
            assert r["verdict"] == "allow"
    langs = Counter(r["lang"] for r in CORPUS)
    assert langs["zh"] / len(CORPUS) >= 0.70
    assert langs["en"] / len(CORPUS) >= 0.19
    cats = Counter(r["category"] for r in CORPUS)
    assert min(cats[c] for c in CATEGORIES) >= 25
    verdicts = Counter(r["verdict"] for r in CORPUS)
    assert all(verdicts[v] >= 50 for v in VERDICTS)


@pytest.mark.skipif(not DEV_FILE.is_file(), reason="shared/ not beside the checkout")
def test_corpus_does_not_copy_the_public_sample() -> None:
    def grams(s: str, n: int = 20) -> set[str]:
        return {s[i : i + n] for i in range(len(s) - n + 1)}

    dev = set().union(*(grams(r["text"]) for r in _load(DEV_FILE)))
    for r in CORPUS:
        g = grams(r["text"])
        assert not g or len(g & dev) / len(g) < 0.3, r["id"]


def test_the_shipped_model_was_trained_on_the_current_rules() -> None:
    model = TextModel.load(MODEL_FILE)
    assert model.rules_digest == rules_digest(default_policy()), "rules changed: run `make model`"
    assert model.meta["examples"] == len(CORPUS)


@pytest.mark.skipif(not DEV_FILE.is_file(), reason="shared/ not beside the checkout")
def test_public_sample_floors() -> None:
    dev = _load(DEV_FILE)
    report = evaluate(dev, predict(dev))
    assert report.verdict_accuracy >= 0.92
    assert report.category_macro_f1 >= 0.90
    assert report.clause_top1 >= 0.90
    assert report.dangerous == 0
    # Honest uncertainty: few flagged, and what is not flagged is right.
    assert report.flagged / report.n <= 0.15
    assert report.unflagged_correct is not None and report.unflagged_correct >= 0.97


def test_every_clause_cited_on_the_corpus_is_in_the_table() -> None:
    ids = set(default_policy().clauses)
    engine = default_engine()
    for r in CORPUS:
        assert set(engine.screen(r["text"]).clauses) <= ids
