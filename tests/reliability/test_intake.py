"""The durable intake: stored before confirmed, handed over again after a crash, in order, once."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import httpx
from telegram.ext import Updater

from bot.emulator import BotApiEmulator, group_chat, make_user
from bot.storage import InboxRepository, Storage, StorageError
from bot.wire import malformed
from tests.bot.conftest import settings_for
from tests.reliability.conftest import Env, Errors, user
from tests.reliability.harness import TOKEN, BotProcess, rows

REFUSE = "县商务局：请每位教职工购买不少于200元农产品，订单截图交学校汇总，完成情况全县通报。"
CONDITIONAL = "您好，我是区税务局宣传科。我们想下周给贵校五年级学生开一场税法讲座，约40分钟，请问哪天方便？"
ALLOW = "教务处：请各班主任本周五前上交本学期的作业批改记录，用于期中教学检查。"


def inbox(env: Env) -> list[tuple[Any, ...]]:
    return env.rows("SELECT update_id, raw IS NOT NULL, handled_at IS NOT NULL FROM inbox ORDER BY update_id")


def message_update(update_id: int, uid: int, text: str, message_id: int = 1) -> dict[str, Any]:
    u = user(uid)
    chat = {"id": uid, "type": "private", "first_name": u["first_name"]}
    return {
        "update_id": update_id,
        "message": {"message_id": message_id, "date": 0, "chat": chat, "from": u, "text": text},
    }


async def test_every_update_is_in_the_inbox_before_an_offset_confirms_it(fast_env: tuple[Env, Errors]) -> None:
    env, errors = fast_env
    delivered: list[int] = []
    unstored_at_confirmation: list[tuple[int, list[int]]] = []
    original = env.emu._get_updates

    async def checking_get_updates(params: dict[str, Any], handler: Any) -> list[dict[str, Any]]:
        # At the moment Telegram is told "everything below `offset` arrived", it must all be stored.
        offset = int(params.get("offset") or 0)
        with sqlite3.connect(env.db_path) as conn:
            stored = {r[0] for r in conn.execute("SELECT update_id FROM inbox")}
        missing = [u for u in delivered if u < offset and u not in stored]
        if missing:
            unstored_at_confirmation.append((offset, missing))
        batch = await original(params, handler)
        delivered.extend(u["update_id"] for u in batch)
        return batch

    env.emu._get_updates = checking_get_updates  # type: ignore[method-assign]
    for i in range(150):
        env.emu.user_message(user(100 + i), text=[REFUSE, CONDITIONAL, ALLOW][i % 3])
    await env.emu.wait_for(lambda e: len(e.calls_to("sendMessage")) >= 150, timeout=60)
    await env.settle({"update_id": max(delivered)})
    assert len(delivered) == 150 and unstored_at_confirmation == []
    assert [r[1:] for r in inbox(env)] == [(0, 1)] * 150, "all handled, payloads erased"
    assert errors.seen == []


async def test_a_restart_hands_over_what_was_stored_and_not_handled_in_order_and_fetches_nothing_twice(
    make_env: Any, tmp_path: Path
) -> None:
    # A crash after storing a batch, before handling it and before the next getUpdates confirmed it.
    settings = settings_for(tmp_path)
    batch = [
        message_update(5000 + i, 7, text, message_id=10 + i) for i, text in enumerate((REFUSE, ALLOW, CONDITIONAL))
    ]
    async with Storage(settings.database_path) as storage:
        assert await InboxRepository(storage).store([(u["update_id"], u) for u in batch]) == [5000, 5001, 5002]
    async with make_env() as env:
        for update in batch:  # Telegram still holds them: they were never confirmed
            env.emu.push_update(update)
        later = env.emu.user_message(user(7), text="/help")
        replies = await env.replies(7, 4)
        await env.settle(later)
        assert [m["text"][:2] for m in replies[:3]] == ["⛔ ", "✅ ", "⚠️"], "in update order"
        assert "/clause" in replies[3]["text"]
        assert env.emu.offsets[0] == 5003, "the offset comes from the inbox"
        assert len(env.emu.sent_messages(7)) == 4, "nothing fetched and answered again"
        assert [r[0] for r in env.rows("SELECT update_id FROM decisions ORDER BY update_id")] == [5000, 5001, 5002]


async def test_an_update_answered_before_the_crash_is_not_answered_again(make_env: Any) -> None:
    async with make_env() as env:
        update = env.emu.user_message(user(8), text=REFUSE)
        await env.replies(8, 1)
        await env.settle(update)
    # The crash came after the reply was recorded, before the inbox row was marked handled.
    with sqlite3.connect(env.db_path) as conn:
        conn.execute(
            "UPDATE inbox SET handled_at = NULL, raw = ? WHERE update_id = ?", (json.dumps(update), update["update_id"])
        )
    async with make_env() as again:
        await again.emu.wait_for(lambda e: bool(e.offsets), timeout=10)
        await again.emu.wait_for(lambda e: not again.intake.busy, timeout=10)
        assert again.emu.sent_messages(8) == []
        assert len(again.rows()) == 1
        assert again.rows("SELECT COUNT(*) FROM inbox WHERE handled_at IS NULL") == [(0,)]


async def test_malformed_and_unparseable_updates_are_skipped_and_never_block_the_others(
    fast_env: tuple[Env, Errors],
) -> None:
    env, errors = fast_env
    sender = user(9)
    chat = {"id": 9, "type": "private", "first_name": "User9"}
    bad = [
        {"message": {"message_id": 1, "date": 0, "chat": chat, "from": sender, "text": 12345}},
        {"message": {"message_id": 2, "date": 0, "chat": "chat?", "from": sender, "text": "x"}},
        {"message": {"message_id": 3, "date": 0, "chat": {**chat, "id": [9]}, "from": sender, "text": "x"}},
        {"message": {"message_id": 4, "date": 0, "chat": chat, "from": sender, "text": "ab",
                     "entities": [{"type": "bold", "offset": 1, "length": 99}]}},
        {"message": {"message_id": 5, "date": 0, "chat": chat, "from": sender, "text": "x",
                     "link_preview_options": "not an object"}},
        {"callback_query": {"id": "q", "from": sender, "chat_instance": "1", "data": ["fc", 1]}},
        {"message": {"message_id": 6, "date": 0, "chat": {**chat, "id": 2**70}, "from": sender, "text": "x"}},
    ]  # fmt: skip
    for update in bad:
        env.emu.push_update(update)
    good = env.emu.user_message(sender, text=REFUSE)
    [card] = await env.replies(9, 1)
    await env.settle(good)
    assert card["text"].startswith("⛔") and len(env.emu.sent_messages(9)) == 1
    assert [r[1:] for r in inbox(env)] == [(0, 1)] * (len(bad) + 1), "the bad ones are handled: skipped"
    assert [r[0] for r in env.rows()] == [good["update_id"]]
    assert errors.seen == [], errors.describe()


def test_malformed_names_the_field() -> None:
    ok = message_update(1, 5, "hi")
    assert malformed(ok) is None
    assert malformed({**ok, "update_id": "1"}) == "update.update_id: not a 64-bit integer"
    assert malformed({**ok, "message": {**ok["message"], "text": 5}}) == "message.text: not a string"
    emoji = {**ok["message"], "text": "😀x", "entities": [{"type": "bold", "offset": 1, "length": 2}]}
    assert malformed({**ok, "message": emoji}) == "message.entities[0]: outside its text", "splits a surrogate pair"
    assert malformed({**ok, "message": {**emoji, "entities": [{"type": "bold", "offset": 0, "length": 2}]}}) is None


async def test_webhook_stores_the_update_before_answering_and_500_when_it_cannot(
    fast_env: tuple[Env, Errors], unused_tcp_port: int, monkeypatch: Any
) -> None:
    env, errors = fast_env
    await env.intake.stop()
    await env.intake.start(polling=False)
    url = f"http://127.0.0.1:{unused_tcp_port}/telegram"
    secret = {"X-Telegram-Bot-Api-Secret-Token": "right-secret"}
    async with Updater(env.app.bot, env.intake.queue()) as updater:
        await updater.start_webhook(
            listen="127.0.0.1", port=unused_tcp_port, url_path="telegram", secret_token="right-secret",
            webhook_url="https://example.invalid/telegram",
        )  # fmt: skip
        try:
            async with httpx.AsyncClient() as client:
                first = message_update(700, 11, REFUSE)
                assert (await client.post(url, json=first)).status_code == 403
                assert env.rows("SELECT COUNT(*) FROM inbox") == [(0,)], "no secret, nothing stored"
                answer = await client.post(url, json=first, headers=secret)
                assert answer.status_code == 200
                assert env.rows("SELECT update_id FROM inbox") == [(700,)], "stored before the 200"
                assert (await client.post(url, json=first, headers=secret)).status_code == 200  # delivered twice

                async def no_disk(*args: Any) -> list[int]:
                    raise StorageError("database or disk is full")

                second = message_update(701, 11, CONDITIONAL, message_id=2)
                monkeypatch.setattr(env.intake.inbox, "store", no_disk)
                assert (await client.post(url, json=second, headers=secret)).status_code == 500
                monkeypatch.undo()
                assert (await client.post(url, json=second, headers=secret)).status_code == 200  # Telegram again
            replies = await env.replies(11, 2)
            await env.emu.wait_for(lambda e: not env.intake.busy)
            assert [m["text"][:2] for m in replies] == ["⛔ ", "⚠️"] and len(env.emu.sent_messages(11)) == 2
            assert [r[0] for r in env.rows()] == [700, 701]
        finally:
            await updater.stop()
    assert [type(e).__name__ for _, e in errors.seen] == ["StorageError"], "reported once, for the logs and admins"


async def test_group_updates_of_one_chat_keep_their_order_under_concurrency(fast_env: tuple[Env, Errors]) -> None:
    env, _ = fast_env
    group = group_chat(-200300, "校长群")
    texts = [REFUSE, ALLOW, CONDITIONAL] * 10
    for i, text in enumerate(texts):
        env.emu.user_message(make_user(300 + i, f"M{i}"), chat=group, text=f"/check {text}")
    replies = await env.replies(-200300, len(texts), timeout=30)
    marks = {REFUSE: "⛔", ALLOW: "✅", CONDITIONAL: "⚠️"}
    assert [m["text"][:2].strip() for m in replies] == [marks[t] for t in texts]


async def test_a_running_loop_never_dies_on_an_unexpected_fetch_failure(fast_env: tuple[Env, Errors]) -> None:
    env, _ = fast_env
    env.emu.register_method("getUpdates", lambda params, files: {"not": "a list"})
    await env.emu.wait_for(lambda e: len(e.calls_to("getUpdates")) >= 3, timeout=10)
    del env.emu._custom_methods["getupdates"]
    update = env.emu.user_message(user(12), text=ALLOW)
    await env.replies(12, 1, timeout=15)
    await env.settle(update)
    assert env.intake._loop_task is not None and not env.intake._loop_task.done()


async def test_webhook_mode_of_the_real_bot_stores_before_it_answers(tmp_path: Path, unused_tcp_port: int) -> None:
    db = tmp_path / "jianfu.sqlite3"
    url = f"http://127.0.0.1:{unused_tcp_port}/telegram"
    secret = {"X-Telegram-Bot-Api-Secret-Token": "webhook-secret"}
    async with BotApiEmulator(token=TOKEN) as emu:
        bot = BotProcess(
            emu, db, tmp_path / "bot.log", BOT_MODE="webhook", WEBHOOK_URL="https://example.invalid/telegram",
            WEBHOOK_PORT=str(unused_tcp_port), WEBHOOK_SECRET_TOKEN="webhook-secret",
        )  # fmt: skip
        try:
            await bot.start()
            update = message_update(900, 21, REFUSE)
            async with httpx.AsyncClient() as client:
                for _ in range(200):
                    try:
                        if (await client.post(url, json=update)).status_code == 403:
                            break
                    except httpx.TransportError:
                        await asyncio.sleep(0.1)
                assert emu.webhook_url == "https://example.invalid/telegram"
                assert (await client.post(url, json=update, headers=secret)).status_code == 200
                assert rows(db, "SELECT update_id FROM inbox") == [(900,)], "stored before the 200"
                await emu.wait_for(lambda e: bool(e.sent_messages(21)), timeout=30)
                assert (await client.post(url, json=update, headers=secret)).status_code == 200  # again
            await asyncio.sleep(0.5)
            assert await bot.terminate() == 0
        finally:
            await bot.cleanup()
    assert [m["text"][:2] for m in emu.sent_messages(21)] == ["⛔ "]
    assert rows(db, "SELECT update_id, handled_at IS NOT NULL FROM inbox") == [(900, 1)]
