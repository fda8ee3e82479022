"""Security: the token never leaves the process (logs at DEBUG, exceptions, replies, exports, the database
file); the database is its owner's only; SQL is only ever built from fixed text, with bound parameters."""

from __future__ import annotations

import ast
import asyncio
import json
import re
import stat
from pathlib import Path
from typing import Any

from bot.emulator import BotApiEmulator, group_chat, make_user
from tests.reliability.harness import ROOT, TOKEN, BotProcess, rows

ADMIN = 4242
ADMIN_CHAT = -100_4242
REFUSE = "县商务局：请每位教职工购买不少于200元农产品，订单截图交学校汇总，完成情况全县通报。"


async def until(emu: BotApiEmulator, chat_id: int, count: int, timeout: float = 30) -> list[dict[str, Any]]:
    await emu.wait_for(lambda e: len(e.sent_messages(chat_id)) >= count, timeout=timeout)
    return emu.sent_messages(chat_id)


def buttons(message: dict[str, Any]) -> list[str]:
    rows_ = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    return [b["callback_data"] for row in rows_ for b in row]


async def test_the_token_appears_nowhere_the_bot_writes(tmp_path: Path) -> None:
    secret = TOKEN.split(":", 1)[1]
    db = tmp_path / "jianfu.sqlite3"
    async with BotApiEmulator(token=TOKEN) as emu:
        bot = BotProcess(
            emu, db, tmp_path / "bot.log", LOG_LEVEL="DEBUG", ADMIN_IDS=str(ADMIN), ADMIN_CHAT_ID=str(ADMIN_CHAT)
        )
        try:
            await bot.start()
            alice, admin = make_user(11, "Alice"), make_user(ADMIN, "Admin")
            emu.user_message(alice, text=REFUSE)
            emu.user_message(alice, document=emu.add_file(REFUSE.encode("gbk"), "通知.txt", "text/plain"))
            emu.user_message(alice, text="/history")
            group = group_chat(-100_555, "校长群")
            emu.user_message(alice, chat=group, text=f"/check {REFUSE}")
            card = (await until(emu, 11, 3))[0]
            emu.callback(alice, card, next(b for b in buttons(card) if b.startswith("dr:")))
            emu.callback(alice, card, next(b for b in buttons(card) if b.startswith("wv:")))
            ask = (await until(emu, 11, 5))[4]
            emu.callback(alice, ask, next(b for b in buttons(ask) if b.endswith(":allow")))
            await emu.wait_for(lambda e: any(b.startswith("dk:") for b in buttons(e.messages[(11, ask["message_id"])])))
            # Failures that end up in the log, as warnings and as tracebacks, and in the admin chat.
            emu.inject("getUpdates", "drop")
            emu.inject("getUpdates", "500")
            emu.inject("sendMessage", "drop")
            emu.inject("sendMessage", "500")
            emu.inject("sendMessage", "400", description="Bad Request: injected for the token test")
            emu.user_message(alice, text="/help")
            emu.user_message(alice, text="/start")
            await emu.wait_for(lambda e: not e.faults, timeout=30)
            await until(emu, ADMIN_CHAT, 1)
            for command in ("/log", "/show 1", "/stats all", "/export csv all", "/export jsonl all", "/review"):
                emu.user_message(admin, text=command)
            await emu.wait_for(lambda e: len(e.uploads) >= 3, timeout=30)

            def review_card(e: BotApiEmulator) -> dict[str, Any] | None:
                return next((m for m in e.sent_messages(ADMIN) if any(b.startswith("rv:c:") for b in buttons(m))), None)

            await emu.wait_for(lambda e: review_card(e) is not None, timeout=30)
            review = review_card(emu)
            assert review is not None
            before = len(emu.sent_messages(ADMIN))
            emu.callback(admin, review, next(b for b in buttons(review) if b.startswith("rv:c:")))
            await until(emu, ADMIN, before + 1)
            emu.user_message(admin, text="/export labels")
            await emu.wait_for(lambda e: len(e.uploads) >= 4, timeout=30)
            await asyncio.sleep(0.5)
            assert await bot.terminate() == 0
        finally:
            await bot.cleanup()

    log = bot.log()
    assert "DEBUG" in log and "Traceback" in log and "Injected for the token test" in log, "a real DEBUG log"
    assert "[secret]" in log, "python-telegram-bot did try to log its URL, and it was redacted"
    sent = json.dumps([c.params for c in emu.calls], ensure_ascii=False, default=str)
    uploads = [u.data for u in emu.uploads]
    assert {u.file_name.rsplit(".", 1)[-1] for u in emu.uploads} >= {"csv", "jsonl", "png"}
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("jianfu.sqlite3*"))
    for needle in (TOKEN, secret):
        assert needle not in log
        assert needle not in sent
        assert all(needle.encode() not in data for data in uploads)
        assert needle.encode() not in stored
        assert needle.encode("utf-16-le") not in stored
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


# ---------------------------------------------------------------------- SQL only from fixed text

SQL = re.compile(
    r"\b(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|PRAGMA|REPLACE)\b.*\b(FROM|INTO|SET|TABLE|WHERE|VALUES|INDEX|VIEW|TRIGGER|=)",
    re.S,
)
#: Fragments an f-string in bot/storage may splice into SQL: fixed column lists and WHERE clauses chosen
#: from a fixed table by name (values always go in as parameters).
FIXED = {"_DECISION_COLUMNS", "_ENTRY_SELECT", "_D_COLUMNS", "_R_COLUMNS", "_REVIEW_COLUMNS", "_DISPUTE_COLUMNS",
         "where", "base"}  # fmt: skip


def python_files(*folders: str) -> list[Path]:
    return [p for folder in folders for p in sorted((ROOT / folder).rglob("*.py"))]


def literal_text(node: ast.AST) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(literal_text(v) if not isinstance(v, ast.FormattedValue) else "{}" for v in node.values)
    return ""


def test_no_sql_outside_the_storage_package() -> None:
    found = []
    for path in python_files("bot", "handlers"):
        if path.is_relative_to(ROOT / "bot" / "storage"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            sql = SQL.search(literal_text(node))
            execute = isinstance(node, ast.Attribute) and node.attr in ("execute", "executemany", "executescript")
            if sql or execute:
                found.append(f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')}")
    assert found == []


def test_storage_builds_sql_only_from_fixed_fragments_and_binds_every_value() -> None:
    problems = []
    for path in python_files("bot/storage"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.JoinedStr) and SQL.search(literal_text(node)):
                for value in node.values:
                    if isinstance(value, ast.FormattedValue):
                        name = value.value.id if isinstance(value.value, ast.Name) else ast.unparse(value.value)
                        markers = (
                            isinstance(value.value, ast.Call)
                            and isinstance(value.value.func, ast.Name)
                            and value.value.func.id == "placeholders"
                        )
                        if name not in FIXED and not markers:
                            problems.append(f"{where}: f-string splices {name}")
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) and SQL.search(literal_text(node.left)):
                problems.append(f"{where}: SQL built with %")
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "format"
                and SQL.search(literal_text(node.func.value))
            ):
                problems.append(f"{where}: SQL built with .format")
    assert problems == []
    # The fragments themselves are fixed text: the WHERE clauses come from a table keyed by filter name.
    from bot.storage import admin

    assert all("?" in v or "'" not in v for v in admin._LOG_WHERE.values())
    # The parameter markers of multi-row statements are question marks and punctuation, nothing else.
    from bot.storage.db import placeholders

    assert {placeholders(rows, columns) for rows in (1, 3) for columns in (1, 2)} == {
        "?",
        "?, ?, ?",
        "(?, ?)",
        "(?, ?), (?, ?), (?, ?)",
    }
    assert set(placeholders(500, 3)) == set("(?, )")


def test_a_hostile_value_stays_a_value() -> None:
    import sqlite3

    from bot.storage.db import split_statements
    from bot.storage.migrations import MIGRATIONS

    conn = sqlite3.connect(":memory:")
    for _, _, sql in MIGRATIONS:
        for statement in split_statements(sql):
            conn.execute(statement)
    # The same statement the log's verdict filter runs, with a value that would end it if it were spliced.
    hostile = "refuse' OR 1=1; DROP TABLE decisions; --"
    from bot.storage.admin import _ENTRY_SELECT, _LOG_WHERE

    assert conn.execute(f"{_ENTRY_SELECT} WHERE {_LOG_WHERE['verdict']}", (hostile,)).fetchall() == []
    assert conn.execute("SELECT COUNT(*) FROM decisions").fetchone() == (0,)
