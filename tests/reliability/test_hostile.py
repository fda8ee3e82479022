"""Hostile and malformed input: whole update payloads (hypothesis), bad command arguments, forged button
data, HTML in texts, oversized files. Each gets a clear short answer or is ignored; no handler fails (no
error reaches the error handlers) and no row is written that does not belong to its update."""

from __future__ import annotations

import copy
import itertools
import json
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bot.emulator import group_chat, make_user
from bot.wire import malformed
from tests.bot.conftest import ADMIN_ID
from tests.reliability.conftest import Env, Errors, user

REFUSE = "县商务局：请每位教职工购买不少于200元农产品，订单截图交学校汇总，完成情况全县通报。"
BOT = "jianfu_test_bot"
USERS = [5001, 5002, ADMIN_ID]
GROUPS = [-100_200_300, -4001]
COMMANDS = ["/start", "/help", "/check", "/clauses", "/clause", "/lang", "/history", "/forget", "/review", "/log",
            "/show", "/stats", "/export", "/nonsense"]  # fmt: skip
BUTTON_PREFIXES = ["fc", "dr", "wv", "dv", "dk", "fg", "rv:c", "rv:v", "rv:k", "rv:b", "rv:s", "rv:o", "lg"]
ODD = ["\u200f", "\u202e", "\u2066", "\x00", "\ufeff", "\U0001f600", "\U00010348", "\U000e0001", "\U0010fffd",
       "<b>", "</i>", "&amp;", "&", "<a href='x'>", "@" + BOT, "\n", "第12条", "/check"]  # fmt: skip

ids = itertools.count(2_000_000)
message_ids = itertools.count(1)

any_char = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=("Cs",))
texts = st.one_of(
    st.text(any_char, max_size=200),
    st.lists(st.sampled_from(ODD) | st.text(any_char, max_size=5), max_size=30).map("".join),
    st.sampled_from([REFUSE, REFUSE.replace("，", "\u200f，"), "<b>" + REFUSE + "</b>"]),
    st.tuples(st.sampled_from(["通知", "x", "😀", "\x00"]), st.integers(1000, 12_000)).map(lambda p: p[0] * p[1]),
)
json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False), texts)
json_value = st.recursive(
    json_leaf, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)  # fmt: skip


def entities_for(text: str) -> st.SearchStrategy[list[dict[str, Any]]]:
    size = len(text.encode("utf-16-le")) // 2
    entity = st.fixed_dictionaries(
        {
            "type": st.sampled_from(["bot_command", "mention", "bold", "italic", "text_link", "url", "code", "pre"]),
            "offset": st.integers(0, size + 2),
            "length": st.integers(0, size + 2),
        },
        optional={"url": st.just("https://example.invalid"), "language": st.text(max_size=5)},
    )
    return st.lists(entity, max_size=4)


@st.composite
def payloads(draw: st.DrawFn) -> dict[str, Any]:
    """A whole update: a plausible base (a private text, a group message, a command, a document, a button
    press), then hostile changes: fields dropped, added, or given the wrong type."""
    uid = draw(st.sampled_from(USERS))
    sender = make_user(
        uid, draw(texts.filter(bool) | st.just("U")), language_code=draw(st.sampled_from(["zh", "en", None]))
    )
    in_group = draw(st.booleans())
    chat = (
        group_chat(draw(st.sampled_from(GROUPS)), "群")
        if in_group
        else {"id": uid, "type": "private", "first_name": "U"}
    )
    base = draw(st.sampled_from(["text", "command", "document", "button", "reply"]))
    message: dict[str, Any] = {"message_id": next(message_ids), "date": 0, "chat": chat, "from": sender}
    if base == "text":
        message["text"] = draw(texts.filter(bool))
        if in_group and draw(st.booleans()):
            message["text"] = f"@{BOT} " + message["text"]
            message["entities"] = [{"type": "mention", "offset": 0, "length": len(BOT) + 1}]
    elif base == "command":
        command = draw(st.sampled_from(COMMANDS)) + draw(st.sampled_from(["", f"@{BOT}", "@other_bot"]))
        message["text"] = command + " " + draw(st.text(any_char, max_size=40) | st.sampled_from(ODD))
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    elif base == "document":
        message["document"] = {
            "file_id": "hostile-file", "file_unique_id": "u",
            "file_name": draw(st.text(any_char, max_size=30) | st.sampled_from(["a.txt", "a.TXT", "x.docx", ".txt"])),
            "mime_type": draw(st.sampled_from(["text/plain", "application/pdf", "image/png", "", "x/y"])),
            "file_size": draw(st.integers(0, 50 * 2**20)),
            "_content": draw(st.binary(max_size=300) | texts.map(lambda t: t.encode("utf-8")) | st.sampled_from(
                [REFUSE.encode("gbk"), REFUSE.encode("utf-16"), b"\xef\xbb\xbf" + REFUSE.encode(), b"\x00" * 50])),
        }  # fmt: skip
        message["caption"] = draw(texts)
    elif base == "reply":
        message["text"] = f"/check@{BOT}" if in_group else "/check"
        message["reply_to_message"] = {**copy.deepcopy(message), "message_id": next(message_ids), "text": draw(texts)}
    if base != "button" and draw(st.booleans()):
        key = "text" if "text" in message else "caption"
        if key in message:
            message[key + ("_entities" if key == "caption" else "") if key == "caption" else "entities"] = draw(
                entities_for(message[key])
            )
    update: dict[str, Any] = {"update_id": next(ids)}
    if base == "button":
        prefix = draw(st.sampled_from(BUTTON_PREFIXES))
        data = draw(
            st.one_of(
                st.text(any_char, max_size=64),
                st.builds(lambda n, x: f"{prefix}:{n}:{x}", st.integers(-5, 10**13), st.sampled_from(["", "12", "allow", "0:a", "x"])),
                st.builds(lambda n: f"{prefix}:{n}", st.integers(0, 10**13)),
            )
        )  # fmt: skip
        bot_message = {"message_id": next(message_ids), "date": 0, "chat": chat, "text": "card",
                       "from": {"id": 123456, "is_bot": True, "first_name": "Bot", "username": BOT}}  # fmt: skip
        update["callback_query"] = {"id": f"q{update['update_id']}", "from": sender, "chat_instance": "1",
                                    "data": data, "message": bot_message}  # fmt: skip
    else:
        update[draw(st.sampled_from(["message", "message", "message", "edited_message", "channel_post"]))] = message
    # Hostile changes.
    target = (
        update.get("message")
        or update.get("edited_message")
        or update.get("channel_post")
        or update.get("callback_query")
    )
    for _ in range(draw(st.integers(0, 2))):
        change = draw(st.sampled_from(["drop", "extra", "retype", "extra_top"]))
        keys = sorted(target)
        if change == "drop" and keys:
            target.pop(draw(st.sampled_from(keys)))
        elif change == "extra":
            target[draw(st.text(max_size=12))] = draw(json_value)
        elif change == "extra_top":
            update[draw(st.sampled_from(["zzz", "poll", "my_chat_member", "message_reaction"]))] = draw(json_value)
        elif keys:
            target[draw(st.sampled_from(keys))] = draw(json_value)
    return update


def register(env: Env, update: dict[str, Any]) -> None:
    """What Telegram would know: the messages and the button press the update refers to."""

    def known(message: Any) -> None:
        document = message.get("document") if isinstance(message, dict) else None
        if isinstance(document, dict) and "_content" in document:
            stored = env.emu.add_file(document.pop("_content"), file_name="f", mime_type="application/octet-stream")
            document["file_id"] = stored["file_id"]
        if isinstance(message, dict) and isinstance(message.get("chat"), dict):
            chat_id, message_id = message["chat"].get("id"), message.get("message_id")
            if type(chat_id) is int and type(message_id) is int:
                env.emu.messages[(chat_id, message_id)] = copy.deepcopy(message)
                known(message.get("reply_to_message"))

    for value in update.values():
        if isinstance(value, dict):
            known(value)
            known(value.get("message"))
            if isinstance(value.get("id"), str):
                env.emu._pending_callbacks.add(value["id"])


async def feed(env: Env, update: dict[str, Any]) -> None:
    register(env, update)
    await env.intake.accept([json.loads(json.dumps(update))])
    await env.emu.wait_for(lambda e: not env.intake.busy, timeout=30)


def decisions(env: Env) -> list[tuple[Any, ...]]:
    return env.rows("SELECT update_id, chat_id, user_id, text FROM decisions")


@settings(
    max_examples=300, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)  # fmt: skip
@given(update=payloads())
async def test_whole_update_payloads_never_fail_a_handler_nor_write_a_wrong_row(
    fast_env: tuple[Env, Errors], update: dict[str, Any]
) -> None:
    env, errors = fast_env
    errors.seen.clear()
    before = {r[0] for r in decisions(env)}
    calls = len(env.emu.calls)
    await feed(env, update)
    assert errors.seen == [], (errors.describe(), update)
    new = [r for r in decisions(env) if r[0] not in before]
    # How the examples fall (pytest --hypothesis-show-statistics):
    answered = any(c.method in ("sendMessage", "answerCallbackQuery") for c in env.emu.calls[calls:])
    event("skipped as malformed" if malformed(update) else "answered" if answered else "handled silently")
    event(f"decision rows written: {len(new)}")
    assert len(new) <= 1
    for update_id, chat_id, user_id, text in new:
        message = update.get("message") or update.get("edited_message") or update.get("channel_post") or {}
        assert update_id == update["update_id"] and chat_id == message["chat"]["id"]
        assert user_id == (message.get("from") or {}).get("id")
        assert isinstance(text, str) and text.strip()
    assert env.intake._loop_task is not None and not env.intake._loop_task.done()
    assert env.rows("SELECT COUNT(*) FROM inbox WHERE handled_at IS NULL") == [(0,)]


async def says(env: Env, who: dict[str, Any], text: str, chat: dict[str, Any] | None = None) -> str:
    chat_id = chat["id"] if chat else who["id"]
    before = len(env.emu.sent_messages(chat_id))
    update = env.emu.user_message(who, chat=chat, text=text)
    await env.emu.wait_for(lambda e: len(e.sent_messages(chat_id)) > before, timeout=10)
    await env.settle(update)
    return str(env.emu.sent_messages(chat_id)[before]["text"])


async def test_commands_with_bad_arguments_get_a_short_answer_and_change_nothing(fast_env: tuple[Env, Errors]) -> None:
    env, errors = fast_env
    alice, admin = user(5101), user(ADMIN_ID)
    card = await says(env, alice, REFUSE)
    assert card.startswith("⛔")
    answers = [
        (alice, "/clause 99", "请输入1到20之间的条款号"),
        (alice, "/clause -1", "请输入1到20之间的条款号"),
        (alice, "/clause 1e9", "请输入1到20之间的条款号"),
        (alice, "/clause 9 10", "请输入1到20之间的条款号"),
        (alice, "/lang ../../etc/passwd", "用法：/lang"),
        (alice, "/check", "请回复一条通知并发送 /check"),
        (alice, "/show 1", "无权进行此操作"),
        (alice, "/export all", "无权进行此操作"),
        (admin, "/log 1e9", "用法：/log"),
        (admin, "/log 9999999", "用法：/log"),
        (admin, "/log refuse 999999", ""),  # the last page instead
        (admin, "/show '; DROP TABLE decisions; --", "用法：/show"),
        (admin, "/show 1; DELETE FROM decisions", "用法：/show"),
        (admin, "/show 99999999999999999999", "用法：/show"),
        (admin, "/show 424242", "找不到这条记录"),
        (admin, "/stats forever", "用法：/stats"),
        (admin, "/export xml", "用法：/export"),
        (admin, "/export csv all extra", "用法：/export"),
    ]
    for who, text, expected in answers:
        answer = await says(env, who, text)
        assert expected in answer and len(answer) < 1500, (text, answer)
    assert env.rows("SELECT COUNT(*) FROM decisions") == [(1,)]
    assert env.rows("SELECT COUNT(*) FROM reviews") == [(0,)]
    assert errors.seen == []


async def test_forged_and_malformed_button_data_is_refused_and_writes_nothing(fast_env: tuple[Env, Errors]) -> None:
    env, errors = fast_env
    owner, mallory, admin = user(5201), user(5202), user(ADMIN_ID)
    env.emu.user_message(owner, text=REFUSE)
    [card] = await env.replies(5201, 1)
    decision = int(card["reply_markup"]["inline_keyboard"][0][0]["callback_data"].split(":")[1])
    # Telegram shows a private chat's buttons to its user only; Mallory presses them on a forwarded copy.
    copied = {**card, "chat": {"id": 5202, "type": "private", "first_name": "User5202"}, "message_id": 777}
    env.emu.messages[(5202, 777)] = copied
    in_admin_chat = {**card, "chat": {"id": ADMIN_ID, "type": "private", "first_name": "Admin"}, "message_id": 778}
    env.emu.messages[(ADMIN_ID, 778)] = in_admin_chat
    forged = [
        (mallory, copied, f"dv:{decision}:allow"),
        (mallory, copied, f"wv:{decision}"),
        (mallory, copied, f"dr:{decision}"),
        (owner, card, f"fc:{decision}:99"),
        (owner, card, f"dv:{decision}:maybe"),
        (owner, card, "dv:999999999999:allow"),
        (owner, card, f"dk:{decision}"),
        (owner, card, "x" * 64),
        (owner, card, "fc:" + "9" * 13),
        (owner, card, "rv:c:1:0"),
        (owner, card, "lg:all:1"),
        (admin, in_admin_chat, "rv:k:1:0:r:99"),
        (admin, in_admin_chat, "rv:c:1:7"),
        (admin, in_admin_chat, "lg:../../:1"),
        (admin, in_admin_chat, "rv:v:1:0:z"),
    ]
    answered_before = len(env.emu.calls_to("answerCallbackQuery"))
    for who, message, data in forged:
        env.emu.callback(who, message, data)
    await env.emu.wait_for(lambda e: len(e.calls_to("answerCallbackQuery")) >= answered_before + len(forged))
    await env.emu.wait_for(lambda e: not env.intake.busy)
    alerts = [c.params.get("text") for c in env.emu.calls_to("answerCallbackQuery")[answered_before:]]
    stale = "这条记录刚被其他复核人处理过，已刷新，请重新查看。"  # rv:c:1:7 names a review that does not exist
    assert sorted(set(alerts)) == sorted({"无权进行此操作。", "找不到这条记录。", stale})
    assert env.rows("SELECT COUNT(*) FROM disputes") == [(0,)] and env.rows("SELECT COUNT(*) FROM reviews") == [(0,)]
    assert len(env.emu.sent_messages(5201)) == 1 and env.emu.sent_messages(5202) == []
    # A press without a message (an inline message) or without data (a game) is ignored politely.
    chat_less = {"id": "inline-1", "from": mallory, "chat_instance": "1", "inline_message_id": "abc", "data": "wv:1"}
    game = {"id": "game-1", "from": mallory, "chat_instance": "1", "game_short_name": "g"}
    for query in (chat_less, game):
        env.emu._pending_callbacks.add(query["id"])
        await env.intake.accept([{"update_id": next(ids), "callback_query": query}])
    await env.emu.wait_for(lambda e: not env.intake.busy)
    assert errors.seen == [], errors.describe()


async def test_html_in_a_text_appears_literally_in_every_reply(fast_env: tuple[Env, Errors]) -> None:
    env, errors = fast_env
    html = '<b>务必</b> <a href="http://x.cn">注册某APP</a> &amp; <script>alert(1)</script>'
    text = html + " 全体教师须下载注册某政务APP，注册率100%，截图上报，纳入年度考核。"
    carol = user(5301)
    card = await says(env, carol, text)
    assert card.startswith("⛔")
    history = await says(env, carol, "/history")
    assert '<b>务必</b> <a href="http://x.cn">' in history, history
    entities = env.emu.sent_messages(5301)[-1].get("entities", [])
    assert not any(e["type"] in ("text_link", "code") for e in entities), "nothing of the user's became markup"
    [stored] = env.rows("SELECT text FROM decisions")
    assert stored[0] == text
    assert errors.seen == []


async def test_oversized_files_get_a_short_answer_without_being_downloaded(
    make_env: Any,
) -> None:
    async with make_env(max_file_mb=1) as env:
        dave = user(5401)
        declared = {"file_id": "big", "file_unique_id": "big", "file_name": "通知.txt", "mime_type": "text/plain",
                    "file_size": 25 * 2**20}  # fmt: skip
        env.emu.user_message(dave, document=declared)
        photo = [{"file_id": "p", "file_unique_id": "p", "width": 9000, "height": 9000, "file_size": 30 * 2**20}]
        env.emu.user_message(dave, photo=photo)
        # A file that does not say its size, and is too large once downloaded.
        stored = env.emu.add_file(("通知" * 400_000).encode(), file_name="a.txt", mime_type="text/plain")
        env.emu.user_message(dave, document={k: v for k, v in stored.items() if k != "file_size"})
        replies = await env.replies(5401, 3)
        assert all(r["text"].startswith("文件太大（上限 1 MB）") for r in replies)
        assert [c.params["file_id"] for c in env.emu.calls_to("getFile")] == [stored["file_id"]]
        assert env.rows("SELECT COUNT(*) FROM decisions") == [(0,)]
