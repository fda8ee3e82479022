"""Training the learned heads (offline; needs the `train` extra: scikit-learn).

    python -m policy train [CORPUS.jsonl ...]      fit on the corpus, write policy/data/model.json
    python -m policy cv [--folds 5]                held-out-fold figures on the corpus

The features are computed by the engine itself (`Engine.features`), so training and screening can
never disagree about what a text looks like.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from policy.engine import Engine
from policy.loader import DATA_DIR, Policy, default_policy
from policy.model import LinearHead, TextModel

MODEL_FILE = DATA_DIR / "model.json"
CORPUS_DIR = Path(__file__).resolve().parent.parent / "tests" / "corpus"
#: Regularisation strength of the logistic regressions (chosen by held-out folds, see README).
C_CATEGORY = 10.0
C_VERDICT = 10.0
#: Features kept in the shipped file: those with the largest weights, enough to lose no accuracy.
MAX_FEATURES = 8000
SEED = 20191215


def rules_digest(policy: Policy) -> str:
    """What the model's rule features depend on: the rule file(s), not the clause texts."""
    h = hashlib.sha256()
    for path in policy.sources[1:]:
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def load_corpus(paths: Sequence[Path]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for path in paths:
        with path.open(encoding="utf-8") as fh:
            rows.extend(json.loads(line) for line in fh if line.strip())
    return rows


def default_corpus_files() -> list[Path]:
    return [CORPUS_DIR / "corpus.jsonl"]


def _vectors(engine: Engine, texts: Sequence[str]) -> list[dict[str, float]]:
    out = []
    for text in texts:
        grams, extra = engine.features(text)
        scale = 1.0 / math.sqrt(len(grams)) if grams else 0.0
        vec = dict.fromkeys(grams, scale)
        vec.update(extra)
        out.append(vec)
    return out


def fit(
    policy: Policy, rows: Sequence[Mapping[str, Any]], vectors: Sequence[dict[str, float]] | None = None
) -> TextModel:
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    base = Engine(policy)
    vecs = list(vectors) if vectors is not None else _vectors(base, [str(r["text"]) for r in rows])
    dv = DictVectorizer()
    x = dv.fit_transform(vecs)
    names = dv.get_feature_names_out()
    heads = {}
    for field, c in (("category", C_CATEGORY), ("verdict", C_VERDICT)):
        y = [r[field] for r in rows]
        clf = LogisticRegression(C=c, max_iter=5000, random_state=SEED)
        clf.fit(x, y)
        heads[field] = (list(clf.classes_), clf.intercept_.tolist(), clf.coef_)
    # Keep the features that matter most to either head.
    importance = [0.0] * len(names)
    for _, _, coef in heads.values():
        col_max = abs(coef).max(axis=0)
        importance = [max(a, float(b)) for a, b in zip(importance, col_max, strict=True)]
    keep = sorted(range(len(names)), key=lambda i: -importance[i])[:MAX_FEATURES]
    built = {}
    for field, (classes, intercept, coef) in heads.items():
        weights = {str(names[i]): tuple(float(v) for v in coef[:, i]) for i in keep}
        built[field] = LinearHead(classes=tuple(classes), intercept=tuple(intercept), weights=weights)
    digest = hashlib.sha256(
        json.dumps([built["category"].to_json(), built["verdict"].to_json()], sort_keys=True).encode()
    ).hexdigest()[:8]
    return TextModel(
        category=built["category"],
        verdict=built["verdict"],
        rules_digest=rules_digest(policy),
        meta={"digest": digest, "examples": len(rows), "features": len(keep), "c": [C_CATEGORY, C_VERDICT]},
    )


def folds(rows: Sequence[Mapping[str, Any]], k: int) -> list[list[int]]:
    """Stratified by category, shuffled with a fixed seed."""
    by_cat: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        by_cat.setdefault(str(r["category"]), []).append(i)
    rng = random.Random(SEED)
    out: list[list[int]] = [[] for _ in range(k)]
    n = 0
    for cat in sorted(by_cat):
        idx = by_cat[cat]
        rng.shuffle(idx)
        for i in idx:
            out[n % k].append(i)
            n += 1
    return out


def cross_validate(policy: Policy, rows: Sequence[Mapping[str, Any]], k: int = 5) -> dict[str, dict[str, Any]]:
    """Predictions for every row from a model that never saw it (k-fold)."""
    from policy.cli import batch_record

    base = Engine(policy)
    vecs = _vectors(base, [str(r["text"]) for r in rows])
    preds: dict[str, dict[str, Any]] = {}
    for held in folds(rows, k):
        held_set = set(held)
        train_idx = [i for i in range(len(rows)) if i not in held_set]
        model = fit(policy, [rows[i] for i in train_idx], [vecs[i] for i in train_idx])
        engine = Engine(policy, model)
        for i in held:
            preds[str(rows[i]["id"])] = batch_record(rows[i]["id"], engine.screen(str(rows[i]["text"])))
    return preds


def train_and_save(paths: Sequence[Path], out: Path = MODEL_FILE) -> TextModel:
    policy = default_policy()
    rows = load_corpus(paths)
    model = fit(policy, rows)
    out.write_text(json.dumps(model.to_json(), ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    return model
