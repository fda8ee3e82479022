"""python -m policy: screen, batch, eval, clauses, clause."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from policy.cli import main, run_batch

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "policy", *args], input=stdin, capture_output=True, text=True, cwd=ROOT, check=False
    )


def test_screen_prints_verdict_clause_evidence_and_conditions() -> None:
    out = run("screen", "区税务局：我们想下周到贵校给五年级学生开一场税法讲座，请问哪天方便？")
    assert out.returncode == 0
    assert "有条件" in out.stdout and "clause 11" in out.stdout and "check:" in out.stdout
    assert "evidence:" in out.stdout


def test_screen_reads_stdin_and_json() -> None:
    out = run("screen", "--json", stdin="镇政府：下周新商场开业剪彩，请组织100名学生表演，当天上午停课。")
    data = json.loads(out.stdout)
    assert data["verdict"] == "refuse" and data["clauses"][0] == 12


def test_batch_keeps_order_and_reports_bad_lines() -> None:
    lines = [
        json.dumps({"id": "a", "text": "谢谢老师！"}),
        "{not json",
        json.dumps({"id": "b", "text": 42}),
        json.dumps({"id": 7, "text": "请每位老师下载某APP并注册，注册率100%，截图上报，纳入考核。"}),
    ]
    out, err = io.StringIO(), io.StringIO()
    code = run_batch(io.StringIO("\n".join(lines) + "\n"), out, err)
    rows = [json.loads(x) for x in out.getvalue().splitlines()]
    assert [r["id"] for r in rows] == ["a", "line 2", "b", 7]
    assert rows[0]["verdict"] == "not_a_request"
    assert "error" in rows[1] and "error" in rows[2]
    assert rows[3]["verdict"] == "refuse"
    assert set(rows[3]) == {
        "id",
        "verdict",
        "category",
        "clauses",
        "confidence",
        "needs_review",
        "conditions",
        "evidence",
    }
    assert "line 2" in err.getvalue() and code == 1


def test_eval_prints_the_metrics(tmp_path: Path) -> None:
    gold = tmp_path / "gold.jsonl"
    gold.write_text(
        "\n".join(
            json.dumps(r, ensure_ascii=False)
            for r in [
                {
                    "id": "x1",
                    "text": "在吗？",
                    "verdict": "not_a_request",
                    "clauses": [],
                    "category": "none",
                    "lang": "zh",
                },
                {
                    "id": "x2",
                    "text": "教务处：周三第二节数学公开课，请数学组老师听课。",
                    "verdict": "allow",
                    "clauses": [1],
                    "category": "teaching",
                    "lang": "zh",
                },
            ]
        ),
        encoding="utf-8",
    )
    out = run("eval", str(gold))
    assert out.returncode == 0
    for word in ("verdict_acc=1.000", "category_f1", "clause_top1", "dangerous errors: 0", "zh "):
        assert word in out.stdout


def test_eval_of_a_missing_file_is_a_short_error() -> None:
    out = run("eval", "/nonexistent.jsonl")
    assert out.returncode == 2 and "no such file" in out.stderr and "Traceback" not in out.stderr


def test_clauses_and_clause(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["clauses"]) == 0
    table = capsys.readouterr().out
    assert table.count("\n") >= 26 and "17." in table
    assert main(["clause", "16"]) == 0
    text = capsys.readouterr().out
    assert "half a year" in text and "非官方" in text
    assert main(["clause", "99"]) == 2
    assert "1 to 20" in capsys.readouterr().err


def test_cv_hold_out_reports_only_the_held_out_round(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("sklearn")
    lines = (ROOT / "tests" / "corpus" / "corpus.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    # A small corpus: every category from round p (trained on) and a few items of round q (reported on).
    small = [r for r in rows if r["id"].startswith("p")][::4] + [r for r in rows if r["id"].startswith("q1-")][:12]
    path = tmp_path / "small.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in small), encoding="utf-8")
    assert main(["cv", "--hold-out", "q1-", str(path)]) == 0
    out = capsys.readouterr().out
    assert "n=12 " in out and "verdict_acc=" in out
    assert main(["cv", "--hold-out", "zz", str(path)]) == 2
    assert "must select some but not all" in capsys.readouterr().err
