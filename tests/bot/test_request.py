"""bot/request.py: python-telegram-bot's requests over aiohttp, against the emulator."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest
from telegram import Bot, InputFile
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.emulator import BotApiEmulator, make_user
from bot.request import AiohttpRequest

TOKEN = "123456:REQUEST-TEST-secret"


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(token=TOKEN, bot_username="jianfu_test_bot") as e:
        yield e


def bot_for(emu: BotApiEmulator, request: AiohttpRequest) -> Bot:
    return Bot(TOKEN, base_url=emu.base_url, base_file_url=emu.base_file_url, request=request)


async def test_messages_uploads_and_downloads_go_through(emu: BotApiEmulator) -> None:
    alice = make_user(5, "Alice")
    emu.user_message(alice, text="hi")
    async with bot_for(emu, AiohttpRequest(4)) as bot:
        sent = await bot.send_message(5, "<b>可以拒绝</b> &amp; more", parse_mode="HTML")
        assert sent.text == "可以拒绝 & more" and sent.entities[0].type == "bold"
        data = "教师减负，一行一项\n".encode() * 2000
        await bot.send_document(5, InputFile(data, filename="export.csv"), caption="导出")
        [call] = emu.calls_to("sendDocument")
        assert call.files["document"].data == data and call.files["document"].file_name == "export.csv"
        assert call.params["caption"] == "导出"
        file_id = emu.sent_messages(5)[-1]["document"]["file_id"]
        downloaded = await (await bot.get_file(file_id)).download_as_bytearray()
        assert bytes(downloaded) == data


async def test_telegram_errors_are_python_telegram_bots(emu: BotApiEmulator) -> None:
    async with bot_for(emu, AiohttpRequest(2)) as bot:
        for kind, error in (("429", RetryAfter), ("403", Forbidden), ("400", BadRequest), ("502", NetworkError)):
            emu.inject("sendMessage", kind, times=1, retry_after=3)
            with pytest.raises(error):
                await bot.send_message(5, "x")


async def test_a_silent_server_times_out_and_a_dropped_connection_is_a_network_error(emu: BotApiEmulator) -> None:
    async with bot_for(emu, AiohttpRequest(2, read_timeout=0.5)) as bot:
        emu.inject("sendMessage", "timeout", times=1)
        with pytest.raises(TimedOut):
            await bot.send_message(5, "x")
        emu.inject("sendMessage", "drop", times=1)
        with pytest.raises(NetworkError) as dropped:
            await bot.send_message(5, "x")
        assert not isinstance(dropped.value, TimedOut)
        assert (await bot.send_message(5, "back")).text == "back"


async def test_an_unreachable_server_is_a_network_error_that_does_not_show_the_token() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    bot = Bot(TOKEN, base_url=f"http://127.0.0.1:{port}/bot", request=AiohttpRequest(1))
    with pytest.raises(NetworkError) as failed:
        async with bot:
            pass
    assert TOKEN not in str(failed.value) and TOKEN.split(":")[1] not in repr(failed.value)


def test_the_proxy_comes_from_the_environment_once(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY", "https_proxy", "http_proxy", "all_proxy",
                 "no_proxy"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    assert AiohttpRequest()._proxy_for("https://api.telegram.org/botX/getMe") is None
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    request = AiohttpRequest()
    assert request._proxy_for("https://api.telegram.org/botX/getMe") == "http://proxy.internal:3128"
    assert request._proxy_for("http://127.0.0.1:8081/botX/getMe") is None
    monkeypatch.setenv("HTTPS_PROXY", "http://elsewhere:1")
    assert request._proxy_for("https://api.telegram.org/botX/sendMessage") == "http://proxy.internal:3128"


async def test_it_must_be_initialized_and_can_be_again(emu: BotApiEmulator) -> None:
    request = AiohttpRequest(1)
    bot = bot_for(emu, request)
    with pytest.raises(NetworkError):
        await bot.get_me()
    for _ in range(2):
        async with bot:
            assert (await bot.get_me()).username == "jianfu_test_bot"
