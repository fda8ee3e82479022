"""Faults: Telegram flooding, failing, timing out and dropping connections; the database locked by another
writer or full. The bot keeps running, every verdict arrives once the fault clears, and never twice."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from typing import Any

import pytest
from telegram.ext import AIORateLimiter

from bot.retry import PatientLimiter
from bot.storage import Storage, StorageError
from handlers.admin import alert_admins
from handlers.core import Deps
from tests.reliability.conftest import ADMIN_CHAT, Env, Errors, user
from tests.reliability.harness import is_card

REFUSE = "县商务局：请每位教职工购买不少于200元农产品，订单截图交学校汇总，完成情况全县通报。"
ALLOW = "教务处：请各班主任本周五前上交本学期的作业批改记录，用于期中教学检查。"
UNAVAILABLE = "服务暂时不可用，请稍后重新发送。"


def cards(env: Env, chat_id: int) -> list[str]:
    return [m["text"] for m in env.emu.sent_messages(chat_id) if is_card(m["text"])]


async def all_answered(env: Env, users: range, timeout: float) -> None:
    await env.emu.wait_for(lambda e: all(cards(env, u) for u in users), timeout=timeout)
    await env.emu.wait_for(lambda e: not env.intake.busy, timeout=timeout)


def assert_once_each(env: Env, users: range) -> None:
    assert {u: len(cards(env, u)) for u in users} == dict.fromkeys(users, 1)
    assert env.rows("SELECT COUNT(*), COUNT(replied_at) FROM decisions") == [(len(users), len(users))]
    assert env.rows("SELECT COUNT(*) FROM inbox WHERE handled_at IS NULL") == [(0,)]


async def test_a_storm_of_every_fault_on_send_and_on_get_updates(make_env: Any) -> None:
    async with make_env(user_rate_limit_per_minute=10_000) as env:  # Telegram's own rates, as in production
        for _ in range(3):
            for kind in ("429", "500", "502", "drop"):
                env.emu.inject("sendMessage", kind, times=2, retry_after=1)
        env.emu.inject("sendMessage", "timeout", times=2)
        for kind in ("429", "500", "502", "drop", "timeout"):
            env.emu.inject("getUpdates", kind, retry_after=1)
        users = range(20, 40)
        for uid in users:
            env.emu.user_message(user(uid), text=REFUSE if uid % 2 else ALLOW)
        await all_answered(env, users, timeout=90)
        assert env.emu.faults == [], "every injected fault was met"
        kinds = {(c.method, c.fault) for c in env.emu.calls if c.fault}
        assert len(kinds) == 10
        assert_once_each(env, users)
        after = env.emu.user_message(user(40), text=REFUSE)
        await env.replies(40, 1)
        await env.settle(after)
        assert not any(UNAVAILABLE in m.get("text", "") for m in env.emu.sent_messages())


async def test_a_storm_longer_than_the_send_retries_still_delivers_every_verdict_once(make_env: Any) -> None:
    # Each request is sent again for one second only; after that the intake tries the verdict again.
    short = PatientLimiter(AIORateLimiter(overall_max_rate=0, group_max_rate=0), budget=1.0, first_pause=0.2)
    async with make_env(rate_limiter=short) as env:
        env.emu.inject("sendMessage", "500", times=1_000_000)
        users = range(50, 55)
        for uid in users:
            env.emu.user_message(user(uid), text=REFUSE)
        await env.emu.wait_for(lambda e: len(e.calls_to("sendMessage")) >= 30, timeout=30)
        assert env.rows("SELECT COUNT(*), COUNT(replied_at) FROM decisions") == [(5, 0)], "decided, not yet answered"
        assert env.rows("SELECT COUNT(*) FROM inbox WHERE handled_at IS NULL") == [(5,)]
        env.emu.clear_faults()
        await all_answered(env, users, timeout=30)
        assert_once_each(env, users)
        assert not any(UNAVAILABLE in m.get("text", "") for m in env.emu.sent_messages())


class LockedAtTheDecision(Storage):
    """The real storage; the first decision waits until the test has locked the database."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.reached = asyncio.Event()
        self.go = asyncio.Event()

    async def record_decision(self, **kwargs: Any) -> Any:
        if not self.go.is_set():
            self.reached.set()
            await self.go.wait()
        return await super().record_decision(**kwargs)


async def test_database_locked_by_another_writer(make_env: Any, tmp_path: Any, caplog: Any) -> None:
    storage = LockedAtTheDecision(tmp_path / "jianfu.sqlite3")
    async with make_env(storage=storage, admin_chat_id=ADMIN_CHAT) as env:
        alice = user(60)
        first = env.emu.user_message(alice, text=REFUSE)
        await asyncio.wait_for(storage.reached.wait(), 10)
        other = sqlite3.connect(env.db_path, timeout=5, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")  # another writer: a backup, a shell
        storage.go.set()
        [told] = await env.replies(60, 1, timeout=20)
        assert told["text"] == UNAVAILABLE
        await env.emu.wait_for(lambda e: bool(e.sent_messages(ADMIN_CHAT)), timeout=10)
        [alert] = env.emu.sent_messages(ADMIN_CHAT)
        assert "数据库暂时不可用" in alert["text"] and "database is locked" in alert["text"]
        assert any("storage unavailable" in r.getMessage() and r.levelno == logging.ERROR for r in caplog.records)

        # While it stays locked a new message waits, unconfirmed; it is answered when the lock goes.
        second = env.emu.user_message(alice, text=ALLOW)
        await asyncio.sleep(3)
        assert len(env.emu.sent_messages(60)) == 1
        other.execute("ROLLBACK")
        other.close()
        replies = await env.replies(60, 2, timeout=20)
        await env.settle(second)
        assert replies[1]["text"].startswith("✅")
        assert [r[0] for r in env.rows()] == [second["update_id"]], "the first one asked to be sent again"
        assert env.rows("SELECT update_id FROM inbox WHERE handled_at IS NULL") == []
        assert first["update_id"] < second["update_id"]


class FullAtTheDecision(Storage):
    """The disk fills up just as the first decision is written."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.failures = 1

    async def record_decision(self, **kwargs: Any) -> Any:
        if self.failures:
            self.failures -= 1
            raise StorageError("database or disk is full") from sqlite3.OperationalError("database or disk is full")
        return await super().record_decision(**kwargs)


async def test_disk_full_while_deciding(make_env: Any, tmp_path: Any, caplog: Any) -> None:
    storage = FullAtTheDecision(tmp_path / "jianfu.sqlite3")
    async with make_env(storage=storage, admin_chat_id=ADMIN_CHAT, default_language="en") as env:
        bob = user(61, lang="en")
        env.emu.user_message(bob, text=REFUSE)
        [told] = await env.replies(61, 1)
        assert told["text"] == "Temporarily unavailable; please send it again shortly."
        await env.emu.wait_for(lambda e: bool(e.sent_messages(ADMIN_CHAT)), timeout=10)
        assert "database or disk is full" in env.emu.sent_messages(ADMIN_CHAT)[0]["text"]
        assert any("database or disk is full" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)
        again = env.emu.user_message(bob, text=REFUSE)
        replies = await env.replies(61, 2)
        await env.settle(again)
        assert replies[1]["text"].startswith("⛔")


async def test_disk_full_at_the_inbox_leaves_updates_unconfirmed_until_there_is_room(make_env: Any) -> None:
    async with make_env(admin_chat_id=ADMIN_CHAT) as env:
        [(pages,)] = env.rows("PRAGMA page_count")
        await env.storage.db.execute(f"PRAGMA max_page_count = {pages}")
        carol = user(62)
        notice = env.emu.user_message(carol, text=REFUSE + "\n" + "说明：" + "请各校认真落实。" * 400)
        await env.emu.wait_for(lambda e: bool(e.sent_messages(ADMIN_CHAT)), timeout=15)
        assert "database or disk is full" in env.emu.sent_messages(ADMIN_CHAT)[0]["text"]
        assert [u["update_id"] for u in env.emu.pending_updates] == [notice["update_id"]], "not confirmed"
        assert env.emu.sent_messages(62) == []
        await env.storage.db.execute("PRAGMA max_page_count = 1073741823")
        [card] = await env.replies(62, 1, timeout=20)
        await env.settle(notice)
        assert card["text"].startswith("⛔") and len(env.emu.sent_messages(62)) == 1
        assert env.rows("SELECT update_id, handled_at IS NOT NULL FROM inbox") == [(notice["update_id"], 1)]


@pytest.mark.parametrize("kind", ["429", "500", "drop"])
async def test_telling_the_user_and_the_admins_may_fail_too_and_the_bot_goes_on(
    make_env: Any, tmp_path: Any, kind: str
) -> None:
    storage = FullAtTheDecision(tmp_path / "jianfu.sqlite3")
    short = PatientLimiter(AIORateLimiter(overall_max_rate=0, group_max_rate=0), budget=0.5, first_pause=0.2)
    async with make_env(storage=storage, admin_chat_id=ADMIN_CHAT, rate_limiter=short) as env:
        env.emu.inject("sendMessage", kind, times=100, retry_after=1)
        first = env.emu.user_message(user(63), text=REFUSE)
        await env.settle(first)
        await env.emu.wait_for(lambda e: {c.params["chat_id"] for c in e.calls_to("sendMessage")} == {63, ADMIN_CHAT})
        await asyncio.sleep(1)  # past the send retries of both
        env.emu.clear_faults()
        assert env.emu.sent_messages(63) == [] and env.emu.sent_messages(ADMIN_CHAT) == []
        again = env.emu.user_message(user(63), text=ALLOW)
        [card] = await env.replies(63, 1)
        await env.settle(again)
        assert card["text"].startswith("✅")


async def test_errors_are_counted_not_repeated_in_the_admin_chat(fast_env: tuple[Env, Errors]) -> None:
    env, _ = fast_env
    deps: Deps = env.app.bot_data["deps"]
    deps.settings = deps.settings.model_copy(update={"admin_chat_id": ADMIN_CHAT})
    for _ in range(4):
        await alert_admins(env.app.bot, deps, StorageError("database is locked"))
    await alert_admins(env.app.bot, deps, ValueError("boom"))
    assert len(env.emu.sent_messages(ADMIN_CHAT)) == 2, "one per kind a minute"
    deps.alerts["alert.storage"] = (deps.alerts["alert.storage"][0] - 61, deps.alerts["alert.storage"][1])
    await alert_admins(env.app.bot, deps, StorageError("database is locked"))
    assert "另有 3 次" in env.emu.sent_messages(ADMIN_CHAT)[-1]["text"]
    assert env.app.bot.token not in "".join(m["text"] for m in env.emu.sent_messages(ADMIN_CHAT))
