"""Screenshots, Word and PDF notices end to end: getFile and download through the emulator, the real
reader (OCR in a worker process), the card showing what was read."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bot.reading import Extracted, OcrTimeout
from tests.bot.conftest import user
from tests.bot.test_bot_e2e import CONDITIONAL_TEXT
from tests.reading.reading_samples import (
    bomb_docx,
    chat_screenshot_png,
    clean_notice_png,
    encrypted_pdf,
    notice_docx,
    notice_text_pdf,
    phone_photo_jpeg,
)


async def test_pictures_documents_and_pdfs_are_read_and_screened(make_env: Any) -> None:
    async with make_env() as env:
        alice = user(21)
        clean = clean_notice_png()
        env.emu.user_message(alice, photo=env.emu.add_photo(clean.data, 1240, 908))
        [first] = await env.replies(21, 1, timeout=120)
        assert first["text"].startswith("⛔"), first["text"]
        screenshot = chat_screenshot_png()
        env.emu.user_message(alice, photo=env.emu.add_photo(screenshot.data, 1080, 2000))
        cards = await env.replies(21, 2, timeout=120)
        assert cards[1]["text"].startswith("⛔"), cards[1]["text"]
        assert "从图片读取的文字" in cards[1]["text"]
        photo = phone_photo_jpeg()
        env.emu.user_message(alice, photo=env.emu.add_photo(photo.data, 720, 1280), caption="领导刚发的，要做吗？")
        cards = await env.replies(21, 3, timeout=120)
        assert cards[2]["text"].startswith("⛔")
        for sample in (notice_docx(), notice_text_pdf()):
            doc = env.emu.add_file(sample.data, file_name=sample.file_name, mime_type=sample.mime_type)
            env.emu.user_message(alice, document=doc)
        cards = await env.replies(21, 5, timeout=120)
        assert all(c["text"].startswith("⛔") for c in cards[3:])
        assert ".docx" in cards[3]["text"] and ".pdf" in cards[4]["text"]
        rows = env.rows("SELECT source, text FROM decisions ORDER BY id")
        assert [r[0] for r in rows] == ["photo", "photo", "photo", "file", "file"]
        assert "领导刚发的" in rows[2][1] and "下载" in rows[2][1], "caption and picture text screened together"
        assert all("截图" in r[1] for r in rows)


async def test_unsupported_encrypted_and_too_large(make_env: Any) -> None:
    async with make_env(max_file_mb=1) as env:
        bob = user(22)
        env.emu.user_message(bob, document=env.emu.add_file(b"\xd0\xcf\x11\xe0" + b"\x00" * 100, file_name="通知.doc"))
        env.emu.user_message(
            bob, document=env.emu.add_file(encrypted_pdf(), file_name="加密.pdf", mime_type="application/pdf")
        )
        env.emu.user_message(bob, document=env.emu.add_file(b"x" * (1024 * 1024 + 1), file_name="big.pdf"))
        env.emu.user_message(bob, document=env.emu.add_file(bomb_docx(200 << 20), file_name="炸弹.docx"))
        replies = await env.replies(22, 4, timeout=60)
        texts = [m["text"] for m in replies]
        assert ".docx" in texts[0] and "PDF" in texts[0]
        assert "密码" in texts[1]
        assert "1 MB" in texts[2]
        assert "太大" in texts[3], "the decompression bomb is refused as too large"
        assert env.rows() == []
        # The too-large file was refused from its declared size, before any download.
        assert len(env.emu.calls_to("getFile")) == 2, "the big file was refused before download, the bomb after"


class SlowReader:
    """Stands in for OCR that takes its time, or never finishes within the limit."""

    def __init__(self, seconds: float, fail: bool = False) -> None:
        self.seconds, self.fail = seconds, fail

    async def read(self, data: bytes, file_name: str | None, mime_type: str | None, timeout: float) -> Extracted:
        await asyncio.sleep(min(self.seconds, timeout))
        if self.fail or self.seconds > timeout:
            raise OcrTimeout("took too long")
        return Extracted(
            text="请每位教师下载某APP并注册，截图上报，纳入考核。", kind="image", pages=1, ocr=True, truncated=False
        )

    def close(self) -> None:
        return None


async def test_a_slow_picture_does_not_hold_up_another_users_text(make_env: Any) -> None:
    async with make_env(reader=SlowReader(3.0)) as env:
        png = clean_notice_png()
        env.emu.user_message(user(23), photo=env.emu.add_photo(png.data, 1240, 908))
        await asyncio.sleep(0.3)
        started = time.monotonic()
        env.emu.user_message(user(24), text=CONDITIONAL_TEXT)
        await env.replies(24, 1)
        assert time.monotonic() - started < 2.0
        assert env.emu.sent_messages(23) == []
        [card] = await env.replies(23, 1, timeout=10)
        assert card["text"].startswith("⛔")


async def test_an_ocr_time_out_gets_a_clear_answer_and_the_caption_is_still_screened(make_env: Any) -> None:
    async with make_env(reader=SlowReader(5.0), ocr_timeout_seconds=0.2) as env:
        png = clean_notice_png()
        env.emu.user_message(user(25), photo=env.emu.add_photo(png.data, 1240, 908))
        env.emu.user_message(user(25), photo=env.emu.add_photo(png.data, 1240, 908), caption=CONDITIONAL_TEXT)
        replies = await env.replies(25, 2, timeout=10)
        assert "太长" in replies[0]["text"]
        assert replies[1]["text"].startswith("⚠️") and "仅判断了图片说明" in replies[1]["text"]
        env.emu.user_message(user(25), text="在吗？")
        await env.replies(25, 3)
