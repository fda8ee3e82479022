"""End to end: the real Application and handlers, through python-telegram-bot's network stack, against
the local Bot API emulator; assertions on what the bot sent and what it stored."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import httpx
import pytest
from telegram import Update

from bot.emulator import ApiCall, channel_chat, group_chat, origin_channel, origin_hidden_user
from tests.bot.conftest import ADMIN_ID, Env, user

REFUSE_TEXT = "县商务局：请每位教职工购买不少于200元农产品，订单截图交学校汇总，完成情况全县通报。"
CONDITIONAL_TEXT = "您好，我是区税务局宣传科。我们想下周给贵校五年级学生开一场税法讲座，约40分钟，请问哪天方便？"


def buttons(message: dict[str, Any]) -> list[str]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    return [b["callback_data"] for row in rows for b in row]


async def test_private_text_gets_a_card_and_the_decision_is_committed_first(env: Env) -> None:
    seen_rows_at_reply: list[int] = []

    def on_call(call: ApiCall) -> None:
        if call.method == "sendMessage":
            with sqlite3.connect(env.db_path) as conn:
                seen_rows_at_reply.append(conn.execute("SELECT COUNT(*) FROM decisions").fetchone()[0])

    env.emu.add_listener(on_call)
    alice = user(1)
    update = env.emu.user_message(alice, text=REFUSE_TEXT)
    [card] = await env.replies(1, 1)
    assert card["text"].startswith("⛔ 可以拒绝")
    assert "第12条" in card["text"] and "购买" in card["text"]
    assert [d.split(":")[0] for d in buttons(card)] == ["fc", "dr", "wv"]
    assert seen_rows_at_reply == [1]
    [(update_id, verdict, category, clauses, source, origin, text)] = env.rows()
    assert (update_id, verdict, category, source, origin, text) == (
        update["update_id"], "refuse", "unrelated_affairs", "text", None, REFUSE_TEXT,
    )  # fmt: skip
    assert json.loads(clauses)[0] == 12
    await env.emu.wait_for(lambda e: env.rows("SELECT replied_at FROM decisions")[0][0] is not None)
    stored = await env.storage.decision_for_update(update["update_id"])
    assert stored is not None and stored.replied_at is not None and stored.reply_message_id == card["message_id"]


async def test_an_update_handled_again_in_the_same_run_is_neither_stored_nor_answered_twice(env: Env) -> None:
    """Past the inbox (a webhook delivering an update whose inbox row was already pruned, a card tried again):
    the handler screens it again, and the decision stored first is kept and not answered a second time."""
    update = env.emu.user_message(user(3), text=REFUSE_TEXT)
    await env.replies(3, 1)
    await env.settle(update)
    await env.emu.wait_for(lambda e: env.rows("SELECT replied_at FROM decisions")[0][0] is not None)
    await env.app.process_update(Update.de_json(json.loads(json.dumps(update)), env.app.bot))
    assert len(env.rows()) == 1
    assert len(env.emu.sent_messages(3)) == 1


async def test_redelivered_update_gives_neither_a_second_row_nor_a_second_reply(env: Env) -> None:
    update = env.emu.user_message(user(2), text=CONDITIONAL_TEXT)
    await env.replies(2, 1)
    again = json.loads(json.dumps(update))
    env.emu.push_update(again)
    await env.settle(again)
    assert len(env.rows()) == 1
    assert len(env.emu.sent_messages(2)) == 1


async def test_forwarded_channel_post_and_hidden_user(env: Env) -> None:
    channel = channel_chat(-100777, "城东街道办公告")
    env.emu.user_message(user(3), text=CONDITIONAL_TEXT, forward_origin=origin_channel(channel, 55))
    env.emu.user_message(user(3), text=REFUSE_TEXT, forward_origin=origin_hidden_user("王主任"))
    await env.replies(3, 2)
    origins = [json.loads(r[5]) for r in env.rows()]
    assert origins[0]["type"] == "channel" and origins[0]["name"] == "城东街道办公告" and origins[0]["message_id"] == 55
    assert origins[1] == {"type": "hidden_user", "name": "王主任"}
    assert [r[4] for r in env.rows()] == ["forward", "forward"]


async def test_group_is_silent_unless_asked(env: Env) -> None:
    group = group_chat(-200100, "校长群")
    member = user(4)
    notice = env.emu.user_message(member, chat=group, text=REFUSE_TEXT)
    await env.settle(notice)
    assert env.emu.sent_messages(-200100) == []
    env.emu.user_message(member, chat=group, text="/check", reply_to=notice)
    first = await env.replies(-200100, 1)
    assert first[0]["text"].startswith("⛔")
    env.emu.user_message(member, chat=group, text=f"@jianfu_test_bot {CONDITIONAL_TEXT}")
    second = await env.replies(-200100, 2)
    assert second[1]["text"].startswith("⚠️")
    env.emu.user_message(member, chat=group, text=f"/check@jianfu_test_bot {CONDITIONAL_TEXT}")
    await env.replies(-200100, 3)
    assert [r[4] for r in env.rows()] == ["check_reply", "mention", "check"]
    env.emu.user_message(member, chat=group, text="/history")
    replies = await env.replies(-200100, 4)
    assert "无权" in replies[3]["text"]


async def test_in_a_forum_topic_the_card_answers_in_that_topic_quoting_the_request(env: Env) -> None:
    forum = group_chat(-200200, "教研组", is_forum=True)
    message = {
        "message_id": 41, "from": user(6), "chat": forum, "date": 1_700_000_000, "message_thread_id": 77,
        "is_topic_message": True, "text": f"/check {REFUSE_TEXT}", "entities": [{"type": "bot_command", "offset": 0,
        "length": 6}],
    }  # fmt: skip
    env.emu.messages[(-200200, 41)] = message
    env.emu.push_update({"message": message})
    [card] = await env.replies(-200200, 1)
    assert card["text"].startswith("⛔")
    assert card["message_thread_id"] == 77 and card["reply_to_message"]["message_id"] == 41


async def test_gbk_text_file_is_read_and_screened(env: Env) -> None:
    data = REFUSE_TEXT.encode("gbk")
    doc = env.emu.add_file(data, file_name="通知.txt", mime_type="text/plain")
    env.emu.user_message(user(5), document=doc)
    [card] = await env.replies(5, 1)
    assert card["text"].startswith("⛔") and "通知.txt" in card["text"]
    assert env.rows()[0][4] == "file" and env.rows()[0][6] == REFUSE_TEXT
    assert env.emu.calls_to("getFile")


async def test_other_media_get_a_short_answer(env: Env) -> None:
    xlsx = env.emu.add_file(b"PK\x03\x04...", file_name="名单.xlsx", mime_type="application/vnd.ms-excel")
    env.emu.user_message(user(6), document=xlsx)
    env.emu.push_update(
        {"message": {"message_id": 50, "date": 0, "chat": {"id": 6, "type": "private", "first_name": "U"},
                     "from": user(6), "voice": {"file_id": "v1", "file_unique_id": "v1", "duration": 3}}}
    )  # fmt: skip
    broken_photo = env.emu.add_photo(b"\x89PNG\r\n\x1a\n" + b"\x00" * 30, 10, 10)
    env.emu.user_message(user(6), photo=broken_photo, caption=CONDITIONAL_TEXT)
    replies = await env.replies(6, 3, timeout=60)
    assert ".docx" in replies[0]["text"] and ".docx" in replies[1]["text"]
    assert replies[2]["text"].startswith("⚠️") and "仅判断了图片说明" in replies[2]["text"]
    assert [r[4] for r in env.rows()] == ["caption"]
    assert not env.emu.calls_to("getFile")[:-1], "only the photo was downloaded"


async def test_buttons_full_clause_draft_and_dispute_round_trip(env: Env) -> None:
    alice = user(7)
    env.emu.user_message(alice, text=CONDITIONAL_TEXT)
    [card] = await env.replies(7, 1)
    fc, dr, wv = buttons(card)
    env.emu.callback(alice, card, fc)
    replies = await env.replies(7, 2)
    assert "第11条" in replies[1]["text"] and "非官方" in replies[1]["text"]
    env.emu.callback(alice, card, dr)
    replies = await env.replies(7, 3)
    draft = replies[2]["text"]
    assert "关于减轻中小学教师负担进一步营造教育教学良好环境的若干意见" in draft and "第11条" in draft
    env.emu.callback(alice, card, wv)
    replies = await env.replies(7, 4)
    choices = buttons(replies[3])
    assert all(c.startswith("dv:") for c in choices) and not any(c.endswith(":conditional") for c in choices)
    env.emu.callback(alice, replies[3], next(c for c in choices if c.endswith(":allow")))
    await env.emu.wait_for(lambda e: any("已记录" in m.get("text", "") for m in e.sent_messages(7)))
    env.emu.user_message(alice, text="税务局已经通过教育局统一安排了")
    await env.emu.wait_for(lambda e: any("说明已记录" in m.get("text", "") for m in e.sent_messages(7)))
    decision_id = int(fc.split(":")[1])
    [dispute] = await env.storage.disputes_for(decision_id)
    assert dispute.proposed == "allow" and dispute.comment == "税务局已经通过教育局统一安排了" and dispute.user_id == 7
    assert len(env.rows()) == 1, "the comment was not screened as a new notice"
    assert all(c.ok for c in env.emu.calls_to("answerCallbackQuery"))


async def test_another_users_button_and_forged_data_are_refused(env: Env) -> None:
    alice, mallory = user(8), user(9)
    env.emu.user_message(alice, text=REFUSE_TEXT)
    [card] = await env.replies(8, 1)
    _, dr, wv = buttons(card)
    # The card forwarded into Mallory's own chat keeps its buttons; pressing them must not work.
    forwarded = {**card, "chat": {"id": 9, "type": "private", "first_name": "User9"}, "message_id": 777}
    env.emu.callback(mallory, forwarded, dr)
    env.emu.callback(mallory, forwarded, "dv:1:refuse; DROP TABLE decisions")
    env.emu.callback(mallory, forwarded, "fc:999999:12")
    env.emu.callback(mallory, forwarded, wv.replace("wv", "dv") + ":allow")
    await env.emu.wait_for(lambda e: len(e.calls_to("answerCallbackQuery")) >= 4)
    alerts = [c.params.get("text") for c in env.emu.calls_to("answerCallbackQuery")]
    assert alerts == ["无权进行此操作。", "无权进行此操作。", "找不到这条记录。", "无权进行此操作。"]
    assert len(env.emu.sent_messages(8)) == 1 and env.emu.sent_messages(9) == []
    assert await env.storage.disputes_for(1) == []


async def test_commands(env: Env) -> None:
    bob = user(10, lang="en")
    for text in ["/start", "/help", "/clauses", "/clause 16", "/clause 99", "/clause -1", "/lang xx"]:
        env.emu.user_message(bob, text=text)
    replies = await env.replies(10, 7)
    texts = [m["text"] for m in replies]
    assert "What I store" in texts[0]
    assert "/forget" in texts[1] and "/clause" in texts[1]
    assert "17. " in texts[2]
    assert "half a year" in texts[3]
    assert "1 to 20" in texts[4] and "1 to 20" in texts[5]
    assert "Usage" in texts[6]
    env.emu.user_message(bob, text="/lang zh")
    env.emu.user_message(bob, text="/start")
    replies = await env.replies(10, 9)
    assert replies[7]["text"] == "已切换为中文。" and "我会保存什么" in replies[8]["text"]
    commands = env.emu.get_commands()
    assert [c["command"] for c in commands] == [
        "start",
        "help",
        "check",
        "clauses",
        "clause",
        "lang",
        "history",
        "forget",
    ]
    assert env.emu.get_commands(language_code="en")[0]["description"] == "What jianfu does"


async def test_history_shows_own_decisions_and_forget_erases_texts(env: Env) -> None:
    carol, dave = user(11), user(12)
    env.emu.user_message(carol, text=REFUSE_TEXT)
    env.emu.user_message(dave, text=CONDITIONAL_TEXT)
    await env.replies(11, 1)
    await env.replies(12, 1)
    env.emu.user_message(carol, text="/history")
    replies = await env.replies(11, 2)
    assert "县商务局" in replies[1]["text"] and "税务局" not in replies[1]["text"]
    env.emu.user_message(carol, text="/forget")
    replies = await env.replies(11, 3)
    yes = next(d for d in buttons(replies[2]) if d == "fg:y")
    env.emu.callback(carol, replies[2], yes)
    await env.emu.wait_for(lambda e: any("已删除" in m.get("text", "") for m in e.sent_messages(11)))
    rows = env.rows("SELECT user_id, text, verdict FROM decisions ORDER BY id")
    assert rows[0] == (None, None, "refuse") and rows[1][0] == 12 and rows[1][1] == CONDITIONAL_TEXT


async def test_user_text_with_html_appears_literally(env: Env) -> None:
    text = '请各位老师<b>务必</b>下载 <a href="http://x.cn">某APP</a> & 注册，注册率100%，截图上报，纳入考核 <script>'
    env.emu.user_message(user(13), text=text)
    [card] = await env.replies(13, 1)
    assert all(c.ok for c in env.emu.calls_to("sendMessage"))
    assert card["text"].startswith("⛔")


async def test_long_notice_lists_findings_and_splits_cleanly(env: Env) -> None:
    items = "\n".join(f"{i}. 请各班做好第{i}周的作业检查和教学进度安排，周五前交教务处。" for i in range(1, 40))
    items += "\n40. 全体教师须下载注册某政务APP，注册率100%，截图上报，纳入年度考核。"
    env.emu.user_message(user(14), text="教务处通知：\n" + items * 3)
    await env.emu.wait_for(lambda e: any(buttons(m) for m in e.sent_messages(14)), timeout=15)
    replies = env.emu.sent_messages(14)
    assert all(len(m["text"]) <= 4096 for m in replies)
    assert replies[0]["text"].startswith("⛔")
    assert "逐项判断" in "".join(m["text"] for m in replies)
    assert buttons(replies[-1]) and not any(buttons(m) for m in replies[:-1])


async def test_per_user_rate_limit(make_env: Any) -> None:
    async with make_env(user_rate_limit_per_minute=3) as env:
        erin = user(15)
        for _ in range(5):
            env.emu.user_message(erin, text=CONDITIONAL_TEXT)
        await env.replies(15, 4)
        texts = [m["text"] for m in env.emu.sent_messages(15)]
        await env.settle(env.emu.user_message(erin, text="/help"))
        assert sum(t.startswith("⚠️") for t in texts) == 3
        assert texts[3] == "您发送得太快了，请一分钟后再试。"
        assert len(env.emu.sent_messages(15)) == 4
        assert len(env.rows()) == 3


async def test_admin_and_unknown_chat_types_do_not_crash(env: Env) -> None:
    env.emu.push_update({"message": {"message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"}}})
    env.emu.push_update(
        {"edited_message": {"message_id": 2, "date": 0, "chat": {"id": 5, "type": "private"}, "text": "x"}}
    )
    last = env.emu.user_message(user(ADMIN_ID), text="在吗？")
    await env.replies(ADMIN_ID, 1)
    await env.settle(last)
    assert env.rows()[0][1] == "not_a_request"


@pytest.mark.parametrize("secret_header", [None, "wrong-secret"])
async def test_webhook_refuses_requests_without_the_secret(
    make_env: Any, secret_header: str | None, unused_tcp_port: int
) -> None:
    async with make_env() as env:
        await env.intake.stop()
        await env.app.updater.start_webhook(
            listen="127.0.0.1", port=unused_tcp_port, url_path="telegram", secret_token="right-secret",
            webhook_url="https://example.invalid/telegram",
        )  # fmt: skip
        try:
            update = {"update_id": 1, "message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"},
                                                  "from": user(1), "text": REFUSE_TEXT}}  # fmt: skip
            headers = {"X-Telegram-Bot-Api-Secret-Token": secret_header} if secret_header else {}
            async with httpx.AsyncClient() as client:
                bad = await client.post(f"http://127.0.0.1:{unused_tcp_port}/telegram", json=update, headers=headers)
                good = await client.post(
                    f"http://127.0.0.1:{unused_tcp_port}/telegram", json=update,
                    headers={"X-Telegram-Bot-Api-Secret-Token": "right-secret"},
                )  # fmt: skip
            assert bad.status_code == 403 and good.status_code == 200
            await env.replies(1, 1)
            assert len(env.rows()) == 1
        finally:
            await env.app.updater.stop()


async def test_a_file_download_is_tried_again_and_a_lasting_failure_is_answered(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("handlers.messages.DOWNLOAD_PAUSES", (0.01, 0.01))
    doc = env.emu.add_file(REFUSE_TEXT.encode("gbk"), file_name="通知.txt", mime_type="text/plain")
    # Two failed downloads (a server error, a dropped connection), then it works: one card, nothing said of it.
    env.emu.inject("download", "500")
    env.emu.inject("download", "drop")
    env.emu.user_message(user(8), document=doc)
    [card] = await env.replies(8, 1)
    assert card["text"].startswith("⛔") and len(env.rows()) == 1
    # Failing on every try: a short answer asking to send it again, and no decision row.
    env.emu.inject("download", "502", times=3)
    env.emu.user_message(user(9), document=doc)
    [answer] = await env.replies(9, 1)
    assert "重新发送" in answer["text"] and len(env.rows()) == 1
