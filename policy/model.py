"""The learned part of the engine: two linear heads (category, verdict) over character n-grams of the
normalised text and the rule signals that fired.

Training happens offline (`python -m policy train`, scikit-learn, the `train` extra); what ships is a
JSON file of weights, and inference here is a sparse dot product and a softmax in plain Python, so the
running bot needs neither NumPy nor scikit-learn.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

from policy.errors import PolicyDataError

NGRAM_MAX = 3


def text_features(norm: str) -> set[str]:
    """Character 1..3-grams of the normalised text, plus English words and word pairs."""
    n = len(norm)
    feats = set(norm)
    feats.update({norm[i : i + 2] for i in range(n - 1)})
    feats.update({norm[i : i + 3] for i in range(n - 2)})
    feats.discard(" ")
    feats.discard("\n")
    if any("a" <= ch <= "z" for ch in norm):
        words = [w for w in norm.replace("\n", " ").split(" ") if w.isascii() and w.isalpha()]
        feats.update({"w:" + w for w in words})
        feats.update({f"w:{a}_{b}" for a, b in pairwise(words)})
    return feats


@dataclass(frozen=True)
class TextModel:
    """Both heads in one table: a feature's weights for every category, then for every verdict, so a
    text's features are looked up once and summed once."""

    category_classes: tuple[str, ...]
    verdict_classes: tuple[str, ...]
    intercept: tuple[float, ...]
    weights: Mapping[str, tuple[float, ...]]
    rules_digest: str
    meta: Mapping[str, Any]

    def __post_init__(self) -> None:
        width = len(self.category_classes) + len(self.verdict_classes)
        if len(self.intercept) != width or any(len(v) != width for v in self.weights.values()):
            raise ValueError("weight vectors do not match the classes")

    def predict(self, grams: set[str], extra: Mapping[str, float]) -> tuple[dict[str, float], dict[str, float]]:
        joint = self.weights
        scores = list(self.intercept)
        # One lookup per n-gram; a feature's weight row is never empty, so filter(None) drops the misses.
        hits = list(filter(None, map(joint.get, grams)))
        if hits:
            scale = 1.0 / math.sqrt(len(grams))
            scores = [b + s * scale for b, s in zip(scores, map(sum, zip(*hits, strict=True)), strict=True)]
        for name, value in extra.items():
            w = joint.get(name)
            if w is not None:
                scores = [s + value * wi for s, wi in zip(scores, w, strict=True)]
        k = len(self.category_classes)
        return _softmax(self.category_classes, scores[:k]), _softmax(self.verdict_classes, scores[k:])

    def to_json(self) -> dict[str, Any]:
        return {
            "format": 2,
            "rules_digest": self.rules_digest,
            "meta": dict(self.meta),
            "category_classes": list(self.category_classes),
            "verdict_classes": list(self.verdict_classes),
            "intercept": [round(x, 4) for x in self.intercept],
            "weights": {k: [round(x, 4) for x in v] for k, v in sorted(self.weights.items())},
        }

    @classmethod
    def load(cls, path: Path) -> TextModel:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            if raw.get("format") != 2:
                raise ValueError(f"format {raw.get('format')!r}, expected 2")
            return cls(
                category_classes=tuple(raw["category_classes"]),
                verdict_classes=tuple(raw["verdict_classes"]),
                intercept=tuple(map(float, raw["intercept"])),
                weights={k: tuple(v) for k, v in raw["weights"].items()},
                rules_digest=str(raw["rules_digest"]),
                meta=raw.get("meta", {}),
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise PolicyDataError(f"{path}: not a valid model file: {exc}") from None


def _softmax(classes: tuple[str, ...], scores: list[float]) -> dict[str, float]:
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    return {c: e / total for c, e in zip(classes, exps, strict=True)}
