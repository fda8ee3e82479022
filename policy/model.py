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
class LinearHead:
    classes: tuple[str, ...]
    intercept: tuple[float, ...]
    weights: Mapping[str, tuple[float, ...]]

    def to_json(self) -> dict[str, Any]:
        return {
            "classes": list(self.classes),
            "intercept": [round(x, 4) for x in self.intercept],
            "weights": {k: [round(x, 4) for x in v] for k, v in sorted(self.weights.items())},
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> LinearHead:
        classes = tuple(raw["classes"])
        weights = {k: tuple(float(x) for x in v) for k, v in raw["weights"].items()}
        if any(len(v) != len(classes) for v in weights.values()) or len(raw["intercept"]) != len(classes):
            raise ValueError("weight vectors do not match the classes")
        return cls(classes=classes, intercept=tuple(float(x) for x in raw["intercept"]), weights=weights)


@dataclass(frozen=True)
class TextModel:
    category: LinearHead
    verdict: LinearHead
    rules_digest: str
    meta: Mapping[str, Any]

    def __post_init__(self) -> None:
        # One table for both heads: a text's features are looked up once, summed once.
        k = len(self.category.classes)
        zeros_c = (0.0,) * k
        zeros_v = (0.0,) * len(self.verdict.classes)
        joint: dict[str, tuple[float, ...]] = {}
        for name in self.category.weights.keys() | self.verdict.weights.keys():
            joint[name] = self.category.weights.get(name, zeros_c) + self.verdict.weights.get(name, zeros_v)
        object.__setattr__(self, "_joint", joint)
        object.__setattr__(self, "_split", k)
        object.__setattr__(self, "_intercept", self.category.intercept + self.verdict.intercept)

    def predict(self, grams: set[str], extra: Mapping[str, float]) -> tuple[dict[str, float], dict[str, float]]:
        joint: dict[str, tuple[float, ...]] = self._joint  # type: ignore[attr-defined]
        scores = list(self._intercept)  # type: ignore[attr-defined]
        hits = [joint[g] for g in grams if g in joint]
        if hits:
            scale = 1.0 / math.sqrt(len(grams))
            scores = [b + s * scale for b, s in zip(scores, map(sum, zip(*hits, strict=True)), strict=True)]
        for name, value in extra.items():
            w = joint.get(name)
            if w is not None:
                scores = [s + value * wi for s, wi in zip(scores, w, strict=True)]
        k: int = self._split  # type: ignore[attr-defined]
        return _softmax(self.category.classes, scores[:k]), _softmax(self.verdict.classes, scores[k:])

    def to_json(self) -> dict[str, Any]:
        return {
            "format": 1,
            "rules_digest": self.rules_digest,
            "meta": dict(self.meta),
            "category": self.category.to_json(),
            "verdict": self.verdict.to_json(),
        }

    @classmethod
    def load(cls, path: Path) -> TextModel:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            return cls(
                category=LinearHead.from_json(raw["category"]),
                verdict=LinearHead.from_json(raw["verdict"]),
                rules_digest=str(raw["rules_digest"]),
                meta=raw.get("meta", {}),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise PolicyDataError(f"{path}: not a valid model file: {exc}") from None


def _softmax(classes: tuple[str, ...], scores: list[float]) -> dict[str, float]:
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    return {c: e / total for c, e in zip(classes, exps, strict=True)}
