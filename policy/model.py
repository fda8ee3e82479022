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
    feats = set(norm)
    # Pairs and triples by concatenating shifted copies: about twice as fast as slicing in a loop.
    pairs = list(map(str.__add__, norm, norm[1:]))
    feats.update(pairs)
    feats.update(map(str.__add__, pairs, norm[2:]))
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
        """One `.npz` archive: a small JSON header, the feature names (UTF-8, separated by NUL, which the
        normaliser never lets through) and the weight table with its zero row."""
        if any("\0" in f for f in self.features):
            raise ValueError("a feature name contains NUL")
        header = {
            "format": 3,
            "rules_digest": self.rules_digest,
            "meta": dict(self.meta),
            "category_classes": list(self.category_classes),
            "verdict_classes": list(self.verdict_classes),
            "intercept": list(self.intercept),
        }
        names = "\0".join(self.features).encode("utf-8")
        with path.open("wb") as fh:
            np.savez_compressed(
                fh,
                header=np.frombuffer(json.dumps(header, ensure_ascii=False).encode("utf-8"), dtype=np.uint8),
                features=np.frombuffer(names, dtype=np.uint8),
                weights=np.ascontiguousarray(self.matrix, dtype=np.float32),
            )

    @classmethod
    def load(cls, path: Path) -> TextModel:
        try:
            with np.load(path, allow_pickle=False) as archive:
                raw = json.loads(archive["header"].tobytes().decode("utf-8"))
                names = archive["features"].tobytes().decode("utf-8")
                matrix = archive["weights"]
            if raw.get("format") != 3:
                raise ValueError(f"format {raw.get('format')!r}, expected 3")
            if matrix.ndim != 2 or matrix.dtype != np.float32 or matrix.shape[0] < 1 or matrix[0].any():
                raise ValueError(f"weights of shape {matrix.shape} and type {matrix.dtype}, or no zero row")
            return cls(
                category_classes=tuple(raw["category_classes"]),
                verdict_classes=tuple(raw["verdict_classes"]),
                intercept=tuple(map(float, raw["intercept"])),
                features=tuple(names.split("\0")) if names else (),
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
