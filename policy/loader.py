"""Loading the policy: the Opinion and the rule layers, validated once, with located errors.

A rule layer is a TOML file of signals, category rules and condition texts. The national layer ships
with the package; later layers (a province's yearly list) are merged on top by `load_policy(extra=...)`:
a signal with a known id adds its patterns to it, a category rule with a known id replaces it.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from policy.errors import PolicyDataError
from policy.models import CATEGORIES, CategoryRule, Clause, ConditionText, Opinion, RuleSet, Signal

DATA_DIR = Path(__file__).parent / "data"
OPINION_FILE = DATA_DIR / "opinion.toml"
RULES_FILE = DATA_DIR / "rules.toml"


@dataclass(frozen=True)
class Policy:
    opinion: Opinion
    rules: RuleSet
    version: str
    sources: tuple[Path, ...]

    @property
    def clauses(self) -> dict[int, Clause]:
        return {c.id: c for c in self.opinion.clause}

    def clause(self, number: int) -> Clause | None:
        return self.clauses.get(number)

    @property
    def categories(self) -> dict[str, CategoryRule]:
        return {c.id: c for c in self.rules.category}

    @property
    def signals(self) -> dict[str, Signal]:
        return {s.id: s for s in self.rules.signal}

    @property
    def conditions(self) -> dict[str, ConditionText]:
        return {c.id: c for c in self.rules.condition}


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise PolicyDataError(f"{path}: cannot read: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise PolicyDataError(f"{path}: not valid TOML: {exc}") from exc


def _locate(path: Path, raw: dict[str, Any], exc: ValidationError) -> PolicyDataError:
    """Turn a pydantic error into one naming the file and the clause, signal or rule concerned."""
    lines = []
    for err in exc.errors():
        loc = err["loc"]
        where = ".".join(str(p) for p in loc)
        if len(loc) >= 2 and isinstance(loc[1], int) and isinstance(raw.get(str(loc[0])), list):
            items = raw[str(loc[0])]
            if loc[1] < len(items) and isinstance(items[loc[1]], dict) and "id" in items[loc[1]]:
                where = f"{loc[0]} id={items[loc[1]]['id']!r}" + "".join(f".{p}" for p in loc[2:])
        lines.append(f"{path}: {where}: {err['msg']}")
    return PolicyDataError("\n".join(lines))


def _duplicates(path: Path, table: str, ids: list[Any]) -> None:
    seen: set[Any] = set()
    for ident in ids:
        if ident in seen:
            raise PolicyDataError(f"{path}: {table} id={ident!r}: duplicate id")
        seen.add(ident)


def _load_opinion(path: Path) -> Opinion:
    raw = _read_toml(path)
    try:
        opinion = Opinion.model_validate(raw)
    except ValidationError as exc:
        raise _locate(path, raw, exc) from None
    _duplicates(path, "clause", [c.id for c in opinion.clause])
    if sorted(c.id for c in opinion.clause) != list(range(1, 21)):
        raise PolicyDataError(f"{path}: clause: the Opinion has clauses 1 to 20, exactly once each")
    sections = {s.id for s in opinion.section}
    for c in opinion.clause:
        if c.section not in sections:
            raise PolicyDataError(f"{path}: clause id={c.id}: unknown section {c.section!r}")
    return opinion


def _merge_layers(layers: list[tuple[Path, dict[str, Any]]]) -> dict[str, Any]:
    _, merged = layers[0]
    merged = {k: (list(v) if isinstance(v, list) else v) for k, v in merged.items()}
    for path, raw in layers[1:]:
        for key in ("signal", "category", "condition"):
            index = {item.get("id"): i for i, item in enumerate(merged.get(key, []))}
            for item in raw.get(key, []):
                if key == "signal" and item.get("id") in index:
                    old = dict(merged[key][index[item["id"]]])
                    for lang in ("zh", "en"):
                        old[lang] = list(old.get(lang, [])) + list(item.get(lang, []))
                    merged[key][index[item["id"]]] = old
                elif item.get("id") in index:
                    merged[key][index[item["id"]]] = item
                else:
                    merged.setdefault(key, []).append(item)
        merged["layer"] = f"{merged['layer']}+{raw.get('layer', path.stem)}"
    return merged


def _check_rules(path: Path, rules: RuleSet, opinion: Opinion) -> None:
    clause_ids = {c.id for c in opinion.clause}
    _duplicates(path, "signal", [s.id for s in rules.signal])
    _duplicates(path, "category", [c.id for c in rules.category])
    _duplicates(path, "condition", [c.id for c in rules.condition])
    signal_ids = {s.id for s in rules.signal}
    condition_ids = {c.id for c in rules.condition}
    roles = {s.role for s in rules.signal if s.role}
    for s in rules.signal:
        where = f"{path}: signal id={s.id!r}"
        if s.clause is not None and s.clause not in clause_ids:
            raise PolicyDataError(f"{where}: names unknown clause {s.clause}")
        for cat in (s.category, s.files_under, *[a for a in s.applies_to if a != "*"]):
            if cat is not None and cat not in CATEGORIES:
                raise PolicyDataError(f"{where}: unknown category {cat!r}")
        if s.kind == "task" and s.category is None:
            raise PolicyDataError(f"{where}: a task signal needs a category")
        if s.kind == "violation" and s.clause is None:
            raise PolicyDataError(f"{where}: a violation needs the clause it breaks")
        for other in (*s.requires_any, *s.unless_any):
            if other not in signal_ids:
                raise PolicyDataError(f"{where}: refers to unknown signal {other!r}")
        if not s.zh and not s.en:
            raise PolicyDataError(f"{where}: no patterns")
        for pattern in (*s.zh, *s.en):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise PolicyDataError(f"{where}: bad pattern {pattern!r}: {exc}") from None
    for c in rules.category:
        where = f"{path}: category id={c.id!r}"
        if c.id not in CATEGORIES:
            raise PolicyDataError(f"{where}: unknown category")
        for n in c.clauses:
            if n not in clause_ids:
                raise PolicyDataError(f"{where}: names unknown clause {n}")
        for cond in c.conditions:
            if cond not in condition_ids:
                raise PolicyDataError(f"{where}: names unknown condition {cond!r}")
        if c.id not in ("teaching", "none") and not c.conditions:
            raise PolicyDataError(f"{where}: needs conditions to show when its verdict is conditional")
        for role in (*c.allow_any, *c.allow_all):
            if role not in roles:
                raise PolicyDataError(f"{where}: no signal has role {role!r}")
    missing = set(CATEGORIES) - {c.id for c in rules.category}
    if missing:
        raise PolicyDataError(f"{path}: category: no rule for {sorted(missing)}")


def load_policy(
    opinion_file: Path = OPINION_FILE, rules_file: Path = RULES_FILE, extra: tuple[Path, ...] = ()
) -> Policy:
    opinion = _load_opinion(opinion_file)
    layers = [(p, _read_toml(p)) for p in (rules_file, *extra)]
    raw = _merge_layers(layers)
    try:
        rules = RuleSet.model_validate(raw)
    except ValidationError as exc:
        raise _locate(rules_file, raw, exc) from None
    _check_rules(rules_file if not extra else extra[-1], rules, opinion)
    digest = hashlib.sha256()
    for path in (opinion_file, rules_file, *extra):
        digest.update(path.read_bytes())
    return Policy(
        opinion=opinion,
        rules=rules,
        version=f"{rules.layer}-{digest.hexdigest()[:12]}",
        sources=(opinion_file, rules_file, *extra),
    )


@cache
def default_policy() -> Policy:
    return load_policy()
