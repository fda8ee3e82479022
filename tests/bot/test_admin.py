"""The admins' side end to end: the real Application against the Bot API emulator; assertions on what the
bot sent, what it stored, and what is left in the database file."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.emulator import group_chat
from bot.labels import LABEL_FIELDS
from bot.storage import AdminRepository, Storage, StorageError
from handlers.admin import ADMIN_CHAT_INTERVAL, JOB_ADMIN_CHAT, JOB_DIGEST, JOB_RETENTION
from policy import Screening, default_engine, default_policy, screen
from tests.bot.conftest import ADMIN_ID, Env, user

ROOT = Path(__file__).resolve().parents[2]
REFUSE_TEXT = "县商务局：请每位教职工购买不少于200元农产品，订单截图交学校汇总，完成情况全县通报。"
CONDITIONAL_TEXT = "您好，我是区税务局宣传科。我们想下周给贵校五年级学生开一场税法讲座，约40分钟，请问哪天方便？"
NOT_PERMITTED = "无权进行此操作。"
ADMIN = user(ADMIN_ID)
ADMIN_CHAT = -100500
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def buttons(message: dict[str, Any]) -> list[str]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    return [b["callback_data"] for row in rows for b in row]


def current(env: Env, message: dict[str, Any]) -> dict[str, Any]:
    """A bot message as it stands now (edits included)."""
    return env.emu.messages[(message["chat"]["id"], message["message_id"])]


async def sent_after(env: Env, chat_id: int, before: int, count: int = 1) -> list[dict[str, Any]]:
    """The messages sent to `chat_id` after the first `before` ones, once there are `count` of them."""
    await env.emu.wait_for(lambda e: len(e.sent_messages(chat_id)) >= before + count, timeout=10)
    return env.emu.sent_messages(chat_id)[before:]


async def press(env: Env, who: dict[str, Any], message: dict[str, Any], data: str) -> dict[str, Any]:
    """Press a button and return how the bot answered the query."""
    update = env.emu.callback(who, message, data)
    query_id = update["callback_query"]["id"]
    await env.emu.wait_for(lambda e: query_id in e.callback_answers, timeout=10)
    return env.emu.callback_answers[query_id]


async def says(env: Env, who: dict[str, Any], text: str, chat: dict[str, Any] | None = None) -> dict[str, Any]:
    """`who` sends `text`; returns the bot's first message in reply."""
    chat_id = chat["id"] if chat else who["id"]
    before = len(env.emu.sent_messages(chat_id))
    env.emu.user_message(who, chat=chat, text=text)
    return (await sent_after(env, chat_id, before))[0]


async def dispute(env: Env, who: dict[str, Any], card: dict[str, Any], proposed: str) -> None:
    chat_id = card["chat"]["id"]
    wv = next(b for b in buttons(card) if b.startswith("wv:"))
    before = len(env.emu.sent_messages(chat_id))
    env.emu.callback(who, card, wv)
    [ask] = await sent_after(env, chat_id, before)
    await press(env, who, ask, next(b for b in buttons(ask) if b.endswith(":" + proposed)))
    await env.emu.wait_for(lambda e: any(b.startswith("dk:") for b in buttons(current(env, ask))))


def decision_id(card: dict[str, Any]) -> int:
    return int(buttons(card)[0].split(":")[1])


def reviews(env: Env) -> list[tuple[Any, ...]]:
    return env.rows(
        "SELECT decision_id, reviewer_id, action, verdict_before, clauses_before, verdict_after, clauses_after, "
        "category_after, reason FROM reviews ORDER BY id"
    )


async def record(env: Env, n: int, text: str, days_old: float = 0, origin: dict[str, Any] | None = None) -> int:
    """A decision stored directly (as screen_and_reply would), `days_old` days in the past."""
    decision, _ = await env.storage.record_decision(
        update_id=500_000 + n, chat_id=1000 + n, chat_type="private", user_id=1000 + n, language="zh",
        source="forward" if origin else "text", text=text, forward_origin=origin, screening=screen(text),
        latency_ms=0.4,
    )  # fmt: skip
    if days_old:
        when = (datetime.now(UTC) - timedelta(days=days_old)).isoformat(timespec="milliseconds")
        with sqlite3.connect(env.db_path) as conn:
            conn.execute("UPDATE decisions SET created_at = ? WHERE id = ?", (when, decision.id))
    return decision.id


def uploads(env: Env, method: str) -> list[Any]:
    return [u for u in env.emu.uploads if u.method == method]


def database_bytes(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


class FlagEverything:
    """The real engine, except that every screening asks for a human review."""

    def __init__(self) -> None:
        self.engine = default_engine()

    def screen(self, text: str) -> Screening:
        return self.engine.screen(text).model_copy(update={"needs_review": True})


# ---------------------------------------------------------------------- the review queue


async def test_review_round_trip_changes_the_verdict_tells_each_disputer_and_exports_the_label(
    make_env: Any, tmp_path: Path
) -> None:
    async with make_env() as env:
        group = group_chat(-200300, "校长群")
        alice, bob = user(21), user(22, lang="en")
        card = await says(env, alice, f"/check {CONDITIONAL_TEXT}", chat=group)
        assert card["text"].startswith("⚠️")
        ident = decision_id(card)
        await dispute(env, alice, card, "allow")
        await says(env, alice, "教育局已经统一安排了这次讲座")
        await dispute(env, bob, card, "allow")

        review_card = await says(env, ADMIN, "/review")
        text = review_card["text"]
        assert f"复核 #{ident}" in text and "税务局" in text and "教育局已经统一安排了这次讲座" in text
        assert "⚠️ 有条件" in text and "用户 21" in text and "用户 22" in text
        data = buttons(review_card)
        assert data[0] == f"rv:c:{ident}:0" and data[-1] == f"rv:s:{ident}"
        assert {f"rv:v:{ident}:0:a", f"rv:v:{ident}:0:r", f"rv:v:{ident}:0:c", f"rv:v:{ident}:0:n"} <= set(data)

        await press(env, ADMIN, review_card, f"rv:v:{ident}:0:a")
        await env.emu.wait_for(lambda e: any(b.startswith("rv:k:") for b in buttons(current(env, review_card))))
        picker = current(env, review_card)
        assert "改为：✅ 可以安排" in picker["text"]
        assert f"rv:k:{ident}:0:a:11" in buttons(picker) and buttons(picker)[-1] == f"rv:b:{ident}:0"

        # The reviewer types the clause and a reason instead of picking a button.
        before = len(env.emu.sent_messages(ADMIN_ID))
        env.emu.user_message(ADMIN, text="11 区教育局已统一安排，属正常的宣传教育")
        [after] = await sent_after(env, ADMIN_ID, before)
        assert after["text"] == "没有待复核的记录。"
        closed = current(env, review_card)
        assert "复核人 999 已改为：✅ 可以安排（条款 11）" in closed["text"] and buttons(closed) == []

        told_alice = await sent_after(env, 21, 1)
        assert told_alice[0]["text"].startswith(f"您对判断 #{ident}（“您好，我是区税务局宣传科")
        assert told_alice[0]["text"].endswith("已改为：✅ 可以安排（依据第11条）。")
        [told_bob] = await sent_after(env, 22, 0)
        assert told_bob["text"].startswith(f'Your dispute of verdict #{ident} ("')
        assert told_bob["text"].endswith("it is now: ✅ may be assigned (clause 11).")

        assert reviews(env) == [
            (ident, ADMIN_ID, "change", "conditional", "[11]", "allow", "[11]", "publicity",
             "区教育局已统一安排，属正常的宣传教育"),
        ]  # fmt: skip
        assert env.rows("SELECT verdict, clauses FROM decisions") == [("conditional", "[11]")], "never rewritten"
        assert len(env.rows()) == 1, "the typed clause was not screened as a notice"

        # The label export, read by the policy's own evaluation command as it is.
        await says(env, ADMIN, "/export labels")
        [labels] = uploads(env, "sendDocument")
        assert labels.file_name.startswith("jianfu-labels-") and labels.file_name.endswith(".jsonl")
        [record] = [json.loads(line) for line in labels.data.decode("utf-8").splitlines()]
        assert tuple(record) == LABEL_FIELDS
        assert record == {
            "id": f"review-{ident}", "text": CONDITIONAL_TEXT, "verdict": "allow", "clauses": [11],
            "category": "publicity", "lang": "zh", "why": "区教育局已统一安排，属正常的宣传教育",
        }  # fmt: skip
        dev = ROOT.parent / "shared" / "eval" / "dev.jsonl"
        if dev.is_file():
            first = json.loads(dev.read_text(encoding="utf-8").splitlines()[0])
            assert tuple(first) == LABEL_FIELDS, "the export follows the public sample's schema"
        path = tmp_path / "labels.jsonl"
        path.write_bytes(labels.data)
        out = subprocess.run(
            [sys.executable, "-m", "policy", "eval", str(path)], cwd=ROOT, capture_output=True, text=True,
            timeout=120, check=False,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        assert "n=1 " in out.stdout and "verdict_acc=" in out.stdout


async def test_confirm_skip_back_clause_buttons_and_a_double_press(env: Env) -> None:
    alice = user(31)
    first = await says(env, alice, REFUSE_TEXT)
    second = await says(env, alice, CONDITIONAL_TEXT)
    id1, id2 = decision_id(first), decision_id(second)
    await dispute(env, alice, first, "allow")
    await dispute(env, alice, second, "refuse")
    told_before = len(env.emu.sent_messages(31))

    card1 = await says(env, ADMIN, "/review")
    assert f"复核 #{id1}" in card1["text"]
    # The current verdict is refuse: its button changes only the clause; not-a-task is offered too.
    labels = [b["text"] for row in card1["reply_markup"]["inline_keyboard"] for b in row]
    assert labels == ["✔ 确认", "改为 ✅ 可以安排", "✎ 只改条款", "改为 ⚠️ 有条件", "改为 💬 不是任务", "跳过"]

    before = len(env.emu.sent_messages(ADMIN_ID))
    await press(env, ADMIN, card1, f"rv:s:{id1}")
    [card2] = await sent_after(env, ADMIN_ID, before)
    assert f"复核 #{id2}" in card2["text"]
    assert "已跳过" in current(env, card1)["text"] and buttons(current(env, card1)) == []

    before = len(env.emu.sent_messages(ADMIN_ID))
    await press(env, ADMIN, card2, f"rv:c:{id2}:0")
    [end] = await sent_after(env, ADMIN_ID, before)
    assert end["text"] == "这一轮已看完，还有 1 条待复核。发送 /review 从头开始。"
    assert "复核人 999 已确认：⚠️ 有条件" in current(env, card2)["text"]
    [told] = await sent_after(env, 31, told_before)
    assert told["text"].endswith("维持原判断：⚠️ 有条件。")

    # The same Confirm pressed again (a double tap, or a second reviewer's stale card) writes nothing.
    answer = await press(env, ADMIN, card2, f"rv:c:{id2}:0")
    assert answer["text"] == "这条记录刚被其他复核人处理过，已刷新，请重新查看。" and answer["show_alert"] is True
    assert [r[0] for r in reviews(env)] == [id2]

    card1 = await says(env, ADMIN, "/review")
    assert f"复核 #{id1}" in card1["text"]
    await press(env, ADMIN, card1, f"rv:v:{id1}:0:c")
    await env.emu.wait_for(lambda e: any(b.startswith("rv:k:") for b in buttons(current(env, card1))))
    await press(env, ADMIN, card1, f"rv:b:{id1}:0")
    await env.emu.wait_for(lambda e: buttons(current(env, card1))[0] == f"rv:c:{id1}:0")
    await press(env, ADMIN, card1, f"rv:v:{id1}:0:c")
    await env.emu.wait_for(lambda e: any(b.startswith("rv:k:") for b in buttons(current(env, card1))))
    suggested = [b for b in buttons(current(env, card1)) if b.startswith("rv:k:")]
    assert suggested[0] == f"rv:k:{id1}:0:c:12", "the decision's own clause comes first"
    before = len(env.emu.sent_messages(ADMIN_ID))
    await press(env, ADMIN, card1, suggested[0])
    [empty] = await sent_after(env, ADMIN_ID, before)
    assert empty["text"] == "没有待复核的记录。"
    [(engine_clauses,)] = env.rows(f"SELECT clauses FROM decisions WHERE id = {id1}")
    assert reviews(env)[1] == (
        id1, ADMIN_ID, "change", "refuse", engine_clauses, "conditional", "[12]", "unrelated_affairs", None
    )  # fmt: skip
    assert default_policy().clause(12).category == "unrelated_affairs"  # type: ignore[union-attr]


# ---------------------------------------------------------------------- the log and one decision


async def test_log_pages_with_next_and_previous_and_show_one_decision(env: Env) -> None:
    ids = [await record(env, i, (REFUSE_TEXT if i % 3 == 0 else CONDITIONAL_TEXT) + f"（第{i}号）") for i in range(23)]
    page = await says(env, ADMIN, "/log")
    lines = page["text"].splitlines()
    assert lines[0] == "决策记录：第 1/3 页，共 23 条"
    assert lines[1].startswith(f"#{ids[-1]} ") and len([x for x in lines if x.startswith("#")]) == 10
    assert buttons(page) == ["lg:all:2"]

    await press(env, ADMIN, page, "lg:all:2")
    await env.emu.wait_for(lambda e: "第 2/3 页" in current(env, page)["text"])
    assert buttons(current(env, page)) == ["lg:all:1", "lg:all:3"]
    await press(env, ADMIN, page, "lg:all:3")
    await env.emu.wait_for(lambda e: "第 3/3 页" in current(env, page)["text"])
    last = current(env, page)
    assert len([x for x in last["text"].splitlines() if x.startswith("#")]) == 3 and buttons(last) == ["lg:all:2"]
    assert last["text"].splitlines()[-2].startswith(f"#{ids[0]} ")
    await press(env, ADMIN, page, "lg:all:2")
    await env.emu.wait_for(lambda e: "第 2/3 页" in current(env, page)["text"])

    refused = await says(env, ADMIN, "/log refuse")
    assert refused["text"].startswith("决策记录（⛔ 可以拒绝）：第 1/1 页，共 8 条")
    assert buttons(refused) == []
    assert (await says(env, ADMIN, "/log disputed"))["text"] == "没有符合条件的记录。"
    assert (await says(env, ADMIN, "/log everything"))["text"].startswith("用法：/log")

    whole = await says(env, ADMIN, f"/show {ids[4]}")
    assert (
        whole["text"].startswith(f"记录 #{ids[4]}") and "（第4号）" in whole["text"] and "用户：1004" in whole["text"]
    )
    assert buttons(whole) == [f"rv:o:{ids[4]}"]
    assert (await says(env, ADMIN, "/show 987654"))["text"] == "找不到这条记录。"
    assert (await says(env, ADMIN, "/show"))["text"].startswith("用法：/show")


# ---------------------------------------------------------------------- statistics and the chart


async def test_stats_counts_sources_and_a_real_png_chart(env: Env) -> None:
    origin = {"type": "channel", "id": -100777, "name": "城东街道办公告", "username": None, "message_id": 5}
    for i, days in enumerate([0, 1, 8, 9, 15, 40]):
        await record(env, i, REFUSE_TEXT + f"#{i}", days_old=days, origin=origin)
    for i, days in enumerate([0, 2, 10]):
        await record(env, 100 + i, CONDITIONAL_TEXT + f"#{i}", days_old=days)
    await record(env, 200, "在吗？")

    text = (await says(env, ADMIN, "/stats all"))["text"]
    assert text.startswith("统计：全部，共 10 条")
    assert "⛔ 可以拒绝: 6 (60%)" in text and "⚠️ 有条件: 3 (30%)" in text and "💬 不是任务: 1 (10%)" in text
    assert "与教育教学无关的事务: 6" in text and "进校园宣传教育活动: 3" in text
    assert "需要复核：" in text and "用户异议：0（0%）" in text
    assert "可拒绝任务的来源（转发自）\n城东街道办公告: 6" in text

    await env.emu.wait_for_calls("sendPhoto")
    [photo_call] = env.emu.calls_to("sendPhoto")
    assert photo_call.ok and photo_call.params["chat_id"] == ADMIN_ID
    assert photo_call.params["caption"] == "每周各类任务数（全部）"
    [chart] = uploads(env, "sendPhoto")
    png = chart.data
    assert png.startswith(PNG_SIGNATURE) and png[12:16] == b"IHDR"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (900, 500)
    assert 10_000 < len(png) < 500_000

    week = (await says(env, ADMIN, "/stats 7d"))["text"]
    assert week.startswith("统计：最近7天，共 5 条")
    await env.emu.wait_for_calls("sendPhoto", 2)
    assert (await says(env, ADMIN, "/stats 1y"))["text"] == "用法：/stats 7d|30d|all"


# ---------------------------------------------------------------------- exports


async def test_exports_parse_back_as_csv_and_json_lines(env: Env) -> None:
    tricky = '县文旅局通知，"务必"转发\n第二行：截图上报，纳入考核'
    formula = '=HYPERLINK("http://x.invalid","点这里") 请各校转发'
    ids = [
        await record(env, 1, REFUSE_TEXT), await record(env, 2, tricky), await record(env, 3, CONDITIONAL_TEXT, 20),
        await record(env, 4, formula),
    ]  # fmt: skip
    stored = {r[0]: r[1:] for r in env.rows("SELECT id, verdict, category, clauses, text FROM decisions")}

    await says(env, ADMIN, "/export csv all")
    [document] = uploads(env, "sendDocument")
    assert document.file_name.endswith(".csv") and document.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(document.data.decode("utf-8-sig"), newline="")))
    assert [int(r["id"]) for r in rows] == ids
    assert rows[3]["text"] == "'" + formula, "a spreadsheet shows it as text, not a formula"
    for r in rows[:3]:
        verdict, category, clauses, text = stored[int(r["id"])]
        assert (r["verdict"], r["engine_verdict"], r["category"], r["text"]) == (verdict, verdict, category, text)
        assert [int(n) for n in r["clauses"].split()] == json.loads(clauses)
        assert r["reviewed"] == "0" and r["disputes"] == "0"
    assert "user_id" not in rows[0] and "chat_id" not in rows[0]

    await says(env, ADMIN, "/export jsonl 7d")
    [_, jsonl] = uploads(env, "sendDocument")
    records = [json.loads(line) for line in jsonl.data.decode("utf-8").splitlines()]
    assert [r["id"] for r in records] == [ids[0], ids[1], ids[3]], "the 20-day-old decision is outside 7d"
    assert records[1]["text"] == tricky and records[1]["clauses"] == json.loads(stored[ids[1]][2])
    assert records[2]["text"] == formula

    assert (await says(env, ADMIN, "/export labels"))["text"] == "没有可导出的记录。"
    assert (await says(env, ADMIN, "/export xml"))["text"].startswith("用法：/export")


# ---------------------------------------------------------------------- authorisation


async def test_every_admin_command_and_button_is_refused_to_a_non_admin(env: Env) -> None:
    alice, mallory = user(51), user(66)
    card = await says(env, alice, REFUSE_TEXT)
    ident = decision_id(card)
    await dispute(env, alice, card, "allow")
    review_card = await says(env, ADMIN, "/review")
    log_page = await says(env, ADMIN, "/log")
    admin_messages = [dict(current(env, m)) for m in (review_card, log_page)]
    calls_before = len(env.emu.calls)

    commands = ["/review", "/log", "/log 2", f"/show {ident}", "/stats", "/stats all", "/export csv", "/export labels"]
    for command in commands:
        reply = await says(env, mallory, command)
        assert reply["text"] == NOT_PERMITTED, command

    # The admin's buttons, as if the card had reached Mallory's own chat.
    forwarded = {**review_card, "chat": {"id": 66, "type": "private", "first_name": "User66"}, "message_id": 900}
    data = [*buttons(review_card), f"rv:k:{ident}:0:a:11", f"rv:b:{ident}:0", f"rv:o:{ident}", "lg:all:2"]
    for item in data:
        answer = await press(env, mallory, forwarded, item)
        assert answer == {"text": NOT_PERMITTED, "show_alert": True}, item
    # A group is no place for admin material, even for an admin.
    group = group_chat(-200900, "某群")
    assert (await says(env, ADMIN, "/stats", chat=group))["text"] == NOT_PERMITTED
    assert (await says(env, ADMIN, "/review", chat=group))["text"] == NOT_PERMITTED
    in_group = {**review_card, "chat": group, "message_id": 901}
    assert (await press(env, ADMIN, in_group, f"rv:c:{ident}:0"))["text"] == NOT_PERMITTED

    assert reviews(env) == []
    assert [current(env, m) for m in (review_card, log_page)] == admin_messages
    assert [m["text"] for m in env.emu.sent_messages(66)] == [NOT_PERMITTED] * len(commands)
    assert env.emu.uploads == []
    sent = {c.method for c in env.emu.calls[calls_before:]} - {"getUpdates"}
    assert sent == {"sendMessage", "answerCallbackQuery"}, "nothing edited, no file, no photo"


async def test_forged_button_data_is_refused_and_changes_nothing(env: Env) -> None:
    alice = user(52)
    card = await says(env, alice, CONDITIONAL_TEXT)
    ident = decision_id(card)
    await dispute(env, alice, card, "refuse")
    review_card = await says(env, ADMIN, "/review")
    forged = {
        f"rv:k:{ident}:0:a:18": NOT_PERMITTED,  # clauses 18-20 name no category
        f"rv:k:{ident}:0:a:0": NOT_PERMITTED,
        f"rv:k:{ident}:0:n:1": NOT_PERMITTED,
        f"rv:c:{ident}:0:extra": NOT_PERMITTED,
        f"rv:c:{ident}:0; DROP TABLE reviews": NOT_PERMITTED,
        f"rv:x:{ident}:0": NOT_PERMITTED,
        f"rv:v:{ident}:0:z": NOT_PERMITTED,
        "lg:users:1": NOT_PERMITTED,
        "lg:all:-1": NOT_PERMITTED,
        "rv:c:987654321:0": "找不到这条记录。",
        f"rv:c:{ident}:7": "这条记录刚被其他复核人处理过，已刷新，请重新查看。",
    }
    for data, expected in forged.items():
        assert (await press(env, ADMIN, review_card, data))["text"] == expected, data
    assert reviews(env) == []
    assert env.rows("SELECT verdict FROM decisions") == [("conditional",)]


# ---------------------------------------------------------------------- privacy


async def test_forget_and_retention_leave_no_text_behind(make_env: Any) -> None:
    async with make_env(retention_days=30) as env:
        carol, dave, erin = user(41), user(42), user(43)
        carol_text = "城北商贸局：请全体教师周末到万达广场发放招商传单，每人不少于300份，拍照上传。"
        dave_text = "镇文明办：请各校教师每天在文明城市APP打卡并截图，打卡率纳入学校年终考核。"
        erin_text = "区科协：下周三请五年级学生参加科普讲座，已报区教育局统筹安排。"
        card = await says(env, carol, carol_text)
        await dispute(env, carol, card, "allow")
        await says(env, carol, "卡萝的私人说明甲乙丙")
        dave_card = await says(env, dave, dave_text)
        await dispute(env, dave, dave_card, "allow")
        await says(env, dave, "戴夫的私人说明丁戊己")
        await says(env, erin, erin_text)

        review_card = await says(env, ADMIN, "/review")
        ident = decision_id(card)
        await press(env, ADMIN, review_card, f"rv:v:{ident}:0:c")
        await env.emu.wait_for(lambda e: any(b.startswith("rv:k:") for b in buttons(current(env, review_card))))
        await says(env, ADMIN, "12 管理员的复核理由")

        # Carol forgets herself; Dave's decision and dispute are 40 days old, past RETENTION_DAYS.
        ask = await says(env, carol, "/forget")
        await press(env, carol, ask, "fg:y")
        await env.emu.wait_for(lambda e: "已删除" in current(env, ask)["text"])
        old = (datetime.now(UTC) - timedelta(days=40)).isoformat(timespec="milliseconds")
        with sqlite3.connect(env.db_path) as conn:
            conn.execute("UPDATE decisions SET created_at = ? WHERE user_id = 42", (old,))
            conn.execute("UPDATE disputes SET created_at = ? WHERE user_id = 42", (old,))
        [job] = env.app.job_queue.get_jobs_by_name(JOB_RETENTION)
        await job.run(env.app)

        rows = env.rows(
            "SELECT user_id, text, forward_origin, evidence, findings, verdict, category FROM decisions ORDER BY id"
        )
        assert [r[:5] for r in rows[:2]] == [(None, None, None, "[]", "[]"), (42, None, None, "[]", "[]")]
        assert all(r[5] and r[6] for r in rows), "the verdict rows stay"
        assert rows[2][0] == 43 and rows[2][1] == erin_text, "younger texts are kept"
        assert env.rows("SELECT user_id, comment FROM disputes ORDER BY id") == [(None, None), (42, None)]
        assert env.rows("SELECT reason FROM reviews") == [("管理员的复核理由",)], "the admin's own words stay"

        stored = database_bytes(env.db_path)
        for gone in (carol_text, dave_text, "万达广场发放招商传单", "文明城市APP打卡", "甲乙丙", "丁戊己"):
            assert gone.encode("utf-8") not in stored, gone
        assert erin_text.encode("utf-8") in stored

        # With their texts gone, the reviewed decision is no labelled example any more.
        assert (await says(env, ADMIN, "/export labels"))["text"] == "没有可导出的记录。"


# ---------------------------------------------------------------------- the admin chat and the digest


async def test_admin_chat_gets_batched_posts_review_buttons_and_the_weekly_digest(make_env: Any) -> None:
    assert 60 / ADMIN_CHAT_INTERVAL <= 3, "at most three messages a minute in the admin chat"
    async with make_env(engine=FlagEverything(), admin_chat_id=ADMIN_CHAT) as env:
        admin_chat = group_chat(ADMIN_CHAT, "区教育局复核群")
        env.emu.add_chat(admin_chat)
        [post_job] = env.app.job_queue.get_jobs_by_name(JOB_ADMIN_CHAT)
        cards = [
            await says(env, user(60 + i), text) for i, text in enumerate([REFUSE_TEXT, CONDITIONAL_TEXT, "在吗？"])
        ]
        ids = [r[0] for r in env.rows("SELECT id FROM decisions ORDER BY id")]
        assert env.emu.sent_messages(ADMIN_CHAT) == []

        await post_job.run(env.app)
        [batch] = await sent_after(env, ADMIN_CHAT, 0)
        assert batch["text"].startswith("新的待复核记录：3 条")
        assert buttons(batch) == [f"rv:o:{i}" for i in ids]
        await post_job.run(env.app)
        await post_job.run(env.app)
        assert len(env.emu.sent_messages(ADMIN_CHAT)) == 1, "nothing new, nothing posted"

        await dispute(env, user(60), cards[0], "allow")
        await post_job.run(env.app)
        [single] = await sent_after(env, ADMIN_CHAT, 1)
        assert f"复核 #{ids[0]}" in single["text"] and buttons(single)[0] == f"rv:c:{ids[0]}:0"

        # In the admin chat a member who is no admin is refused; the admin opens a card there.
        assert (await press(env, user(77), batch, f"rv:o:{ids[1]}"))["text"] == NOT_PERMITTED
        await press(env, ADMIN, batch, f"rv:o:{ids[1]}")
        [opened] = await sent_after(env, ADMIN_CHAT, 2)
        assert f"复核 #{ids[1]}" in opened["text"]
        before = len(env.emu.sent_messages(ADMIN_CHAT))
        await press(env, ADMIN, opened, f"rv:c:{ids[1]}:0")
        [following] = await sent_after(env, ADMIN_CHAT, before)
        assert f"复核 #{ids[2]}" in following["text"]
        assert (await says(env, user(77), "/review", chat=admin_chat))["text"] == NOT_PERMITTED

        [digest] = env.app.job_queue.get_jobs_by_name(JOB_DIGEST)
        assert digest.next_t is not None and digest.next_t.astimezone(UTC).weekday() == 0
        assert (digest.next_t.astimezone(UTC).hour, digest.next_t.astimezone(UTC).minute) == (1, 0)
        before = len(env.emu.sent_messages(ADMIN_CHAT))
        await digest.run(env.app)
        [summary, photo] = await sent_after(env, ADMIN_CHAT, before, 2)
        assert summary["text"].startswith("每周摘要：最近7天，共 3 条")
        assert photo["caption"] == "每周各类任务数（最近7天）"
        assert uploads(env, "sendPhoto")[-1].data.startswith(PNG_SIGNATURE)


async def test_no_admin_chat_no_posting_job_and_admins_get_their_menus_and_help(env: Env) -> None:
    assert env.app.job_queue.get_jobs_by_name(JOB_ADMIN_CHAT) == ()
    assert env.app.job_queue.get_jobs_by_name(JOB_DIGEST) == ()
    assert len(env.app.job_queue.get_jobs_by_name(JOB_RETENTION)) == 1
    menu = [c["command"] for c in env.emu.get_commands({"type": "chat", "chat_id": ADMIN_ID})]
    assert menu[-5:] == ["review", "log", "show", "stats", "export"]
    assert "review" not in [c["command"] for c in env.emu.get_commands()]
    admin_help = (await says(env, ADMIN, "/help"))["text"]
    assert "管理员命令" in admin_help and "/export" in admin_help
    assert "管理员命令" not in (await says(env, user(70), "/help"))["text"]
    assert "180 天后自动删除" in (await says(env, user(70), "/start"))["text"]


# ---------------------------------------------------------------------- the schema


async def test_decisions_and_reviews_are_append_only_in_the_database(tmp_path: Path) -> None:
    async with Storage(tmp_path / "a.sqlite3") as storage:
        decision, _ = await storage.record_decision(
            update_id=1, chat_id=1, chat_type="private", user_id=1, language="zh", source="text", text=REFUSE_TEXT,
            forward_origin=None, screening=screen(REFUSE_TEXT), latency_ms=1.0,
        )  # fmt: skip
        with pytest.raises(StorageError, match="never rewritten"):
            await storage._write("UPDATE decisions SET verdict = 'allow' WHERE id = ?", (decision.id,))
        await storage._write(
            "INSERT INTO reviews (decision_id, reviewer_id, action, verdict_before, category_before, clauses_before, "
            "verdict_after, category_after, clauses_after, created_at) VALUES (?, 1, 'confirm', 'refuse', 'x', '[]', "
            "'refuse', 'x', '[]', 'now')",
            (decision.id,),
        )
        for sql in ("UPDATE reviews SET reason = 'x'", "DELETE FROM reviews"):
            with pytest.raises(StorageError, match="append-only"):
                await storage._write(sql, ())
        await storage.forget_user(1)  # forgetting still works: it touches no verdict
    with sqlite3.connect(tmp_path / "a.sqlite3") as conn:
        assert conn.execute("SELECT verdict, text FROM decisions").fetchall() == [("refuse", None)]
        assert conn.execute("SELECT COUNT(*) FROM reviews").fetchone() == (1,)


async def test_migration_2_upgrades_a_log_written_before_reviews_existed(tmp_path: Path) -> None:
    from bot.storage.db import split_statements
    from bot.storage.migrations import MIGRATIONS

    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:
        for statement in split_statements(MIGRATIONS[0][2]):
            conn.execute(statement)
        conn.execute(
            "CREATE TABLE schema_migrations (number INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        conn.execute("INSERT INTO schema_migrations VALUES (1, 'old', 'then')")
        conn.execute(
            "INSERT INTO decisions (update_id, chat_type, language, source, text, text_sha256, verdict, category, "
            "clauses, findings, evidence, confidence, needs_review, policy_version, latency_ms, created_at) "
            "VALUES (1, 'private', 'zh', 'text', 'x', 'h', 'refuse', 'unrelated_affairs', '[12]', '[]', '[]', 0.4, 1, "
            "'v', 1.0, '2025-01-01T00:00:00.000+00:00')"
        )
        conn.execute("INSERT INTO disputes (decision_id, user_id, proposed, created_at) VALUES (1, 5, 'allow', 'then')")
    async with Storage(path) as storage:
        assert await storage.migrate() == []
        entry = await AdminRepository(storage).entry(1)
        assert entry is not None and entry.state.pending and entry.state.disputes == 1
        [old] = await storage.disputes_for(1)
        assert old.language is None
    with sqlite3.connect(path) as conn:
        numbers = [r[0] for r in conn.execute("SELECT number FROM schema_migrations ORDER BY number")]
        assert numbers == [m[0] for m in MIGRATIONS]
