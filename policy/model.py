"""The learned part of the engine: two linear heads (category, verdict) over character n-grams of the
normalised text and the rule signals that fired.

Training happens offline (`python -m policy train`, scikit-learn, the `train` extra); what ships is a
table of weights in `policy/data/model.npz`, and inference here is a lookup of the text's n-grams, a
sum of their rows (NumPy) and a softmax, so the running bot needs no scikit-learn.
"""

from __future__ import annotations

import hashlib
import json
import math
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

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


@dataclass(frozen=True, eq=False)
class TextModel:
    """Both heads in one table: a feature's row holds its weights for every category, then for every
    verdict, so a text's features are looked up once and summed once.

    The table is a NumPy array (row `i + 1` is `features[i]`; row 0 is zeros), stored with its header in
    one `.npz` file: it loads in a few milliseconds and takes a tenth of the memory of Python floats."""

    category_classes: tuple[str, ...]
    verdict_classes: tuple[str, ...]
    intercept: tuple[float, ...]
    features: tuple[str, ...]
    matrix: np.ndarray
    rules_digest: str
    meta: Mapping[str, Any]
    _index: dict[str, int] = field(init=False, repr=False, compare=False)
    _bias: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        width = len(self.category_classes) + len(self.verdict_classes)
        if len(self.intercept) != width or self.matrix.shape != (len(self.features) + 1, width):
            raise ValueError("weight vectors do not match the classes")
        if len(set(self.features)) != len(self.features):
            raise ValueError("a feature is listed twice")
        object.__setattr__(self, "_index", {f: i for i, f in enumerate(self.features, start=1)})
        object.__setattr__(self, "_bias", np.asarray(self.intercept, dtype=np.float64))

    @classmethod
    def from_rows(
        cls,
        category_classes: Sequence[str],
        verdict_classes: Sequence[str],
        intercept: Sequence[float],
        weights: Mapping[str, Sequence[float]],
        rules_digest: str,
        meta: Mapping[str, Any],
    ) -> TextModel:
        """A model from one row of weights per feature name."""
        width = len(category_classes) + len(verdict_classes)
        matrix = np.zeros((len(weights) + 1, width), dtype=np.float32)
        if weights:
            matrix[1:] = np.asarray(list(weights.values()), dtype=np.float32).reshape(len(weights), width)
        return cls(
            category_classes=tuple(category_classes),
            verdict_classes=tuple(verdict_classes),
            intercept=tuple(map(float, intercept)),
            features=tuple(weights),
            matrix=matrix,
            rules_digest=rules_digest,
            meta=dict(meta),
        )

    def digest(self) -> str:
        head = [self.category_classes, self.verdict_classes, self.intercept, self.features]
        h = hashlib.sha256(json.dumps(head).encode())
        h.update(np.ascontiguousarray(self.matrix, dtype=np.float32).tobytes())
        return h.hexdigest()[:8]

    def predict(self, grams: set[str], extra: Mapping[str, float]) -> tuple[dict[str, float], dict[str, float]]:
        get = self._index.get
        scores = self._bias.copy()
        # One lookup per n-gram; misses are None (filtered out) and row indices start at 1.
        rows = np.fromiter(filter(None, map(get, grams)), dtype=np.intp)
        if rows.size:
            scores += self.matrix[rows].sum(axis=0, dtype=np.float64) * (1.0 / math.sqrt(len(grams)))
        named = [(i, v) for i, v in zip(map(get, extra), extra.values(), strict=True) if i]
        if named:
            idx, values = zip(*named, strict=True)
            scores += np.asarray(values, dtype=np.float64) @ self.matrix[list(idx)]
        k = len(self.category_classes)
        flat = scores.tolist()
        return _softmax(self.category_classes, flat[:k]), _softmax(self.verdict_classes, flat[k:])

    def save(self, path: Path) -> None:
        header = {
            "format": 3,
            "rules_digest": self.rules_digest,
            "meta": dict(self.meta),
            "category_classes": list(self.category_classes),
            "verdict_classes": list(self.verdict_classes),
            "intercept": list(self.intercept),
            "features": list(self.features),
        }
        with path.open("wb") as fh:
            np.savez_compressed(
                fh,
                header=np.array(json.dumps(header, ensure_ascii=False)),
                weights=np.ascontiguousarray(self.matrix[1:], dtype=np.float32),
            )

    @classmethod
    def load(cls, path: Path) -> TextModel:
        try:
            with np.load(path, allow_pickle=False) as archive:
                raw = json.loads(str(archive["header"]))
                weights = archive["weights"]
            if raw.get("format") != 3:
                raise ValueError(f"format {raw.get('format')!r}, expected 3")
            if weights.ndim != 2 or weights.dtype != np.float32:
                raise ValueError(f"weights of shape {weights.shape} and type {weights.dtype}")
            matrix = np.zeros((weights.shape[0] + 1, weights.shape[1]), dtype=np.float32)
            matrix[1:] = weights
            return cls(
                category_classes=tuple(raw["category_classes"]),
                verdict_classes=tuple(raw["verdict_classes"]),
                intercept=tuple(map(float, raw["intercept"])),
                features=tuple(map(str, raw["features"])),
                matrix=matrix,
                rules_digest=str(raw["rules_digest"]),
                meta=raw.get("meta", {}),
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError, zipfile.BadZipFile) as exc:
            raise PolicyDataError(f"{path}: not a valid model file: {exc}") from None


def _softmax(classes: tuple[str, ...], scores: list[float]) -> dict[str, float]:
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    return {c: e / total for c, e in zip(classes, exps, strict=True)}
