"""Configuration, storage and the offline local chat."""

from __future__ import annotations

import os
import re
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import Settings, env_names
from bot.storage import Storage
from bot.storage.migrations import MIGRATIONS
from handlers.cards import evidence_quotes, pack
from handlers.intake import decode_text_file
from policy import screen

ROOT = Path(__file__).resolve().parents[2]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in set(env_names())}
    env.update(extra)
    return env


def test_readme_lists_every_setting_and_nothing_else() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `([A-Z_]+)`", section, flags=re.MULTILINE))
    assert listed == set(env_names())


def test_settings_parse_admin_ids_and_defaults(tmp_path: Path) -> None:
    s = Settings(_env_file=None, admin_ids="12, 34,56", database_path=tmp_path / "x.db")  # type: ignore[call-arg]
    assert s.admin_ids == (12, 34, 56) and s.is_admin(34) and not s.is_admin(7)
    assert s.default_language == "zh" and s.bot_mode == "polling" and s.telegram_bot_token is None


@pytest.mark.parametrize(
    ("name", "value"),
    [("WEBHOOK_PORT", "abc"), ("ADMIN_IDS", "1,two"), ("BOT_MODE", "carrier-pigeon"), ("DEFAULT_LANGUAGE", "fr")],
)
def test_a_bad_value_stops_with_one_line_naming_the_variable(name: str, value: str, tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "bot"], cwd=tmp_path, env=clean_env(**{name: value, "PYTHONPATH": str(ROOT)}),
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"configuration error: {name}:")


def test_offline_local_chat_from_piped_stdin(tmp_path: Path) -> None:
    script = (
        "/start\n\n"
        "镇政府：下周五新建商业广场开业剪彩，请中心小学组织100名学生到现场表演腰鼓，\n当天上午学生停课。\n\n"
        "2\n\n"
        "/history\n\n"
    )
    db = tmp_path / "local.sqlite3"
    out = subprocess.run(
        [sys.executable, "-m", "bot"], cwd=tmp_path, input=script, capture_output=True, text=True, timeout=120,
        env=clean_env(DATABASE_PATH=str(db), PYTHONPATH=str(ROOT)), check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "offline local chat" in out.stdout
    assert "⛔ 可以拒绝" in out.stdout and "[1]" in out.stdout and "[2]" in out.stdout
    assert "回复草稿" in out.stdout
    assert out.stdout.rstrip().endswith("bye.")
    with sqlite3.connect(db) as conn:
        rows = list(conn.execute("SELECT text, verdict FROM decisions"))
    assert len(rows) == 1 and rows[0][1] == "refuse" and "\n" in rows[0][0], "the pasted notice arrived whole"
    assert stat.S_IMODE(db.stat().st_mode) == 0o600

    # A second session on the same database is answered too (its updates are numbered after the stored
    # ones, which the intake would otherwise take as already confirmed), and the first one's row stays.
    again = subprocess.run(
        [sys.executable, "-m", "bot"], cwd=tmp_path, input="县科协：下周三想到贵校给四年级学生做一场科普讲座。\n\n",
        capture_output=True, text=True, timeout=120, env=clean_env(DATABASE_PATH=str(db), PYTHONPATH=str(ROOT)),
        check=False,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert "类别" in again.stdout and "[1]" in again.stdout
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM decisions").fetchone()[0] == 2


async def test_migrations_are_recorded_and_safe_to_rerun(tmp_path: Path) -> None:
    path = tmp_path / "m.sqlite3"
    async with Storage(path) as s:
        assert await s.migrate() == []
        _, created = await s.record_decision(
            update_id=1, chat_id=1, chat_type="private", user_id=1, language="zh", source="text", text="在吗",
            forward_origin=None, screening=screen("在吗"), latency_ms=0.5,
        )  # fmt: skip
        assert created
    async with Storage(path) as s:
        assert await s.migrate() == []
        assert await s.count_decisions() == 1
        assert await s.integrity_check() == "ok"
    with sqlite3.connect(path) as conn:
        assert [r[0] for r in conn.execute("SELECT number FROM schema_migrations")] == [m[0] for m in MIGRATIONS]
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_pack_splits_at_the_limit_without_breaking_lines() -> None:
    blocks = ["<b>head</b>"] + [f"• <i>line {i}</i> " + "字" * 50 for i in range(200)]
    messages = pack(blocks, limit=1000)
    assert len(messages) > 5 and all(len(m) <= 1000 for m in messages)
    assert "".join(messages).count("<i>") == "".join(messages).count("</i>") == 200
    huge = pack(["\n".join(f"<b>{i}</b> " + "x" * 90 for i in range(100))], limit=500)
    assert all(len(m) <= 500 and m.count("<b>") == m.count("</b>") for m in huge)


def test_evidence_quotes_drop_words_inside_a_longer_quote_and_skipped_rules() -> None:
    text = "县商务局：请老师下载“惠民通”APP并截图上报。"
    spans = [
        ("issuer.other", "县商务局"),
        ("task.unrelated", "下载"),
        ("viol.app_quota", "下载“惠民通”APP"),
        ("task.unrelated", "APP"),
        ("mark.media_proof", "截图"),
        ("mark.media_proof", "截图"),
    ]
    evidence = [{"rule": r, "text": w, "start": text.index(w), "end": text.index(w) + len(w)} for r, w in spans]
    assert evidence_quotes(evidence, 8, skip=("issuer.",)) == ["下载“惠民通”APP", "截图"]
    assert evidence_quotes(evidence, 1) == ["县商务局"]


def test_text_file_encodings() -> None:
    text = "关于做好秋季开学工作的通知"
    assert decode_text_file(text.encode("utf-8")) == text
    assert decode_text_file(b"\xef\xbb\xbf" + text.encode("utf-8")) == text
    assert decode_text_file(text.encode("gbk")) == text
    assert decode_text_file(text.encode("gb18030")) == text
    assert decode_text_file(b"\x00\x01\x02") is None


def test_rate_limit_per_user_window_and_forgetting_idle_users(tmp_path: Path) -> None:
    from handlers.core import RATE_WINDOW, Deps

    settings = Settings(_env_file=None, database_path=tmp_path / "x.db")  # type: ignore[call-arg]
    d = Deps(settings=settings, storage=None, engine=None, policy=None, reader=None)  # type: ignore[arg-type]
    limit = settings.user_rate_limit_per_minute
    assert not any(d.over_limit(1, now=1000.0 + i * 0.01) for i in range(limit))
    assert d.over_limit(1, now=1001.0), "one more inside the window is refused"
    assert d.should_warn(1, now=1001.0) and not d.should_warn(1, now=1002.0), "warned once a window"
    assert not d.over_limit(2, now=1001.0), "other users are not affected"
    assert not d.over_limit(1, now=1001.0 + RATE_WINDOW + 1), "the window slides"
    for uid in range(100, 1100):
        d.over_limit(uid, now=2000.0)
    assert len(d._hits) >= 1000
    d.over_limit(5, now=2000.0 + 2 * RATE_WINDOW + 1)
    assert set(d._hits) == {5} and d._warned == {}, "idle users forgotten"
