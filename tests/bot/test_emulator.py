"""Tests for the local Bot API emulator, driven through python-telegram-bot's real network stack."""

from __future__ import annotations

import asyncio
import datetime as dtm
import html
import struct
import time
import zlib
from collections.abc import AsyncIterator

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    MessageOriginChannel,
    Update,
)
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application, CommandHandler, ContextTypes
from telegram.request import HTTPXRequest

from bot.emulator import (
    BotApiEmulator,
    HtmlParseError,
    channel_chat,
    group_chat,
    origin_channel,
    parse_html,
)

TOKEN = "123456:TEST"


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(token=TOKEN, bot_username="jianfu_test_bot") as emulator:
        yield emulator


def make_bot(emu: BotApiEmulator, token: str = TOKEN, request: HTTPXRequest | None = None) -> Bot:
    return Bot(token, base_url=emu.base_url, base_file_url=emu.base_file_url, request=request)


@pytest.fixture
async def bot(emu: BotApiEmulator) -> AsyncIterator[Bot]:
    async with make_bot(emu) as telegram_bot:
        yield telegram_bot


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(text, callback_data=data) for text, data in pairs]])


def png_bytes(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    raw = b"".join(b"\x00" + b"\x00" * width for _ in range(height))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


# --- basics -------------------------------------------------------------------------------------


async def test_get_me(emu: BotApiEmulator, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.username == "jianfu_test_bot"
    assert me.id == 123456
    assert me.is_bot
    assert emu.calls_to("getMe")[-1].ok
    assert emu.base_url.startswith("http://127.0.0.1:")


async def test_wrong_token_is_rejected(emu: BotApiEmulator) -> None:
    with pytest.raises(InvalidToken):
        async with make_bot(emu, token="999:WRONG"):
            pass
    call = emu.calls_to("getMe")[-1]
    assert call.status == 401
    assert call.error == "Unauthorized"


async def test_raw_http_json_body_unknown_method_and_401(emu: BotApiEmulator) -> None:
    async with httpx.AsyncClient() as client:
        sent = await client.post(
            f"{emu.base_url}{TOKEN}/sendMessage",
            json={"chat_id": 42, "text": "123", "reply_markup": '{"inline_keyboard": [[]]}'},
        )
        assert sent.status_code == 200
        assert sent.json()["result"]["text"] == "123"
        unknown = await client.post(f"{emu.base_url}{TOKEN}/sendSticker", data={"chat_id": "1"})
        assert unknown.status_code == 404
        assert unknown.json() == {
            "ok": False,
            "error_code": 404,
            "description": "Not Found: method sendSticker",
        }
        wrong = await client.post(f"{emu.base_url}999:NOPE/getMe")
        assert wrong.status_code == 401
        assert wrong.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    assert emu.calls_to("sendSticker")[0].params == {"chat_id": 1}


# --- sendMessage and HTML -----------------------------------------------------------------------


async def test_send_message_with_valid_html(emu: BotApiEmulator, bot: Bot) -> None:
    text = '<b>减负</b> &amp; <a href="https://example.com/?a=1&amp;b=2">通知</a>\n<code>x &lt; y</code>'
    message = await bot.send_message(42, text, parse_mode="HTML", reply_markup=keyboard(("好", "ok")))
    assert message.text == "减负 & 通知\nx < y"
    assert message.from_user is not None and message.from_user.username == "jianfu_test_bot"
    assert [(e.type, e.offset, e.length) for e in message.entities] == [
        (MessageEntity.BOLD, 0, 2),
        (MessageEntity.TEXT_LINK, 5, 2),
        (MessageEntity.CODE, 8, 5),
    ]
    assert message.entities[1].url == "https://example.com/?a=1&b=2"
    assert message.reply_markup == keyboard(("好", "ok"))
    stored = emu.sent_messages(42)
    assert [m["message_id"] for m in stored] == [message.message_id]
    assert emu.calls_to("sendMessage")[0].params["parse_mode"] == "HTML"


async def test_send_message_reply_and_pre_language(emu: BotApiEmulator, bot: Bot) -> None:
    alice = emu.new_user("Alice")
    update = emu.user_message(alice, text="你好")
    original = update["message"]
    reply = await bot.send_message(
        alice["id"],
        '<pre><code class="language-python">print(1)</code></pre>',
        parse_mode="HTML",
        reply_to_message_id=original["message_id"],
    )
    assert reply.reply_to_message is not None
    assert reply.reply_to_message.text == "你好"
    assert reply.entities[0].type == MessageEntity.PRE
    assert reply.entities[0].language == "python"
    assert reply.message_id == original["message_id"] + 1
    with pytest.raises(BadRequest, match=r"(?i)message to be replied not found"):
        await bot.send_message(alice["id"], "x", reply_to_message_id=999)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("<foo>x</foo>", 'Unsupported start tag "foo"'),
        ("<b>x</i>", "Unmatched end tag"),
        ("<b><i>x</b></i>", "Unmatched end tag"),
        ("<b>x", "Can't find end tag"),
        ("x</b>", "Unexpected end tag"),
        ("a < b", "Unsupported start tag"),
        ("a & b", 'Character "&"'),
        ("a&nbsp;b", "Unsupported HTML entity"),
        ('<span class="x">y</span>', 'Tag "span" must have class "tg-spoiler"'),
        ("x<br/>y", "Unsupported start tag"),
        ("a</>b", "Unexpected end tag"),
    ],
)
async def test_send_message_with_invalid_html(bot: Bot, text: str, fragment: str) -> None:
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities") as info:
        await bot.send_message(42, text, parse_mode="HTML")
    assert fragment.lower() in str(info.value).lower()


async def test_send_message_length_limits(emu: BotApiEmulator, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(42, "字" * 4097)
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(42, "   ")
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(42, "<b></b>", parse_mode="HTML")
    # 4096 characters after tag stripping is fine.
    message = await bot.send_message(42, "<b>" + "字" * 4096 + "</b>", parse_mode="HTML")
    assert message.text is not None and len(message.text) == 4096
    assert [call.status for call in emu.calls_to("sendMessage")] == [400, 400, 400, 200]


async def test_callback_data_limit_and_blocked_user(emu: BotApiEmulator, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(42, "x", reply_markup=keyboard(("a", "x" * 65)))
    emu.block(42)
    with pytest.raises(Forbidden, match=r"(?i)bot was blocked by the user"):
        await bot.send_message(42, "x")


# --- edits --------------------------------------------------------------------------------------


async def test_edit_message_text_and_not_modified(emu: BotApiEmulator, bot: Bot) -> None:
    sent = await bot.send_message(42, "草稿", reply_markup=keyboard(("确认", "confirm")))
    edited = await bot.edit_message_text(
        "<i>定稿</i>",
        chat_id=42,
        message_id=sent.message_id,
        parse_mode="HTML",
        reply_markup=keyboard(("确认", "confirm")),
    )
    assert not isinstance(edited, bool)
    assert edited.text == "定稿"
    assert edited.edit_date is not None
    assert emu.messages[(42, sent.message_id)]["text"] == "定稿"
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text(
            "<i>定稿</i>",
            chat_id=42,
            message_id=sent.message_id,
            parse_mode="HTML",
            reply_markup=keyboard(("确认", "confirm")),
        )
    # editMessageText without reply_markup removes the inline keyboard, like Telegram.
    await bot.edit_message_text("<i>定稿</i>", chat_id=42, message_id=sent.message_id, parse_mode="HTML")
    assert "reply_markup" not in emu.sent_messages(42)[0]
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_reply_markup(chat_id=42, message_id=sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=42, message_id=999)
    assert await bot.delete_message(42, sent.message_id)
    assert emu.sent_messages(42) == []
    assert emu.sent_messages(42, include_deleted=True)[0]["text"] == "定稿"
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(42, sent.message_id)


# --- getUpdates ---------------------------------------------------------------------------------


async def test_get_updates_long_polling_and_confirmation(emu: BotApiEmulator, bot: Bot) -> None:
    alice = emu.new_user("Alice", username="alice")
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(offset=0, timeout=5))
    await emu.wait_for(lambda e: any(c.status is None for c in e.calls_to("getUpdates")))
    await asyncio.sleep(0.1)
    queued = emu.user_message(alice, text="/start@jianfu_test_bot 你好")
    updates = await asyncio.wait_for(poll, 3)
    assert time.monotonic() - started < 2.5
    assert [u.update_id for u in updates] == [queued["update_id"]]
    assert queued["update_id"] == 1000
    message = updates[0].message
    assert message is not None
    assert message.text == "/start@jianfu_test_bot 你好"
    assert message.entities[0].type == MessageEntity.BOT_COMMAND
    assert message.entities[0].length == len("/start@jianfu_test_bot")
    assert message.chat.id == alice["id"]

    # Not confirmed yet: it is delivered again.
    again = await bot.get_updates(offset=0, timeout=0)
    assert [u.update_id for u in again] == [queued["update_id"]]
    # Confirmed by an offset greater than its id: gone, and a new one is delivered.
    second = emu.user_message(alice, text="第二条")
    after = await bot.get_updates(offset=queued["update_id"] + 1, timeout=0)
    assert [u.update_id for u in after] == [second["update_id"]]
    assert emu.offsets == [0, 0, queued["update_id"] + 1]
    assert [u["update_id"] for u in emu.pending_updates] == [second["update_id"]]

    # A long poll with nothing queued times out with an empty list.
    started = time.monotonic()
    assert await bot.get_updates(offset=second["update_id"] + 1, timeout=dtm.timedelta(seconds=0.3)) == ()
    assert 0.25 < time.monotonic() - started < 2


async def test_group_command_and_allowed_updates(emu: BotApiEmulator, bot: Bot) -> None:
    alice = emu.new_user("Alice")
    group = group_chat(-1001234567890, "三年级组")
    emu.user_message(alice, chat=group, text="/check 请看 https://example.com/a.pdf")
    emu.push_update({"chat_member": {"bogus": True}})
    updates = await bot.get_updates(timeout=0, allowed_updates=["message"])
    assert len(updates) == 1
    message = updates[0].message
    assert message is not None
    assert message.chat.type == "supergroup"
    assert message.chat.title == "三年级组"
    assert message.parse_entities([MessageEntity.URL]) == {message.entities[1]: "https://example.com/a.pdf"}


async def test_push_update_keeps_raw_payload(emu: BotApiEmulator, bot: Bot) -> None:
    raw = emu.push_update({"message": {"message_id": 1, "weird": True}})
    assert raw["update_id"] == 1000
    explicit = emu.push_update({"update_id": 5000, "message": {"nonsense": 1}})
    assert explicit["update_id"] == 5000
    assert emu.push_update({"message": {}})["update_id"] == 5001


async def test_concurrent_get_updates_conflict_and_listener(emu: BotApiEmulator) -> None:
    seen: list[tuple[str, int | None]] = []
    emu.add_listener(lambda call: seen.append((call.method, call.status)))
    async with httpx.AsyncClient() as client:
        url = f"{emu.base_url}{TOKEN}/getUpdates"
        first = asyncio.create_task(client.post(url, data={"timeout": "5"}))
        await emu.wait_for(lambda e: len(e.calls_to("getUpdates")) == 1)
        second = await client.post(url, data={"timeout": "0"})
        assert second.json() == {"ok": True, "result": []}
        first_response = await asyncio.wait_for(first, 2)
    assert first_response.status_code == 409
    assert "terminated by other getUpdates request" in first_response.json()["description"]
    assert sorted(seen) == [("getUpdates", 200), ("getUpdates", 409)]
    with pytest.raises(TimeoutError, match="getUpdates"):
        await emu.wait_for(lambda e: False, timeout=0.05)


# --- files --------------------------------------------------------------------------------------


async def test_send_document_upload_arrives_intact(emu: BotApiEmulator, bot: Bot) -> None:
    payload = bytes(range(256)) * 40
    message = await bot.send_document(42, payload, filename="减负清单.pdf", caption="<b>附件</b>", parse_mode="HTML")
    assert message.document is not None
    assert message.document.file_name == "减负清单.pdf"
    assert message.document.mime_type == "application/pdf"
    assert message.document.file_size == len(payload)
    assert message.caption == "附件"
    upload = emu.uploads[-1]
    assert upload.data == payload
    assert upload.file_name == "减负清单.pdf"
    assert upload.chat_id == 42
    # Re-sending by file_id does not upload again.
    again = await bot.send_document(42, message.document.file_id)
    assert again.document is not None and again.document.file_id == message.document.file_id
    assert len(emu.uploads) == 1
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
        await bot.send_document(42, "no-such-file")


async def test_send_photo_reports_dimensions(emu: BotApiEmulator, bot: Bot) -> None:
    message = await bot.send_photo(42, png_bytes(3, 2), caption="图")
    assert [(p.width, p.height) for p in message.photo] == [(3, 2)]
    assert emu.uploads[-1].kind == "photo"


async def test_add_file_get_file_download_round_trip(emu: BotApiEmulator, bot: Bot) -> None:
    data = "通知：本周五前上报材料。\n".encode() * 100
    document = emu.add_file(data, file_name="通知.txt")
    assert document["mime_type"] == "text/plain"
    alice = emu.new_user("Alice")
    update = Update.de_json(emu.user_message(alice, document=document, caption="看看这个"), bot)
    assert update.message is not None and update.message.document is not None
    telegram_file = await update.message.document.get_file()
    assert telegram_file.file_size == len(data)
    assert telegram_file.file_path is not None and telegram_file.file_path.startswith(emu.base_file_url)
    assert await telegram_file.download_as_bytearray() == bytearray(data)

    photo = emu.add_photo(png_bytes(2, 2), width=2, height=2)
    photo_file = await bot.get_file(photo[-1]["file_id"])
    assert bytes(await photo_file.download_as_bytearray()) == png_bytes(2, 2)
    with pytest.raises(BadRequest, match=r"(?i)invalid file_id"):
        await bot.get_file("nope")


# --- update builders parse with PTB -------------------------------------------------------------


async def test_callback_update_parses_and_is_answered_once(emu: BotApiEmulator, bot: Bot) -> None:
    alice = emu.new_user("Alice")
    sent = await bot.send_message(alice["id"], "是否属于减负范围？", reply_markup=keyboard(("是", "yes"), ("否", "no")))
    raw = emu.callback(alice, emu.sent_messages(alice["id"])[-1], "yes")
    update = Update.de_json(raw, bot)
    query = update.callback_query
    assert query is not None
    assert query.data == "yes"
    assert query.from_user.id == alice["id"]
    assert isinstance(query.message, Message) and query.message.message_id == sent.message_id
    assert query.message.reply_markup == keyboard(("是", "yes"), ("否", "no"))
    assert await query.answer("已记录")
    assert emu.callback_answers[query.id]["text"] == "已记录"
    with pytest.raises(BadRequest, match=r"(?i)query ID is invalid"):
        await query.answer()


async def test_forwarded_channel_message_parses(emu: BotApiEmulator, bot: Bot) -> None:
    alice = emu.new_user("Alice")
    channel = channel_chat(-1009876543210, "某区教育局", username="edu_bureau")
    raw = emu.user_message(alice, text="请各校于明日前填报", forward_origin=origin_channel(channel, 77))
    update = Update.de_json(raw, bot)
    assert update.message is not None
    origin = update.message.forward_origin
    assert isinstance(origin, MessageOriginChannel)
    assert origin.chat.title == "某区教育局"
    assert origin.message_id == 77


async def test_commands_and_menu_button(emu: BotApiEmulator, bot: Bot) -> None:
    assert await bot.set_my_commands([("start", "开始"), ("check", "检查任务")], language_code="zh")
    commands = await bot.get_my_commands(language_code="zh")
    assert [c.command for c in commands] == ["start", "check"]
    assert await bot.get_my_commands() == ()
    assert await bot.delete_my_commands(language_code="zh")
    assert emu.get_commands(language_code="zh") == []
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([("Bad-Name", "x")])
    assert await bot.set_chat_menu_button()
    assert await bot.send_chat_action(42, "typing")
    assert emu.chat_actions == [(42, "typing")]


# --- fault injection ----------------------------------------------------------------------------


async def test_fault_429_raises_retry_after(emu: BotApiEmulator, bot: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    emu.inject("sendMessage", "429", retry_after=7)
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(42, "x")
    assert info.value.retry_after == dtm.timedelta(seconds=7)
    assert (await bot.send_message(42, "x")).text == "x"
    assert [c.fault for c in emu.calls_to("sendMessage")] == ["429", None]


async def test_fault_500_and_wildcard(emu: BotApiEmulator, bot: Bot) -> None:
    emu.inject("*", "500", times=2)
    with pytest.raises(NetworkError, match=r"(?i)Internal Server Error"):
        await bot.get_me()
    with pytest.raises(NetworkError):
        await bot.send_message(42, "x")
    assert (await bot.get_me()).username == "jianfu_test_bot"
    emu.inject("getMe", "500", times=5)
    emu.clear_faults()
    assert await bot.get_me()


async def test_fault_drop_raises_network_error(emu: BotApiEmulator, bot: Bot) -> None:
    emu.inject("sendMessage", "drop")
    with pytest.raises(NetworkError) as info:
        await bot.send_message(42, "x")
    assert not isinstance(info.value, TimedOut)
    assert emu.sent_messages(42) == []
    assert (await bot.send_message(42, "y")).text == "y"


async def test_fault_timeout_raises_timed_out(emu: BotApiEmulator) -> None:
    emu.inject("sendMessage", "timeout")
    started = time.monotonic()
    async with make_bot(emu, request=HTTPXRequest(read_timeout=0.5)) as slow_bot:
        with pytest.raises(TimedOut):
            await slow_bot.send_message(42, "x")
        assert time.monotonic() - started < 3
        assert (await slow_bot.send_message(42, "y")).text == "y"
    await emu.wait_for(lambda e: e._active == 0, timeout=2)
    assert emu.sent_messages(42)[0]["text"] == "y"


async def test_stop_releases_held_requests() -> None:
    emulator = BotApiEmulator(token=TOKEN)
    await emulator.start()
    emulator.inject("getMe", "timeout")
    async with httpx.AsyncClient() as client:
        pending = asyncio.create_task(client.post(f"{emulator.base_url}{TOKEN}/getMe"))
        poll = asyncio.create_task(client.post(f"{emulator.base_url}{TOKEN}/getUpdates", data={"timeout": "30"}))
        await emulator.wait_for(lambda e: len(e.calls) == 2)
        started = time.monotonic()
        await emulator.stop()
        assert time.monotonic() - started < 2
        for task in (pending, poll):
            with pytest.raises(httpx.HTTPError):
                await task


# --- the real Application -----------------------------------------------------------------------


async def test_application_polling_end_to_end(emu: BotApiEmulator) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_html("<b>欢迎</b>")

    application = (
        Application.builder()
        .token(TOKEN)
        .base_url(emu.base_url)
        .base_file_url(emu.base_file_url)
        .job_queue(None)
        .build()
    )
    application.add_handler(CommandHandler("start", start))
    alice = emu.new_user("Alice")
    async with application:
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0.0, timeout=dtm.timedelta(seconds=1))
        await application.start()
        update = emu.user_message(alice, text="/start")
        await emu.wait_for(lambda e: bool(e.sent_messages(alice["id"])))
        await application.updater.stop()
        await application.stop()
    assert emu.sent_texts(alice["id"]) == ["欢迎"]
    # PTB confirms the processed update when it stops polling.
    assert emu.offsets[-1] == update["update_id"] + 1
    assert emu.pending_updates == []


# --- HTML parser properties ---------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=60))
def test_escaped_text_round_trips(text: str) -> None:
    plain, entities = parse_html(html.escape(text))
    assert plain == text
    assert entities == []


def test_entities_use_utf16_offsets() -> None:
    plain, entities = parse_html("😀 <b>好</b> <tg-spoiler>x</tg-spoiler><blockquote expandable>q</blockquote>")
    assert plain == "😀 好 xq"
    assert entities == [
        {"offset": 3, "length": 1, "type": "bold"},
        {"offset": 5, "length": 1, "type": "spoiler"},
        {"offset": 6, "length": 1, "type": "expandable_blockquote"},
    ]
    with pytest.raises(HtmlParseError, match="byte offset 5"):
        parse_html("😀 <x>")
