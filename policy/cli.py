"""`python -m policy …`: screen a text, screen JSON lines in bulk, evaluate against gold, show clauses."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from policy import default_engine, default_policy
from policy.errors import PolicyDataError
from policy.metrics import evaluate, format_report
from policy.models import Screening

VERDICT_LABEL = {
    "allow": "可以安排 / may be assigned",
    "refuse": "可以拒绝 / the school may refuse",
    "conditional": "有条件 / only if the conditions below are met",
    "not_a_request": "不是任务 / not a task request",
}


def format_screening(s: Screening) -> str:
    policy = default_policy()
    lines = [f"verdict:    {VERDICT_LABEL[s.verdict]}", f"category:   {s.category}"]
    for n in s.clauses:
        c = policy.clause(n)
        if c:
            lines.append(f"clause {n:>2}:  {c.title_zh} / {c.title_en}")
            lines.append(f"            “{c.quote_en}”")
    lines.append(f"confidence: {s.confidence:.2f}{'  (needs review)' if s.needs_review else ''}")
    lines.append(f"language:   {s.language}    policy: {s.policy_version}")
    if s.truncated:
        lines.append("note:       the text was longer than the engine reads; only its start was screened")
    if len(s.findings) > 1:
        lines.append("findings:")
        for i, f in enumerate(s.findings, 1):
            excerpt = f.text.strip().replace("\n", " ")[:60]
            lines.append(f"  {i}. {f.verdict:<11} {f.category:<22} {list(f.clauses)}  {excerpt}")
    if s.conditions:
        lines.append("check:")
        for cond in s.conditions:
            lines.append(f"  - {cond.zh}")
            lines.append(f"    {cond.en}")
    if s.evidence:
        lines.append("evidence:")
        for ev in s.evidence:
            lines.append(f"  [{ev.start}:{ev.end}] {ev.text!r}  ({ev.rule})")
    return "\n".join(lines)


def batch_record(ident: Any, s: Screening) -> dict[str, Any]:
    return {
        "id": ident,
        "verdict": s.verdict,
        "category": s.category,
        "clauses": list(s.clauses),
        "confidence": s.confidence,
        "needs_review": s.needs_review,
        "conditions": [c.model_dump() for c in s.conditions],
        "evidence": [e.model_dump() for e in s.evidence],
    }


def run_batch(inp: TextIO, out: TextIO, err: TextIO) -> int:
    engine = default_engine()
    failures = 0
    for lineno, line in enumerate(inp, 1):
        if not line.strip():
            continue
        ident: Any = None
        try:
            rec = json.loads(line)
            if not isinstance(rec, dict):
                raise ValueError("not a JSON object")
            ident = rec.get("id")
            text = rec.get("text")
            if not isinstance(text, str):
                raise ValueError("'text' must be a string")
        except ValueError as exc:
            failures += 1
            ident = ident if ident is not None else f"line {lineno}"
            print(json.dumps({"id": ident, "error": str(exc)}, ensure_ascii=False), file=out)
            print(f"line {lineno}: {exc}", file=err)
            continue
        print(json.dumps(batch_record(ident, engine.screen(text)), ensure_ascii=False), file=out)
    return 1 if failures else 0


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise SystemExit(f"{path}:{lineno}: not JSON ({exc.msg})") from None
            if not isinstance(rec, dict) or "id" not in rec or "text" not in rec:
                raise SystemExit(f"{path}:{lineno}: needs an object with id and text")
            rows.append(rec)
    return rows


def predict(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    engine = default_engine()
    return {str(r["id"]): batch_record(r["id"], engine.screen(str(r["text"]))) for r in rows}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m policy", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_screen = sub.add_parser("screen", help="screen one text (argument, or stdin when omitted)")
    p_screen.add_argument("text", nargs="?")
    p_screen.add_argument("--json", action="store_true", help="print the whole Screening as JSON")
    sub.add_parser("batch", help="JSON lines {id, text} on stdin -> one verdict line each on stdout")
    p_eval = sub.add_parser("eval", help="screen a gold JSONL file and print the metrics")
    p_eval.add_argument("gold", type=Path)
    p_eval.add_argument("--quiet", action="store_true", help="leave out the list of misclassified items")
    p_train = sub.add_parser("train", help="fit the learned heads on the corpus, write policy/data/model.npz")
    p_train.add_argument("corpus", nargs="*", type=Path)
    p_cv = sub.add_parser("cv", help="held-out-fold figures of the learned heads on the corpus")
    p_cv.add_argument("--folds", type=int, default=5)
    p_cv.add_argument(
        "--hold-out",
        metavar="PREFIX",
        action="append",
        help="instead of folds: train on the items whose id does not start with PREFIX, report on those that do "
        "(a round of writers the model never saw); may be repeated",
    )
    p_cv.add_argument("corpus", nargs="*", type=Path)
    sub.add_parser("clauses", help="the clause table")
    p_clause = sub.add_parser("clause", help="one clause in full")
    p_clause.add_argument("number")
    args = parser.parse_args(argv)
    try:
        policy = default_policy()
    except PolicyDataError as exc:
        print(f"policy data error: {exc}", file=sys.stderr)
        return 2

    if args.command == "screen":
        text = args.text if args.text is not None else sys.stdin.read()
        s = default_engine().screen(text)
        print(s.model_dump_json(indent=2) if args.json else format_screening(s))
        return 0
    if args.command == "batch":
        return run_batch(sys.stdin, sys.stdout, sys.stderr)
    if args.command == "eval":
        if not args.gold.is_file():
            print(f"no such file: {args.gold}", file=sys.stderr)
            return 2
        rows = load_jsonl(args.gold)
        report = evaluate(rows, predict(rows))
        print(format_report(report, show_wrong=not args.quiet))
        return 0
    if args.command in ("train", "cv"):
        from policy import train

        files = args.corpus or train.default_corpus_files()
        if args.command == "train":
            model = train.train_and_save(files)
            print(f"wrote {train.MODEL_FILE} ({dict(model.meta)})")
            return 0
        rows = train.load_corpus(files)
        if args.hold_out:
            prefixes = tuple(args.hold_out)
            held = [r for r in rows if str(r["id"]).startswith(prefixes)]
            rest = [r for r in rows if not str(r["id"]).startswith(prefixes)]
            if not held or not rest:
                print(f"--hold-out {' '.join(prefixes)}: must select some but not all items", file=sys.stderr)
                return 2
            preds = train.held_out_predictions(policy, rest, held)
            print(format_report(evaluate(held, preds), show_wrong=False))
            return 0
        print(format_report(evaluate(rows, train.cross_validate(policy, rows, args.folds)), show_wrong=False))
        return 0
    if args.command == "clauses":
        for sec in policy.opinion.section:
            print(f"{sec.id}. {sec.title_zh} / {sec.title_en}")
            for n in sec.clauses:
                c = policy.clauses[n]
                print(f"  {n:>2}. {c.title_zh} / {c.title_en}  [{c.category}]")
        return 0
    if args.command == "clause":
        try:
            number = int(args.number)
        except ValueError:
            number = 0
        found = policy.clause(number)
        if found is None:
            print(f"no clause {args.number!r}: the Opinion has clauses 1 to 20", file=sys.stderr)
            return 2
        c = found
        print(f"{c.id}. {c.title_zh} / {c.title_en}  (section {c.section}, {c.category})\n")
        print(c.text_en.strip() + "\n")
        print(c.text_zh.strip())
        print(f"\n({policy.opinion.document.note_zh})")
        if c.checks_zh:
            print("\ncheck:")
            for zh, en in zip(c.checks_zh, c.checks_en, strict=False):
                print(f"  - {zh} / {en}")
        print(f"\n{c.may_zh}\n{c.may_en}")
        return 0
    return 2
