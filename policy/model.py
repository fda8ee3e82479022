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
import os
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from policy.errors import PolicyDataError


def text_features(norm: str) -> set[str]:
    """Character 1..3-grams of the normalised text, plus English words and word pairs."""
    feats = set(norm)
    # Pairs and triples by concatenating shifted copies: about twice as fast as slicing in a loop.
    pairs = list(map(str.__add__, norm, norm[1:]))
    feats.update(pairs)
    feats.update(map(str.__add__, pairs, norm[2:]))
    feats.discard(" ")
    feats.discard("\n")
    feats.update(word_features(norm))
    return feats


def word_features(norm: str) -> set[str]:
    """English words and word pairs, as `w:word` and `w:word_next`."""
    if not any("a" <= ch <= "z" for ch in norm):
        return set()
    words = [w for w in norm.replace("\n", " ").split(" ") if w.isascii() and w.isalpha()]
    return {"w:" + w for w in words} | {f"w:{a}_{b}" for a, b in pairwise(words)}


#: NUL is never in a normalised text; were it there, it is coded as this value above Unicode so that no
#: gram's code can collide with a shorter gram's.
_NUL_CODE = 0x110000
_GRAM_BITS = 21
_SKIPPED_UNIGRAMS = (ord(" "), ord("\n"))


def _code_points(text: str) -> np.ndarray:
    cps = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.uint64)
    if "\0" in text:
        cps[cps == 0] = _NUL_CODE
    return cps


def gram_codes(norm: str) -> np.ndarray:
    """The distinct character 1..3-grams of `norm` as integers, sorted: a gram's code points packed 21
    bits apiece. Code points are below 2**21 and never 0, so every gram has exactly one code and grams
    of different lengths never share one. The same set as the character part of `text_features`."""
    cps = _code_points(norm)
    n = cps.size
    codes = np.empty(max(3 * n - 3, n), dtype=np.uint64)
    codes[:n] = cps
    if n > 1:
        np.bitwise_or(cps[:-1] << _GRAM_BITS, cps[1:], out=codes[n : 2 * n - 1])
    if n > 2:
        np.bitwise_or(codes[n : 2 * n - 2] << _GRAM_BITS, cps[2:], out=codes[2 * n - 1 :])
    codes = np.unique(codes)
    # A space and a line break alone are not features. Sorted, they are among the first codes, with
    # only control characters (which the normaliser removes) beside them.
    low = int(np.searchsorted(codes, max(_SKIPPED_UNIGRAMS) + 1))
    if not low:
        return codes
    kept = [c for c in codes[:low].tolist() if c not in _SKIPPED_UNIGRAMS]
    return np.concatenate((np.array(kept, dtype=np.uint64), codes[low:])) if kept else codes[low:]


def _codes_of(names: Sequence[str]) -> np.ndarray:
    """The code of each name (all of one length, 1 to 3), as `gram_codes` computes it."""
    if not names:
        return np.zeros(0, dtype=np.uint64)
    width = len(names[0])
    cps = _code_points("".join(names)).reshape(len(names), width)
    codes = np.zeros(len(names), dtype=np.uint64)
    for col in range(width):
        codes = (codes << _GRAM_BITS) | cps[:, col]
    return codes


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
    _gram_keys: np.ndarray = field(init=False, repr=False, compare=False)
    _gram_rows: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        width = len(self.category_classes) + len(self.verdict_classes)
        for classes in (self.category_classes, self.verdict_classes):
            if not classes or len(set(classes)) != len(classes) or not all(isinstance(c, str) for c in classes):
                raise ValueError(f"classes {classes!r}: expected distinct names")
        if not isinstance(self.meta, Mapping):
            raise ValueError("meta is not a table")
        if not isinstance(self.matrix, np.ndarray) or self.matrix.dtype != np.float32:
            raise ValueError("the weight table is not float32")
        if len(self.intercept) != width or self.matrix.shape != (len(self.features) + 1, width):
            raise ValueError("weight vectors do not match the classes")
        if not (np.isfinite(self.matrix).all() and all(map(math.isfinite, self.intercept))):
            raise ValueError("a weight is not a finite number")
        if len(set(self.features)) != len(self.features):
            raise ValueError("a feature is listed twice")
        # The table is shared by every copy (dataclasses.replace) and every thread: read-only.
        self.matrix.setflags(write=False)
        object.__setattr__(self, "_index", {f: i for i, f in enumerate(self.features, start=1)})
        object.__setattr__(self, "_bias", np.asarray(self.intercept, dtype=np.float64))
        # Every name of one to three characters can be a character gram: a sorted table of their codes
        # and rows, so that a text's grams are found by one binary search instead of one dict lookup each.
        keys, rows = [np.zeros(0, dtype=np.uint64)], [np.zeros(0, dtype=np.intp)]
        for width in (1, 2, 3):
            names = [f for f in self.features if len(f) == width]
            keys.append(_codes_of(names))
            rows.append(np.fromiter(map(self._index.__getitem__, names), dtype=np.intp, count=len(names)))
        all_keys, all_rows = np.concatenate(keys), np.concatenate(rows)
        order = np.argsort(all_keys, kind="stable")
        object.__setattr__(self, "_gram_keys", all_keys[order])
        object.__setattr__(self, "_gram_rows", all_rows[order])
        for derived in (self._bias, self._gram_keys, self._gram_rows):
            derived.setflags(write=False)

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
        h.update(self.matrix.tobytes())
        return h.hexdigest()[:8]

    def predict(self, grams: set[str], extra: Mapping[str, float]) -> tuple[dict[str, float], dict[str, float]]:
        """Class probabilities for a set of feature names (as `text_features` gives them) and the
        weighted rule features."""
        rows = np.fromiter(filter(None, map(self._index.get, grams)), dtype=np.intp)
        return self._scores(rows, len(grams), extra)

    def predict_text(self, norm: str, extra: Mapping[str, float]) -> tuple[dict[str, float], dict[str, float]]:
        """The same as `predict(text_features(norm), extra)`, faster: the character grams are coded as
        integers and found in the sorted code table in one go; only English words are looked up by name."""
        codes = gram_codes(norm)
        words = word_features(norm)
        if words:
            # "w:a" is also the character trigram it spells: in a set of names it would count once.
            words = {w for w in words if len(w) > 3 or w not in norm}
        rows = np.zeros(0, dtype=np.intp)
        keys = self._gram_keys
        if codes.size and keys.size:
            pos = np.minimum(np.searchsorted(keys, codes), keys.size - 1)
            rows = self._gram_rows[pos[keys[pos] == codes]]
        if words:
            rows = np.concatenate((rows, np.fromiter(filter(None, map(self._index.get, words)), dtype=np.intp)))
        return self._scores(rows, codes.size + len(words), extra)

    def _scores(
        self, rows: np.ndarray, n_grams: int, extra: Mapping[str, float]
    ) -> tuple[dict[str, float], dict[str, float]]:
        """Softmax of the intercept plus the grams' rows (L2-normalised: each weighs 1/sqrt(n)) plus the
        rule features' rows times their values, in one gather and one product."""
        named = [(i, v) for i, v in zip(map(self._index.get, extra), extra.values(), strict=True) if i]
        scores = self._bias
        if rows.size or named:
            scale = 1.0 / math.sqrt(n_grams) if n_grams else 0.0
            idx = np.concatenate((rows, np.fromiter((i for i, _ in named), dtype=np.intp, count=len(named))))
            weights = np.concatenate((np.full(rows.size, scale), np.fromiter((v for _, v in named), dtype=np.float64)))
            scores = scores + weights @ self.matrix[idx]
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
        # Written beside the target and renamed over it: a crash mid-write leaves the old model whole.
        partial = path.with_name(path.name + ".partial")
        with partial.open("wb") as fh:
            np.savez_compressed(
                fh,
                header=np.frombuffer(json.dumps(header, ensure_ascii=False).encode("utf-8"), dtype=np.uint8),
                features=np.frombuffer(names, dtype=np.uint8),
                weights=np.ascontiguousarray(self.matrix, dtype=np.float32),
            )
        os.replace(partial, path)

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
        # What a damaged archive raises: a truncated or empty file (BadZipFile, EOFError), a broken
        # compressed stream (zlib.error), an encrypted or unknown member (RuntimeError,
        # NotImplementedError), wrong contents (the rest).
        except (
            OSError,
            EOFError,
            ValueError,
            KeyError,
            TypeError,
            AttributeError,
            RuntimeError,
            NotImplementedError,
            zipfile.BadZipFile,
            zlib.error,
        ) as exc:
            raise PolicyDataError(f"{path}: not a valid model file: {exc}") from None


def _softmax(classes: tuple[str, ...], scores: list[float]) -> dict[str, float]:
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    return {c: e / total for c, e in zip(classes, exps, strict=True)}
